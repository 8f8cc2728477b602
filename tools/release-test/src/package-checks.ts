import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

/** `npm pack` of a package directory: exactly what `npm publish` would upload. */
export function pack(dir: string, dest: string): { tarball: string; files: string[]; name: string; version: string } {
  const out = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }>; name: string; version: string }>;
  const r = out[0]!;
  return { tarball: join(dest, r.filename), files: r.files.map((f) => f.path), name: r.name, version: r.version };
}

/**
 * Problems a user would hit with the published tarball: publint (exports, bin and types point at
 * files that are in the tarball, ...) and are-the-types-wrong (types resolve for ESM consumers; our
 * packages are ESM-only, so the esm-only profile).
 */
export async function checkTarball(tarball: string): Promise<string[]> {
  const problems: string[] = [];
  const data = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer },
    level: 'warning',
    strict: true,
  });
  for (const m of messages) problems.push(`publint: ${formatMessage(m, pkg) ?? m.code}`);
  const attw = join(
    createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json'),
    '..',
    'dist',
    'index.js',
  );
  const r = spawnSync(process.execPath, [attw, tarball, '--profile', 'esm-only', '--format', 'ascii', '--quiet'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) problems.push(`attw: ${(r.stdout + r.stderr).trim()}`);
  return problems;
}
