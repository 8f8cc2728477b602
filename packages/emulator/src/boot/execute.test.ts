import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotCache } from '@stack/snapshot-cache';
import { afterEach, describe, expect, it } from 'vitest';
import { EmulatorError } from '../errors.js';
import { readState, writeState } from '../instance/state.js';
import { sessionStore } from '../session/store.js';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { runOp } from '../api/options.js';
import { executeStart } from './execute.js';
import { startEmulator } from './start.js';

const worlds: FakeWorld[] = [];
function world(): FakeWorld {
  const w = new FakeWorld();
  worlds.push(w);
  return w;
}
afterEach(() => {
  worlds.length = 0;
});

/** Every QEMU the start launched had every file it was given: a retry never boots a path it dropped. */
const noMissingFiles = (w: FakeWorld) => expect(w.launches.flatMap((l) => l.missing)).toEqual([]);
const quarantined = (home: string) => {
  const q = join(home, 'home', 'snapshots', 'quarantine');
  return existsSync(q) ? readdirSync(q) : [];
};

describe('executeStart: the plan carried out, every fallback, without a VM', () => {
  it('a first start captures the golden snapshot, then resumes it into a new session', async () => {
    const w = world();
    const op = testOp(w);
    const { booted } = await executeStart(testEnv(op, w.image()));
    expect(booted.mode).toBe('resumed');
    expect(booted.session).toBeDefined();
    expect(w.launches).toHaveLength(2); // capture, resume
    expect(w.launches[1]!.spec.incoming).toBe(true);
    expect(w.events).toContain('rotate');
    noMissingFiles(w);
    // The capture's QEMU is gone; only the resumed one runs.
    expect(w.running).toEqual([booted.vm.pid]);
  });

  // Regression: a capture's guest panicked at boot (QEMU 7.2, TCG) and the start cold-booted instead.
  it('a capture whose guest kernel panicked is captured again, then resumed', async () => {
    const w = world();
    const op = testOp(w);
    w.script({
      agentFails: new EmulatorError(
        'GUEST_FAILED',
        'the guest agent cannot answer: the guest kernel panicked: Fatal exception in interrupt',
      ),
    });
    const { booted } = await executeStart(testEnv(op, w.image()));
    expect(booted.mode).toBe('resumed');
    expect(w.launches).toHaveLength(3); // capture (panicked), capture, resume
    expect(w.running).toEqual([booted.vm.pid]);
  });

  it('regression: a new session whose first boot fails on the accelerator is retried under TCG on paths that exist', async () => {
    const w = world();
    const op = testOp(w);
    // kvm: the capture works, the resume into a new session dies with KVM's error; then tcg from scratch.
    w.script({}, { exitWith: 'KVM internal error. Suberror: 1\n' });
    const { env, booted } = await executeStart(testEnv(op, w.image(), 'kvm'));
    expect(env.accel).toBe('tcg');
    expect(booted.mode).toBe('resumed');
    // Before the plan, the retry kept the dropped session's image links and booted a kernel that was gone.
    noMissingFiles(w);
    expect(w.launches.map((l) => l.spec.accel)).toEqual(['kvm', 'kvm', 'tcg', 'tcg']);
    expect(existsSync(booted.session!.store.disk)).toBe(true);
    expect(op.reporter.lines.some((l) => l.includes('kvm cannot run the guest on this host'))).toBe(true);
  });

  it('a golden resume that fails on a full disk ends the start with DISK_FULL and keeps the snapshot', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    await executeStart(testEnv(op, image)).then((r) => r.booted.vm.kill());
    await sessionStore(op.config).drop();
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    w.script({ loadFails: new EmulatorError('SNAPSHOT_FAILED', 'copy failed', { cause: enospc }) });
    const err = await runOp(op, false, () => executeStart(testEnv(op, image))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect((err as EmulatorError).hint).toContain('stack-emulator prune');
    expect(quarantined(w.home)).toEqual([]);
    expect((await new SnapshotCache(op.config.paths.snapshots).list()).length).toBe(1);
    // The session it had begun holds nothing: gone again.
    expect(await sessionStore(op.config).read()).toBeUndefined();
    expect(w.running).toEqual([]);
  });

  it("a golden resume that fails for the host's reason cold-boots without quarantining the snapshot", async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    await executeStart(testEnv(op, image)).then((r) => r.booted.vm.kill());
    await sessionStore(op.config).drop();
    w.script({ exitWith: "qemu: Could not set up host forwarding rule 'tcp:127.0.0.1:26701-:8102'\n" });
    const { booted } = await executeStart(testEnv(op, image));
    expect(booted.mode).toBe('cold');
    expect(booted.coldReason).toContain('host forwarding');
    expect(quarantined(w.home)).toEqual([]);
    expect(op.reporter.lines.some((l) => l.includes("the host's failure, not the snapshot's"))).toBe(true);
  });

  it('a golden resume the snapshot itself breaks quarantines it and cold-boots; a timeout only counts', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    await executeStart(testEnv(op, image)).then((r) => r.booted.vm.kill());
    await sessionStore(op.config).drop();
    w.script({ unhealthy: true });
    const timedOut = await executeStart(testEnv(op, image));
    expect(timedOut.booted.mode).toBe('cold');
    expect(quarantined(w.home)).toEqual([]);
    await timedOut.booted.vm.kill();
    await sessionStore(op.config).drop();
    w.script({ loadFails: new EmulatorError('QEMU_FAILED', 'load of migration failed: Invalid argument') });
    const broken = await executeStart(testEnv(op, image));
    expect(broken.booted.mode).toBe('cold');
    expect(quarantined(w.home)).toHaveLength(1);
  });

  it('an interrupt during the rotation of a new session leaves no QEMU, no record and no session', async () => {
    const w = world();
    const ac = new AbortController();
    const op = testOp(w, { signal: ac.signal });
    w.script(
      {},
      { at: { point: 'rotate', run: () => ac.abort(new EmulatorError('INTERRUPTED', 'interrupted by SIGINT')) } },
    );
    await expect(executeStart(testEnv(op, w.image()))).rejects.toBeDefined();
    expect(w.running).toEqual([]);
    expect(await readState(op.config.paths.state)).toBeUndefined();
    expect(await sessionStore(op.config).read()).toBeUndefined();
  });

  it('records the VM the moment QEMU runs (phase starting, this command as starter), before the guest answers', async () => {
    const w = world();
    const op = testOp(w);
    let seen: Awaited<ReturnType<typeof readState>>;
    w.script({}, { at: { point: 'agent', run: () => void readState(op.config.paths.state).then((s) => (seen = s)) } });
    const r = await startEmulator(op, { prepare: async (o: Op) => testEnv(o, w.image()) });
    await new Promise((res) => setImmediate(res));
    expect(seen!).toMatchObject({ phase: 'starting', pid: r.state.pid, starter: { pid: process.pid } });
    expect(r.state.phase).toBe('running');
    expect(r.state.starter).toBeUndefined();
  });

  it('a start finds an orphan (its starter was killed) and ends it before starting anew', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    const prepare = async (o: Op) => testEnv(o, image);
    const first = await startEmulator(op, { prepare });
    // As a start killed with kill -9 after QEMU ran leaves it: recorded as starting, by a command that is gone.
    const s = (await readState(op.config.paths.state))!;
    await writeState(op.config.paths.state, {
      ...s,
      phase: 'starting',
      starter: { pid: 999_999_999, startTime: 'gone' },
    });
    const second = await startEmulator(op, { prepare });
    expect(second.alreadyRunning).toBe(false);
    expect(w.alive(first.state.pid)).toBe(false);
    expect(w.running).toEqual([second.state.pid]);
    expect(op.reporter.lines.some((l) => l.includes('whose start was interrupted'))).toBe(true);
    // Its session was never settled: its disk boots again, data kept.
    expect(second.state.mode).toBe('cold');
  });

  it('a session whose first start was killed before it became healthy is begun anew, not cold-booted', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    const prepare = async (o: Op) => testEnv(o, image);
    const first = await executeStart(testEnv(op, image));
    await first.booted.vm.kill();
    // As a start killed with kill -9 at its rotation leaves it: marked running, never given its secrets.
    await sessionStore(op.config).update(({ secrets: _s, clientKey: _k, ...m }) => ({
      ...m,
      running: { since: new Date().toISOString(), pid: first.booted.vm.pid },
    }));
    const r = await startEmulator(op, { prepare });
    expect(r.state.mode).toBe('resumed');
    expect(op.reporter.lines.some((l) => l.includes('before its session was ever used'))).toBe(true);
  });

  it('a running instance that finished its start is left alone (already running)', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    const prepare = async (o: Op) => testEnv(o, image);
    const first = await startEmulator(op, { prepare });
    const again = await startEmulator(op, { prepare });
    expect(again).toMatchObject({ alreadyRunning: true, state: { pid: first.state.pid } });
  });

  // Regression (issue 29, 14): waiting for the agent never asked QEMU its run state.
  it('a resumed guest paused on a disk I/O error fails the attempt at once, named, and costs no snapshot', async () => {
    const w = world();
    const op = testOp(w);
    const image = w.image();
    await executeStart(testEnv(op, image)).then((r) => r.booted.vm.kill());
    await sessionStore(op.config).drop();
    w.script({ stuck: 'io-error' });
    const { booted } = await executeStart(testEnv(op, image));
    expect(booted.mode).toBe('cold');
    expect(booted.coldReason).toMatch(/disk I\/O error/);
    expect(quarantined(w.home)).toEqual([]);
  });

  it('a template capture that could not hold the whole guest RAM is refused at once as a full disk', async () => {
    const w = world();
    const op = testOp(w);
    w.free = 2e9;
    const err = await runOp(op, false, () => executeStart(testEnv(op, w.image(), 'tcg', 'template-ram'))).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'DISK_FULL' });
    expect(String((err as Error).cause)).toContain("room for the guest's whole RAM");
    expect(w.launches).toEqual([]);
  });

  describe('template RAM (issue 29, 7: a session RAM file filling a full disk killed QEMU with SIGBUS)', () => {
    it('a session gets its own RAM file where it can grow to the whole guest RAM', async () => {
      const w = world();
      const op = testOp(w);
      const { booted } = await executeStart(testEnv(op, w.image(), 'tcg', 'template-ram'));
      expect(booted.format).toBe('template-ram');
      expect(existsSync(booted.session!.store.memoryPath)).toBe(true);
      expect(w.launches.at(-1)!.spec.memoryFile).toMatchObject({
        mode: 'shared',
        path: booted.session!.store.memoryPath,
      });
    });

    it('where it could not, the session maps the template privately, says why, and is saved whole at stop', async () => {
      const w = world();
      const op = testOp(w);
      const image = w.image();
      await executeStart(testEnv(op, image, 'tcg', 'template-ram')).then((r) => r.booted.vm.kill());
      await sessionStore(op.config).drop();
      w.free = 2e9; // less than 4 GiB of guest RAM and the headroom
      const { booted } = await executeStart(testEnv(op, image, 'tcg', 'template-ram'));
      expect(existsSync(booted.session!.store.memoryPath)).toBe(false);
      expect(w.launches.at(-1)!.spec.memoryFile).toMatchObject({ mode: 'private' });
      expect(booted).toMatchObject({ format: 'mapped-ram', resumedFrom: 'template-ram' });
      expect(op.reporter.lines.some((l) => l.includes('only 2.0 GB free'))).toBe(true);
    });

    it('on a tmpfs without that room it is refused as a full disk (a private mapping allocates there too: SIGBUS)', async () => {
      const w = world();
      const op = testOp(w);
      const image = w.image();
      await executeStart(testEnv(op, image, 'tcg', 'template-ram')).then((r) => r.booted.vm.kill());
      await sessionStore(op.config).drop();
      const launched = w.launches.length;
      w.free = 2e9;
      w.holesFillOnRead = true;
      const err = await runOp(op, false, () => executeStart(testEnv(op, image, 'tcg', 'template-ram'))).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'DISK_FULL' });
      expect(String((err as Error).cause)).toMatch(
        /a tmpfs, where even the template's pages read privately take space; 2\.0 GB are free/,
      );
      expect(w.launches.length).toBe(launched);
      expect(existsSync(sessionStore(op.config).dir)).toBe(false);
    });
  });
});
