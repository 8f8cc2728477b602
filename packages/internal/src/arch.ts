/** A guest (and host) architecture, by Debian's names. */
export type Arch = 'amd64' | 'arm64';

/** Every supported architecture. */
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

/** A QEMU accelerator. */
export type Accel = 'kvm' | 'hvf' | 'tcg';
