/**
 * QEMU's own words when it cannot keep guest RAM in a file (system/physmem.c, backends/hostmem-file.c):
 * the file cannot be created or opened, mapped, sized, or the build has no file-backed memory.
 */
const RAM_FILE_REFUSED = [
  /can't open backing store .* for guest RAM/,
  /unable to map backing store for guest RAM/,
  /backing store size .* does not match/,
  /failed to get page size of file/,
  /-mem-path not supported/,
  /memory-backend-file/,
];

/** The line of QEMU's output that says it cannot keep guest RAM in a file, if one does. */
export function ramFileFailureReason(qemuOutput: string): string | undefined {
  const line = qemuOutput.split('\n').find((l) => RAM_FILE_REFUSED.some((re) => re.test(l)));
  return line?.trim().slice(0, 200);
}
