import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { statIfExists } from './stat-if-exists.js';

const EDGE = 1 << 20;

/** sha256 of the first and last MiB: a quick check, run before every resume, that the file is intact. */
export async function edgeDigest(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const h = createHash('sha256');
    const buf = Buffer.alloc(Math.min(EDGE, size));
    await fh.read(buf, 0, buf.length, 0);
    h.update(buf);
    if (size > EDGE) {
      const tail = Buffer.alloc(Math.min(EDGE, size));
      await fh.read(tail, 0, tail.length, size - tail.length);
      h.update(tail);
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

const SAMPLE = 64 << 10;

/**
 * sha256 of `samples` 64 KiB blocks spread evenly over the file, and its size: the check, before every
 * resume, of a template RAM file too big to hash each time (4 GiB of guest RAM: ~11 s here). It
 * catches truncation, a replaced file and damage to any sampled block, reading 4 MiB.
 */
async function sampledDigest(path: string, samples = 64): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const h = createHash('sha256').update(`${size}\n`);
    const buf = Buffer.alloc(SAMPLE);
    const span = Math.max(0, size - SAMPLE);
    for (let i = 0; i < samples; i++) {
      const at = samples === 1 ? 0 : Math.floor((span * i) / (samples - 1));
      const { bytesRead } = await fh.read(buf, 0, SAMPLE, at);
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/** What a large file's record holds: its size and {@link sampledDigest}. */
export interface SampledRecord {
  size: number;
  sampleSha256: string;
}

export async function sampledRecord(path: string): Promise<SampledRecord> {
  return { size: (await stat(path)).size, sampleSha256: await sampledDigest(path) };
}

/** How `path` differs from its record: missing, changed (size or samples), or undefined when it matches. */
export async function sampledProblem(path: string, want: SampledRecord): Promise<'missing' | 'changed' | undefined> {
  const st = await statIfExists(path);
  if (!st) return 'missing';
  return st.size !== want.size || (await sampledDigest(path)) !== want.sampleSha256 ? 'changed' : undefined;
}
