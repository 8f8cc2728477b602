/**
 * Fakes of every seam (seams/seams.ts) for unit tests of the start's execution: QEMU processes that
 * behave as scripted, a guest agent and services that answer, a process table and a clock that
 * advances when slept on. Files are real (a temp home, real qemu-img overlays and zstd), so what the
 * runtime does to the home is what it would do; only QEMU and the guest are played.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmSpecInput } from '@stack/qemu-argv';
import { generateSecrets } from '@stack/secret-rotation';
import { EmulatorError } from '../src/errors.js';
import { CLOCK_FIFO } from '../src/guest/guest-clock.js';
import type { GuestAgent, GuestConnector } from '../src/seams/guest.js';
import type { Clock, DiskSpace, MemoryInfo, Processes, Services } from '../src/seams/host.js';
import type { ProcessMemory } from '@stack/internal';
import type { Seams } from '../src/seams/seams.js';
import type { Vm, VmControl, VmLauncher } from '../src/seams/vm.js';

/** How one launched QEMU behaves. @default it runs, loads, answers and is healthy */
export interface VmScript {
  /** QEMU exits right after its start, with this on its log (e.g. "KVM internal error. Suberror: 1"). */
  exitWith?: string;
  /** `migrate-incoming` fails with this. */
  loadFails?: Error;
  /** The agent never answers (connect fails with this). */
  agentFails?: Error;
  /** The rotation hook fails with this. */
  rotateFails?: Error;
  /** A guest-exec of this program exits with this code and stderr (e.g. a hook that fails). */
  execFails?: { path: string; exitCode: number; stderr: string };
  /** Services stay unhealthy. */
  unhealthy?: boolean;
  /** The run state QEMU reports once the guest should run (e.g. `io-error`: paused on a disk error). */
  stuck?: string;
  /** Called when the attempt reaches this point, e.g. to abort a signal there. */
  at?: { point: 'launched' | 'loaded' | 'running' | 'agent' | 'rotate'; run: () => void };
}

export interface LaunchRecord {
  spec: VmSpecInput;
  /** What existed when QEMU was started (QEMU refuses a missing disk or kernel). */
  missing: string[];
  pid: number;
}

const pathOf = (uri: string) =>
  uri
    .replace(/^file:/, '')
    .replace(/^exec:cat\s+/, '')
    .replace(/^exec:cat > /, '');

export class FakeWorld {
  readonly home = mkdtempSync(join(tmpdir(), 'emu-fake-'));
  readonly launches: LaunchRecord[] = [];
  readonly scripts: VmScript[] = [];
  readonly events: string[] = [];
  /** Guest files the agent says are absent (every other path exists: the reference appliance's markers). */
  readonly absentFiles = new Set<string>();
  /** Every guest-exec the runtime ran through the agent, with its input. */
  readonly guestRuns: Array<{ path: string; input: string }> = [];
  /** Whether the guest has the clock daemon (and its FIFO). */
  clockDaemon = true;
  /** Each setClock's `daemon` option, in order. */
  readonly clockCalls: Array<false | undefined> = [];
  #nextPid = 4_000_000;
  #alive = new Map<number, string>();
  #now = 1_750_000_000_000;
  #current: VmScript = {};

  /** Queues how the next launched QEMUs behave, in order. */
  script(...s: VmScript[]): this {
    this.scripts.push(...s);
    return this;
  }

