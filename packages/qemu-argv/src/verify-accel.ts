import { spawn } from 'node:child_process';
import { type Accel, accelFailureReason } from './accel-verdict.js';
import type { HostProbe } from './host-probe.js';

export interface AccelCheck {
  usable: boolean;
  reason: string;
}

/**
 * Starts QEMU with the accelerator and CPU model the emulator would use, with no disk, and watches
 * it for `settleMs`. A hardware accelerator that cannot even initialise its vCPUs (e.g. software-nested
 * KVM: "failed to set MSR 0x10a" with `-cpu host`) makes QEMU exit within that time. Failures that only
 * a real kernel triggers show up at the first boot: pass that output to `accelFailureReason`.
 */
export function verifyAccelerator(probe: HostProbe, accel: Accel, options: { arch: 'amd64' | 'arm64'; cpu?: string; settleMs?: number } ): Promise<AccelCheck> {
  const cpu = options.cpu ?? (accel === 'tcg' ? 'max' : 'host');
  const machine = options.arch === 'amd64' ? 'q35' : 'virt';
  const args = ['-accel', accel, '-cpu', cpu, '-machine', machine, '-nodefaults', '-display', 'none', '-m', '128', '-monitor', 'none', '-serial', 'none'];
  if (options.arch === 'arm64' && probe.firmware) args.push('-bios', probe.firmware);
  return new Promise((resolve) => {
    const child = spawn(probe.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ usable: true, reason: `${accel} with -cpu ${cpu} started and kept running` });
    }, options.settleMs ?? 1500);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return;
      const why = accelFailureReason(stderr) ?? (stderr.trim().split('\n')[0] || `exited with ${code ?? signal}`);
      resolve({ usable: false, reason: why.slice(0, 200) });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ usable: false, reason: `cannot run ${probe.binary}: ${e.message}` });
    });
  });
}
