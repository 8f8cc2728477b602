import type { spawn as spawnType } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { HostProbe } from './host-probe.js';
import { judgeKernelBoot, verifyAccelerator } from './verify-accel.js';

const probe: HostProbe = {
  binary: 'qemu-system-aarch64',
  version: { major: 9, minor: 2, micro: 0 },
  mappedRam: true,
  templateRam: true,
  accelerators: ['hvf', 'tcg'],
  kvmUnavailable: undefined,
  firmware: '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
};

/** A spawned "QEMU" that prints `console` and `stderr` (or nothing) and records its argv. */
function fakeSpawn(script: { console?: string; stderr?: string; exitAfter?: number }) {
  const calls: string[][] = [];
  const spawn = ((binary: string, args: string[]) => {
    calls.push([binary, ...args]);
    const child = Object.assign(new EventEmitter(), {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      kill: () => true,
    });
    setTimeout(() => {
      if (script.console) child.stdout.write(script.console);
      if (script.stderr) child.stderr.write(script.stderr);
      if (script.exitAfter !== undefined) setTimeout(() => child.emit('exit', 1, null), script.exitAfter);
    }, 5);
    return child;
  }) as unknown as typeof spawnType;
  return { spawn, calls };
}

describe('judgeKernelBoot', () => {
  it('passes a kernel that reached its root-fs panic, fails on QEMU accelerator errors, waits otherwise', () => {
    expect(
      judgeKernelBoot(
        '[0.1] Linux version 6.12\n[0.9] Kernel panic - not syncing: VFS: Unable to mount root fs',
        '',
        false,
      ),
    ).toEqual({ state: 'booted' });
    expect(judgeKernelBoot('', 'KVM internal error. Suberror: 1', false)).toEqual({
      state: 'failed',
      reason: 'KVM internal error. Suberror: 1',
    });
    expect(judgeKernelBoot('[0.1] Linux version 6.12', '', false)).toEqual({ state: 'pending' });
    expect(judgeKernelBoot('[0.1] Linux version 6.12', '', true)).toMatchObject({ state: 'failed' });
  });
});

describe('verifyAccelerator with a kernel (platform branches, QEMU injected)', () => {
  it('macOS arm64 HVF: boots the kernel on virt with the PL011 console, no firmware needed', async () => {
    const { spawn, calls } = fakeSpawn({
      console: 'Booting Linux on physical CPU 0x0\nKernel panic - not syncing: VFS: Unable to mount root fs\n',
    });
    const r = await verifyAccelerator(probe, 'hvf', { arch: 'arm64', kernel: '/img.boot/vmlinuz', spawn });
    expect(r.usable).toBe(true);
    expect(calls[0]).toEqual(
      expect.arrayContaining(['-accel', 'hvf', '-cpu', 'host', '-machine', 'virt', '-kernel', '/img.boot/vmlinuz']),
    );
    expect(calls[0]!.join(' ')).toContain('console=ttyAMA0');
    expect(calls[0]).not.toContain('-bios');
  });

  it('macOS HVF refused by the OS: unusable with the reason', async () => {
    const { spawn } = fakeSpawn({ stderr: 'qemu-system-aarch64: Error: HV_DENIED\n', exitAfter: 1 });
    const r = await verifyAccelerator(probe, 'hvf', { arch: 'arm64', kernel: '/k', spawn });
    expect(r).toEqual({ usable: false, reason: 'qemu-system-aarch64: Error: HV_DENIED' });
  });

  it('a silent hang (software-nested KVM) is unusable after the boot timeout, saying so', async () => {
    const { spawn } = fakeSpawn({});
    const r = await verifyAccelerator({ ...probe, binary: 'qemu-system-x86_64', accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'amd64',
      kernel: '/k',
      firstOutputMs: 100,
      spawn,
    });
    expect(r).toEqual({
      usable: false,
      reason: 'a kernel made no progress under kvm in 0.1 s (no console output at all)',
    });
  });

  it('a kernel that printed but stopped before its panic gets the longer limit, then is unusable', async () => {
    const { spawn } = fakeSpawn({ console: '[    0.000000] Linux version 6.12\n' });
    const t0 = Date.now();
    const r = await verifyAccelerator({ ...probe, binary: 'qemu-system-x86_64', accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'amd64',
      kernel: '/k',
      firstOutputMs: 50,
      bootTimeoutMs: 300,
      spawn,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r).toEqual({
      usable: false,
      reason:
        'a kernel did not finish booting under kvm in 0.3 s (last console line: [    0.000000] Linux version 6.12)',
    });
  });

  it("Linux arm64 KVM dying in the guest: unusable with QEMU's words", async () => {
    const { spawn } = fakeSpawn({
      console: 'Booting Linux on physical CPU 0x0\n',
      stderr: 'error: kvm run failed Bad address\n',
      exitAfter: 1,
    });
    const r = await verifyAccelerator({ ...probe, accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'arm64',
      kernel: '/k',
      spawn,
    });
    expect(r).toMatchObject({ usable: false, reason: expect.stringContaining('kvm run failed') });
  });
});
