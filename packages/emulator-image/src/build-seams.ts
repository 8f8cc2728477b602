import { readFileSync } from 'node:fs';
import { run } from './run.js';

/** What a base image build does to the host, injected so unit tests record it instead. */
export interface BuildSeams {
  /** Runs a command of the build (debootstrap, chroot, mount, umount...). @default {@link run} */
  run: typeof run;
  /** The text of /proc/self/mountinfo. @default {@link readMountInfo} */
  readMountInfo: () => string;
}

/** /proc/self/mountinfo; empty off Linux, where no build mounts anything (base builds are Linux-only). */
export function readMountInfo(platform: NodeJS.Platform = process.platform): string {
  return platform === 'linux' ? readFileSync('/proc/self/mountinfo', 'utf8') : '';
}

export const realBuildSeams: BuildSeams = { run, readMountInfo: () => readMountInfo() };
