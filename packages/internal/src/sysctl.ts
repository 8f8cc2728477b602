import { execFileSync } from 'node:child_process';

/** One macOS sysctl value (`sysctl -n <name>`), undefined where there is none (Linux, an unknown name). */
export function readSysctl(name: string): string | undefined {
  try {
    return execFileSync('/usr/sbin/sysctl', ['-n', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
  } catch {
    return undefined;
  }
}
