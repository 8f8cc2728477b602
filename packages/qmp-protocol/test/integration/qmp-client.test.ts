import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { startMachineNone, type TestQemu } from '../../../../tools/testing/qemu.js';
import {
  QmpClient,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  cont,
  deviceAdd,
  migrate,
  migrateIncoming,
  queryStatus,
  queryVersion,
  quit,
  setMigrationCapabilities,
  stop,
  type Connector,
} from '../../src/index.js';

const ok = hasTools('qemu-system-x86_64');
let vm: TestQemu | undefined;
afterEach(async () => {
  await vm?.dispose();
  vm = undefined;
});

describe.skipIf(!ok)('QmpClient against qemu-system-x86_64 -machine none', () => {
  it('negotiates and reports the version from the greeting and query-version', async () => {
    vm = await startMachineNone();
    await using qmp = await QmpClient.connect(vm.qmpPath);
    const v = await queryVersion(qmp);
    expect(v.qemu.major).toBeGreaterThanOrEqual(7);
    expect(qmp.greeting.version.qemu).toEqual(v.qemu);
  });

  it('traces every message of the connection: the handshake, commands with their ids, replies and events', async () => {
    vm = await startMachineNone();
    const log: Array<[string, unknown]> = [];
    await using qmp = await QmpClient.connect(vm.qmpPath, {
      trace: (direction, message) => log.push([direction, message]),
    });
    await qmp.execute('stop');
    const sent = log.filter(([d]) => d === 'send').map(([, m]) => (m as { execute: string }).execute);
    expect(sent).toEqual(['qmp_capabilities', 'stop']);
    const received = log.filter(([d]) => d === 'recv').map(([, m]) => (m as { type: string }).type);
    expect(received[0]).toBe('greeting');
    expect(received).toContain('return');
    const stopId = (
      log.find(([d, m]) => d === 'send' && (m as { execute: string }).execute === 'stop')![1] as { id: string }
    ).id;
    expect(log.some(([d, m]) => d === 'recv' && (m as { id?: string }).id === stopId)).toBe(true);
  });

  it('sees STOP and RESUME around stop/cont, even when the event beats the reply', async () => {
    vm = await startMachineNone();
    await using qmp = await QmpClient.connect(vm.qmpPath);
    const stopped = qmp.waitForEvent('STOP', { timeout: 5000 });
    await stop(qmp);
    expect((await stopped).event).toBe('STOP');
    expect(await queryStatus(qmp)).toEqual({ status: 'paused', running: false });
    const events = qmp.listen({ names: ['RESUME'] });
    await cont(qmp);
    const first = await events.next();
    expect(first.value?.event).toBe('RESUME');
    await events.return();
    expect((await queryStatus(qmp)).running).toBe(true);
  });

  it('runs several commands in flight on one connection', async () => {
    vm = await startMachineNone();
    await using qmp = await QmpClient.connect(vm.qmpPath);
    const replies = await Promise.all(Array.from({ length: 20 }, () => queryStatus(qmp)));
    expect(replies).toHaveLength(20);
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set(['running']));
  });

  it('keeps the error class of refused commands and stays usable', async () => {
    vm = await startMachineNone();
    await using qmp = await QmpClient.connect(vm.qmpPath);
    const notFound = (await qmp.execute('no-such-command').catch((e: unknown) => e)) as QmpCommandError;
    expect(notFound).toBeInstanceOf(QmpCommandError);
    expect(notFound.errorClass).toBe('CommandNotFound');
    const badArg = await qmp.execute('query-status', { bogus: 1 }).catch((e) => e);
    expect(badArg).toMatchObject({ errorClass: 'GenericError', desc: expect.stringContaining('bogus') });
    const badDevice = await deviceAdd(qmp, { driver: 'no-such-driver', id: 'x' }).catch((e) => e);
    expect(badDevice).toBeInstanceOf(QmpCommandError);
    expect((await queryStatus(qmp)).running).toBe(true);
  });

  it('treats an id-less parse error as a broken protocol and fails pending calls', async () => {
    vm = await startMachineNone();
    let socket: Socket | undefined;
    const tapping: Connector = (path) =>
      new Promise((resolve, reject) => {
        socket = connect({ path }, () => resolve(socket!));
        socket.once('error', reject);
      });
    const qmp = await QmpClient.connect(vm.qmpPath, { connector: tapping });
    await stop(qmp);
    // Something else on the channel writes broken JSON: QEMU answers with an error that has no id.
    socket!.write('{"execute": }\n');
    const err = await qmp.waitForEvent('NEVER').catch((e) => e);
    expect(err).toBeInstanceOf(QmpProtocolError);
    expect(err.message).toContain('JSON parse error');
    await expect(queryStatus(qmp)).rejects.toBeInstanceOf(QmpProtocolError);
  });

  it('gives a second client a connect error, since QEMU greets only one client at a time', async () => {
    vm = await startMachineNone();
    await using first = await QmpClient.connect(vm.qmpPath);
    const err = await QmpClient.connect(vm.qmpPath, { timeout: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpConnectError);
    expect(err.message).toContain('no greeting');
    expect((await queryStatus(first)).running).toBe(true);
  });

  it('rejects a pending command when QEMU dies mid-command', async () => {
    vm = await startMachineNone();
    const qmp = await QmpClient.connect(vm.qmpPath);
    vm.proc.kill('SIGSTOP'); // QEMU can no longer answer...
    const pending = queryStatus(qmp);
    await new Promise((r) => setTimeout(r, 50));
    vm.proc.kill('SIGKILL'); // ...and now dies with the command in flight.
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(QmpDisconnectedError);
    expect(qmp.closed).toBe(true);
  });

  it('quit resolves and the connection then closes', async () => {
    vm = await startMachineNone();
    const qmp = await QmpClient.connect(vm.qmpPath);
    const shutdown = qmp.waitForEvent('SHUTDOWN');
    await quit(qmp);
    expect((await shutdown).data).toMatchObject({ guest: false });
    await new Promise((r) => vm!.proc.once('exit', r));
    expect(vm.proc.exitCode).toBe(0);
  });

  it('close() rejects everything pending', async () => {
    vm = await startMachineNone();
    const qmp = await QmpClient.connect(vm.qmpPath);
    vm.proc.kill('SIGSTOP');
    const pending = qmp.execute('query-status');
    const event = qmp.waitForEvent('STOP');
    const settled = Promise.allSettled([pending, event]);
    await qmp.close();
    for (const r of await settled) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QmpDisconnectedError);
    }
    vm.proc.kill('SIGCONT');
  });
});

