import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

/** The last `lines` lines of a log file, or '' when unreadable. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The last lines of a guest console log, without terminal escapes and blank lines. */
export function consoleTail(path: string, lines = 8): string {
  const text = tail(path, 200)
    .replace(/\x1b\[[0-9;?=!>]*[A-Za-z]/g, '')
    .replace(/\r/g, '');
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** The last `bytes` of a log as written (a partial last line kept as it is), or '' when unreadable. */
export function rawTail(path: string, bytes = 64 * 1024): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, bytes));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
