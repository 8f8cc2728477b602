import { ProcessError, type RunProcess } from '@stack/internal';
import { describe, expect, it } from 'vitest';
import { isQemuArgvError } from './errors.js';
import { probeHost, qemuHasDevice } from './host-probe.js';

/** A "QEMU" answering each probe from `answers` (keyed by its first argument). */
const fakeQemu =
  (answers: Record<string, string>): RunProcess =>
  async (file, args) => {
    const stdout = answers[args[0]!];
    if (stdout === undefined) throw new Error(`unexpected ${args.join(' ')}`);
    return { command: file, exitCode: 0, signal: undefined, stdout, stderr: '' };
  };

describe('probeHost (QEMU run injected)', () => {
  it('reads the version, the accelerators and file-backed RAM from three runs', async () => {
    const probe = await probeHost('amd64', {
      binary: 'qemu-system-x86_64',
      run: fakeQemu({
        '--version': 'QEMU emulator version 9.2.0 (Debian 1:9.2.0+ds-1)\nCopyright (c) 2003-2024\n',
        '-accel': 'Accelerators supported in QEMU binary:\ntcg\n',
        '-object': 'List of user creatable objects:\n  memory-backend-file\n  memory-backend-ram\n',
      }),
    });
    expect(probe).toMatchObject({
      binary: 'qemu-system-x86_64',
      version: { major: 9, minor: 2, micro: 0 },
      mappedRam: true,
      templateRam: true,
      accelerators: ['tcg'],
      kvmUnavailable: undefined,
      firmware: undefined,
    });
  });

  it('a QEMU that cannot run: ARGV_QEMU_NOT_FOUND with what the system said and how to install it', async () => {
    const run: RunProcess = async (file) => {
      const spawnError = new Error(`spawn ${file} ENOENT`);
      throw new ProcessError(
        'PROCESS_START_FAILED',
        `cannot run ${file}: ${spawnError.message}`,
        { command: file, exitCode: undefined, signal: undefined, stdout: '', stderr: '' },
        spawnError,
      );
    };
    const err = await probeHost('amd64', { binary: 'qemu-system-x86_64', run }).catch((e: unknown) => e);
    expect(isQemuArgvError(err) && err.code).toBe('ARGV_QEMU_NOT_FOUND');
    expect((err as Error).message).toMatch(
      /^qemu-system-x86_64 not found or not runnable \(spawn qemu-system-x86_64 ENOENT\); install QEMU >= 9 \(Debian: apt install qemu-system-x86 /,
    );
  });
});

describe('qemuHasDevice', () => {
  it('is false for a binary that cannot run', async () => {
    expect(await qemuHasDevice('/nonexistent/qemu-system-x86_64', 'virtio-9p-pci')).toBe(false);
  });
});
