import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { imageFacts } from '../boot/image-facts.js';
import { startEmulator } from '../boot/start.js';
import type { Op } from '../context/op.js';
import { stopEmulator } from '../instance/stop.js';
import { SnapshotCache } from '@stack/snapshot-cache';
import { knownClockDaemon, rememberClockDaemon } from './clock-daemon.js';

const DIGEST = 'a'.repeat(64); // testEnv's image digest
const cacheFile = (op: Op) => join(op.config.paths.images, 'clock-daemon.json');
/** As prepareBoot: what the home remembers of the image. */
const prepareFor = (image: string) => async (o: Op) => ({
  ...testEnv(o, image),
  ...(await imageFacts(o.config, DIGEST)),
});

describe('an image without the clock daemon is remembered (images/clock-daemon.json)', () => {
  it('its capture learns it: the resume right after, and every later one, go straight to date', async () => {
    const w = new FakeWorld();
    w.clockDaemon = false;
    const image = w.image();
    const op = testOp(w);
    await startEmulator(op, { prepare: prepareFor(image) });
    expect(w.clockCalls).toEqual([false]);
    expect(JSON.parse(readFileSync(cacheFile(op), 'utf8'))).toEqual({ [DIGEST]: false });
    await stopEmulator(op);
    expect((await startEmulator(op, { prepare: prepareFor(image) })).state.mode).toBe('session');
    expect(w.clockCalls).toEqual([false, false]);
  });

  it('a home whose snapshot predates it: the first resume finds no FIFO and remembers, the next skips it', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const op = testOp(w);
    await startEmulator(op, { prepare: prepareFor(image) }); // captured with the daemon there
    await stopEmulator(op);
    w.clockDaemon = false; // the saved guest's daemon is gone (as in an image captured before it existed)
    await startEmulator(op, { prepare: prepareFor(image) });
    expect(await knownClockDaemon(op.config, DIGEST)).toBe(false);
    await stopEmulator(op);
    await startEmulator(op, { prepare: prepareFor(image) });
    expect(w.clockCalls).toEqual([undefined, undefined, false]);
  });

  it('a new capture that finds the daemon clears the entry: its resumes try the daemon again', async () => {
    const w = new FakeWorld();
    const image = w.image();
    const op = testOp(w);
    await rememberClockDaemon(op.config, DIGEST, false);
    await startEmulator(op, { prepare: prepareFor(image) }); // captures: the FIFO is there
    expect(w.clockCalls).toEqual([undefined]);
    expect(JSON.parse(readFileSync(cacheFile(op), 'utf8'))).toEqual({});
    expect(await new SnapshotCache(op.config.paths.snapshots).list()).toHaveLength(1);
  });

  it('a garbled cache is no knowledge (told), and the next finding writes a valid one in its place', async () => {
    const w = new FakeWorld();
    const op = testOp(w);
    mkdirSync(dirname(cacheFile(op)), { recursive: true });
    writeFileSync(cacheFile(op), '{"x": "no"}');
    const warnings: string[] = [];
    expect(await knownClockDaemon(op.config, DIGEST, (t) => warnings.push(t))).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^the clock daemon cache .* is not valid/)]);
    await rememberClockDaemon(op.config, DIGEST, false);
    expect(JSON.parse(readFileSync(cacheFile(op), 'utf8'))).toEqual({ [DIGEST]: false });
  });
});
