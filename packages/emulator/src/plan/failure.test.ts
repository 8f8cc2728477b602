import { QgaTimeoutError } from '@stack/qga-protocol';
import { QmpCommandError, QmpTimeoutError } from '@stack/qmp-protocol';
import { SnapshotCorruptError, SnapshotError } from '@stack/snapshot-cache';
import { describe, expect, it } from 'vitest';
import { EmulatorError } from '../errors.js';
import { classifyFailure, goldenVerdict, guestPanicked, recoverable } from './failure.js';

const seen = { aborted: false };
const errno = (code: string) => Object.assign(new Error(`${code}: something`), { code });

describe('classifyFailure', () => {
  it('an abort or an accelerator seen failing wins over anything the error says', () => {
    expect(classifyFailure(new Error('x'), { aborted: true })).toBe('interrupted');
    expect(classifyFailure(new Error('x'), { aborted: false, acceleratorProblem: 'KVM internal error' })).toBe(
      'accelerator',
    );
    expect(classifyFailure(new EmulatorError('INTERRUPTED', 'x'), seen)).toBe('interrupted');
  });

  it('tells the host’s failures from the snapshot’s (issue 29: a good snapshot was quarantined for ENOSPC)', () => {
    const enospc = new EmulatorError('SNAPSHOT_FAILED', 'copy failed', { cause: errno('ENOSPC') });
    expect(classifyFailure(enospc, seen)).toBe('disk-full');
    expect(classifyFailure(errno('EIO'), seen)).toBe('host');
    expect(classifyFailure(new SnapshotError('SNAPSHOT_TOOL_FAILED', 'qemu-img create failed'), seen)).toBe('host');
    expect(
      classifyFailure(
        new EmulatorError('QEMU_FAILED', 'QEMU exited during start: Could not set up host forwarding rule tcp::26701'),
        seen,
      ),
    ).toBe('host');
    expect(classifyFailure(new SnapshotCorruptError('/s/state.raw', 'bad digest'), seen)).toBe('other');
    expect(
      classifyFailure(new QmpCommandError('migrate-incoming', 'GenericError', 'load of migration failed'), seen),
    ).toBe('other');
  });

  it('a QEMU that could not start at all (its binary gone, its loader failing) is the host, never the snapshot', () => {
    for (const why of [
      'cannot run qemu-system-x86_64: spawn qemu-system-x86_64 ENOENT',
      'qemu-system-x86_64: error while loading shared libraries: libslirp.so.0: cannot open shared object file',
      "qemu-system-x86_64: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found",
    ]) {
      const kind = classifyFailure(new EmulatorError('QEMU_FAILED', `QEMU exited during start: ${why}`), seen);
      expect(kind).toBe('host');
      expect(goldenVerdict(kind)).toBe('keep');
    }
  });

  it('tells a timeout (maybe a loaded host) from a broken snapshot, by code', () => {
    expect(classifyFailure(new EmulatorError('NOT_HEALTHY', 'x'), seen)).toBe('timeout');
    expect(
      classifyFailure(new EmulatorError('GUEST_FAILED', 'x', { cause: new QgaTimeoutError('guest-exec', 5000) }), seen),
    ).toBe('timeout');
    expect(classifyFailure(new QmpTimeoutError('query-migrate', 1000), seen)).toBe('timeout');
    expect(classifyFailure(new EmulatorError('GUEST_FAILED', 'mount-host-fs exited with 1'), seen)).toBe('other');
    // By code, not by name: an error class that merely ends in "TimeoutError" is not one of ours.
    class OtherTimeoutError extends Error {}
    const other = new OtherTimeoutError('x');
    Object.defineProperty(other, 'name', { value: 'OtherTimeoutError' });
    expect(classifyFailure(other, seen)).toBe('other');
  });

  it('a share problem and a refused format are their own kinds', () => {
    expect(classifyFailure(new EmulatorError('HOST_SHARE_FAILED', 'x'), seen)).toBe('share');
    expect(classifyFailure(new EmulatorError('SNAPSHOT_UNSUPPORTED', 'x'), seen)).toBe('refused-format');
  });
});

describe('what follows a failure', () => {
  it('quarantines a golden snapshot only for what it caused; counts a timeout; keeps it on a host failure', () => {
    expect(goldenVerdict('other')).toBe('quarantine');
    expect(goldenVerdict('timeout')).toBe('count-timeout');
    for (const k of ['host', 'disk-full', 'interrupted', 'share', 'accelerator', 'refused-format'] as const)
      expect(goldenVerdict(k)).toBe('keep');
  });

  it('resumes and captures fall back; cold boots, interrupts, shares and full disks end the start', () => {
    for (const a of ['resume-session', 'resume-golden', 'capture'] as const) {
      expect(recoverable(a, 'other')).toBe(true);
      expect(recoverable(a, 'timeout')).toBe(true);
      expect(recoverable(a, 'host')).toBe(true);
      for (const k of ['interrupted', 'share', 'disk-full', 'accelerator'] as const)
        expect(recoverable(a, k)).toBe(false);
    }
    for (const a of ['cold-session', 'cold-fresh', 'adopt'] as const) expect(recoverable(a, 'other')).toBe(false);
  });
});

describe('guestPanicked', () => {
  it('knows a failure whose guest kernel panicked, through causes', () => {
    const panic = new EmulatorError('GUEST_FAILED', 'the guest agent cannot answer: the guest kernel panicked: oops');
    expect(guestPanicked(panic)).toBe(true);
    expect(guestPanicked(new Error('capture failed', { cause: panic }))).toBe(true);
    expect(
      guestPanicked(new EmulatorError('GUEST_FAILED', 'the guest agent did not answer guest-sync within 240 s')),
    ).toBe(false);
    expect(guestPanicked(new Error('the guest kernel panicked'))).toBe(false);
  });
});
