import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotCache } from '@stack/snapshot-cache';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { knownPortVerdict, RETARGET_HOOK, RETARGETS_PORTS_MARKER } from '../image/port-retargeting.js';
import { stopEmulator } from '../instance/stop.js';
import { sessionStore } from '../session/store.js';
import { startEmulator } from './start.js';

type P = { dashboard: number; backend: number; minio: number; inbucket: number; mockOauth: number };
const A: P = { dashboard: 27000, backend: 27001, minio: 27002, inbucket: 27003, mockOauth: 27004 };
const B: P = { dashboard: 28000, backend: 28001, minio: 28002, inbucket: 28003, mockOauth: 28004 };

/** The op of an instance of the world's one home, on `ports` (the defaults when not given). */
function instance(w: FakeWorld, name: string, ports?: P): Op & { reporter: { lines: string[] } } {
  return testOp(w, {
    env: {
      STACK_EMULATOR_INSTANCE: name,
      ...(ports
        ? {
            EMULATOR_DASHBOARD_PORT: String(ports.dashboard),
            EMULATOR_BACKEND_PORT: String(ports.backend),
            EMULATOR_MINIO_PORT: String(ports.minio),
            EMULATOR_INBUCKET_PORT: String(ports.inbucket),
            EMULATOR_MOCK_OAUTH_PORT: String(ports.mockOauth),
          }
        : {}),
    },
  });
}

/** As prepareBoot: the image's verdict as the home remembers it. */
const prepareFor = (image: string) => async (o: Op) =>
  testEnv(o, image, 'tcg', 'mapped-ram', await knownPortVerdict(o.config, 'a'.repeat(64)));

/** The ports each retarget hook run was given (its backend port stands for the five). */
const retargets = (w: FakeWorld) =>
  w.guestRuns.filter((r) => r.path === RETARGET_HOOK).map((r) => /BACKEND_HOST_PORT=(\d+)/.exec(r.input)?.[1]);
const snapshots = async (op: Op) => new SnapshotCache(op.config.paths.snapshots).list();
const captures = (op: { reporter: { lines: string[] } }) =>
  op.reporter.lines.filter((l) => l.startsWith('step capturing'));

