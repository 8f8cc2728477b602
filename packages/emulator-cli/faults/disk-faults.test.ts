import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../tools/testing/requires.js';
import { cli, processesMentioning, testInstance } from '../e2e/cli-harness.js';
import { assertNothingUnrecorded, faultCounter } from './fault-harness.js';

// A full disk: the home on a small tmpfs (needs the right to mount one, as root on this CI machine
// kind; elsewhere the suite says why it does not run). After each: a clear DISK_FULL (naming the
// home, what holds the space and prune) or a fallback that says why, nothing half-written, no QEMU
// left, and the data written before kept.
const root = mkdtempSync(join(tmpdir(), 'emu-disk-'));
const mounts: string[] = [];
function tmpfs(name: string, size: string): string | undefined {
  const dir = join(root, name);
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    mounts.push(dir);
    return dir;
  } catch (e) {
    process.stderr.write(`SKIPPED (cannot mount a tmpfs for a small home: ${(e as Error).message.split('\n')[0]})\n`);
    return undefined;
  }
}
/** A small ext4 home on a loop device: where a hole of a privately mapped file reads as zeros and takes no space (unlike tmpfs). */
function loopExt4(name: string, size: string): string | undefined {
  const dir = join(root, name);
  const file = join(root, `${name}.ext4`);
  mkdirSync(dir);
  try {
    execFileSync('truncate', ['-s', size, file]);
    execFileSync('mkfs.ext4', ['-q', '-F', file], { stdio: 'pipe' });
    execFileSync('mount', ['-o', 'loop', file, dir], { stdio: 'pipe' });
    mounts.push(dir);
    return dir;
  } catch (e) {
    process.stderr.write(
      `SKIPPED (cannot mount a loop ext4 for a small home: ${(e as Error).message.split('\n')[0]})\n`,
    );
    return undefined;
  }
}
const canMount = (() => {
  const d = tmpfs('probe', '1m');
  return d !== undefined;
})();
const ok =
  canMount &&
  hasTools(
    'qemu-system-x86_64',
    'qemu-img',
    'zstd',
    'debootstrap',
    'mkfs.vfat',
    'mcopy',
    'sfdisk',
    'mkfs.ext4',
    'truncate',
  );
const faults = faultCounter('full disk');
// Homes on file systems of the sizes each fault needs (made here: a suite's instances belong to the file).
const small = ok ? testInstance({ home: join(tmpfs('small', '1500m')!, 'home') }) : undefined;
const saving = ok
  ? testInstance({ home: join(tmpfs('save', '3g')!, 'home'), env: { EMULATOR_SNAPSHOT_FORMAT: 'mapped-ram' } })
  : undefined;
const template = ok ? testInstance({ home: join(loopExt4('template', '7g')!, 'home') }) : undefined;
const templateOnTmpfs = ok ? testInstance({ home: join(tmpfs('template-tmpfs', '7g')!, 'home') }) : undefined;
const T = 900_000;
const start = ['start', '--image', 'reference', '--json'];

afterAll(async () => {
  for (const emu of [small, saving, template, templateOnTmpfs]) await emu?.cleanup();
  for (const m of mounts.reverse()) {
    for (const pid of processesMentioning(m)) process.kill(pid, 'SIGKILL');
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** Fills the file system of `dir` until `leave` bytes are free (one file, removed by `free()`). */
function fill(dir: string, leave: number): { free(): void } {
  const avail = Number(execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' }).split('\n')[1]);
  const filler = join(dir, 'filler');
  if (!(leave >= 0)) throw new Error(`fill: leave must be a non-negative byte count, got ${leave}`);
  execFileSync('fallocate', ['-l', String(Math.max(0, avail - leave)), filler]);
  return { free: () => rmSync(filler, { force: true }) };
}

describe.skipIf(!ok)('a full disk (home on a small tmpfs)', () => {
  it(
    'a template capture that could not hold the guest RAM is refused at once: DISK_FULL, nothing left',
    async () => {
      const emu = small!;
      faults.injected();
      const r = await cli(start, emu.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no space left on the file system of .*home/);
      expect(r.stderr).toMatch(/stack-emulator prune/);
      await assertNothingUnrecorded(emu);
      expect(emu.snapshotIds()).toEqual([]);
    },
    T,
  );

  it(
    'a session save on a full disk: stop powers off instead (its reason said), the data is kept',
    async () => {
      const emu = saving!;
      const { out } = await emu.started();
      expect(out.mode).not.toBe('cold');
      expect((await emu.putData('kept', 'v1', emu.key())).status).toBe(200);
      const full = fill(emu.home, 20 << 20);
      faults.injected();
      const r = await cli(['stop', '--json'], emu.env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        how: expect.not.stringMatching(/^saved$/),
        saveFailed: expect.any(String),
      });
      await assertNothingUnrecorded(emu);
      full.free();
      const again = await cli(start, emu.env);
      expect(again.code, again.stderr).toBe(0);
      expect(await emu.getData('kept', emu.key())).toEqual({ status: 200, body: 'v1' });
    },
    T,
  );

  it(
    'a template session where its RAM file could not grow whole maps the template privately, says why, stays healthy',
    async () => {
      const emu = template!;
      expect((await emu.started()).out.mode).not.toBe('cold');
      expect((await cli(['reset'], emu.env)).code).toBe(0);
      // 2 GiB written out: `2 << 30` is -2^31 in JavaScript (32-bit shift), which asked for 2 GiB more than was free.
      const full = fill(emu.home, 2 * 1024 ** 3);
      faults.injected();
      const r = await cli(start, emu.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/the session's RAM stays in memory/);
      expect((await emu.status()).report.healthy).toBe(true);
      const s = await cli(['stop', '--json'], emu.env);
      expect(JSON.parse(s.stdout)).toMatchObject({ how: 'saved' });
      full.free();
    },
    T,
  );

  it(
    'on a tmpfs the same start is refused as a full disk: there even the template read privately takes space (QEMU died of SIGBUS)',
    async () => {
      const emu = templateOnTmpfs!;
      expect((await emu.started()).out.mode).not.toBe('cold');
      expect((await cli(['reset'], emu.env)).code).toBe(0);
      const full = fill(emu.home, 2 * 1024 ** 3);
      faults.injected();
      const r = await cli(start, emu.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no space left on the file system of .*home/);
      expect(r.stderr).toMatch(/a tmpfs, where even the template's pages read privately take space/);
      await assertNothingUnrecorded(emu);
      full.free();
      const again = await cli(start, emu.env);
      expect(again.code, again.stderr).toBe(0);
      expect((await emu.status()).report.healthy).toBe(true);
    },
    T,
  );
});
