import { describe, expect, it } from 'vitest';
import { qemuCannotRun } from './qemu-cannot-run.js';

describe('qemuCannotRun: the dynamic loader failed, not QEMU', () => {
  it.each([
    'qemu-system-x86_64: error while loading shared libraries: libslirp.so.0: cannot open shared object file: No such file or directory',
    'qemu-system-x86_64: symbol lookup error: qemu-system-x86_64: undefined symbol: g_once_init_leave_pointer',
    "qemu-system-x86_64: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by qemu-system-x86_64)",
    'Error loading shared library libglib-2.0.so.0: No such file or directory (needed by /usr/bin/qemu-system-x86_64)',
    'dyld[4242]: Library not loaded: /opt/homebrew/opt/glib/lib/libglib-2.0.0.dylib',
  ])('%s', (line) => expect(qemuCannotRun(line)).toBe(true));

  it("QEMU's own refusals are not", () => {
    expect(qemuCannotRun('qemu-system-x86_64: -accel kvm: Could not access KVM kernel module: Permission denied')).toBe(
      false,
    );
    expect(qemuCannotRun("qemu-system-x86_64: Could not open '/x/disk.qcow2': No such file or directory")).toBe(false);
  });
});
