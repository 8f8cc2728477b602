export { compareQemuVersions, formatQemuVersion, parseQemuVersion, supportsMappedRam, type QemuVersion } from './qemu-version.js';
