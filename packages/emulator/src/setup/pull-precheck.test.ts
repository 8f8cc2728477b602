import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pull } from '../api/home-ops.js';
import type { ProbeDeps } from './setup-probe.js';

/** A host whose PATH holds exactly `tools` (in /bin). */
const hostWith = (tools: string[]) => (): ProbeDeps => ({
  platform: 'linux',
  env: { PATH: '/bin' },
  isExecutable: (p) => tools.some((t) => p === `/bin/${t}`),
  osRelease: () => 'ID=debian\n',
  firmware: () => true,
  isRoot: false,
  isTerminal: false,
});
const tempHome = () => mkdtempSync(join(tmpdir(), 'pull-precheck-'));

describe('pull checks the host tools before any download', () => {
  it('QEMU or qemu-img missing: stops naming `stack-emulator setup`, writes nothing, fetches nothing', async () => {
    const home = tempHome();
    // An address that would fail if it were fetched: the error must come first.
    const options = { env: { STACK_EMULATOR_HOME: home }, arch: 'amd64' as const, url: 'https://127.0.0.1:9/x.qcow2' };
    for (const tools of [['qemu-img'], ['qemu-system-x86_64'], []]) {
      const e = await pull(options, hostWith(tools)).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'HOST_UNSUPPORTED', hint: expect.stringContaining('stack-emulator setup') });
      expect((e as Error).message).toContain('nothing was downloaded');
    }
    expect(((await pull(options, hostWith([])).catch((x: unknown) => x)) as Error).message).toMatch(
      /^QEMU \(qemu-system for amd64\) and qemu-img are not installed/,
    );
    expect(readdirSync(home)).toEqual([]);
  });

  it('both present (zstd and socat need not be): the pull goes on (here to a local file that is not there)', async () => {
    const home = tempHome();
    const e = await pull(
      { env: { STACK_EMULATOR_HOME: home }, arch: 'amd64', image: join(home, 'absent.qcow2') },
      hostWith(['qemu-system-x86_64', 'qemu-img']),
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as { code?: string }).code).not.toBe('HOST_UNSUPPORTED');
    expect((e as Error).message).toContain('absent.qcow2');
  });

  it('bad flags are reported as such first, whatever the host has', async () => {
    const e = await pull(
      { env: { STACK_EMULATOR_HOME: tempHome() }, arch: 'amd64', url: 'ftp://x/y' },
      hostWith([]),
    ).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('--url ftp://') });
  });
});
