import type { EmulatorConfig } from '../config/resolve-config.js';
import { knownClockDaemon } from '../image/clock-daemon.js';
import { knownPortVerdict } from '../image/port-retargeting.js';
import type { BootEnv } from './boot-env.js';

/**
 * What the home remembers of an image's guest, as a start's {@link BootEnv} holds it: whether it
 * retargets its host ports, and whether it lacks the clock daemon. Read when a start is prepared, and
 * again after a capture (which learns both).
 */
export async function imageFacts(
  config: EmulatorConfig,
  digest: string,
  warn?: (text: string) => void,
): Promise<Pick<BootEnv, 'portVerdict' | 'clockDaemon'>> {
  const portVerdict = await knownPortVerdict(config, digest, warn);
  // Always set (undefined too): a capture that found the daemon replaces an earlier `false`.
  return { portVerdict, clockDaemon: await knownClockDaemon(config, digest, warn) };
}
