import { runProcessSync } from './run-process.js';

/** One macOS sysctl value (`sysctl -n <name>`), undefined where there is none (Linux, an unknown name). */
export function readSysctl(name: string): string | undefined {
  try {
    return runProcessSync('/usr/sbin/sysctl', ['-n', name], { timeout: 2000 }).stdout.trim();
  } catch {
    return undefined;
  }
}
