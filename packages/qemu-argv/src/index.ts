export { buildArgv, escapeOptionValue, qemuBinary, type BuiltArgv } from './argv.js';
export { vmSpecSchema, SNAPSHOT_CPUS, SNAPSHOT_MEMORY_MIB, type VmSpec, type VmSpecInput } from './spec.js';
export { ARM64_FIRMWARE_CANDIDATES, findFirmware, probeHost, type HostProbe } from './host-probe.js';
export { accelFailureReason, chooseAccelerator, loadVerdicts, saveVerdict, verdictKey, type Accel, type AccelChoice, type AccelVerdict } from './accel-verdict.js';
export { compareQemuVersions, formatQemuVersion, parseQemuVersion, supportsMappedRam, type QemuVersion } from './qemu-version.js';
export { verifyAccelerator, type AccelCheck } from './verify-accel.js';
export { defaultCpuCount } from './cpu-count.js';
