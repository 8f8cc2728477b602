import { connect, type Socket } from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '@stack/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { startHostAgent, type TestAgent } from '../../../../tools/testing/qemu-ga.js';
import { hasTools } from '../../../../tools/testing/requires.js';
import {
  QgaClient,
  QgaCommandError,
  QgaDisconnectedError,
  QgaTimeoutError,
  exec,
  info,
  ping,
  readFile,
  writeFile,
} from '../../src/index.js';

const ok = hasTools('qemu-ga');
let agent: TestAgent | undefined;
afterEach(async () => {
  await agent?.dispose();
  agent = undefined;
});

describe.skipIf(!ok)('QgaClient against a real qemu-ga (-m unix-listen)', () => {
  it('syncs past stale bytes an earlier client left on the channel', async () => {
    agent = await startHostAgent();
    let socket: Socket | undefined;
    const dirty: Connector = (path) =>
      new Promise((resolve, reject) => {
        socket = connect({ path }, () => {
          // A complete command whose reply nobody reads, then half a command.
          socket!.write('{"execute":"guest-info","id":"earlier"}\n{"execute":"guest-pi');
          resolve(socket!);
        });
        socket.once('error', reject);
      });
    await using qga = await QgaClient.connect(agent.socketPath, { connector: dirty });
    await new Promise((r) => setTimeout(r, 100)); // let the stale reply arrive first
    await ping(qga);
    const i = await info(qga);
    expect(i.commands.get('guest-exec')).toBe(true);
  });

  it('runs a program with stdin and returns its output and exit code', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    let started = 0;
    const r = await exec(qga, {
      path: '/bin/sh',
      args: ['-c', 'tr a-z A-Z; echo err >&2; exit 0'],
      input: 'hello agent\n',
      onStart: (pid) => (started = pid),
    });
    expect(started).toBeGreaterThan(0);
    expect(r.pid).toBe(started);
    expect(r).toMatchObject({ exitCode: 0, signal: null, truncated: false });
    expect(r.stdout.toString()).toBe('HELLO AGENT\n');
    expect(r.stderr.toString()).toBe('err\n');
  });

  it('traces every message of the connection (its debug log): syncs, commands with their ids, replies', async () => {
    agent = await startHostAgent();
    const log: Array<[string, { execute?: string; type?: string }]> = [];
    await using qga = await QgaClient.connect(agent.socketPath, {
      trace: (d, m) => log.push([d, m as { execute?: string }]),
    });
    await qga.execute('guest-ping');
    expect(log.filter(([d]) => d === 'send').map(([, m]) => m.execute)).toEqual(['guest-sync-delimited', 'guest-ping']);
    const syncId = (log[0]![1] as { arguments: { id: number } }).arguments.id;
    const received = log
      .filter(([d]) => d === 'recv')
      .map(([, m]) => m as { type: string; value?: unknown; id?: string });
    // Before its reply to the sync the agent may complain about our 0xFF reset byte: traced as it came.
    expect(received).toContainEqual({ type: 'return', value: syncId });
    expect(received.at(-1)).toEqual({ type: 'return', id: 'stack#1', value: {} });
  });

  it('passes the environment and reports a non-zero exit as a result', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const r = await exec(qga, {
      path: '/bin/sh',
      args: ['-c', 'echo "$GREETING"; exit 7'],
      env: { GREETING: 'hi', PATH: '/usr/bin:/bin' },
    });
    expect(r.exitCode).toBe(7);
    expect(r.stdout.toString()).toBe('hi\n');
  });

  it('reports the signal that killed a program (no exit code)', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const r = await exec(qga, { path: '/bin/sh', args: ['-c', 'kill -9 $$'] });
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe(9);
  });

  it('refuses a program that cannot start with a command error', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const err = await exec(qga, { path: '/no/such/program' }).catch((e) => e);
    expect(err).toBeInstanceOf(QgaCommandError);
  });

  it('carries output over 1 MiB intact and flags output cut at 16 MiB', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const big = await exec(qga, { path: '/bin/sh', args: ['-c', 'seq 1 300000'] });
    const expected = Array.from({ length: 300000 }, (_, i) => `${i + 1}\n`).join('');
    expect(big.stdout.length).toBeGreaterThan(1024 * 1024);
    expect(big.stdout.toString()).toBe(expected);
    // Regression: qemu-ga 10.0.2 reports out-truncated false here; the client must still flag it.
    const cut = await exec(qga, { path: '/bin/sh', args: ['-c', 'head -c 17000000 /dev/zero'] });
    expect(cut.truncated).toBe(true);
    expect(cut.stdout.length).toBe(16 * 1024 * 1024);
  });

  it('writes and reads files', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const path = join(agent.dir, 'f.bin');
    const data = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 3 }, (_, i) => i % 251));
    await writeFile(qga, path, data);
    expect(readFileSync(path).equals(data)).toBe(true);
    expect((await readFile(qga, path)).equals(data)).toBe(true);
  });

  it("writes into a FIFO with mode r+, read or not ('w' fails or hangs without a reader)", async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    const fifo = join(agent.dir, 'clock');
    execFileSync('mkfifo', [fifo]);
    // No reader: the data is dropped with the last close, and the agent answers on.
    await writeFile(qga, fifo, 'dropped\n', { mode: 'r+', timeout: 5000 });
    await ping(qga, { timeout: 5000 });
    // A reader (the guest's clock daemon) gets what was written.
    const reader = spawn('head', ['-n', '1', fifo]);
    const line = new Promise<string>((resolve) => reader.stdout.on('data', (b: Buffer) => resolve(b.toString())));
    await new Promise((r) => setTimeout(r, 100)); // let head open it
    await writeFile(qga, fifo, '1733500000000\n', { mode: 'r+', timeout: 5000 });
    expect(await line).toBe('1733500000000\n');
    // Write-only with no reader, the open fails (ENXIO: qemu-ga 10 opens non-blocking) or blocks the agent.
    await expect(writeFile(qga, fifo, 'x\n', { timeout: 1000 })).rejects.toThrow(/No such device|timed out/);
  });

  it('times out against a stopped agent, then resyncs and works once it runs again', async () => {
    agent = await startHostAgent();
    await using qga = await QgaClient.connect(agent.socketPath);
    await ping(qga);
    agent.proc.kill('SIGSTOP');
    await expect(ping(qga, { timeout: 200 })).rejects.toBeInstanceOf(QgaTimeoutError);
    expect(qga.synced).toBe(false);
    agent.proc.kill('SIGCONT'); // the agent now answers the old ping: a stale reply the sync skips
    const r = await exec(qga, { path: '/bin/echo', args: ['after'] });
    expect(r.stdout.toString()).toBe('after\n');
    expect(qga.synced).toBe(true);
  });

  it('rejects the pending call when the agent dies mid-command', async () => {
    agent = await startHostAgent();
    const qga = await QgaClient.connect(agent.socketPath);
    await ping(qga);
    agent.proc.kill('SIGSTOP');
    const pending = ping(qga);
    await new Promise((r) => setTimeout(r, 50));
    agent.proc.kill('SIGKILL');
    await expect(pending).rejects.toBeInstanceOf(QgaDisconnectedError);
    expect(qga.closed).toBe(true);
  });
});
