import { join } from 'node:path';
import { z } from 'zod';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { type ImageCache, readImageCache, writeImageCache } from './image-caches.js';

/**
 * images/clock-daemon.json: `false` under the sha256 of an image whose resumed guest had no clock
 * daemon's FIFO (the guest contract's optional stack-guest-clock; the original pipeline's images and
 * older appliances lack it). Its next resumes set the clock with `date` straight away instead of a
 * failed open first (0.1 s of each resume under TCG). An image never seen without it is tried.
 */
const clockDaemonCache = (config: EmulatorConfig): ImageCache<boolean> => ({
  file: join(config.paths.images, 'clock-daemon.json'),
  schema: z.record(z.string(), z.boolean()),
  what: 'clock daemon cache',
});

/** What is known of the image `digest`'s clock daemon: `false` when it has none, undefined otherwise. */
export async function knownClockDaemon(
  config: EmulatorConfig,
  digest: string,
  warn?: (text: string) => void,
): Promise<false | undefined> {
  return (await readImageCache(clockDaemonCache(config), warn))[digest] === false ? false : undefined;
}

/** Remembers that the image `digest` has no clock daemon. */
export async function rememberNoClockDaemon(config: EmulatorConfig, digest: string): Promise<void> {
  const cache = clockDaemonCache(config);
  const known = await readImageCache(cache, undefined);
  if (known[digest] === false) return;
  await writeImageCache(cache, { ...known, [digest]: false });
}
