import type { QemuVersion, VmSpecInput } from '@stack/qemu-argv';
import type { Trace } from '../trace/trace.js';

/** Per-call options of the seams' blocking calls. */
export interface SeamCall {
  signal?: AbortSignal;
  /** Milliseconds. @default the adapter's own limit for that call */
  timeout?: number;
}

/** Migration capabilities and parameters, the same on both ends (see vm/migration-settings.ts). */
export interface MigrationSettings {
  caps: Record<string, boolean>;
  params: Record<string, unknown>;
}

/** QEMU's run state as `query-status` reports it. */
interface RunState {
  running: boolean;
  /** `running`, `paused`, `inmigrate`, `io-error`, `guest-panicked`, `internal-error`, `shutdown`, ... */
  status: string;
}

/**
 * The monitor of one QEMU in the runtime's terms (the real adapter speaks QMP). Every call is bounded:
 * a QEMU that stops answering costs its timeout, never a hang.
 */
export interface VmControl {
  status(options?: SeamCall): Promise<RunState>;
  /** Loads a saved state (`-incoming defer`): settings, then `migrate-incoming`, until it completes. */
  loadState(uri: string, settings: MigrationSettings, options: SeamCall & { exitOnError?: boolean }): Promise<void>;
  /** Runs a paused guest. */
  cont(options?: SeamCall): Promise<void>;
  /**
   * Pauses the guest and saves its state to `uri`. On failure or abort the migration is cancelled and
   * the guest runs on, so the caller can still stop it cleanly; QEMU refusing the settings or the URI
   * is SNAPSHOT_UNSUPPORTED.
   */
  saveState(uri: string, settings: MigrationSettings, options: SeamCall & { format: string }): Promise<void>;
  /** Pauses the guest's vCPUs (a paused guest stays paused). */
  pause(options?: SeamCall): Promise<void>;
  /**
   * Switches drive `device` to write `file` from now on: a qcow2 made beforehand whose backing is the
   * drive's current image, which QEMU keeps open read-only (QMP `blockdev-snapshot-sync`, existing).
   */
  snapshotDisk(device: string, file: string, options?: SeamCall): Promise<void>;
  /** Plugs the 9p device of a share slot into its root port. */
  plugShare(slot: number, options?: SeamCall): Promise<void>;
  quit(options?: SeamCall): Promise<void>;
  /** ACPI power button. */
  powerdown(options?: SeamCall): Promise<void>;
  /** Closes the connection (QEMU runs on); rejects whatever is pending. */
  close(): Promise<void>;
}

/** A QEMU this process launched. */
export interface Vm {
  pid: number;
  /** The process's start time, so a reused pid is never mistaken for it. */
  pidStartTime: string | undefined;
  /** Clock time when it was spawned. */
  launchedAt: number;
  /** Device layout fingerprint of its command line. */
  fingerprint: string;
  control: VmControl;
  /** Resolves when QEMU exits (while this process lives). */
  exited: Promise<void>;
  readonly hasExited: boolean;
  /** SIGKILL, wait for the exit, close the monitor. Never throws. */
  kill(): Promise<void>;
  /** Lets this process exit while QEMU runs on. */
  detach(): void;
}

interface LaunchOptions {
  /** QEMU's stdout and stderr go here (truncated). */
  qemuLog: string;
  signal?: AbortSignal;
  trace: Trace;
  /** How long QEMU may take to open its monitor. @default 15000 */
  connectTimeout?: number;
  /** The QEMU's version, named in its errors. @default not named */
  qemuVersion?: QemuVersion;
}

/** Starts QEMU processes, and reaches the monitor of one already running. */
export interface VmLauncher {
  launch(spec: VmSpecInput, options: LaunchOptions): Promise<Vm>;
  /** The monitor of a running QEMU (stop, status), or undefined when it does not answer in time. */
  attach(
    socket: string,
    options: { trace: Trace; timeout?: number; qemuVersion?: QemuVersion },
  ): Promise<VmControl | undefined>;
}
