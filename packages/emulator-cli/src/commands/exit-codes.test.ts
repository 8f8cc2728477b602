import { EmulatorError } from '@stack/emulator';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from './report-error.js';

describe('exit codes (CLI README, "Exit codes")', () => {
  it('2 for input to fix, 3 not running, 4 busy, 5 short of memory, 130 interrupted, 1 for the rest', () => {
    for (const code of [
      'CONFIG_INVALID',
      'CONFIG_FILE_NOT_FOUND',
      'PORT_BUSY',
      'HOST_UNSUPPORTED',
      'IMAGE_MISSING',
      'BASE_ENV_MISSING',
      'SESSION_IMAGE_MISMATCH',
      'SHARE_INVALID',
      'SHARE_TOO_WIDE',
    ] as const)
      expect(exitCodeOf(new EmulatorError(code, 'x'))).toBe(2);
    expect(exitCodeOf(new EmulatorError('NOT_RUNNING', 'x'))).toBe(3);
    expect(exitCodeOf(new EmulatorError('LOCK_BUSY', 'x'))).toBe(4);
    expect(exitCodeOf(new EmulatorError('INSUFFICIENT_MEMORY', 'x'))).toBe(5);
    expect(exitCodeOf(new EmulatorError('INTERRUPTED', 'x'))).toBe(130);
    for (const code of ['QEMU_FAILED', 'DISK_FULL', 'NOT_HEALTHY', 'STOP_REFUSED'] as const)
      expect(exitCodeOf(new EmulatorError(code, 'x'))).toBe(1);
    expect(exitCodeOf(new Error('plain'))).toBe(1);
  });
});
