import { allDone } from '@stack/internal';
import { migrationUri, supportsIncomingExitOnError } from '@stack/qemu-argv';
import { createOverlay } from '@stack/snapshot-cache';
import { type BootEnv, mark } from '../boot/boot-env.js';
import { EmulatorError } from '../errors.js';
import { writeConfigDisk } from '../image/config-disk.js';
import type { SnapshotFormat } from '../host/snapshot-support.js';
import type { GuestAgent } from '../seams/guest.js';
import type { Vm } from '../seams/vm.js';
import { migrationSettings } from './migration-settings.js';
import { vmProblem } from './vm-problem.js';
import { type VmShape, vmSpec, writePhantoms } from './vm-spec.js';

/** What one launch runs. Every attempt (capture, resumes, cold boots) goes through {@link launchGuest}. */
export interface LaunchPlan extends Omit<VmShape, 'incoming' | 'config' | 'system'> {
  /** The system disk QEMU writes (a qcow2 overlay). */
  disk: string;
  /** Make `disk` afresh as an overlay on this backing file first. @default the disk is used as it is */
  newOverlayOn?: string;
  /** The config disk to write, and its runtime.env values (base.env is the start's). */
  configIso: string;
  configValues: Record<string, string>;
  /** RAM state to load: a resume. @default none: the guest boots */
  incoming?: { path: string; format: SnapshotFormat };
  /** How long the guest agent may take to answer. */
  agentTimeoutMs: number;
  /**
   * Called as soon as QEMU runs, before anything else can fail: the caller records the VM, so a
   * process killed from here on leaves a QEMU that `stop` and the next `start` know about.
   */
  onLaunched: (vm: Vm) => Promise<void>;
  /**
   * Called once a saved state is loaded, before the guest runs (`cont`): the last moment the state
   * still matches the disk, so a state consumed here is never resumed against a disk that moved on,
   * and one not yet consumed (a failure or a kill before) is still good. @default nothing
   */
  onLoaded?: () => Promise<void>;
  /**
   * Writes `memoryFile` before QEMU maps it (a session's clone of the template's RAM: the longest
   * file to make), beside the disks and the config disk. @default the file is there
   */
  prepareMemory?: () => Promise<unknown>;
}

export interface Launched {
  vm: Vm;
  agent: GuestAgent;
  /** Share slots that already have their 9p device. */
  pluggedShares: number;
}

/**
 * The one launch-and-reach-the-agent step of every attempt: disk and config disk, QEMU, the RAM
 * state when resuming (then `cont`), the guest agent. On any failure QEMU is killed before the error
 * propagates; the caller decides what it means.
 */
export async function launchGuest(env: BootEnv, plan: LaunchPlan): Promise<Launched> {
  const { op } = env;
  const p = op.config.paths;
  let vm: Vm | undefined;
  try {
    // Independent files, made at once (each waits on its own disk writes or on `qemu-img`/`cp`); run/vm/
    // exists since prepareBoot.
    await allDone([
      (async () => {
        if (plan.layout === 'snapshot') await writePhantoms(env);
        await writeConfigDisk(plan.configIso, plan.configValues, env.baseEnv.text);
      })(),
      plan.newOverlayOn ? createOverlay(plan.newOverlayOn, plan.disk, { signal: op.signal }) : undefined,
      plan.prepareMemory?.(),
    ]);
    mark(env, 'prepared');
    vm = await op.seams.vms.launch(
      vmSpec(env, { ...plan, system: plan.disk, config: plan.configIso, incoming: Boolean(plan.incoming) }),
      { qemuLog: p.qemuLog, signal: op.signal, trace: op.trace, qemuVersion: env.host.probe.version },
    );
    // Recorded before the step is named: a command killed at `qemuLaunched` leaves a QEMU that
    // run/state.json names (the fault suite kills it right there). What is left is the few
    // milliseconds between the spawn and that write.
    await plan.onLaunched(vm);
    mark(env, 'qemuLaunched');
    if (plan.incoming) {
      mark(env, 'loading');
      // Where QEMU can stay up on a stream it cannot load, it does, so the user reads its reason.
      const version = env.host.probe.version;
      await vm.control.loadState(
        migrationUri(version, 'in', plan.incoming.path),
        migrationSettings(plan.incoming.format),
        {
          timeout: 60_000,
          ...(op.signal ? { signal: op.signal } : {}),
          ...(supportsIncomingExitOnError(version) ? { exitOnError: false } : {}),
        },
      );
      mark(env, 'loaded');
      // The last moment an interrupt leaves the saved state unspent.
      op.signal?.throwIfAborted();
      await plan.onLoaded?.();
      if (!(await vm.control.status({ signal: op.signal })).running) await vm.control.cont({ signal: op.signal });
      mark(env, 'running');
    }
    const running = vm;
    // A booting guest under KVM/HVF that prints nothing is an accelerator failure (vmProblem); a
    // resumed one prints nothing by design.
    const agent = await op.seams.guests.connect(p.agentSocket, {
      timeoutMs: plan.agentTimeoutMs,
      signal: op.signal,
      trace: op.trace,
      problem: () => vmProblem(env, running, { booting: !plan.incoming }),
      serialLog: p.serialLog,
    });
    mark(env, 'agentReady');
    return { vm, agent, pluggedShares: plan.pluggedShares ?? 0 };
  } catch (e) {
    // A guest that never answered because QEMU died or its accelerator failed: say that, not "no agent".
    const problem =
      vm && !op.signal?.aborted
        ? await vmProblem(env, vm, { booting: !plan.incoming }).catch((silent: unknown) => silent)
        : undefined;
    await vm?.kill();
    if (problem instanceof EmulatorError) throw problem;
    if (typeof problem === 'string' && e instanceof EmulatorError && e.code === 'GUEST_FAILED')
      throw new EmulatorError('QEMU_FAILED', problem, { cause: e });
    throw e;
  }
}
