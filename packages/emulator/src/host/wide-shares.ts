import { realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EmulatorError } from '../errors.js';

/** Host directories one instance can share at most (root ports reserved in every layout; see vm/vm-spec.ts). */
export const SHARE_SLOTS = 4;

/** A directory to share with the guest, by its real path, and whether the guest mounts it read-only. */
export interface ShareRequest {
  dir: string;
  readonly: boolean;
}

export interface WideShareOptions {
  /** The user's home: shared whole only when confirmed. */
  home: string;
  /** The emulator home (STACK_EMULATOR_HOME): it and its parents hold the VM's disks and secrets. */
  emulatorHome: string;
  /** Case-insensitive file names on macOS: `~/Code` and `~/CODE` are one directory. */
  platform: NodeJS.Platform;
  /** `--yes` / `confirmWideShare`: the home, `/` or a parent of the emulator home may be shared (with a warning). */
  confirmed: boolean;
  /** Directories already shared (the `--config-file` project's): they count against the slots. @default none */
  alsoShared?: readonly string[];
  /** @default fs.realpathSync */
  realpath?: (path: string) => string;
  /** What is at a path: undefined when nothing is. @default fs.statSync */
  stat?: (path: string) => { isDirectory(): boolean } | undefined;
}

const realStat = (p: string) => {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};

/**
 * `EMULATOR_SHARES`: directories separated by the platform's path delimiter (`:`, `;` on Windows), as
 * in PATH; empty entries are skipped.
 */
export function parseSharesEnv(raw: string | undefined, delimiter: string): string[] {
  if (!raw) return [];
  return raw
    .split(delimiter)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Why sharing real path `real` would be too wide, or undefined. Compared as the file system sees names. */
function tooWide(real: string, o: WideShareOptions, realOf: (p: string) => string): string | undefined {
  const fold = (p: string) => (o.platform === 'darwin' ? p.toLowerCase() : p);
  const d = fold(real);
  if (dirname(real) === real) return 'the root directory';
  if (d === fold(realOf(o.home))) return 'your whole home directory';
  const emuHome = fold(realOf(o.emulatorHome));
  if (emuHome === d || emuHome.startsWith(`${d}/`))
    return `the emulator home ${o.emulatorHome} (its disks and secrets)`;
  return undefined;
}

/**
 * Checks `--share` / `--share-readonly` directories: each must be a directory, and never the whole
 * home, `/` or the emulator home or a parent of it unless confirmed (the original shared `/`
 * read-write; a guest service that is compromised, or a config path registered through the backend,
 * then reaches every file). A symlink or (on macOS) another case of one of those is the same
 * directory: the real path decides, and is what gets shared. Read-write wins when a directory is
 * given both ways; duplicates are one share. Returns the shares and a warning for each confirmed wide one.
 */
export function resolveWideShares(
  requested: { shares: readonly string[]; readonlyShares: readonly string[]; envShares?: readonly string[] },
  o: WideShareOptions,
): { shares: ShareRequest[]; warnings: string[] } {
  const realpath = o.realpath ?? realpathSync;
  const stat = o.stat ?? realStat;
  const realOf = (p: string) => {
    try {
      return realpath(resolve(p));
    } catch {
      return resolve(p);
    }
  };
  const out = new Map<string, ShareRequest>();
  const warnings: string[] = [];
  const given = [
    // Named as the user gave them: an error names the variable or the flag to fix.
    ...(requested.envShares ?? []).map((p) => ({ p, readonly: false, flag: 'EMULATOR_SHARES entry' })),
    ...requested.shares.map((p) => ({ p, readonly: false, flag: '--share' })),
    ...requested.readonlyShares.map((p) => ({ p, readonly: true, flag: '--share-readonly' })),
  ];
  for (const { p, readonly, flag } of given) {
    const abs = resolve(p);
    const st = stat(abs);
    if (!st)
      throw new EmulatorError('SHARE_INVALID', `${flag} ${p}: no such directory (${abs})`, {
        hint: `create it, or fix the path given to ${flag.replace(' entry', '')}`,
      });
    if (!st.isDirectory())
      throw new EmulatorError('SHARE_INVALID', `${flag} ${p}: not a directory (${abs})`, {
        hint: `share the directory that holds it: ${flag} ${dirname(abs)}`,
      });
    const real = realOf(abs);
    const wide = tooWide(real, o, realOf);
    if (wide && !o.confirmed)
      throw new EmulatorError(
        'SHARE_TOO_WIDE',
        `${flag} ${p} would share ${wide}${real !== abs ? ` (${abs} is ${real})` : ''} with the guest${readonly ? '' : ', read-write'}`,
        {
          hint: `share a project directory instead; if you mean it, confirm with --yes (library option confirmWideShare: true)`,
        },
      );
    if (wide)
      warnings.push(
        `sharing ${real} (${wide}) with the guest${readonly ? ' read-only' : ' read-write'}, as confirmed: every service in the guest can ${readonly ? 'read' : 'read and change'} it`,
      );
    const had = out.get(real);
    out.set(real, { dir: real, readonly: (had?.readonly ?? true) && readonly });
  }
  const total = new Set([...(o.alsoShared ?? []), ...out.keys()]).size;
  if (total > SHARE_SLOTS)
    throw new EmulatorError(
      'SHARE_INVALID',
      `${total} directories to share (${[...new Set([...(o.alsoShared ?? []), ...out.keys()])].join(', ')}); a VM has ${SHARE_SLOTS} share slots`,
      { hint: `share at most ${SHARE_SLOTS}: a parent directory holds several projects in one slot` },
    );
  return { shares: [...out.values()], warnings };
}

/** True when `dir` lies in `share` (or is it). */
const within = (dir: string, share: string) =>
  dir === share || dir.startsWith(share.endsWith('/') ? share : `${share}/`);

/**
 * The requests a running VM does not serve yet: a directory is served by a share that holds it,
 * read-write, or read-only when read-only was asked for. A directory shared read-write stays so
 * (the guest keeps its mount until the next stop).
 */
export function missingShares(
  wanted: readonly ShareRequest[],
  shared: readonly string[],
  sharedReadonly: readonly string[],
): ShareRequest[] {
  return wanted.filter((w) => !shared.some((s) => within(w.dir, s) && (w.readonly || !sharedReadonly.includes(s))));
}

/**
 * The configuration's wider shares: `EMULATOR_SHARES` (from the environment the configuration was
 * resolved from, never process.env) and the flags, checked by {@link resolveWideShares}.
 */
export function configuredShares(
  flags: { shares?: readonly string[]; readonlyShares?: readonly string[]; confirmWideShare?: boolean },
  envShares: string | undefined,
  o: Omit<WideShareOptions, 'confirmed'>,
): { shares: ShareRequest[]; warnings: string[] } {
  const requested = {
    envShares: parseSharesEnv(envShares, o.platform === 'win32' ? ';' : ':'),
    // The flags add to the variable (a CI job's EMULATOR_SHARES and one more `--share` both count).
    shares: [...(flags.shares ?? [])],
    readonlyShares: [...(flags.readonlyShares ?? [])],
  };
  if (requested.envShares.length + requested.shares.length + requested.readonlyShares.length === 0)
    return { shares: [], warnings: [] };
  return resolveWideShares(requested, { ...o, confirmed: flags.confirmWideShare === true });
}
