import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Writes a benchmark's figures to <root>/tmp/bench/<name>.json and returns the path. */
export function writeBenchResult(name: string, result: unknown): string {
  const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'tmp', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), ...(result as object) }, null, 2)}\n`);
  return file;
}
