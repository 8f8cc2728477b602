import type { ExecResult } from '@stack/qga-protocol';
import type { SecretSet } from '@stack/secret-rotation';
import type { Trace } from '../trace/trace.js';
import type { Clock } from './host.js';
import type { SeamCall } from './vm.js';

/** How the guest clock was set: the contract's clock daemon, `date -s` spawned by the agent, or guest-set-time. */
export type ClockVia = 'daemon' | 'date' | 'guest-set-time';

/** A share to mount: its slot (9p tag `stackshare<slot>`) and host directory (mounted at /host<dir>). */
export interface ShareMount {
  slot: number;
  dir: string;
  /** Mounted read-only in the guest (`--share-readonly`). @default false */
  readonly?: boolean;
}

/** One guest-exec. */
interface GuestRun {
  path: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  input?: Uint8Array | string;
  /** Milliseconds. */
  timeout: number;
  signal?: AbortSignal;
  /** Fastest poll of the exec's status, in ms. @default the client's */
  maxPollInterval?: number;
  onStart?: (pid: number) => void;
}

/** The guest agent of a running guest, in the runtime's terms (the real adapter speaks qemu-ga). */
export interface GuestAgent {
  /**
   * Sets the guest's wall clock to the host's (`clock.now()`, read when it is sent); says how, or warns
   * when it could not (never a failure); `noDaemon` when it found the image has no clock daemon.
   */
  setClock(
    clock: Clock,
    options?: SeamCall & {
      /** `false`: the image is known to have no clock daemon, skip it. @default try it first */
      daemon?: false;
    },
  ): Promise<{ via?: ClockVia; warning?: string; noDaemon?: boolean }>;
  mountShares(shares: readonly ShareMount[], options?: SeamCall): Promise<void>;
  /** Unmounts every share; the guest's complaint when one stays mounted. */
  unmountShares(options?: SeamCall): Promise<string | undefined>;
  /** Pushes fresh secrets (or `secrets`) through the image's rotation hook; resolves once it succeeded. */
  rotate(options: SeamCall & { secrets?: SecretSet }): Promise<SecretSet>;
  hasFile(path: string, options?: SeamCall): Promise<boolean>;
  run(command: GuestRun): Promise<ExecResult>;
  /** Closes the connection; rejects whatever is pending. */
  close(): Promise<void>;
}

interface ConnectAgentOptions {
  /** How long the agent may take to answer guest-sync. */
  timeoutMs: number;
  signal?: AbortSignal;
  trace: Trace;
  /**
   * Asked between attempts: why waiting longer is pointless (QEMU exited, the guest is paused on an
   * I/O error, panicked...); the wait ends at once with that reason. @default never
   */
  problem?: () => Promise<string | undefined> | string | undefined;
  /** The guest console, quoted when the agent never answers. @default not quoted */
  serialLog?: string;
}

/** Reaches a guest's agent. */
export interface GuestConnector {
  connect(socket: string, options: ConnectAgentOptions): Promise<GuestAgent>;
}
