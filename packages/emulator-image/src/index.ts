export { loadAppliance, type Appliance } from './appliance.js';
export { buildAppliance, chooseBuildAccelerator, type BuildApplianceOptions, type BuildResult } from './provision.js';
export { ensureBaseImage, type BaseImage, type BaseImageOptions } from './base-image.js';
export { MarkerScanner, MARKERS, type MarkerEvent } from './markers.js';
export { cacheDir } from './cache-dir.js';
export { UEFI_FIRMWARE } from './disk-image.js';
export { type BootFiles, readBootFiles } from './boot-files.js';
export { BuildError } from './run.js';
export { applianceDigest, ensureApplianceImage } from './appliance-cache.js';
