import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, http, processesMentioning, type StartJson, type StatusReport, testInstance } from './cli-harness.js';

// Named instances (issue 30) through the built CLI on the reference appliance: the default instance
// and a named one (on auto ports) run at once, isolated (data, stop, reset), listed with their
// ports; a third start is refused for memory through the injected figure. The tests run in order
// and share the two started VMs (TCG boots are slow).
const ok = hasTools('qemu-system-x86_64', 'qemu-img', 'zstd', 'debootstrap', 'mkfs.vfat', 'mcopy', 'sfdisk');
const emu = testInstance();
const { env } = emu;
const T = 900_000;
const NAME = 'e2e-n1';
// The suite's env gives the default instance its fixed test ports (EMULATOR_*_PORT), which would make
// a named instance take them too (`fixed`): every start of the named one passes --ports auto.
const named = (...args: string[]) => cli([...args, '--instance', NAME], env);

afterAll(async () => {
  await cli(['stop', '--all', '--timeout', '5'], env);
  for (const pid of processesMentioning(emu.home)) process.kill(pid, 'SIGKILL');
  await emu.cleanup();
});

interface ListJson {
  ok: boolean;
  instances: {
    name: string;
    state: string;
    portsMode: string;
    ports: { backend: number; dashboard: number } | null;
    pid: number | null;
    memory: { rssKiB: number } | null;
  }[];
}

/** The named instance's internal client key and API URL, as `env --instance` prints them. */
async function namedEnv(): Promise<Record<string, string>> {
  const r = await named('env', '--format', 'json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, string>;
}

const data = (port: number, method: 'GET' | 'PUT', name: string, key: string, body?: string) =>
  http(
    port,
    method,
    `/api/v1/internal/emulator-test/data/${name}`,
    { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': key },
    body,
  );

describe.skipIf(!ok)('named instances: two backends at once from one home (reference appliance)', () => {
  let namedPorts = { backend: 0, dashboard: 0 };
  let namedKey = '';
  let defaultKey = '';

  it(
    'the default instance and a named one (on auto ports) start at once and are both healthy',
    async () => {
      const [d, n] = await Promise.all([
        emu.start(),
        named('start', '--image', 'reference', '--json', '--ports', 'auto'),
      ]);
      expect(d.code, d.stderr).toBe(0);
      expect(n.code, n.stderr).toBe(0);
      const out = JSON.parse(n.stdout) as StartJson & { instance: string; ports: typeof namedPorts };
      expect(out.instance).toBe(NAME);
      namedPorts = out.ports;
      expect(namedPorts.backend).not.toBe(emu.ports.backend);
      expect(n.stderr).toContain(`host ports for instance ${NAME}`);
      const dStatus = await emu.status();
      expect(dStatus.report.healthy, dStatus.report.reason).toBe(true);
      const nStatus = await named('status', '--json');
      const report = JSON.parse(nStatus.stdout) as StatusReport & { name: string };
      expect(nStatus.code, report.reason).toBe(0);
      expect(report).toMatchObject({ name: NAME, healthy: true });
      defaultKey = emu.key();
      namedKey = (await namedEnv()).STACK_PUBLISHABLE_CLIENT_KEY!;
      expect(namedKey).toBeTruthy();
    },
    T,
  );

  it(
    'data written through one instance is absent from the other',
    async () => {
      expect((await emu.putData('from-default', 'd-value', defaultKey)).status).toBe(200);
      expect((await data(namedPorts.backend, 'PUT', 'from-named', namedKey, 'n-value')).status).toBe(200);
      expect(await emu.getData('from-default', defaultKey)).toEqual({ status: 200, body: 'd-value' });
      expect(await data(namedPorts.backend, 'GET', 'from-named', namedKey)).toEqual({ status: 200, body: 'n-value' });
      expect((await data(namedPorts.backend, 'GET', 'from-default', namedKey)).status).toBe(404);
      expect((await emu.getData('from-named', defaultKey)).status).toBe(404);
    },
    T,
  );

  it(
    '`list --json` shows both running with their ports; `env --instance` prints the named one’s URL',
    async () => {
      const r = await cli(['list', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const list = JSON.parse(r.stdout) as ListJson;
      const byName = Object.fromEntries(list.instances.map((i) => [i.name, i]));
      expect(byName.default).toMatchObject({
        state: 'running',
        portsMode: 'fixed',
        ports: { backend: emu.ports.backend },
      });
      expect(byName[NAME]).toMatchObject({
        state: 'running',
        portsMode: 'auto',
        ports: { backend: namedPorts.backend },
      });
      expect(byName[NAME]!.memory!.rssKiB).toBeGreaterThan(0);
      const table = await cli(['ls'], env);
      expect(table.stdout).toMatch(new RegExp(`^${NAME}\\s+running`, 'm'));
      expect((await namedEnv()).STACK_API_URL).toBe(`http://127.0.0.1:${namedPorts.backend}`);
    },
    T,
  );

  it(
    'a third instance is refused for memory (injected figure): what it needs and what is free, exit 5',
    async () => {
      const r = await cli(['start', '--image', 'reference', '--instance', 'e2e-n2', '--ports', 'auto'], {
        ...env,
        STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: '100',
      });
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toMatch(/instance e2e-n2 needs \d+ MiB/);
      expect(r.stderr).toContain('100 MiB available');
      expect(r.stderr).toContain('--force');
      expect(processesMentioning(join(emu.home, 'instances', 'e2e-n2'))).toEqual([]);
    },
    T,
  );

  it(
    'stopping the default instance leaves the named one healthy with its data',
    async () => {
      const s = await emu.stop('--json');
      expect(s.code, s.stderr).toBe(0);
      const n = await named('status', '--json');
      expect(n.code, n.stdout).toBe(0);
      expect(await data(namedPorts.backend, 'GET', 'from-named', namedKey)).toEqual({ status: 200, body: 'n-value' });
    },
    T,
  );

  it(
    "a reset of one instance keeps the other's session (its data is back after a restart)",
    async () => {
      const stopNamed = await named('stop', '--json');
      expect(stopNamed.code, stopNamed.stderr).toBe(0);
      const reset = await cli(['reset', '--json'], env);
      expect(reset.code, reset.stderr).toBe(0);
      expect(JSON.parse(reset.stdout)).toMatchObject({ sessionDiscarded: true });
      const st = JSON.parse((await named('status', '--json')).stdout) as StatusReport;
      expect(st.session).toBeDefined();
      const again = await named('start', '--image', 'reference', '--json', '--ports', 'auto');
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as StartJson).mode).toBe('session');
      // Same kept ports, same data.
      expect(await data(namedPorts.backend, 'GET', 'from-named', namedKey)).toEqual({ status: 200, body: 'n-value' });
    },
    T,
  );

  it(
    '`stop --all --json` stops every running instance',
    async () => {
      const r = await cli(['stop', '--all', '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { ok: boolean; stopped: { instance: string }[] };
      expect(out).toMatchObject({ ok: true, stopped: [{ instance: NAME }] });
      expect((await named('status', '--json')).code).toBe(3);
    },
    T,
  );
});
