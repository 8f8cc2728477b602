import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/stack-emulator` (default `~/.cache/stack-emulator`), or EMULATOR_CACHE_DIR. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EMULATOR_CACHE_DIR) return env.EMULATOR_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stack-emulator');
}
