import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** A virtual machine as the emulator runs it. Validated with {@link vmSpecSchema}. */
export const vmSpecSchema = z.object({
  /** Guest architecture: q35 for amd64, virt for arm64. */
  arch: z.enum(['amd64', 'arm64']),
  accel: z.enum(['kvm', 'hvf', 'tcg']),
  /** CPU model. @default "host" under kvm/hvf; under tcg "max" for amd64, "cortex-a76" for arm64 (see argv.ts) */
  cpu: z.string().min(1).optional(),
  memoryMiB: z.number().int().min(256),
  cpus: z.number().int().min(1).max(64),
  /**
   * `cold`: a normal boot. `snapshot`: the fixed device order migration needs (guest contract),
   * with phantom seed/bundle slots and an empty pcie-root-port for hot-plugging the host share.
   */
  layout: z.enum(['cold', 'snapshot']),
  /** Snapshot layout only: start with `-incoming defer` to receive a migration over QMP. @default false */
  incoming: z.boolean().default(false),
  /**
   * Snapshot layout only: guest RAM in a file (`memory-backend-file`) instead of anonymous memory, for
   * template snapshots. `shared` (capture): the guest writes through to the file, which becomes the
   * template. `private` (resume): the file is mapped copy-on-write, so it never changes and several
   * VMs share its pages through the page cache. `readOnlyOpen` opens it read-only as well (QEMU 8.2+,
   * `readonly=on,rom=off`). The backend keeps the machine's default RAM id, so its RAM block is named
   * as without it: host-only, not part of the fingerprint. @default undefined (anonymous RAM)
   */
  memoryFile: z
    .object({
      path: z.string().min(1),
      mode: z.enum(['shared', 'private']),
      /** @default false */
      readOnlyOpen: z.boolean().default(false),
    })
    .optional(),
  /** UEFI firmware for `-bios` (see `findArm64Firmware`). */
  firmware: z.string().optional(),
  /**
   * Direct kernel boot: QEMU itself loads the kernel and initrd (fw_cfg), so no firmware reads the
   * disk. Under TCG, OVMF and a boot loader took ~4-5 s to reach the kernel; SeaBIOS with QEMU's
   * linuxboot ROM takes ~1 s. The files belong to the image (its digest keys any snapshot), so only
   * the command line is part of the fingerprint.
   * @default undefined (the firmware boots the disk)
   */
  kernel: z
    .object({
      path: z.string().min(1),
      initrd: z.string().min(1).optional(),
      /** The kernel command line. @default "" */
      append: z.string().default(''),
    })
    .optional(),
  drives: z.object({
    /** System disk: a qcow2 overlay. */
    system: z.string().min(1),
    /** Seed slot (snapshot layout): the cidata ISO at build time, a phantom file afterwards. */
    seed: z.string().optional(),
    /** Bundle slot (snapshot layout): the STACKBUNDLE ISO at build time, a phantom file afterwards. */
    bundle: z.string().optional(),
    /** The runtime config disk (STACKCFG ISO). */
    config: z.string().min(1),
    /**
     * Pass the guest's discards (fstrim) and written zeros through to the system disk's qcow2 as
     * unallocated clusters (`discard=unmap,detect-zeroes=unmap`): for image builds, whose freed space
     * must not reach the compressed image. Host-side only: the guest sees the same device.
     * @default false
     */
    systemDiscard: z.boolean().default(false),
  }),
  /** Host ports forwarded to guest ports; host side always bound to 127.0.0.1. */
  forwards: z.array(z.object({ name: z.string(), hostPort: port, guestPort: port })).default([]),
  /**
   * What the guest may reach through QEMU's user-mode network (slirp). The `forwards` reach the guest
   * either way.
   * - `isolated` (`restrict=on`): the guest reaches nothing: not the host's loopback services through
   *   the gateway 10.0.2.2, not the internet, and the DNS address 10.0.2.3 does not answer (libslirp
   *   drops the guest's UDP but DHCP and TFTP, and resets the TCP connections it opens).
   * - `outbound` (`restrict=off`, QEMU's own default): the guest reaches the internet, and also every
   *   service listening on the host's loopback, through 10.0.2.2 (databases, dev servers, a Docker
   *   daemon on TCP...). For a backend that must call real OAuth providers, SMTP servers, or webhooks
   *   on the host.
   * Host-side only (the slirp backend, not the device tree or the migration stream): not in the
   * fingerprint, so a snapshot resumes under either. @default "isolated"
   */
  network: z.enum(['isolated', 'outbound']).default('isolated'),
  qmpSocket: z.string().min(1),
  agentSocket: z.string().min(1),
  serialLog: z.string().min(1),
  /**
   * Empty PCIe root ports the host shares are hot-plugged into (`share-port<i>`), last in the device
   * tree: q35's and virt's pcie.0 take no hot-plug, and QEMU cannot migrate a guest with 9p mounted,
   * so shares are always plugged after the boot or the resume. Part of the layout. @default 4
   */
  shareSlots: z.number().int().min(0).max(16).default(4),
  /**
   * Host directories to share, as host-only `-fsdev share<i>` backends (not in the device tree, so
   * they may differ between capture and resume); the devices go into the slots. @default none
   */
  shares: z.array(z.string().min(1)).default([]),
  /**
   * Those of `shares` QEMU exports read-only (`readonly=on` on the fsdev: a write is refused on the
   * host, whatever the guest does with its own mount). Host-only, like `shares`. @default none
   */
  readonlyShares: z.array(z.string().min(1)).default([]),
  /**
   * Slots whose 9p device is on the command line rather than plugged later: a saved session is
   * resumed with the devices it had (unmounted) when it was saved. Each needs its `shares` entry.
   * @default 0
   */
  pluggedShares: z.number().int().min(0).max(16).default(0),
  /** Run QEMU detached (`-daemonize`) with a pid file. */
  pidFile: z.string().optional(),
  daemonize: z.boolean().default(false),
  /** Start with the vCPUs stopped (`-S`). @default false */
  paused: z.boolean().default(false),
});

export type VmSpecInput = z.input<typeof vmSpecSchema>;
export type VmSpec = z.output<typeof vmSpecSchema>;

/** The contract pins RAM and vCPUs of snapshots: they are part of the migration stream. */
export const SNAPSHOT_MEMORY_MIB = 4096;
export const SNAPSHOT_CPUS = 4;
