import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { sessionStore } from '../session/store.js';
import { resetEmulator } from './reset.js';

describe('reset of one instance', () => {
  it('discards its own session only, and refuses --snapshots while another instance runs from them', async () => {
    const w = new FakeWorld();
    const path = w.image();
    const prepare = async (o: Op) => testEnv(o, path);
    const dflt = testOp(w);
    const named = testOp(w, { flags: { instance: 'ci-1' } });
    await startEmulator(dflt, { prepare });
    await startEmulator(named, { prepare });
    await expect(resetEmulator(named, { snapshots: true })).rejects.toMatchObject({
      code: 'ALREADY_RUNNING',
      message: expect.stringContaining('default runs from them'),
    });
    expect(existsSync(dflt.config.paths.snapshots)).toBe(true);
    const r = await resetEmulator(named);
    expect(r.sessionDiscarded).toBe(true);
    expect(await sessionStore(named.config).read()).toBeUndefined();
    expect(await sessionStore(dflt.config).read()).toBeDefined();
  });
});
