import { runProcess } from '@stack/internal';
import { cacheDir } from '@stack/emulator-image';
import {
  chooseAccelerator,
  formatQemuVersion,
  isQemuArgvError,
  loadVerdicts,
  probeHost,
  qemuHasDevice,
  verdictKey,
} from '@stack/qemu-argv';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { chooseSnapshotFormat } from './snapshot-support.js';

/** One finding of `doctor`: `ok`, or a `warn`ing the emulator can live with, or a `fail`ure. */
interface Finding {
  check: string;
  level: 'ok' | 'warn' | 'fail';
  detail: string;
}

export interface DoctorReport {
  ok: boolean;
  host: EmulatorConfig['host'];
  arch: EmulatorConfig['arch'];
  findings: Finding[];
}

/** What a failed tool check adds: the command that installs what is missing. */
const SETUP = '; `stack-emulator setup` installs it';

const has = (cmd: string) =>
  runProcess(cmd, ['--version'], { timeout: 5000 }).then(
    () => true,
    () => false,
  );

/**
 * The host probe without starting anything: QEMU and its version, the accelerator the next start
 * would use (and a remembered verdict), firmware, 9p for host shares, the snapshot format, zstd, and
 * where sockets and caches go. Fails only on what stops every start.
 */
export async function doctor(config: EmulatorConfig): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const add = (check: string, level: Finding['level'], detail: string) => findings.push({ check, level, detail });
  add(
    'host',
    config.host.rosetta ? 'warn' : 'ok',
    `${config.host.platform} ${config.host.arch ?? 'unknown'}${config.host.rosetta ? ' (Node runs under Rosetta: an arm64 Node starts faster)' : ''}; guest ${config.arch}`,
  );
  let probe: Awaited<ReturnType<typeof probeHost>> | undefined;
  try {
    probe = await probeHost(config.arch);
  } catch (e) {
    add(
      'qemu',
      'fail',
      `${(e as Error).message}${isQemuArgvError(e) && e.code === 'ARGV_QEMU_NOT_FOUND' ? SETUP : ''}`,
    );
  }
  if (probe) {
    const v = probe.version;
    add(
      'qemu',
      v.major < 7 || (v.major === 7 && v.minor < 2) ? 'fail' : 'ok',
      `${probe.binary} ${formatQemuVersion(v)}${v.major < 9 ? ' (below 9.0: no mapped-ram; sessions after a cold boot are saved as the plain stream)' : ''}`,
    );
    const verdicts = await loadVerdicts(config.paths.accelVerdicts);
    const keys: Record<string, string> = {};
    for (const a of probe.accelerators) if (a !== 'tcg') keys[a] = await verdictKey(probe, a);
    try {
      const c = chooseAccelerator(probe, {
        override: config.accelOverride,
        hostArch: config.host.arch ?? config.arch,
        guestArch: config.arch,
        verdicts,
        keys,
      });
      add(
        'accelerator',
        c.accel === 'tcg' && probe.accelerators.some((a) => a !== 'tcg') ? 'warn' : 'ok',
        `${c.accel}: ${c.reason}`,
      );
    } catch (e) {
      add('accelerator', 'fail', (e as Error).message);
    }
    if (config.arch === 'arm64')
      add(
        'firmware',
        probe.firmware ? 'ok' : 'fail',
        probe.firmware ??
          `no aarch64 UEFI firmware (Debian/Ubuntu: apt install qemu-efi-aarch64; macOS: brew install qemu)${SETUP}`,
      );
    add(
      'host share (9p)',
      (await qemuHasDevice(probe.binary, 'virtio-9p-pci')) ? 'ok' : 'warn',
      'virtio-9p-pci, for --config-file projects',
    );
    const f = await chooseSnapshotFormat(config, probe);
    add('snapshots', f.format ? 'ok' : 'warn', f.format ? `${f.format} format` : f.reason);
  }
  add(
    'zstd',
    (await has('zstd')) ? 'ok' : 'warn',
    'compresses snapshots for storage (without it they stay uncompressed)',
  );
  const qemuImg = await has('qemu-img');
  add('qemu-img', qemuImg ? 'ok' : 'fail', `creates the disk overlays${qemuImg ? '' : SETUP}`);
  add('paths', 'ok', `home ${config.paths.home}; sockets ${config.paths.sockets}; image cache ${cacheDir()}`);
  return { ok: findings.every((x) => x.level !== 'fail'), host: config.host, arch: config.arch, findings };
}