describe.skipIf(!ok)('migration helpers against a small paused q35 guest', () => {
  it('migrates RAM to a file with progress, then loads it into a new QEMU with -incoming defer', async () => {
    const machine = ['-machine', 'q35', '-accel', 'tcg', '-m', '64', '-S'];
    vm = await startMachineNone(machine);
    const file = join(vm.dir, 'state.bin');
    {
      await using qmp = await QmpClient.connect(vm.qmpPath);
      const info = await migrate(qmp, `file:${file}`, { timeout: 60_000, pollInterval: 20 });
      expect(info.status).toBe('completed');
      expect(info.ram?.total).toBeGreaterThan(0);
    }
    const target = await startMachineNone([...machine, '-incoming', 'defer']);
    try {
      await using qmp = await QmpClient.connect(target.qmpPath);
      expect((await queryStatus(qmp)).status).toBe('inmigrate');
      await setMigrationCapabilities(qmp, {});
      const info = await migrateIncoming(qmp, `file:${file}`, { timeout: 60_000, pollInterval: 20 });
      expect(info.status).toBe('completed');
      expect((await queryStatus(qmp)).status).toMatch(/paused|prelaunch|postmigrate/);
      await cont(qmp);
      expect((await queryStatus(qmp)).running).toBe(true);
      const err = await migrateIncoming(qmp, `file:${file}`).catch((e) => e);
      expect(err).toBeInstanceOf(QmpCommandError);
    } finally {
      await target.dispose();
    }
  });

  it('a stream QEMU cannot load: with exitOnError false, QEMU says why and keeps running; by default it exits', async () => {
    const machine = ['-machine', 'q35', '-accel', 'tcg', '-m', '64', '-S', '-incoming', 'defer'];
    vm = await startMachineNone(machine);
    const file = join(vm.dir, 'garbage.bin');
    writeFileSync(file, 'not a migration stream'.repeat(100));
    {
      await using qmp = await QmpClient.connect(vm.qmpPath);
      const err = await migrateIncoming(qmp, `file:${file}`, {
        exitOnError: false,
        timeout: 60_000,
        pollInterval: 20,
      }).catch((e) => e);
      expect(err).toBeInstanceOf(QmpCommandError);
      expect((err as QmpCommandError).errorClass).toBe('MigrationFailed');
      expect((err as Error).message).toMatch(/migrate-incoming from file:.*garbage\.bin/);
      expect((await queryStatus(qmp)).running).toBe(false);
    }
    const other = await startMachineNone(machine);
    try {
      await using qmp = await QmpClient.connect(other.qmpPath);
      const err = await migrateIncoming(qmp, `file:${file}`, { timeout: 60_000, pollInterval: 20 }).catch((e) => e);
      expect(err).toBeInstanceOf(QmpDisconnectedError);
    } finally {
      await other.dispose();
    }
  });
});
