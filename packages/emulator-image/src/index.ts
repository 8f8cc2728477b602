export { loadAppliance, type Appliance } from './appliance.js';
export { buildAppliance, type BuildApplianceOptions, type BuildResult } from './provision.js';
export { chooseBuildAccelerator } from './build-accelerator.js';
export { cachedBaseKernel, ensureBaseImage, type BaseImage, type BaseImageOptions } from './base-image.js';
export { MarkerScanner, MARKERS, type MarkerEvent } from './markers.js';
export { cacheDir } from './cache-dir.js';
export { UEFI_FIRMWARE } from './disk-image.js';
export { type BootFiles, bootFilesDir, readBootFiles } from './boot-files.js';
export { BuildError, isBuildError, type BuildErrorCode } from './errors.js';
export { applianceDigest, ensureApplianceImage } from './appliance-cache.js';
export {
  generateStackBaseEnv,
  parseEnvFile,
  STACK_BASE_ENV,
  STACK_BASE_ENV_KEYS,
  type BaseEnvEntry,
} from './stack-base-env.js';
export { bootModeFromMbr, diskBootMode, type DiskBootMode } from './disk-boot-mode.js';
