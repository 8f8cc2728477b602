import { spawn } from 'node:child_process';
import { afterEach, expect } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QgaClient } from '@stack/qga-protocol';
import { socketDirFor } from '@stack/qemu-argv';
import { PLACEHOLDERS } from '@stack/secret-rotation';
import { testPortBase } from '../../../tools/testing/ports.js';

// The bin the package publishes (it loads the bundle).
const BIN = new URL('../bin/stack-emulator.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, with `env` on top of a clean copy of ours. */
export function cli(
  args: string[],
  env: Record<string, string>,
  options: { interruptAfter?: (stderr: string) => boolean; signal?: NodeJS.Signals } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CI: '1', FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!interrupted && options.interruptAfter?.(stderr)) {
      interrupted = true;
      child.kill(options.signal ?? 'SIGINT');
    }
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Runs the built CLI with `input` on its stdin (a pipe, as `echo x | stack-emulator exec ...`). */
export function cliWithInput(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, CI: '1', FORCE_COLOR: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Pids of processes whose command line mentions `text` (e.g. a QEMU using this test's home). */
export function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

/** True when `pid` runs (a zombie left for a non-reaping init does not count). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** One HTTP request to the loopback; status and body (status 0 when it failed). */
export function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

export interface StatusReport {
  vm: string;
  healthy: boolean;
  reason?: string;
  instance?: { pid: number; mode: string; boot?: string; qemuVersion?: string; snapshotFormat?: string };
  session?: {
    origin: string;
    createdAt: string;
    running?: { since: string };
    lastStop?: { at: string; saved: boolean };
    ram?: { savedAt: string; format: string; bytes: number };
    sizes: { disk: number; ram: number };
  };
  notes?: string[];
}

/** The public placeholder client key snapshots carry (guest contract). */
export const PLACEHOLDER_KEY = PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY;

/**
 * One emulator home for a suite: its own ports (random, so suites and stray processes do not
 * collide), the CLI's environment, and shortcuts for what every suite does with it.
 */
/** What `start --json` prints (the fields the suites read). */
export interface StartJson {
  mode: string;
  secrets: string;
  coldReason?: string;
  rotated?: boolean;
  boot?: string;
  pid: number;
  persistence?: { kind: string };
}

const RESULTS = new URL('../../../tmp/test-results/e2e-evidence/', import.meta.url).pathname;

/**
 * What a failed test leaves for whoever reads the CI log: the guest console, QEMU's log, the last
 * command's trace and the state file, copied out of the home (which the suite then deletes) into
 * tmp/test-results/e2e-evidence/<test file>/<test>/.
 */
export function keepEvidence(home: string, file: string, test: string): string {
  const dir = join(RESULTS, file.replace(/[^\w.-]+/g, '_'), test.replace(/[^\w.-]+/g, '_').slice(0, 80));
  mkdirSync(dir, { recursive: true });
  for (const [from, name] of [
    ['run/vm/serial.log', 'console.log'],
    ['run/vm/qemu.log', 'qemu.log'],
    ['run/trace.log', 'trace.log'],
    ['run/state.json', 'state.json'],
    ['session/meta.json', 'session-meta.json'],
  ] as const) {
    const src = join(home, from);
    if (existsSync(src)) copyFileSync(src, join(dir, name));
  }
  return dir;
}

/**
 * `image` is read at each start (suites build theirs in beforeAll). @default 'reference'
 */
/** The events of the instance's last command trace (`run/trace.log`, JSON lines). */
export function traceEvents(home: string): Array<{ kind: string; [field: string]: unknown }> {
  return readFileSync(join(home, 'run', 'trace.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string });
}

export function testInstance(options: { home?: string; env?: Record<string, string>; image?: () => string } = {}) {
  const image = options.image ?? (() => 'reference');
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'emu-e2e-'));
  const base = testPortBase(5);
  const ports = { dashboard: base, backend: base + 1, minio: base + 2, inbucket: base + 3, mockOauth: base + 4 };
  const env: Record<string, string> = {
    STACK_EMULATOR_HOME: home,
    EMULATOR_DASHBOARD_PORT: String(ports.dashboard),
    EMULATOR_BACKEND_PORT: String(ports.backend),
    EMULATOR_MINIO_PORT: String(ports.minio),
    EMULATOR_INBUCKET_PORT: String(ports.inbucket),
    EMULATOR_MOCK_OAUTH_PORT: String(ports.mockOauth),
    EMULATOR_STOP_TIMEOUT: '60',
    ...options.env,
  };
  const pckFile = join(home, 'run', 'vm', 'internal-pck');
  // A failed test keeps its console, QEMU log and trace: the suite deletes the home afterwards.
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') {
      const dir = keepEvidence(home, ctx.task.file.name, ctx.task.name);
      process.stderr.write(`e2e evidence of "${ctx.task.name}": ${dir}\n`);
    }
  });
  return {
    home,
    ports,
    env,
    pckFile,
    /** The published internal client key. */
    key: () => readFileSync(pckFile, 'utf8').trim(),
    /** `GET /api/v1/projects/current` with a client key: 200 only for the current one. */
    current: (key: string, project = 'internal') =>
      get(ports.backend, '/api/v1/projects/current', {
        'x-stack-project-id': project,
        'x-stack-publishable-client-key': key,
      }),
    /** The reference appliance's test data endpoint (PostgreSQL-backed): store, then read back. */
    putData: (name: string, body: string, key: string) =>
      http(
        ports.backend,
        'PUT',
        `/api/v1/internal/emulator-test/data/${name}`,
        { 'x-stack-project-id': 'internal', 'x-stack-publishable-client-key': key },
        body,
      ),
    getData: (name: string, key: string) =>
      http(ports.backend, 'GET', `/api/v1/internal/emulator-test/data/${name}`, {
        'x-stack-project-id': 'internal',
        'x-stack-publishable-client-key': key,
      }),
    start: (...args: string[]) => cli(['start', '--image', image(), '--json', ...args], env),
    /** `start --json`, which must exit 0: its result and its stderr. */
    async started(...args: string[]): Promise<{ out: StartJson; stderr: string }> {
      const r = await cli(['start', '--image', image(), '--json', ...args], env);
      expect(r.code, r.stderr).toBe(0);
      return { out: JSON.parse(r.stdout) as StartJson, stderr: r.stderr };
    },
    /** `use` with a connection to the running guest's agent, closed after. */
    async withAgent<T>(use: (qga: QgaClient) => Promise<T>): Promise<T> {
      await using qga = await QgaClient.connect(join(socketDirFor(home), 'qga.sock'), { timeout: 10_000 });
      return await use(qga);
    },
    /** kill -9 of the running QEMU (a crash), then a moment for the kernel to reap it. */
    async killQemu(): Promise<void> {
      const r = await cli(['status', '--json'], env);
      process.kill((JSON.parse(r.stdout) as StatusReport).instance!.pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 300));
    },
    stop: (...args: string[]) => cli(['stop', ...args], env),
    status: async () => {
      const r = await cli(['status', '--json'], env);
      return { code: r.code, report: JSON.parse(r.stdout) as StatusReport };
    },
    snapshotIds: () => {
      try {
        return readdirSync(join(home, 'snapshots')).filter((n) => /^[0-9a-f]{32}$/.test(n));
      } catch {
        return [];
      }
    },
    /** Stops the emulator, kills anything left that mentions the home, removes it. */
    async cleanup() {
      await cli(['stop', '--timeout', '5'], env);
      for (const pid of processesMentioning(home)) process.kill(pid, 'SIGKILL');
      rmSync(home, { recursive: true, force: true });
    },
  };
}