  /** A small real qcow2 image with boot files beside it (direct kernel boot). */
  image(name = 'image.qcow2'): string {
    const dir = join(this.home, 'src-images');
    mkdirSync(dir, { recursive: true });
    const img = join(dir, name);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '16M']);
    mkdirSync(`${img}.boot`, { recursive: true });
    writeFileSync(join(`${img}.boot`, 'vmlinuz'), 'kernel');
    writeFileSync(join(`${img}.boot`, 'boot.json'), JSON.stringify({ append: 'console=ttyS0' }));
    return img;
  }

  alive(pid: number): boolean {
    return this.#alive.has(pid);
  }

  get running(): number[] {
    return [...this.#alive.keys()];
  }

  readonly clock: Clock = {
    now: () => this.#now,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      this.#now += ms;
      await new Promise((r) => setImmediate(r));
    },
  };

  readonly processes: Processes = {
    self: process.pid,
    startTime: (pid) => (pid === process.pid ? 'self' : this.#alive.get(pid)),
    alive: (pid, start) => (pid === process.pid ? true : this.#alive.get(pid) === start),
    proven: (pid, start) => this.#alive.get(pid) === start,
    kill: (pid) => {
      this.#alive.delete(pid);
    },
  };

  /** The run state a running QEMU reports to a later command (`postmigrate`: a stop killed mid-save). */
  attachedStatus = 'running';
  /** Called when a save begins (e.g. to interrupt it). */
  onSave: (() => void) | undefined;
  /** QEMU ignores quit and power-down (a hung QEMU): only signals end it. */
  deaf = false;

  /** Bytes free on the home's file system, as the fake reports it. @default plenty */
  free = 1e12;

  /** Whether the home's file system allocates on a read of a hole (tmpfs). @default false */
  holesFillOnRead = false;
  readonly disk: DiskSpace = { freeBytes: async () => this.free, fillsHolesOnRead: async () => this.holesFillOnRead };

  /** MiB the host has available, as the fake reports it. @default plenty */
  availableMiB: number | undefined = 1_000_000;
  /** QEMU's memory, as the fake reports it for any pid. */
  qemuMemory: ProcessMemory | undefined = { rssKiB: 300_000, pssKiB: 200_000 };

  readonly memory: MemoryInfo = {
    availableMiB: () => this.availableMiB,
    processMemory: () => this.qemuMemory,
  };

  readonly services: Services = {
    waitHealthy: async (ports, options) => {
      options.signal?.throwIfAborted();
      return {
        healthy: !this.#current.unhealthy,
        services: [
          {
            name: 'backend',
            url: `http://127.0.0.1:${ports.backend}/health?db=1`,
            healthy: !this.#current.unhealthy,
            status: this.#current.unhealthy ? 503 : 200,
          },
        ],
      };
    },
    request: async () => ({ status: 200, body: '{}' }),
  };

  #vmControl(pid: number, state: { status: string }, exit: () => void): VmControl {
    const script = this.#current;
    return {
      status: async () => {
        const status = script.stuck && state.status === 'running' ? script.stuck : state.status;
        return { running: status === 'running', status };
      },
      loadState: async (uri, _settings, o) => {
        o.signal?.throwIfAborted();
        if (!existsSync(pathOf(uri))) throw new EmulatorError('QEMU_FAILED', `no such file ${pathOf(uri)}`);
        if (script.loadFails) throw script.loadFails;
        state.status = 'paused';
        this.events.push(`load ${pathOf(uri)}`);
        if (script.at?.point === 'loaded') script.at.run();
      },
      cont: async (o) => {
        o?.signal?.throwIfAborted();
        state.status = 'running';
        this.events.push('cont');
        if (script.at?.point === 'running') script.at.run();
      },
      saveState: async (uri, _settings, o) => {
        this.onSave?.();
        // As QEMU's migration: an abort cancels it and the guest runs on.
        if (o.signal?.aborted) {
          state.status = 'running';
          throw o.signal.reason;
        }
        writeFileSync(pathOf(uri), Buffer.alloc(4096, 7));
        state.status = 'paused';
        this.events.push(`save ${pathOf(uri)}`);
      },
      pause: async () => {
        state.status = 'paused';
        this.events.push('pause');
      },
      snapshotDisk: async (device, file) => void this.events.push(`snapshot ${device} ${file}`),
      plugShare: async (slot) => void this.events.push(`plug ${slot}`),
      quit: async () => {
        if (!this.deaf) exit();
      },
      powerdown: async () => {
        if (!this.deaf) exit();
      },
      close: async () => {},
    };
  }

  /** The pid of the QEMU last launched on each monitor socket. */
  readonly #bySocket = new Map<string, number>();

  readonly vms: VmLauncher = {
    launch: async (spec, options) => {
      const script = this.scripts.shift() ?? {};
      this.#current = script;
      // QEMU opens the disk and kernel it is given; a shared RAM file it creates when missing.
      const wanted = [spec.drives.system, spec.kernel?.path].filter((f): f is string => f !== undefined);
      if (spec.memoryFile && spec.memoryFile.mode === 'private') wanted.push(spec.memoryFile.path);
      if (spec.memoryFile?.mode === 'shared' && !existsSync(spec.memoryFile.path))
        writeFileSync(spec.memoryFile.path, Buffer.alloc(1 << 20, 1));
      const missing = wanted.filter((f) => !existsSync(f));
      const pid = this.#nextPid++;
      this.launches.push({ spec, missing, pid });
      if (missing.length || script.exitWith) {
        writeFileSync(
          options.qemuLog,
          script.exitWith ?? `qemu: Could not open '${missing[0]}': No such file or directory\n`,
        );
        throw new EmulatorError(
          'QEMU_FAILED',
          `QEMU exited during start: ${script.exitWith ?? `missing ${missing[0]}`}`,
        );
      }
      writeFileSync(options.qemuLog, '');
      const start = `t${pid}`;
      this.#alive.set(pid, start);
      this.#bySocket.set(spec.qmpSocket, pid);
      let resolveExit!: () => void;
      const exited = new Promise<void>((r) => (resolveExit = r));
      const exit = () => {
        this.#alive.delete(pid);
        resolveExit();
      };
      const state = { status: spec.incoming ? 'inmigrate' : 'running' };
      const alive = this.#alive;
      const vm: Vm = {
        pid,
        pidStartTime: start,
        launchedAt: this.#now,
        fingerprint: 'fake',
        control: this.#vmControl(pid, state, exit),
        exited,
        get hasExited() {
          return !alive.has(pid);
        },
        kill: async () => exit(),
        detach: () => {},
      };
      if (script.at?.point === 'launched') script.at.run();
      return vm;
    },
    attach: async (socket) => {
      // The QEMU launched on that monitor socket (one per instance), as the real attach connects to it.
      const pid = this.#bySocket.get(socket);
      if (pid === undefined || !this.#alive.has(pid)) return undefined;
      return this.#vmControl(pid, { status: this.attachedStatus }, () => this.#alive.delete(pid));
    },
  };

  readonly guests: GuestConnector = {
    connect: async (_socket, options) => {
      const script = this.#current;
      // As the real connector: asked between attempts, a problem ends the wait with its reason.
      const problem = await options.problem?.();
      if (problem) throw new EmulatorError('GUEST_FAILED', `the guest agent cannot answer: ${problem}`);
      if (script.agentFails) throw script.agentFails;
      if (script.at?.point === 'agent') script.at.run();
      const agent: GuestAgent = {
        setClock: async (_clock, o) => {
          this.clockCalls.push(o?.daemon);
          if (this.clockDaemon && o?.daemon !== false) return { via: 'daemon' as const };
          // As the real agent: a failed open of the FIFO is reported only when the daemon was tried.
          return { via: 'date' as const, ...(o?.daemon === undefined ? { noDaemon: true } : {}) };
        },
        mountShares: async (s) =>
          void this.events.push(`mount ${s.map((x) => `${x.dir}${x.readonly ? ':ro' : ''}`).join(',')}`),
        unmountShares: async () => undefined,
        rotate: async (o) => {
          if (script.at?.point === 'rotate') script.at.run();
          o.signal?.throwIfAborted();
          if (script.rotateFails) throw script.rotateFails;
          this.events.push('rotate');
          return generateSecrets();
        },
        hasFile: async (path) => (path === CLOCK_FIFO ? this.clockDaemon : !this.absentFiles.has(path)),
        run: async (c) => {
          this.guestRuns.push({ path: c.path, input: c.input === undefined ? '' : Buffer.from(c.input).toString() });
          this.events.push(`exec ${c.path}`);
          const fails = script.execFails?.path === c.path ? script.execFails : undefined;
          return {
            pid: 1,
            exitCode: fails?.exitCode ?? 0,
            signal: null,
            stdout: Buffer.alloc(0),
            stderr: Buffer.from(fails?.stderr ?? ''),
            truncated: false,
          };
        },
        close: async () => {},
      };
      return agent;
    },
  };

  get seams(): Seams {
    return {
      clock: this.clock,
      vms: this.vms,
      guests: this.guests,
      services: this.services,
      processes: this.processes,
      disk: this.disk,
      memory: this.memory,
    };
  }
}
