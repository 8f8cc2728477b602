import { join } from 'node:path';
import { z } from 'zod';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { type ImageCache, readImageCache, writeImageCache } from './image-caches.js';

/**
 * images/clock-daemon.json: `false` under the sha256 of an image whose guest had no clock daemon's
 * FIFO (the guest contract's optional stack-guest-clock; the original pipeline's images and older
 * appliances lack it). Its resumes set the clock with `date` straight away instead of a failed open
 * first (0.1 s of each resume under TCG). Learned by a capture (which also clears it when the FIFO is
 * there) or by a resume that found no FIFO; an image never seen without it is tried.
 */
const clockDaemonCache = (config: EmulatorConfig): ImageCache<false> => ({
  file: join(config.paths.images, 'clock-daemon.json'),
  schema: z.record(z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256 in hex'), z.literal(false)),
  what: 'clock daemon cache',
});

/** What is known of the image `digest`'s clock daemon: `false` when it has none, undefined otherwise. */
export async function knownClockDaemon(
  config: EmulatorConfig,
  digest: string,
  warn?: (text: string) => void,
): Promise<false | undefined> {
  return (await readImageCache(clockDaemonCache(config), warn))[digest];
}

/** Remembers whether the image `digest`'s guest has the clock daemon (only its absence is kept). */
export async function rememberClockDaemon(config: EmulatorConfig, digest: string, present: boolean): Promise<void> {
  const cache = clockDaemonCache(config);
  const known = await readImageCache(cache, undefined);
  if ((known[digest] === false) === !present) return;
  const { [digest]: _dropped, ...others } = known;
  await writeImageCache(cache, present ? others : { ...others, [digest]: false });
}
