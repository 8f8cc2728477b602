import { createHash } from 'node:crypto';
import { shareDevice } from './share-device.js';
import { checkSocketPath } from './socket-dir.js';
import { type VmSpec, type VmSpecInput, vmSpecSchema } from './spec.js';
import { QemuArgvError } from './errors.js';

/** One argv option and how the guest sees it (undefined: host-only, left out of the fingerprint). */
interface Arg {
  flag: string;
  value?: string;
  guest?: string;
}

export interface BuiltArgv {
  /** The argument vector (without the binary), never a shell string. */
  argv: string[];
  binary: string;
  /** Canonical guest-visible parts, in order: what the fingerprint hashes. */
  guestView: string[];
  /** sha256 of the guest view: equal fingerprints mean a snapshot can be resumed with this argv. */
  fingerprint: string;
}

/** QEMU option values escape a comma by doubling it (docs/system/invocation: "option,,value"). */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * The guest CPU: the host's under KVM/HVF. Under TCG an arm64 guest gets a Cortex-A76 (Armv8.2):
 * `max` exposes PAC, BTI and SVE, which V8's JIT uses and TCG mistranslates (Node dies with SIGTRAP:
 * the Stack image's services and migrations), and a Cortex-A72 lacks the LSE atomics ClickHouse
 * needs (SIGILL). The original pipeline settled on the same model. amd64 under TCG keeps `max`.
 */
function defaultCpu(spec: VmSpec): string {
  if (spec.accel !== 'tcg') return 'host';
  return spec.arch === 'arm64' ? 'cortex-a76' : 'max';
}

export function qemuBinary(arch: VmSpec['arch']): string {
  return arch === 'amd64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64';
}

function drive(id: string, file: string, format: 'qcow2' | 'raw', readonly: boolean, discard = false): Arg[] {
  const ro = readonly ? ',readonly=on' : '';
  const unmap = discard ? ',discard=unmap,detect-zeroes=unmap' : '';
  return [
    {
      flag: '-drive',
      value: `file=${escapeOptionValue(file)},format=${format},if=none,id=${id}${ro}${unmap}`,
      guest: `drive ${id} ${readonly ? 'ro' : 'rw'}`,
    },
    { flag: '-device', value: `virtio-blk-pci,drive=${id},id=${id}-dev`, guest: `virtio-blk-pci ${id}` },
  ];
}

/**
 * The RAM block's name is what a migration stream matches RAM by. Without `memory-backend` each
 * machine names its RAM `default_ram_id` (hw/i386/pc.c: "pc.ram"; hw/arm/virt.c: "mach-virt.ram"),
 * and QEMU's docs ask a backend that replaces it to take that id, so a stream saved from either VM
 * loads into the other (a session saved from a template-backed VM resumes in anonymous RAM).
 */
const DEFAULT_RAM_ID = { amd64: 'pc.ram', arm64: 'mach-virt.ram' } as const;

function memoryBackend(spec: VmSpec, file: NonNullable<VmSpec['memoryFile']>): string {
  const shared = file.mode === 'shared' ? 'on' : 'off';
  // readonly=on alone maps the file read-only (a ROM): rom=off (QEMU 8.2) keeps a private writable map.
  const ro = file.readOnlyOpen ? ',readonly=on,rom=off' : '';
  return `memory-backend-file,id=${DEFAULT_RAM_ID[spec.arch]},size=${spec.memoryMiB}M,mem-path=${escapeOptionValue(file.path)},share=${shared}${ro}`;
}

/**
 * Builds the QEMU command line. Devices are listed explicitly (`-nodefaults`), in the contract's
 * order: PCI slots follow argv order, and a migration only loads into the same device tree.
 */
