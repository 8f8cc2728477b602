import type { Op } from '../context/op.js';
import { EmulatorError } from '../errors.js';
import { startEmulator, type StartResult } from '../boot/start.js';
import { imageChoiceId } from '../session/session.js';
import { sessionStore } from '../session/store.js';
import { checkpointName, openCheckpoints, readCheckpoint } from './checkpoints.js';

const shown = (choice: string) => choice.replace(/^path:/, '');

/**
 * Returns the instance to checkpoint `name`, running or stopped: whatever runs is ended without a
 * save, the session replaced by one at the checkpoint (a fresh overlay on its frozen disk, its RAM
 * state and secrets), and resumed. The checkpoint is only read: restore it as often as wanted. A
 * checkpoint this start cannot resume (another image, QEMU, memory or ports) is refused with the
 * reason, never cold-booted; the other image is refused before anything is touched.
 */
export async function restoreCheckpoint(
  op: Op,
  rawName: string,
  options: Pick<NonNullable<Parameters<typeof startEmulator>[1]>, 't0' | 'prepare'> = {},
): Promise<StartResult> {
  const name = checkpointName(rawName);
  const { config } = op;
  const checkpoints = await openCheckpoints(config);
  const ckpt = await readCheckpoint(checkpoints, name);
  const want = imageChoiceId(config.image);
  if (ckpt.session.image.choice !== want)
    throw new EmulatorError(
      'CHECKPOINT_INCOMPATIBLE',
      `checkpoint ${name} runs on --image ${shown(ckpt.session.image.choice)}, not ${shown(want)}`,
      { hint: `restore it with --image ${shown(ckpt.session.image.choice)}` },
    );
  return startEmulator(op, {
    ...options,
    replaceSession: {
      name: `checkpoint ${name}`,
      replace: async () => {
        const session = sessionStore(config);
        op.trace.event('step', { step: 'restoring' });
        await session.drop();
        await session.createFromCheckpoint(checkpoints.pathOf(name), ckpt, op.signal ? { signal: op.signal } : {});
        op.trace.event('step', { step: 'sessionRestored' });
        op.reporter.info(`restored checkpoint ${name} (saved ${ckpt.createdAt} from instance ${ckpt.instance})`);
      },
    },
  });
}
