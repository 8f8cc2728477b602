import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/** Temp and trash directories this process is working in right now (absolute paths). */
const busy = new Set<string>();

/** `<prefix><pid>-<random>`: a sweep can tell whose it was. */
export function tempDirName(prefix: string, pid: number = process.pid): string {
  return `${prefix}${pid}-${randomBytes(4).toString('hex')}`;
}

/** Runs `fn` with `path` marked busy: {@link isLeftover} does not offer it while `fn` runs. */
export async function whileBusy<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(path);
  busy.add(key);
  try {
    return await fn();
  } finally {
    busy.delete(key);
  }
}

/**
 * Whether `name` (found in `dir`) is a temp or trash directory its owner left behind: one of
 * `prefixes` then `<pid>-`, and that process is dead; or it is this process's pid (a pid comes back
 * after a restart, always in a container) and this process is not working in it. Anything else,
 * including every name without such a prefix, is not.
 */
export function isLeftover(
  name: string,
  prefixes: readonly string[],
  options: { path: string; isAlive: (pid: number) => boolean; pid?: number },
): boolean {
  const prefix = prefixes.find((p) => name.startsWith(p));
  if (prefix === undefined) return false;
  const m = /^(\d+)-/.exec(name.slice(prefix.length));
  if (!m) return false;
  const pid = Number(m[1]);
  if (pid === (options.pid ?? process.pid)) return !busy.has(resolve(options.path));
  return !options.isAlive(pid);
}