export function buildArgv(input: VmSpecInput, host: { platform?: NodeJS.Platform } = {}): BuiltArgv {
  const parsed = vmSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ');
    throw new QemuArgvError('ARGV_INVALID_SPEC', `invalid VM spec (${issues})`, { cause: parsed.error });
  }
  const spec = parsed.data;
  // QEMU's own message for a long socket path names neither the limit nor a fix.
  for (const sock of [spec.qmpSocket, spec.agentSocket]) checkSocketPath(sock, host.platform ?? process.platform);
  const snapshot = spec.layout === 'snapshot';
  if (!snapshot && spec.incoming)
    throw new QemuArgvError('ARGV_INVALID_SPEC', 'incoming migration needs the snapshot layout');
  if (spec.arch === 'arm64' && !spec.firmware)
    throw new QemuArgvError(
      'ARGV_INVALID_SPEC',
      'arm64 needs UEFI firmware (firmware: path to QEMU_EFI.fd / AAVMF_CODE.fd)',
    );
  if (snapshot && (!spec.drives.seed || !spec.drives.bundle))
    throw new QemuArgvError(
      'ARGV_INVALID_SPEC',
      'the snapshot layout needs seed and bundle slots (phantom files after the build)',
    );
  if (!snapshot && spec.memoryFile)
    throw new QemuArgvError('ARGV_INVALID_SPEC', 'a RAM file (template snapshots) needs the snapshot layout');
  if (spec.memoryFile?.readOnlyOpen && spec.memoryFile.mode === 'shared')
    throw new QemuArgvError(
      'ARGV_INVALID_SPEC',
      'a shared RAM file is written by the guest: it cannot be opened read-only',
    );
  const machine = spec.arch === 'amd64' ? 'q35' : 'virt';
  const cpu = spec.cpu ?? defaultCpu(spec);
  const args: Arg[] = [
    { flag: '-nodefaults', guest: 'nodefaults' },
    {
      flag: '-machine',
      value: spec.memoryFile ? `${machine},memory-backend=${DEFAULT_RAM_ID[spec.arch]}` : machine,
      guest: `machine ${machine}`,
    },
    { flag: '-accel', value: spec.accel, guest: `accel ${spec.accel}` },
    { flag: '-cpu', value: cpu, guest: `cpu ${cpu}` },
  ];
  if (spec.firmware) args.push({ flag: '-bios', value: spec.firmware, guest: 'uefi' });
  if (spec.kernel) {
    args.push({ flag: '-kernel', value: spec.kernel.path, guest: `direct-kernel ${spec.kernel.append}` });
    if (spec.kernel.initrd) args.push({ flag: '-initrd', value: spec.kernel.initrd, guest: 'initrd' });
    args.push({ flag: '-append', value: spec.kernel.append });
  }
  if (spec.memoryFile) args.push({ flag: '-object', value: memoryBackend(spec, spec.memoryFile) });
  args.push(
    { flag: '-m', value: String(spec.memoryMiB), guest: `memory ${spec.memoryMiB}` },
    { flag: '-smp', value: String(spec.cpus), guest: `cpus ${spec.cpus}` },
  );
  // Disks: system, [seed slot, bundle slot], runtime config; before the NIC (guest contract).
  args.push(...drive('system', spec.drives.system, 'qcow2', false, spec.drives.systemDiscard));
  if (snapshot) {
    args.push(...drive('seed', spec.drives.seed!, 'raw', true));
    args.push(...drive('bundle', spec.drives.bundle!, 'raw', true));
  }
  args.push(...drive('config', spec.drives.config, 'raw', true));
  const fwd = spec.forwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
  // restrict=on (spec.network): the guest's own connections go nowhere, while the forwards, whose
  // sockets the host side opens, still work (libslirp tcp_input drops only segments with no socket).
  // Not in the fingerprint: the guest sees the same NIC and addresses, and libslirp's migration
  // state (guestfwd sockets, IP id, DHCP leases) holds no trace of it, so a stream loads either way.
  const restrict = spec.network === 'isolated' ? 'on' : 'off';
  args.push(
    { flag: '-netdev', value: `user,id=net0,restrict=${restrict}${fwd}` },
    { flag: '-device', value: 'virtio-net-pci,netdev=net0,id=net0-dev', guest: 'virtio-net-pci net0' },
  );
  args.push(
    { flag: '-chardev', value: `socket,id=qmp,path=${escapeOptionValue(spec.qmpSocket)},server=on,wait=off` },
    { flag: '-mon', value: 'chardev=qmp,mode=control' },
    { flag: '-chardev', value: `socket,id=qga0,path=${escapeOptionValue(spec.agentSocket)},server=on,wait=off` },
    { flag: '-device', value: 'virtio-serial-pci,id=serial0', guest: 'virtio-serial-pci' },
    {
      flag: '-device',
      value: 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
      guest: 'virtserialport org.qemu.guest_agent.0',
    },
  );
  if (spec.shares.length > spec.shareSlots)
    throw new QemuArgvError(
      'ARGV_INVALID_SPEC',
      `${spec.shares.length} shares, but the layout has ${spec.shareSlots} slots for them`,
    );
  // Empty root ports last (see spec.shareSlots); the 9p devices are plugged in after boot or resume.
  for (let i = 0; i < spec.shareSlots; i++) {
    args.push({
      flag: '-device',
      value: `pcie-root-port,id=share-port${i},bus=pcie.0,chassis=${i + 1}`,
      guest: `pcie-root-port share-port${i}`,
    });
  }
  if (spec.pluggedShares > spec.shares.length)
    throw new QemuArgvError(
      'ARGV_INVALID_SPEC',
      `${spec.pluggedShares} plugged shares, but only ${spec.shares.length} share directories`,
    );
  for (let i = 0; i < spec.pluggedShares; i++) {
    const d = shareDevice(i);
    args.push({
      flag: '-device',
      value: `${d.driver},id=${d.id},fsdev=${d.fsdev},mount_tag=${d.mount_tag},bus=${d.bus}`,
      guest: `${d.driver} ${d.id} ${d.mount_tag} ${d.bus}`,
    });
  }
  // Host-only backend state: not part of the migrated device tree.
  spec.shares.forEach((dir, i) =>
    args.push({
      flag: '-fsdev',
      value: `local,id=share${i},path=${escapeOptionValue(dir)},security_model=none${spec.readonlyShares.includes(dir) ? ',readonly=on' : ''}`,
    }),
  );
  if (snapshot && spec.incoming) args.push({ flag: '-incoming', value: 'defer' });
  args.push(
    { flag: '-serial', value: `file:${spec.serialLog}`, guest: 'serial0' },
    { flag: '-display', value: 'none' },
  );
  if (spec.paused) args.push({ flag: '-S' });
  if (spec.pidFile) args.push({ flag: '-pidfile', value: spec.pidFile });
  if (spec.daemonize) args.push({ flag: '-daemonize' });
  const argv = args.flatMap((a) => (a.value === undefined ? [a.flag] : [a.flag, a.value]));
  const guestView = args.flatMap((a) => (a.guest ? [a.guest] : []));
  const fingerprint = createHash('sha256').update(guestView.join('\n')).digest('hex');
  return { argv, binary: qemuBinary(spec.arch), guestView, fingerprint };
}
