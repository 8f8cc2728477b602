import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { readState } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';
import { sessionStore } from '../session/store.js';
import { startShares } from './session-shares.js';
import { lackingShares, startEmulator } from './start.js';

/** What prepareBoot gives a start: the image of the fake world, and the shares it decides on. */
const preparing = (image: string) => async (o: Op) => {
  const saved = (await sessionStore(o.config).read())?.ram?.readonly ?? [];
  const s = startShares(o.config.shareRoot, o.config.extraShares, saved);
  return { ...testEnv(o, image), shares: s.shares, readonlyShares: s.readonly };
};

const dirs = (names: string[]) => {
  const root = mkdtempSync(join(tmpdir(), 'wide-shares-'));
  return names.map((n) => {
    mkdirSync(join(root, n));
    return join(root, n);
  });
};

describe('--share on a running emulator (issue 32)', () => {
  it('a directory not shared yet takes the next slot: the session is saved and resumed with it, mounted read-only when asked', async () => {
    const w = new FakeWorld();
    const prepare = preparing(w.image());
    const [a, b] = dirs(['a', 'b']);
    const first = await startEmulator(testOp(w, { flags: { shares: [a!] } }), { prepare });
    expect(first.state.shares).toEqual([a]);
    expect(w.events).toContain(`mount ${a}`);
    w.events.length = 0;
    const op = testOp(w, { flags: { readonlyShares: [b!] } });
    const r = await startEmulator(op, { prepare });
    expect(r).toMatchObject({ alreadyRunning: false, reshared: true });
    expect(r.state.shares).toEqual([a, b]);
    expect(r.state.readonlyShares).toEqual([b]);
    expect(w.launches.at(-1)!.spec.pluggedShares).toBe(1); // slot 0 kept, slot 1 hot-plugged
    // QEMU exports it read-only too (fsdev readonly=on): the guest's mount alone is the guest's to undo.
    expect(w.launches.at(-1)!.spec.readonlyShares).toEqual([b]);
    expect(w.events).toContain('plug 1');
    // The carried-over share keeps its mode (read-write); the new one is read-only.
    expect(w.events).toContain(`mount ${a},${b}:ro`);
    expect(op.reporter.lines.some((l) => l.includes(`sharing ${b} with the running emulator`))).toBe(true);
  });

  it('a directory already shared (or inside a read-write share) leaves the running emulator alone', async () => {
    const w = new FakeWorld();
    const prepare = preparing(w.image());
    const [a] = dirs(['a']);
    mkdirSync(join(a!, 'sub'));
    await startEmulator(testOp(w, { flags: { shares: [a!] } }), { prepare });
    const again = await startEmulator(testOp(w, { flags: { shares: [join(a!, 'sub')] } }), { prepare });
    expect(again.alreadyRunning).toBe(true);
  });

  it('with every slot taken, a clear error and the running emulator untouched', async () => {
    const w = new FakeWorld();
    const prepare = preparing(w.image());
    const [a, b, c, d, e] = dirs(['a', 'b', 'c', 'd', 'e']);
    const first = await startEmulator(testOp(w, { flags: { shares: [a!, b!, c!, d!] } }), { prepare });
    expect(first.state.shares).toHaveLength(4);
    const launches = w.launches.length;
    await expect(startEmulator(testOp(w, { flags: { shares: [e!] } }), { prepare })).rejects.toMatchObject({
      code: 'HOST_SHARE_FAILED',
      message: expect.stringContaining(`no free share slot for ${e}`),
    });
    expect(w.running).toEqual([first.state.pid]);
    expect(w.launches.length).toBe(launches);
    // Regression: the refused start cleaned the run directory it had not made, so the running VM lost
    // its state.json (status said stopped, nothing could stop it).
    expect(await readState(testOp(w).config.paths.state)).toMatchObject({ pid: first.state.pid });
  });

  it('a read-only share stays read-only across a save and resume that does not name it', async () => {
    const w = new FakeWorld();
    const prepare = preparing(w.image());
    const [a] = dirs(['a']);
    const op = testOp(w, { flags: { readonlyShares: [a!] } });
    await startEmulator(op, { prepare });
    expect((await stopEmulator(op)).how).toBe('saved');
    expect((await sessionStore(op.config).read())!.ram).toMatchObject({ plugged: [a], readonly: [a] });
    w.events.length = 0;
    const r = await startEmulator(testOp(w), { prepare });
    expect(r.state).toMatchObject({ mode: 'session', shares: [a], readonlyShares: [a] });
    expect(w.events).toContain(`mount ${a}:ro`);
  });

  it('a confirmed wide share is started with its warning printed', async () => {
    const w = new FakeWorld();
    const prepare = preparing(w.image());
    const op = testOp(w, { flags: { shares: [w.home], confirmWideShare: true } });
    const r = await startEmulator(op, { prepare });
    expect(r.state.shares).toHaveLength(1);
    expect(op.reporter.lines.filter((l) => l.startsWith('warn'))).toEqual([
      expect.stringMatching(/^warn sharing .* \(your whole home directory\) with the guest read-write, as confirmed/),
    ]);
  });
});

describe('lackingShares (what a running emulator must be reshared for)', () => {
  const state = (shares: string[], readonlyShares: string[] = []) =>
    ({ shares, readonlyShares }) as unknown as Parameters<typeof lackingShares>[1];
  const config = (shareRoot: string | undefined, extra: { dir: string; readonly: boolean }[] = []) =>
    ({ shareRoot, extraShares: extra }) as unknown as Parameters<typeof lackingShares>[0];

  it('the project unless a read-write share holds it; each --share no share serves; once each', () => {
    expect(lackingShares(config('/p'), state(['/p']))).toEqual([]);
    expect(lackingShares(config('/w/p'), state(['/w']))).toEqual([]);
    expect(lackingShares(config('/w/p'), state(['/w'], ['/w']))).toEqual(['/w/p']);
    expect(lackingShares(config(undefined, [{ dir: '/x', readonly: true }]), state(['/p']))).toEqual(['/x']);
    expect(lackingShares(config('/p', [{ dir: '/p', readonly: false }]), state([]))).toEqual(['/p']);
  });

  it('reads a state file of a version before shares (hostShare)', () => {
    const old = { hostShare: '/p' } as unknown as Parameters<typeof lackingShares>[1];
    expect(lackingShares(config('/p'), old)).toEqual([]);
  });
});
