import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A 4 MiB qcow2 "image" whose first 64 KiB hold `pattern`. */
export function image(path: string, pattern: number): string {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '4M']);
  execFileSync('qemu-io', ['-c', `write -P ${pattern} 0 64k`, path], { stdio: 'ignore' });
  return path;
}

/** True when the disk reads `pattern` at `offset` through its whole backing chain. */
export function reads(disk: string, pattern: number, offset = 0): boolean {
  const out = execFileSync('qemu-io', ['-r', '-c', `read -P ${pattern} ${offset} 64k`, disk], { encoding: 'utf8' });
  return !/Pattern verification failed/.test(out);
}

/** The files of the disk's backing chain, top first. */
export function chain(disk: string): string[] {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '--backing-chain', '--output=json', disk], { encoding: 'utf8' }),
  ) as { filename: string }[];
  return info.map((i) => i.filename);
}

/** sha256 of the whole file: "the same bytes". */
export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
