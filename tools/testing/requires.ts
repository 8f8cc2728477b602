import { spawnSync } from 'node:child_process';

/**
 * Returns true when every command is on PATH. Otherwise prints which are missing and how to get them,
 * and returns false so the caller can `describe.skipIf(!ok)`. Under CI a missing tool is an error:
 * CI installs every tool (tools/setup-host), so nothing may be skipped there.
 */
export function hasTools(...commands: string[]): boolean {
  const missing = commands.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return true;
  const msg = `missing tool(s): ${missing.join(', ')}; run tools/setup-host to install them`;
  if (process.env.CI) throw new Error(msg);
  console.warn(`SKIPPED (${msg})`);
  return false;
}

/** Like {@link hasTools} for a Python module importable by Debian's /usr/bin/python3. */
export function hasPythonModule(module: string): boolean {
  const ok = spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
  if (ok) return true;
  const msg = `missing python module ${module} (/usr/bin/python3); run tools/setup-host`;
  if (process.env.CI) throw new Error(msg);
  console.warn(`SKIPPED (${msg})`);
  return false;
}
