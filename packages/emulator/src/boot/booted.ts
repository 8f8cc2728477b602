import type { Session } from '../session/session.js';
import type { SecretsState } from '../guest/settle.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import type { StartMode } from '../instance/state.js';
import type { Vm } from '../seams/vm.js';

/** A healthy VM, as an attempt leaves it. */
export interface Booted {
  vm: Vm;
  secrets: SecretsState;
  mode: StartMode;
  /** The layout it runs in: a session in the snapshot layout can be saved at stop. */
  layout: 'cold' | 'snapshot';
  /**
   * The RAM format it resumed from (ephemeral), or the one a session's stop saves it in: template-ram
   * only for a VM whose RAM is the session's own file.
   */
  format?: SnapshotFormat;
  /** The format it resumed from, when not `format` (a template resumed without a RAM file of its own). */
  resumedFrom?: SnapshotFormat;
  coldReason?: string;
  snapshotId?: string;
  /** The session it runs on (none when ephemeral). */
  session?: Session;
  /** The image file QEMU runs (a session's pinned link). */
  image: string;
  /** Kernel booted directly, firmware, or the BIOS. */
  boot: 'direct-kernel' | 'firmware' | 'bios';
  /** Directories shared, one per slot. */
  shares: readonly string[];
}

/** What a VM is while its start runs, recorded the moment QEMU exists (record.ts). */
export interface Launching {
  mode: StartMode;
  session?: Session;
  image: string;
  shares: readonly string[];
}

/** Called by each attempt as soon as its QEMU runs. */
export type OnLaunched = (vm: Vm, what: Launching) => Promise<void>;
