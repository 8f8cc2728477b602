import { isAbsolute, join, resolve } from 'node:path';
import { socketDirFor } from '@stack/qemu-argv';
import { EmulatorError } from '../errors.js';
import { DEFAULT_INSTANCE, type HomeLayout, runLayout } from './paths.js';

/**
 * `EMULATOR_IMAGE_DIR` and `EMULATOR_RUN_DIR`, the directories the original's scripts and CI set
 * (its run-emulator.sh read them, with or without `STACK_EMULATOR_HOME`). They move what they moved
 * there: the images (with what is kept beside them), and the run directory with its `vm/` (logs,
 * config disk, `vm/internal-pck`). Snapshots, sessions and the host's verdicts stay in the home.
 * Neither set: the layout is returned as it was.
 */
export function withCompatDirs(layout: HomeLayout, env: Readonly<Record<string, string | undefined>>): HomeLayout {
  const imageDir = absoluteDir(env, 'EMULATOR_IMAGE_DIR');
  const runDir = absoluteDir(env, 'EMULATOR_RUN_DIR');
  if (imageDir === undefined && runDir === undefined) return layout;
  if (runDir !== undefined && layout.instance !== DEFAULT_INSTANCE)
    throw new EmulatorError(
      'CONFIG_INVALID',
      `EMULATOR_RUN_DIR="${env.EMULATOR_RUN_DIR}" is the run directory of the default instance, and this is instance ${layout.instance}`,
      { hint: `unset EMULATOR_RUN_DIR for --instance ${layout.instance} (each instance has its own run directory)` },
    );
  const out = { ...layout };
  if (imageDir !== undefined) {
    out.images = imageDir;
    out.imageCapabilities = join(imageDir, 'capabilities.json');
    out.imageDigests = join(imageDir, 'digests.json');
  }
  if (runDir !== undefined) {
    Object.assign(out, runLayout(runDir));
    // Keyed by the run directory: two run directories of one home are two VMs, each with its own sockets.
    const sockets = socketDirFor(runDir, { env });
    Object.assign(out, { sockets, qmpSocket: join(sockets, 'monitor.sock'), agentSocket: join(sockets, 'qga.sock') });
  }
  return out;
}

function absoluteDir(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!isAbsolute(raw))
    throw new EmulatorError('CONFIG_INVALID', `${name}="${raw}" is not an absolute path`, {
      hint: `give ${name} an absolute path (a relative one would move with the current directory), e.g. ${name}="$PWD/${raw}"`,
    });
  return resolve(raw);
}
