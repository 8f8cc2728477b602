import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { migrationUri, shellQuote, supportsFileMigration, supportsIncomingExitOnError } from './migration-uri.js';

const v = (major: number, minor: number) => ({ major, minor, micro: 0 });

describe('migration URIs', () => {
  it('file: from QEMU 8.2, cat through exec: before (Debian 12: 7.2, Ubuntu 22.04: 6.2)', () => {
    expect(supportsFileMigration(v(10, 0))).toBe(true);
    expect(supportsFileMigration(v(8, 2))).toBe(true);
    expect(supportsFileMigration(v(8, 1))).toBe(false);
    expect(supportsFileMigration(v(7, 2))).toBe(false);
    expect(migrationUri(v(9, 2), 'out', '/s/state.raw')).toBe('file:/s/state.raw');
    expect(migrationUri(v(7, 2), 'out', '/s/state.raw')).toBe("exec:cat > '/s/state.raw'");
    expect(migrationUri(v(7, 2), 'in', '/s/state.raw')).toBe("exec:cat '/s/state.raw'");
  });

  it('migrate-incoming exit-on-error from QEMU 9.1', () => {
    expect(supportsIncomingExitOnError(v(10, 0))).toBe(true);
    expect(supportsIncomingExitOnError(v(9, 1))).toBe(true);
    expect(supportsIncomingExitOnError(v(9, 0))).toBe(false);
    expect(supportsIncomingExitOnError(v(7, 2))).toBe(false);
  });

  it('quotes any path as one shell word', () => {
    for (const p of ["/home/o'brien/state", '/a b/$(x)`y`;z', '/x\\y"z']) {
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(p)}`], { encoding: 'utf8' })).toBe(p);
    }
  });
});
