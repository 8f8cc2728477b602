import { sessionSaveFormat, type SnapshotFormat } from '../host/snapshot-support.js';
import type { BootEnv } from './boot-env.js';
import type { Booted } from './booted.js';

export const bootKind = (t: Pick<BootEnv, 'boot'>): Booted['boot'] =>
  t.boot.kernel ? 'direct-kernel' : t.boot.firmware ? 'firmware' : 'bios';

export const secretsNote = (s: Booted['secrets']) =>
  s === 'fresh' ? ', secrets rotated' : s === 'kept' ? ', secrets kept' : '';

export const coldNote = (r: { secrets: Booted['secrets'] }) => `cold boot: healthy${secretsNote(r.secrets)}`;

/** The layout of a boot on a session disk: the snapshot layout where its RAM can be saved at stop. */
export function sessionLayout(env: BootEnv): { layout: 'cold' | 'snapshot'; format?: SnapshotFormat } {
  // A booted VM's RAM is anonymous memory: it is saved whole, even where snapshots are templates.
  return env.op.config.snapshot && env.snapshots.format !== undefined
    ? { layout: 'snapshot', format: sessionSaveFormat(env.host.probe, env.snapshots.format) }
    : { layout: 'cold' };
}

/** Runs one boot path under a progress step. */
export async function stepped<T extends { secrets: Booted['secrets'] }>(
  env: BootEnv,
  text: string,
  done: (b: T) => string,
  work: () => Promise<T>,
): Promise<T> {
  const step = env.op.reporter.step(text);
  try {
    const b = await work();
    step.succeed(done(b));
    return b;
  } catch (e) {
    step.fail();
    throw e;
  }
}
