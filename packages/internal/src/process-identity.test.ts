import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProvenProcess, isSameProcess, processIdentity } from './process-identity.js';

const linux = (files: Record<string, string>) => ({ platform: 'linux' as const, readProc: (p: string) => files[p] });
const darwin = (out: string | undefined) => ({ platform: 'darwin' as const, ps: () => out });
// /proc/<pid>/stat of a process whose name holds ") (": fields count from the last parenthesis.
const stat = (state: string, start: string) =>
  `42 (evil) (name) ${state} 1 42 42 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 ${start} 1000 10\n`;

describe('processIdentity (platform injected)', () => {
  it('Linux: /proc stat and cmdline', () => {
    expect(
      processIdentity(
        42,
        linux({ '/proc/42/stat': stat('S', '98765'), '/proc/42/cmdline': 'qemu-system-x86_64\0-m\x004096\0' }),
      ),
    ).toEqual({ alive: true, startTime: '98765', command: 'qemu-system-x86_64 -m 4096' });
    expect(processIdentity(42, linux({ '/proc/42/stat': stat('Z', '98765') }))?.alive).toBe(false);
    expect(processIdentity(42, { ...linux({}), ps: () => '' })).toBeUndefined();
  });

  it('macOS: ps lstart, state and command (no /proc there)', () => {
    const id = processIdentity(
      42,
      darwin('Tue Dec  1 08:23:06 2026     S    /opt/homebrew/bin/qemu-system-aarch64 -accel hvf -m 4096\n'),
    );
    expect(id).toEqual({
      alive: true,
      startTime: 'Tue Dec 1 08:23:06 2026',
      command: '/opt/homebrew/bin/qemu-system-aarch64 -accel hvf -m 4096',
    });
    expect(processIdentity(42, darwin('Tue Dec  1 08:23:06 2026 Z+ (qemu-system-aarch)\n'))?.alive).toBe(false);
    expect(processIdentity(42, darwin(undefined))).toBeUndefined();
  });

  it('isSameProcess: a reused pid (another start time) is another process, on both platforms', () => {
    expect(isSameProcess(42, '98765', linux({ '/proc/42/stat': stat('S', '98765') }))).toBe(true);
    expect(isSameProcess(42, '11111', linux({ '/proc/42/stat': stat('S', '98765') }))).toBe(false);
    expect(isSameProcess(42, 'Mon Nov 30 10:00:00 2026', darwin('Tue Dec  1 08:23:06 2026 S sleep 100\n'))).toBe(false);
  });

  it('isProvenProcess: never without a recorded start time, the same one, and every mark in the command', () => {
    const sleep = darwin('Tue Dec  1 08:23:06 2026 S sleep 100\n');
    // The regression: a state file without a start time made `stop` kill an unrelated sleep.
    expect(isProvenProcess(42, undefined, ['qemu-system'], sleep)).toBe(false);
    expect(isProvenProcess(42, 'Tue Dec 1 08:23:06 2026', ['qemu-system'], sleep)).toBe(false);
    const qemu = darwin(
      'Tue Dec  1 08:23:06 2026 S qemu-system-aarch64 -drive file=/Users/me/.stack/emulator/run/vm/disk.qcow2\n',
    );
    expect(
      isProvenProcess(42, 'Tue Dec 1 08:23:06 2026', ['qemu-system', '/Users/me/.stack/emulator/run/vm'], qemu),
    ).toBe(true);
    expect(
      isProvenProcess(42, 'Tue Dec 1 08:23:06 2026', ['qemu-system', '/Users/other/.stack/emulator/run/vm'], qemu),
    ).toBe(false);
  });

  it('on this host: a real child, then gone', async () => {
    const child = spawn('sleep', ['30']);
    await new Promise((r) => child.once('spawn', r));
    // Right after the spawn, /proc/<pid>/cmdline can still be empty (seen under load in CI): the
    // identity is the one the process settles on.
    let id = processIdentity(child.pid!);
    for (let i = 0; i < 100 && id?.command !== 'sleep 30'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      id = processIdentity(child.pid!);
    }
    expect(id?.alive).toBe(true);
    expect(id?.command).toBe('sleep 30');
    expect(isProvenProcess(child.pid!, id!.startTime, ['sleep 30'])).toBe(true);
    // ps gives the same answer where /proc exists (the macOS path, run here).
    const viaPs = processIdentity(child.pid!, { platform: 'darwin' });
    expect(viaPs?.command).toBe('sleep 30');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(isSameProcess(child.pid!, id!.startTime)).toBe(false);
  });
});
