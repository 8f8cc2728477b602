import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { migrationUri } from '@stack/qemu-argv';
import {
  checkpointSession,
  cloneSparse,
  type CheckpointMeta,
  isSnapshotError,
  linkSessionInto,
  recordRam,
} from '@stack/snapshot-cache';
import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { lockInstance, notRunning } from '../instance/instance.js';
import { remountShares, unmountShares } from '../instance/share-mounts.js';
import { readState, type Timings } from '../instance/state.js';
import { sessionStore } from '../session/store.js';
import { migrationSettings } from '../vm/migration-settings.js';
import { checkpointInfo, checkpointName, type CheckpointInfo, openCheckpoints } from './checkpoints.js';

export interface SaveCheckpointOptions {
  /** Replace a checkpoint of that name. @default false (CHECKPOINT_EXISTS) */
  force?: boolean;
}

export interface SaveCheckpointResult {
  checkpoint: CheckpointInfo;
  /** Milliseconds from the call to each step: paused, diskFrozen, ramSaved, ramCloned, running, committed. */
  timings: Timings;
  /** Milliseconds the guest was paused. */
  pausedMs: number;
}

const STATE = 'state.raw';
const MEMORY = 'ram.img';

/**
 * Saves the running instance's state as checkpoint `name`; the instance runs on. The guest is paused,
 * its disk frozen as a layer it goes on writing on top of (no copy: QEMU switches to a new overlay),
 * its RAM and devices saved beside (a template session's RAM file cloned, sharing blocks where the
 * filesystem can), then it runs again; the checkpoint is synced and named after. A failure or a kill
 * at any point leaves no checkpoint or a complete one, and a disk that is whole: until QEMU switches,
 * the frozen file is what it writes and the new overlay shows it through. A guest left paused by a
 * kill is finished by the next `stop` or `start`, as after an interrupted stop.
 */
export async function saveCheckpoint(
  op: Op,
  rawName: string,
  options: SaveCheckpointOptions = {},
): Promise<SaveCheckpointResult> {
  const name = checkpointName(rawName);
  const { config, seams, signal } = op;
  const t0 = seams.clock.now();
  const timings: Timings = {};
  const mark = (step: string) => {
    timings[step] = seams.clock.now() - t0;
    op.trace.event('step', { step, ms: timings[step] });
  };
  const lock = await lockInstance(op, 'checkpoint save');
  try {
    const state = await readState(config.paths.state);
    if (!state || !seams.processes.alive(state.pid, state.pidStartTime)) throw notRunning(config);
    const save = state.persistence?.kind === 'session' ? state.persistence.save : undefined;
    if (!save)
      throw new EmulatorError(
        'SNAPSHOT_UNSUPPORTED',
        state.persistence?.kind === 'ephemeral'
          ? 'an --ephemeral instance has no session to checkpoint'
          : 'this instance runs without snapshots, so its state cannot be saved',
        { hint: 'start it without --ephemeral / --no-snapshot to take checkpoints' },
      );
    if (state.phase && state.phase !== 'running')
      throw new EmulatorError('NOT_HEALTHY', `the instance's start has not finished (${state.phase})`, {
        hint: 'wait for `stack-emulator start` to finish, then save',
      });
    const checkpoints = await openCheckpoints(config);
    if (!options.force && (await checkpoints.read(name)))
      throw new EmulatorError('CHECKPOINT_EXISTS', `a checkpoint named ${name} exists`, {
        hint: `pass --force to replace it, or \`stack-emulator checkpoint rm ${name}\``,
      });
    const session = sessionStore(config);
    const smeta = await session.read();
    if (!smeta) throw new EmulatorError('CHECKPOINT_FAILED', `the running instance has no session in ${session.dir}`);
    const control = await seams.vms.attach(config.paths.qmpSocket, {
      trace: op.trace,
      timeout: 3000,
      qemuVersion: save.qemuVersion,
    });
    if (!control) throw new EmulatorError('QEMU_FAILED', `QEMU (pid ${state.pid}) does not answer on its monitor`);
    let pausedAt = 0;
    let runningAt = 0;
    try {
      const prepared = await session.prepareLayer({ now: () => seams.clock.now(), signal }).catch((e: unknown) => {
        if (isSnapshotError(e) && e.code === 'SNAPSHOT_CHAIN_TOO_DEEP')
          throw new EmulatorError('CHECKPOINT_FAILED', e.message, {
            hint: 'restore an earlier checkpoint (its chain is shorter) or `stack-emulator reset`',
            cause: e,
          });
        throw e;
      });
      const meta = await checkpoints.build(
        name,
        async (tmp): Promise<CheckpointMeta> => {
          const busy = await unmountShares(op, state);
          if (busy) throw new EmulatorError('CHECKPOINT_FAILED', busy, { hint: 'close what uses it and save again' });
          let frozen = false;
          try {
            await control.pause({ signal });
            pausedAt = seams.clock.now();
            mark('paused');
            await session.freezeLayer(prepared);
            frozen = true;
            await control.snapshotDisk('system', prepared.next, { signal });
            mark('diskFrozen');
            await control.saveState(
              migrationUri(save.qemuVersion, 'out', join(tmp, STATE)),
              migrationSettings(save.format),
              {
                format: save.format,
                ...(signal ? { signal } : {}),
              },
            );
            mark('ramSaved');
            if (save.format === 'template-ram') {
              await cloneSparse(session.memoryPath, join(tmp, MEMORY), { platform: config.host.platform });
              mark('ramCloned');
            }
          } finally {
            if (!frozen) await rm(prepared.next, { force: true });
            // (Frozen but not switched: the recorded disk is an empty overlay on the file QEMU writes.)
            // The guest runs on whatever happened; a failure to run it is the error then.
            await control.cont({ timeout: 5000 });
            runningAt = seams.clock.now();
            mark('running');
            await remountShares(op, state).catch((e: Error) =>
              op.reporter.warn(`could not mount the shares again in the guest: ${e.message}`),
            );
          }
          const sidecars = await linkSessionInto(session.dir, tmp, prepared.layer);
          const savedAt = new Date(seams.clock.now()).toISOString();
          const ram = await recordRam(tmp, {
            file: STATE,
            key: save.key,
            plugged: state.shares ?? [],
            // A restored checkpoint mounts its read-only shares read-only again.
            readonly: state.readonlyShares ?? [],
            savedAt,
            ...(save.format === 'template-ram' ? { memoryFile: MEMORY } : {}),
          });
          return {
            version: 1,
            name,
            createdAt: savedAt,
            instance: config.instance,
            top: prepared.layer,
            files: sidecars,
            session: checkpointSession(smeta),
            ram,
          };
        },
        { replace: options.force === true },
      );
      mark('committed');
      const entry = (await checkpoints.list()).find((c) => c.name === meta.name);
      return {
        checkpoint: checkpointInfo(entry ?? { name, dir: checkpoints.pathOf(name), meta, bytes: 0 }),
        timings,
        pausedMs: runningAt - pausedAt,
      };
    } finally {
      await control.close().catch(() => {});
    }
  } finally {
    await lock.release();
  }
}
