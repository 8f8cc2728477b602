import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostProbe } from '@stack/qemu-argv';
import { afterAll, describe, expect, it } from 'vitest';
import { detectHost } from '../config/host-info.js';
import { resolveConfig } from '../config/resolve-config.js';
import { testProbe } from '../../test/boot-env.js';
import { chooseSnapshotFormat, rememberRefusedFormat, sessionSaveFormat } from './snapshot-support.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const config = (env: Record<string, string> = {}) => {
  const home = mkdtempSync(join(tmpdir(), 'formats-'));
  dirs.push(home);
  return resolveConfig(
    {},
    { STACK_EMULATOR_HOME: home, HOME: home, ...env },
    detectHost({ platform: 'linux', arch: 'x64' }),
  );
};
const probe = (major: number, over: Partial<HostProbe> = {}): HostProbe =>
  testProbe({ version: { major, minor: 2, micro: 0 }, mappedRam: major >= 9, accelerators: ['tcg'], ...over });

describe('the snapshot format', () => {
  it('is template RAM wherever QEMU has file-backed memory, then mapped-ram (9.0+), then the plain stream', async () => {
    expect(await chooseSnapshotFormat(config(), probe(10))).toEqual({ format: 'template-ram' });
    expect(await chooseSnapshotFormat(config(), probe(7))).toEqual({ format: 'template-ram' });
    // A QEMU without memory-backend-file (a Windows build, or one before 5.0): the probe says no.
    expect(await chooseSnapshotFormat(config(), probe(10, { templateRam: false }))).toEqual({ format: 'mapped-ram' });
    expect(await chooseSnapshotFormat(config(), probe(7, { templateRam: false }))).toEqual({ format: 'stream' });
  });

  it('falls back past a format this QEMU refused before, and says when none is left', async () => {
    const c = config();
    await rememberRefusedFormat(c, probe(10), 'template-ram', 'memory-backend-file: cannot mmap');
    expect(await chooseSnapshotFormat(c, probe(10))).toEqual({ format: 'mapped-ram' });
    // Another QEMU decides again.
    expect(await chooseSnapshotFormat(c, probe(11))).toEqual({ format: 'template-ram' });
    await rememberRefusedFormat(c, probe(10), 'mapped-ram', 'x');
    await rememberRefusedFormat(c, probe(10), 'stream', 'y');
    const none = await chooseSnapshotFormat(c, probe(10));
    expect(none.format).toBeUndefined();
    expect('reason' in none && none.reason).toMatch(
      /template-ram: memory-backend-file: cannot mmap; mapped-ram: x; stream: y/,
    );
  });

  it('EMULATOR_SNAPSHOT_FORMAT picks one, and one this QEMU lacks is no snapshot, with the reason and the fix', async () => {
    expect(await chooseSnapshotFormat(config({ EMULATOR_SNAPSHOT_FORMAT: 'mapped-ram' }), probe(10))).toEqual({
      format: 'mapped-ram',
    });
    expect(await chooseSnapshotFormat(config({ EMULATOR_SNAPSHOT_FORMAT: 'stream' }), probe(10))).toEqual({
      format: 'stream',
    });
    const lacking = await chooseSnapshotFormat(config({ EMULATOR_SNAPSHOT_FORMAT: 'mapped-ram' }), probe(8));
    expect('reason' in lacking && lacking.reason).toBe(
      'EMULATOR_SNAPSHOT_FORMAT=mapped-ram, which QEMU 8.2.0 here cannot save (it offers template-ram, stream); unset it to let the emulator choose',
    );
    expect(() => config({ EMULATOR_SNAPSHOT_FORMAT: 'zip' })).toThrow(
      /EMULATOR_SNAPSHOT_FORMAT must be auto, template-ram, mapped-ram or stream/,
    );
  });

  it("a session resumed from a template is saved whole in the best RAM format (its pages are not the template's)", () => {
    expect(sessionSaveFormat(probe(10), 'template-ram')).toBe('mapped-ram');
    expect(sessionSaveFormat(probe(7), 'template-ram')).toBe('stream');
    expect(sessionSaveFormat(probe(10), 'stream')).toBe('stream');
    expect(sessionSaveFormat(probe(10), 'mapped-ram')).toBe('mapped-ram');
  });
});

describe('the snapshot verdicts file', () => {
  const recorder = () => {
    const said: string[] = [];
    return { said, warn: (t: string) => said.push(t) };
  };

  // Regression: the file was cast; an entry of the wrong shape was used as-is.
  it.each([
    ['torn', '[{"key": "q'],
    ['not a list', 'null'],
    ['wrong-shaped', JSON.stringify([{ key: 'qemu-system-x86_64|10.2.0', format: 'template-ram', reason: 5 }])],
    ['unknown format', JSON.stringify([{ key: 'k', format: 'savevm', reason: 'x', decidedAt: 'now' }])],
  ])('reads a %s file as none, says which file, and the next refusal replaces it', async (_, text) => {
    const c = config();
    mkdirSync(join(c.paths.home, 'host'), { recursive: true });
    writeFileSync(c.paths.snapshotVerdicts, text);
    const { said, warn } = recorder();
    expect(await chooseSnapshotFormat(c, probe(10), { warn })).toEqual({ format: 'template-ram' });
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`${c.paths.snapshotVerdicts} is not a valid snapshot verdicts file`);
    expect(said[0]).not.toContain('\n');
    await rememberRefusedFormat(c, probe(10), 'template-ram', 'cannot mmap');
    expect(JSON.parse(readFileSync(c.paths.snapshotVerdicts, 'utf8'))).toMatchObject([{ format: 'template-ram' }]);
  });

  it('says nothing of a missing file, nor of a valid one', async () => {
    const c = config();
    const { said, warn } = recorder();
    expect(await chooseSnapshotFormat(c, probe(10), { warn })).toEqual({ format: 'template-ram' });
    await rememberRefusedFormat(c, probe(10), 'template-ram', 'cannot mmap');
    expect(await chooseSnapshotFormat(c, probe(10), { warn })).toEqual({ format: 'mapped-ram' });
    expect(said).toEqual([]);
  });
});
