import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { stopEmulator } from '../instance/stop.js';
import { knownClockDaemon } from './clock-daemon.js';

describe('an image without the clock daemon is remembered (images/clock-daemon.json)', () => {
  it('the first resume finds no FIFO and remembers it; a start that knows goes straight to date', async () => {
    const w = new FakeWorld();
    w.clockDaemon = false;
    const image = w.image();
    const op = testOp(w);
    const digest = 'a'.repeat(64); // testEnv's image digest
    await startEmulator(op, { prepare: async (o: Op) => testEnv(o, image) });
    expect(w.clockCalls).toEqual([undefined]); // tried: nothing was known
    expect(await knownClockDaemon(op.config, digest)).toBe(false);
    expect(JSON.parse(readFileSync(join(op.config.paths.images, 'clock-daemon.json'), 'utf8'))).toEqual({
      [digest]: false,
    });
    await stopEmulator(op);
    // What prepareBoot gives a start of that image from now on.
    const known = async (o: Op) => ({ ...testEnv(o, image), clockDaemon: false as const });
    const r = await startEmulator(op, { prepare: known });
    expect(r.state.mode).toBe('session');
    expect(w.clockCalls).toEqual([undefined, false]);
  });

  it('an image with the daemon leaves nothing behind', async () => {
    const w = new FakeWorld();
    const op = testOp(w);
    const image = w.image();
    await startEmulator(op, { prepare: async (o: Op) => testEnv(o, image) });
    expect(w.clockCalls).toEqual([undefined]);
    expect(await knownClockDaemon(op.config, 'a'.repeat(64))).toBeUndefined();
  });

  it('a garbled cache is no knowledge (the daemon is tried), told once, and rebuilt by the next finding', async () => {
    const w = new FakeWorld();
    const op = testOp(w);
    const file = join(op.config.paths.images, 'clock-daemon.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '{"x": "no"}');
    const warnings: string[] = [];
    expect(await knownClockDaemon(op.config, 'x', (t) => warnings.push(t))).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^the clock daemon cache .* is not valid/)]);
  });
});
