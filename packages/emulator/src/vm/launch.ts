import type { QgaClient } from '@stack/qga-protocol';
import { migrationUri, supportsIncomingExitOnError, supportsReadOnlyPrivateRam } from '@stack/qemu-argv';
import {
  cont,
  migrateIncoming,
  queryStatus,
  setMigrationCapabilities,
  setMigrationParameters,
} from '@stack/qmp-protocol';
import { createOverlay } from '@stack/snapshot-cache';
import { EmulatorError } from '../errors.js';
import { type BootContext, mark, migrationSettings, vmProblem, vmSpec, writePhantoms } from '../boot/boot-context.js';
import { writeConfigDisk } from '../image/config-disk.js';
import { waitForAgent } from '../guest/guest.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import { launchVm, type VmProcess } from './vm-process.js';

/** What one launch runs: which layout, disk and RAM state. Every boot path goes through launchGuest. */
export interface LaunchPlan {
  layout: 'cold' | 'snapshot';
  /** The system disk QEMU writes (a qcow2 overlay). */
  disk: string;
  /** Make `disk` afresh as an overlay on this backing file first. @default the disk is used as it is */
  newOverlayOn?: string;
  /** The config disk to write, and its runtime.env values (base.env is the context's). */
  configIso: string;
  configValues: Record<string, string>;
  /** RAM state to load: a resume. @default none: the guest boots */
  incoming?: { path: string; format: SnapshotFormat };
  /**
   * Guest RAM in this file: `shared` for a template capture (the guest writes the template),
   * `private` to resume one (copy-on-write; the file never changes). @default anonymous RAM
   */
  memoryFile?: { path: string; mode: 'shared' | 'private' };
  /** Host directories for the share slots (host-only fsdevs; plugged later by settleGuest). */
  shares: readonly string[];
  /** Slots whose 9p device is on the command line (a saved session had them plugged). @default 0 */
  pluggedShares?: number;
  /** How long the guest agent may take to answer. */
  agentTimeoutMs: number;
}

export interface Launched {
  vm: VmProcess;
  qga: QgaClient;
  /** Share slots that already have their 9p device. */
  pluggedShares: number;
}

/**
 * The one launch-and-reach-the-agent step of every path (capture, golden resume, session resume,
 * cold boot): disk and config disk, QEMU, the RAM state when resuming (then `cont`), the guest
 * agent. On any failure QEMU is killed before the error propagates; the caller decides what it means.
 */
export async function launchGuest(ctx: BootContext, plan: LaunchPlan): Promise<Launched> {
  const p = ctx.config.paths;
  let vm: VmProcess | undefined;
  try {
    if (plan.layout === 'snapshot') await writePhantoms(ctx);
    if (plan.newOverlayOn) await createOverlay(plan.newOverlayOn, plan.disk, { signal: ctx.signal });
    await writeConfigDisk(plan.configIso, plan.configValues, ctx.baseEnv.text);
    mark(ctx, 'prepared');
    vm = await launchVm(
      vmSpec(ctx, {
        layout: plan.layout,
        system: plan.disk,
        config: plan.configIso,
        incoming: Boolean(plan.incoming),
        shares: plan.shares,
        pluggedShares: plan.pluggedShares ?? 0,
        ...(plan.memoryFile
          ? {
              memoryFile: {
                ...plan.memoryFile,
                readOnlyOpen: plan.memoryFile.mode === 'private' && supportsReadOnlyPrivateRam(ctx.host.probe.version),
              },
            }
          : {}),
      }),
      { qemuLog: p.qemuLog, signal: ctx.signal },
    );
    mark(ctx, 'qemuLaunched');
    if (plan.incoming) {
      const { caps, params } = migrationSettings(plan.incoming.format);
      if (Object.keys(caps).length > 0) await setMigrationCapabilities(vm.qmp, caps, { signal: ctx.signal });
      if (Object.keys(params).length > 0) await setMigrationParameters(vm.qmp, params, { signal: ctx.signal });
      mark(ctx, 'loading');
      // Where QEMU can stay up on a stream it cannot load, it does, so the user reads its reason.
      const version = ctx.host.probe.version;
      const exitOnError = supportsIncomingExitOnError(version) ? false : undefined;
      await migrateIncoming(vm.qmp, migrationUri(version, 'in', plan.incoming.path), {
        timeout: 60_000,
        signal: ctx.signal,
        pollInterval: 10,
        exitOnError,
      });
      mark(ctx, 'loaded');
      if (!(await queryStatus(vm.qmp, { signal: ctx.signal })).running) await cont(vm.qmp, { signal: ctx.signal });
      mark(ctx, 'running');
    }
    const running = vm;
    // A booting guest under KVM/HVF that prints nothing is an accelerator failure (vmProblem); a
    // resumed one prints nothing by design.
    const qga = await waitForAgent(p.agentSocket, {
      timeoutMs: plan.agentTimeoutMs,
      signal: ctx.signal,
      vmExited: () => vmProblem(ctx, running, { booting: !plan.incoming }) !== undefined,
      serialLog: p.serialLog,
    });
    mark(ctx, 'agentReady');
    return { vm, qga, pluggedShares: plan.pluggedShares ?? 0 };
  } catch (e) {
    // A guest that never answered because QEMU died or its accelerator failed: say that, not "no agent".
    const problem = vm ? vmProblem(ctx, vm, { booting: !plan.incoming }) : undefined;
    await vm?.kill();
    if (problem && e instanceof EmulatorError && e.code === 'GUEST_FAILED' && !ctx.signal?.aborted)
      throw new EmulatorError('QEMU_FAILED', problem, { cause: e });
    throw e;
  }
}
