import { describe, expect, it } from 'vitest';
import type { EmulatorError } from '../errors.js';
import { withCompatDirs } from './compat-dirs.js';
import { homeLayout } from './paths.js';
import { resolveConfig } from './resolve-config.js';

const paths = (env: Record<string, string>, instance?: string) =>
  resolveConfig({ arch: 'amd64', ...(instance ? { instance } : {}) }, env).paths;
const failure = (env: Record<string, string>, instance?: string) => {
  try {
    paths(env, instance);
  } catch (e) {
    return e as EmulatorError;
  }
  throw new Error('resolveConfig accepted it');
};

describe('EMULATOR_IMAGE_DIR and EMULATOR_RUN_DIR', () => {
  const home = { STACK_EMULATOR_HOME: '/h' };

  it('neither set: the home layout unchanged', () => {
    const layout = homeLayout('/h', {});
    expect(withCompatDirs(layout, {})).toBe(layout);
    expect(paths(home)).toEqual(homeLayout('/h', home));
  });

  it('EMULATOR_IMAGE_DIR moves the images and what is kept beside them, nothing else', () => {
    const p = paths({ ...home, EMULATOR_IMAGE_DIR: '/ci/images' });
    expect(p.images).toBe('/ci/images');
    expect(p.imageDigests).toBe('/ci/images/digests.json');
    expect(p.imageCapabilities).toBe('/ci/images/capabilities.json');
    expect(p.run).toBe('/h/run');
    expect(p.internalPck).toBe('/h/run/vm/internal-pck');
    expect(p.snapshots).toBe('/h/snapshots');
  });

  it('EMULATOR_RUN_DIR moves the run directory, its vm/ with internal-pck, the lock, state and logs, and the sockets', () => {
    const before = paths(home);
    const p = paths({ ...home, EMULATOR_RUN_DIR: '/ci/run' });
    expect(p).toMatchObject({
      run: '/ci/run',
      lock: '/ci/run/lock',
      state: '/ci/run/state.json',
      trace: '/ci/run/trace.log',
      vm: '/ci/run/vm',
      internalPck: '/ci/run/vm/internal-pck',
      serialLog: '/ci/run/vm/serial.log',
      qemuLog: '/ci/run/vm/qemu.log',
      configIso: '/ci/run/vm/runtime-config.iso',
      images: '/h/images',
      session: '/h/session',
    });
    expect(p.sockets).not.toBe(before.sockets);
    expect(p.qmpSocket.startsWith(`${p.sockets}/`)).toBe(true);
    // Nothing of the instance's run state is left in the home's run directory.
    for (const [k, v] of Object.entries(p))
      if (typeof v === 'string' && k !== 'emptyShare') expect(v.startsWith('/h/run'), k).toBe(false);
  });

  it('without STACK_EMULATOR_HOME: both apply to the default home', () => {
    const p = paths({ HOME: '/u', EMULATOR_IMAGE_DIR: '/i', EMULATOR_RUN_DIR: '/r' });
    expect(p.images).toBe('/i');
    expect(p.internalPck).toBe('/r/vm/internal-pck');
    expect(p.snapshots.endsWith('/.stack/emulator/snapshots')).toBe(true);
  });

  it('empty means unset', () => {
    expect(paths({ ...home, EMULATOR_IMAGE_DIR: '', EMULATOR_RUN_DIR: '' })).toEqual(homeLayout('/h', home));
  });

  it('a relative path is refused, naming the variable, its value and the fix', () => {
    const e = failure({ ...home, EMULATOR_RUN_DIR: 'run' });
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('EMULATOR_RUN_DIR="run" is not an absolute path');
    expect(e.hint).toContain('EMULATOR_RUN_DIR="$PWD/run"');
    expect(failure({ ...home, EMULATOR_IMAGE_DIR: './img' }).message).toContain('EMULATOR_IMAGE_DIR="./img"');
  });

  it('EMULATOR_RUN_DIR with an instance other than default is refused (two instances cannot share a run directory)', () => {
    const e = failure({ ...home, EMULATOR_RUN_DIR: '/r' }, 'w1');
    expect(e.message).toContain('instance w1');
    expect(e.hint).toContain('unset EMULATOR_RUN_DIR');
    // The images are shared by every instance: fine.
    expect(paths({ ...home, EMULATOR_IMAGE_DIR: '/i' }, 'w1').images).toBe('/i');
  });
});
