import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIntoClosedPipe } from '../../../../tools/testing/closed-pipe.js';
import { hasTools } from '../../../../tools/testing/requires.js';
import { writeIso } from '../../src/index.js';

// The bin the package publishes.
const bin = new URL('../../bin/iso9660.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('iso9660 CLI (built bin)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iso-cli-'));
  const src = join(dir, 'seed');
  mkdirSync(src);
  writeFileSync(join(src, 'user-data'), '#cloud-config\n');
  writeFileSync(join(src, 'meta-data'), 'instance-id: cli\n');
  const image = join(dir, 'seed.iso');

  it('`iso9660 ls image | grep -q name`: a reader that went away ends it quietly (no EPIPE stack trace)', async () => {
    expect(cli('create', src, '-o', image, '-V', 'cidata').status).toBe(0);
    const r = await runIntoClosedPipe(bin, ['ls', image]);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.code).toBe(0);
  });

  it('creates a reproducible cloud-init seed with a fixed --date', () => {
    const a = cli('create', src, '-o', image, '-V', 'cidata', '--date', '2026-01-01T00:00:00Z');
    expect(a.status).toBe(0);
    const first = readFileSync(image);
    expect(cli('create', src, '-o', image, '-V', 'cidata', '--date', '2026-01-01T00:00:00Z').status).toBe(0);
    expect(readFileSync(image).equals(first)).toBe(true);
  });

  it.skipIf(!hasTools('blkid'))('gives the label cloud-init looks for', () => {
    expect(spawnSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', image], { encoding: 'utf8' }).stdout.trim()).toBe(
      'cidata',
    );
  });

  it('lists paths, and JSON with sizes and modes', () => {
    expect(cli('ls', image).stdout).toBe('/meta-data\n/user-data\n');
    const rows = JSON.parse(cli('ls', '--json', image).stdout);
    expect(rows).toEqual([
      expect.objectContaining({ path: '/meta-data', type: 'file', size: 17 }),
      expect.objectContaining({ path: '/user-data', type: 'file', size: 14, mode: '0644' }),
    ]);
  });

  it('extracts the files', () => {
    const out = join(dir, 'out');
    expect(cli('extract', image, out).status).toBe(0);
    expect(readFileSync(join(out, 'user-data'), 'utf8')).toBe('#cloud-config\n');
  });

  it('refuses to extract a symlink that leaves the destination (exit 2, naming it), unless told to keep it', async () => {
    const image = join(dir, 'escape.iso');
    await writeIso(
      [
        { type: 'file', path: 'f', data: 'f' },
        { type: 'symlink', path: 'passwd', target: '/etc/passwd' },
      ],
      image,
      { volumeId: 'ESCAPE', rockRidge: true },
    );
    const refused = cli('extract', image, join(dir, 'refused'));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('symlink "/passwd" -> "/etc/passwd" is absolute');
    expect(refused.stderr).toContain('--keep-escaping-symlinks');
    expect(existsSync(join(dir, 'refused', 'f'))).toBe(false);
    const kept = join(dir, 'kept');
    expect(cli('extract', '--keep-escaping-symlinks', image, kept).status).toBe(0);
    expect(readlinkSync(join(kept, 'passwd'))).toBe('/etc/passwd');
  });

  it('fails clearly, without touching an existing image, on bad input', () => {
    const before = statSync(image).mtimeMs;
    const missing = cli('create', join(dir, 'nope'), '-o', image, '-V', 'cidata');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read source directory ".*nope"/);
    const badDate = cli('create', src, '-o', image, '-V', 'x', '--date', 'tomorrow');
    expect(badDate.status).not.toBe(0);
    expect(badDate.stderr).toContain('"tomorrow" is not an ISO-8601 date');
    const longLabel = cli('create', src, '-o', image, '-V', 'x'.repeat(40));
    expect(longLabel.status).toBe(2);
    expect(longLabel.stderr).toContain('at most 32 characters');
    expect(statSync(image).mtimeMs).toBe(before);
    const notIso = cli('ls', join(src, 'user-data'));
    expect(notIso.status).toBe(2);
    expect(notIso.stderr).toMatch(/not an ISO 9660 image|past the end/);
  });
});
