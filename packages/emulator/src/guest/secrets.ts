import { readFile } from 'node:fs/promises';
import { PLACEHOLDERS } from '@stack/secret-rotation';
import type { BootEnv } from '../boot/boot-env.js';
import type { GuestAgent } from '../seams/guest.js';
import type { SettlePlan } from './settle.js';

/**
 * Guest contract marker: an image whose rotation hook can replace any current value (not only its
 * placeholders) says so with this file. The original's hook swaps the placeholder key in its built
 * JavaScript: run a second time, it finds nothing to replace and the app keeps the old key.
 */
const ROTATES_ANY_VALUE_MARKER = '/etc/stack-emulator/rotates-from-any-value';

/** A client key file's key (kept after stop, as the original keeps it), when it holds one. */
export async function keyInFile(path: string): Promise<string | undefined> {
  const k = (await readFile(path, 'utf8').catch(() => '')).trim();
  return /^[0-9a-f]{64}$/.test(k) ? k : undefined;
}

const isPlaceholder = (key: string | undefined) =>
  key === undefined || key === PLACEHOLDERS.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY;

/**
 * The secrets of a guest on a disk that may have been used before (`previousKey`: the client key
 * its secrets publish). A fresh disk holds the placeholders: rotated (or kept, rotation off). A used
 * disk keeps its secrets, so keys handed out before stay valid; `--rotate` rotates it anyway where
 * the image says its hook can replace any value (the marker), and says why not elsewhere.
 */
export async function secretsFor(
  env: BootEnv,
  agent: GuestAgent,
  previousKey: string | undefined,
): Promise<Pick<SettlePlan, 'secrets' | 'keptKey'>> {
  const { config } = env.op;
  if (isPlaceholder(previousKey)) return { secrets: config.rotation ? 'rotate' : 'placeholders' };
  if (config.forceRotate && config.rotation) {
    if (await agent.hasFile(ROTATES_ANY_VALUE_MARKER, { signal: env.op.signal })) return { secrets: 'rotate' };
    env.op.reporter.warn(
      `--rotate: this image rotates only from its placeholders (no ${ROTATES_ANY_VALUE_MARKER}); keeping the secrets its disk has`,
    );
  }
  return { secrets: 'keep', keptKey: previousKey };
}
