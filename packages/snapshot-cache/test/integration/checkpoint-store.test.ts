import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import {
  CheckpointStore,
  type CheckpointMeta,
  type CompatibilityKey,
  checkpointSession,
  linkSessionInto,
  MAX_LAYERS,
  recordRam,
  type RunTool,
  runTool,
  SessionStore,
} from '../../src/index.js';
import { image, reads } from './qcow2-fixtures.js';

const ok = hasTools('qemu-img', 'qemu-io');
const work = mkdtempSync(join(tmpdir(), 'checkpoint-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key: CompatibilityKey = {
  imageDigest: 'b'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'e'.repeat(64),
  configDisk: {},
  format: 'mapped-ram',
};
const meta = { origin: 'image' as const, image: { digest: 'b'.repeat(64), choice: 'reference' } };
const write = (disk: string, pattern: number) =>
  execFileSync('qemu-io', ['-c', `write -P ${pattern} 0 64k`, disk], { stdio: 'ignore' });
let n = 0;
const now = () => 1_750_000_000_000 + n++;

/** A session on an image with pattern 0x11, written 0x22 (the state a checkpoint keeps). */
async function sessionAt22(name: string) {
  const dir = join(work, name);
  mkdirSync(dir);
  const img = image(join(dir, 'img.qcow2'), 0x11);
  writeFileSync(`${img}.base.env`, 'A=1\n');
  const session = new SessionStore(join(dir, 'session'));
  await session.create({ image: img, files: { 'image.qcow2.base.env': 'A=1\n' }, meta });
  write(session.disk, 0x22);
  return { dir, session, checkpoints: new CheckpointStore(join(dir, 'checkpoints')) };
}

/** What a save does around a VM: freeze, "RAM" written (a template session's RAM file with `memory`), the files linked, the meta. */
async function save(session: SessionStore, checkpoints: CheckpointStore, name: string, memory = false) {
  const prepared = await session.prepareLayer({ now });
  await session.freezeLayer(prepared);
  await session.settleLayers(); // (as when its VM has exited)
  const smeta = (await session.read())!;
  return checkpoints.build(name, async (tmp): Promise<CheckpointMeta> => {
    writeFileSync(join(tmp, 'state.raw'), 'device state');
    if (memory) writeFileSync(join(tmp, 'ram.img'), Buffer.alloc(1 << 20, 7));
    const files = await linkSessionInto(session.dir, tmp, prepared.layer);
    const ram = await recordRam(tmp, {
      file: 'state.raw',
      key,
      plugged: [],
      savedAt: new Date().toISOString(),
      ...(memory ? { memoryFile: 'ram.img' } : {}),
    });
    const base = { version: 1 as const, name, createdAt: ram.savedAt, instance: 'default', top: prepared.layer };
    return { ...base, files, session: checkpointSession(smeta), ram };
  });
}

// Each step spawns qemu-img or qemu-io: more than vitest's default 5 s on a loaded host.
describe.skipIf(!ok)('checkpoints with real qemu-img', { timeout: 60_000 }, () => {
  it('a save freezes the disk (the session goes on above it); a restore makes a session at it, as often as wanted', async () => {
    const { dir, session, checkpoints } = await sessionAt22('a');
    const ck = await save(session, checkpoints, 'base');
    write(session.disk, 0x33);
    expect(reads(session.disk, 0x33)).toBe(true);
    const ckDir = checkpoints.pathOf('base');
    expect(reads(join(ckDir, ck.top), 0x22)).toBe(true);
    expect(readdirSync(ckDir).sort()).toEqual(
      ['image.qcow2', 'image.qcow2.base.env', ck.top, 'meta.json', 'state.raw'].sort(),
    );
    for (let i = 0; i < 2; i++) {
      await session.drop();
      const restored = await session.createFromCheckpoint(ckDir, ck);
      expect(restored.ram).toMatchObject({ file: 'state.raw', key });
      expect(reads(session.disk, 0x22)).toBe(true);
      write(session.disk, 0x44);
      // The checkpoint's own files never change: its state link and its frozen disk.
      expect(reads(join(ckDir, ck.top), 0x22)).toBe(true);
      expect(existsSync(join(ckDir, 'state.raw'))).toBe(true);
    }
    expect((await checkpoints.list()).map((c) => c.name)).toEqual(['base']);
    // Removing it leaves the session restored from it whole (it holds its own links).
    expect(await checkpoints.remove('base')).toBe(true);
    expect(reads(session.disk, 0x44)).toBe(true);
    expect(existsSync(join(dir, 'checkpoints', 'base'))).toBe(false);
  });

  it("a restore syncs every file of the session it names but the RAM file's clone (checked before the resume instead)", async () => {
    const { session, checkpoints } = await sessionAt22('f');
    const ck = await save(session, checkpoints, 'base', true);
    const synced: string[] = [];
    const recording = new SessionStore(session.dir, {
      fsync: { file: async (p) => void synced.push(basename(p)), dir: async () => {} },
    });
    await recording.drop();
    const restored = await recording.createFromCheckpoint(checkpoints.pathOf('base'), ck);
    expect(restored.ram?.memory?.file).toBe('ram.img');
    expect(readdirSync(session.dir)).toContain('ram.img');
    expect(synced).not.toContain('ram.img');
    expect(synced).toEqual(expect.arrayContaining(['disk.qcow2', 'state.raw', 'meta.json', ck.top]));
    expect(statSync(join(session.dir, 'ram.img')).size).toBe(1 << 20);
  });

  it("a restore clones the RAM file beside the overlay's creation; a failed clone leaves no session and nothing running", async () => {
    const { session, checkpoints } = await sessionAt22('g');
    const ck = await save(session, checkpoints, 'base', true);
    const log: string[] = [];
    const logged =
      (failCp: boolean): RunTool =>
      async (command, args, options) => {
        log.push(`start ${command}`);
        // The overlay's qemu-img is slowed so the two can only overlap if both were started at once.
        if (command === 'qemu-img') await new Promise((r) => setTimeout(r, 200));
        try {
          if (command === 'cp' && failCp) throw new Error('cp: No space left on device');
          await runTool(command, args, options);
        } finally {
          log.push(`end ${command}`);
        }
      };
    await session.drop();
    await new SessionStore(session.dir, { run: logged(false) }).createFromCheckpoint(checkpoints.pathOf('base'), ck);
    expect(log.indexOf('start cp')).toBeLessThan(log.indexOf('end qemu-img'));
    expect(statSync(join(session.dir, 'ram.img')).size).toBe(1 << 20);

    log.length = 0;
    await session.drop();
    const failing = new SessionStore(session.dir, { run: logged(true) });
    await expect(failing.createFromCheckpoint(checkpoints.pathOf('base'), ck)).rejects.toThrow('No space left');
    // The overlay's qemu-img had finished when the error came back (the build directory is removed
    // then), and nothing is left.
    expect(log).toContain('end qemu-img');
    expect(await failing.read()).toBeUndefined();
    expect(readdirSync(dirname(session.dir)).filter((f) => f.startsWith('.session.new-'))).toEqual([]);
  });

  it('a kill between the link and the record leaves the disk whole; the unused link and overlay are swept', async () => {
    const { session } = await sessionAt22('b');
    const prepared = await session.prepareLayer({ now });
    linkSync(session.disk, join(session.dir, prepared.layer));
    expect(reads(session.disk, 0x22)).toBe(true);
    expect((await session.settleLayers()).sort()).toEqual([basename(prepared.next), prepared.layer].sort());
    expect(reads(session.disk, 0x22)).toBe(true);
  });

  it('frozen and recorded, QEMU killed before or after its switch: the settled disk holds every write', async () => {
    for (const switched of [false, true]) {
      const { session } = await sessionAt22(`c${switched}`);
      const prepared = await session.prepareLayer({ now });
      const inode = statSync(session.disk).ino;
      await session.freezeLayer(prepared);
      expect(await session.currentDisk()).toBe(prepared.next);
      // QEMU writes the file it has open: the frozen one until it switches, the new one after.
      write(switched ? prepared.next : join(session.dir, prepared.layer), 0x55);
      expect(statSync(join(session.dir, prepared.layer)).ino).toBe(inode);
      expect(await session.settleLayers()).toEqual([]);
      expect(await session.currentDisk()).toBe(session.disk);
      expect(reads(session.disk, 0x55)).toBe(true);
      expect(existsSync(prepared.next)).toBe(false);
    }
  });

  it(`the chain is bounded: a save past ${MAX_LAYERS} layers is refused`, async () => {
    const { session } = await sessionAt22('d');
    for (let i = 0; i < MAX_LAYERS; i++) {
      await session.freezeLayer(await session.prepareLayer({ now }));
      await session.settleLayers();
    }
    expect(reads(session.disk, 0x22)).toBe(true);
    await expect(session.prepareLayer({ now })).rejects.toMatchObject({ code: 'SNAPSHOT_CHAIN_TOO_DEEP' });
  });

  it('a name in use is refused unless replaced; a build that fails leaves nothing; leftovers of the dead are swept', async () => {
    const { session, checkpoints } = await sessionAt22('e');
    await save(session, checkpoints, 'base');
    await expect(save(session, checkpoints, 'base')).rejects.toMatchObject({ code: 'SNAPSHOT_CHECKPOINT_EXISTS' });
    await expect(
      checkpoints.build('other', async () => {
        throw new Error('QEMU died mid-save');
      }),
    ).rejects.toThrow('QEMU died');
    expect(readdirSync(checkpoints.dir)).toEqual(['base']);
    mkdirSync(join(checkpoints.dir, '.new-999999999-deadbeef'));
    expect(await checkpoints.sweep(() => false)).toEqual(['.new-999999999-deadbeef']);
    expect(() => checkpoints.pathOf('../x')).toThrow('not a checkpoint name');
  });
});
