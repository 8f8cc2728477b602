export { buildArgv, escapeOptionValue, qemuBinary, type BuiltArgv } from './argv.js';
export { vmSpecSchema, SNAPSHOT_CPUS, SNAPSHOT_MEMORY_MIB, type VmSpec, type VmSpecInput } from './spec.js';
export { probeHost, qemuHasDevice, type HostProbe, type ProbeCacheOptions } from './host-probe.js';
export {
  ARM64_FIRMWARE_CANDIDATES,
  findArm64Firmware,
  firmwareDescriptorDirs,
  firmwareFromDescriptor,
  type FindFirmwareOptions,
} from './firmware.js';
export {
  accelFailureReason,
  chooseAccelerator,
  loadVerdicts,
  saveVerdict,
  verdictKey,
  type Accel,
  type AccelChoice,
  type AccelVerdict,
} from './accel-verdict.js';
export {
  compareQemuVersions,
  formatQemuVersion,
  parseQemuVersion,
  supportsMappedRam,
  supportsReadOnlyPrivateRam,
  type QemuVersion,
} from './qemu-version.js';
export { verifyAccelerator, type AccelCheck } from './verify-accel.js';
export { qemuCannotRun } from './qemu-cannot-run.js';
export {
  BOOT_FAILED_PREFIX,
  BOOT_MARKERS,
  BOOT_STAGE_PREFIX,
  BOOT_STAGES,
  bootProgress,
  bootStage,
  type BootProgress,
  type BootStage,
} from './boot-stage.js';
export { defaultCpuCount } from './cpu-count.js';
export {
  checkSocketPath,
  ensureSocketDir,
  maxSocketPathBytes,
  socketDirFor,
  type SocketDirOptions,
} from './socket-dir.js';
export { isQemuArgvError, QemuArgvError, type QemuArgvErrorCode } from './errors.js';
export { migrationUri, shellQuote, supportsFileMigration, supportsIncomingExitOnError } from './migration-uri.js';
export {
  firmwareIdentity,
  hostIdentity,
  parseCpuinfo,
  type HostIdentity,
  type HostIdentityOptions,
} from './host-identity.js';
export { shareDevice, shareTag } from './share-device.js';
export { ramFileFailureReason } from './ram-file-failure.js';
