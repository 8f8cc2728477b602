/**
 * The dynamic loader's words when a program cannot start (a library removed or upgraded under it):
 * glibc's "error while loading shared libraries", "symbol lookup error" and "version `GLIBC_2.38' not
 * found", musl's "Error loading shared library", macOS dyld's "Library not loaded".
 */
const LOADER_FAILURE =
  /error while loading shared libraries|Error loading shared library|symbol lookup error|version `[^`']+' not found|Library not loaded/;

/**
 * Whether QEMU's output says QEMU itself could not run (its loader failed): then nothing about the
 * guest, the accelerator or a snapshot can be concluded from the failure.
 */
export function qemuCannotRun(output: string): boolean {
  return LOADER_FAILURE.test(output);
}