describe('one template, many instances: host ports told at settle (issue 30)', () => {
  it('an image that retargets: two instances on other ports resume the same snapshot, each told its ports', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const a = instance(w, 'a', A);
    const ra = await startEmulator(a, { prepare: prepareFor(image) });
    expect(ra.state.mode).toBe('resumed');
    // Its first capture booted on 27000-27004, found the marker and told the guest the default ports
    // before saving it: stored under the neutral key. The resume then told it its own.
    expect(await knownPortVerdict(a.config, 'a'.repeat(64))).toBe(true);
    expect(captures(a), a.reporter.lines.join('\n')).toHaveLength(1);
    const [entry] = await snapshots(a);
    expect(entry!.meta.key.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).toBe('26701');
    expect(retargets(w)).toEqual(['26701', '27001']);

    const b = instance(w, 'b', B);
    const rb = await startEmulator(b, { prepare: prepareFor(image) });
    expect(rb.state).toMatchObject({ mode: 'resumed', snapshotId: entry!.id });
    expect(captures(b)).toEqual([]);
    expect(await snapshots(b)).toHaveLength(1);
    expect(retargets(w)).toEqual(['26701', '27001', '28001']);
    // The hook runs before the secrets: a hook that restarts the services must not undo a rotation.
    const hook = w.events.lastIndexOf(`exec ${RETARGET_HOOK}`);
    expect(hook).toBeGreaterThan(-1);
    expect(w.events.indexOf('rotate', hook)).toBeGreaterThan(hook);
  });

  it('two instances on other ports started at once from a fresh home: one captures, the other waits and shares it', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const a = instance(w, 'a', A);
    const b = instance(w, 'b', B);
    const [ra, rb] = await Promise.all([
      startEmulator(a, { prepare: prepareFor(image) }),
      startEmulator(b, { prepare: prepareFor(image) }),
    ]);
    expect([ra.state.mode, rb.state.mode]).toEqual(['resumed', 'resumed']);
    expect(ra.state.snapshotId).toBe(rb.state.snapshotId);
    expect(captures(a).length + captures(b).length).toBe(1);
    expect(
      [...a.reporter.lines, ...b.reporter.lines].some((l) => l.includes("waiting for another start's capture")),
    ).toBe(true);
    expect(await snapshots(a)).toHaveLength(1);
  });

  it('a home whose snapshot predates the verdicts learns it at a resume; then other ports share that snapshot', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const d = instance(w, 'default');
    await startEmulator(d, { prepare: prepareFor(image) });
    expect((await stopEmulator(d)).how).toBe('saved');
    rmSync(join(d.config.paths.images, 'retargets-ports.json')); // as a home from before the marker
    expect((await startEmulator(d, { prepare: prepareFor(image) })).state.mode).toBe('session');
    expect(await knownPortVerdict(d.config, 'a'.repeat(64))).toBe(true);
    const b = instance(w, 'b', B);
    expect((await startEmulator(b, { prepare: prepareFor(image) })).state.mode).toBe('resumed');
    expect(captures(b)).toEqual([]);
    expect(retargets(w)).toEqual(['28001']);
  });

  it('a retarget hook that fails ends that resume with what it said; the start falls back to a cold boot', async () => {
    const w = new FakeWorld();
    const image = w.image();
    await startEmulator(instance(w, 'a', A), { prepare: prepareFor(image) });
    const b = instance(w, 'b', B);
    w.script({ execFails: { path: RETARGET_HOOK, exitCode: 4, stderr: 'stack-set-host-ports: x missing' } });
    const r = await startEmulator(b, { prepare: prepareFor(image) });
    expect(r.state).toMatchObject({
      mode: 'cold',
      coldReason: expect.stringContaining(`${RETARGET_HOOK} failed (exit 4): stack-set-host-ports: x missing`),
    });
    // Counted as a timeout: the template every instance shares is kept after one failure.
    expect(await snapshots(b)).toHaveLength(1);
    expect(b.reporter.lines.some((l) => l.includes('the snapshot is kept (a timeout'))).toBe(true);
  });

  it('on the default ports nothing is retargeted', async () => {
    const w = new FakeWorld();
    const op = instance(w, 'default');
    expect((await startEmulator(op, { prepare: prepareFor(w.image()) })).state.mode).toBe('resumed');
    expect(retargets(w)).toEqual([]);
  });

  it('an image without the marker: another port set captures its own snapshot, and the start says why', async () => {
    const w = new FakeWorld();
    w.absentFiles.add(RETARGETS_PORTS_MARKER);
    const image = w.image();
    const d = instance(w, 'default');
    await startEmulator(d, { prepare: prepareFor(image) });
    expect(await knownPortVerdict(d.config, 'a'.repeat(64))).toBe(false);

    const b = instance(w, 'b', B);
    const rb = await startEmulator(b, { prepare: prepareFor(image) });
    expect(rb.state.mode).toBe('resumed');
    expect(captures(b)).toHaveLength(1);
    expect(b.reporter.lines).toContainEqual(
      'info no usable snapshot: this image cannot take other host ports when it resumes (no /etc/stack-emulator/retargets-ports), and no snapshot here is for ports 28000, 28001, 28002, 28003, 28004; capturing one (one time)',
    );
    const keys = (await snapshots(b)).map((e) => e.meta.key.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).sort();
    expect(keys).toEqual(['26701', '28001']);
    expect(retargets(w)).toEqual([]);
  });

  it('an image without the marker, first started on other ports: one capture, for its ports, as before', async () => {
    const w = new FakeWorld();
    w.absentFiles.add(RETARGETS_PORTS_MARKER);
    const b = instance(w, 'b', B);
    expect((await startEmulator(b, { prepare: prepareFor(w.image()) })).state.mode).toBe('resumed');
    expect(captures(b)).toHaveLength(1);
    expect(await knownPortVerdict(b.config, 'a'.repeat(64))).toBe(false);
    const [entry] = await snapshots(b);
    expect(entry!.meta.key.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).toBe('28001');
    expect(retargets(w)).toEqual([]);
  });

  it('a saved session resumes on new ports (its key has none) and is told them; on the same ports it is not', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const first = instance(w, 'a', A);
    await startEmulator(first, { prepare: prepareFor(image) });
    expect((await sessionStore(first.config).read())!.guestPorts).toEqual(A);
    expect((await stopEmulator(first)).how).toBe('saved');
    const same = instance(w, 'a', A);
    expect((await startEmulator(same, { prepare: prepareFor(image) })).state.mode).toBe('session');
    expect(retargets(w)).toEqual(['26701', '27001']); // the capture's and the golden resume's only
    expect((await stopEmulator(same)).how).toBe('saved');

    const moved = instance(w, 'a', B);
    expect((await startEmulator(moved, { prepare: prepareFor(image) })).state.mode).toBe('session');
    expect(retargets(w)).toEqual(['26701', '27001', '28001']);
    expect((await sessionStore(moved.config).read())!.guestPorts).toEqual(B);
  });

  it('an image without the marker: a session on new ports cold-boots its disk (the ports are in its key)', async () => {
    const w = new FakeWorld();
    w.absentFiles.add(RETARGETS_PORTS_MARKER);
    const image = w.image();
    const first = instance(w, 'a', A);
    await startEmulator(first, { prepare: prepareFor(image) });
    expect((await stopEmulator(first)).how).toBe('saved');
    const moved = instance(w, 'a', B);
    const r = await startEmulator(moved, { prepare: prepareFor(image) });
    expect(r.state).toMatchObject({ mode: 'cold', coldReason: expect.stringContaining('HOST_PORT') });
    expect(retargets(w)).toEqual([]);
  });
});
