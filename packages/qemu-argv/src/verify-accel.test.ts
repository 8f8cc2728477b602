import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessResult, RunProcess } from '@stack/internal';
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

/** A "QEMU" run that prints `console` and `stderr` (or nothing), exits if told, and records its argv. */
function fakeRun(script: { console?: string; stderr?: string; exitAfter?: number }) {
  const calls: string[][] = [];
  const run: RunProcess = (binary, args, options = {}) => {
    calls.push([binary, ...args]);
    return new Promise<ProcessResult>((resolve) => {
      const end = (exitCode: number | undefined, signal: NodeJS.Signals | undefined) =>
        resolve({ command: binary, exitCode, signal, stdout: '', stderr: script.stderr ?? '' });
      options.signal?.addEventListener('abort', () => end(undefined, options.killSignal));
      setTimeout(() => {
        if (script.console) options.onStdout?.(script.console);
        if (script.stderr) options.onStderr?.(script.stderr);
        if (script.exitAfter !== undefined) setTimeout(() => end(1, undefined), script.exitAfter);
      }, 5);
    });
  };
  return { run, calls };
}

/** An executable standing in for QEMU: a real process, run by the real runner. */
function fakeQemu(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fake-qemu-')), 'qemu-system-x86_64');
  writeFileSync(file, `#!${process.execPath}\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
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

describe('verifyAccelerator with a kernel (platform branches, QEMU run injected)', () => {
  it('macOS arm64 HVF: boots the kernel on virt with the PL011 console, no firmware needed', async () => {
    const { run, calls } = fakeRun({
      console: 'Booting Linux on physical CPU 0x0\nKernel panic - not syncing: VFS: Unable to mount root fs\n',
    });
    const r = await verifyAccelerator(probe, 'hvf', { arch: 'arm64', kernel: '/img.boot/vmlinuz', run });
    expect(r.usable).toBe(true);
    expect(calls[0]).toEqual(
      expect.arrayContaining(['-accel', 'hvf', '-cpu', 'host', '-machine', 'virt', '-kernel', '/img.boot/vmlinuz']),
    );
    expect(calls[0]!.join(' ')).toContain('console=ttyAMA0');
    expect(calls[0]).not.toContain('-bios');
  });

  it('macOS HVF refused by the OS: unusable with the reason', async () => {
    const { run } = fakeRun({ stderr: 'qemu-system-aarch64: Error: HV_DENIED\n', exitAfter: 1 });
    const r = await verifyAccelerator(probe, 'hvf', { arch: 'arm64', kernel: '/k', run });
    expect(r).toEqual({ usable: false, reason: 'qemu-system-aarch64: Error: HV_DENIED' });
  });

  it('a silent hang (software-nested KVM) is unusable after the boot timeout, saying so', async () => {
    const { run } = fakeRun({});
    const r = await verifyAccelerator({ ...probe, binary: 'qemu-system-x86_64', accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'amd64',
      kernel: '/k',
      firstOutputMs: 100,
      run,
    });
    expect(r).toEqual({
      usable: false,
      reason: 'a kernel made no progress under kvm in 0.1 s (no console output at all)',
    });
  });

  it('a kernel that printed but stopped before its panic gets the longer limit, then is unusable', async () => {
    const { run } = fakeRun({ console: '[    0.000000] Linux version 6.12\n' });
    const t0 = Date.now();
    const r = await verifyAccelerator({ ...probe, binary: 'qemu-system-x86_64', accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'amd64',
      kernel: '/k',
      firstOutputMs: 50,
      bootTimeoutMs: 300,
      run,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r).toEqual({
      usable: false,
      reason:
        'a kernel did not finish booting under kvm in 0.3 s (last console line: [    0.000000] Linux version 6.12)',
    });
  });

  it("Linux arm64 KVM dying in the guest: unusable with QEMU's words", async () => {
    const { run } = fakeRun({
      console: 'Booting Linux on physical CPU 0x0\n',
      stderr: 'error: kvm run failed Bad address\n',
      exitAfter: 1,
    });
    const r = await verifyAccelerator({ ...probe, accelerators: ['kvm', 'tcg'] }, 'kvm', {
      arch: 'arm64',
      kernel: '/k',
      run,
    });
    expect(r).toMatchObject({ usable: false, reason: expect.stringContaining('kvm run failed') });
  });
});

describe('verifyAccelerator running a real process (a stand-in for QEMU)', () => {
  const x86 = { ...probe, binary: '', accelerators: ['kvm', 'tcg'] as const } satisfies HostProbe;

  it('without a kernel: usable when it keeps running, and it is killed then; unusable with its stderr when it exits', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'pid-')), 'pid');
    const running = fakeQemu(
      `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`,
    );
    expect(await verifyAccelerator({ ...x86, binary: running }, 'kvm', { arch: 'amd64', settleMs: 1500 })).toEqual({
      usable: true,
      reason: 'kvm with -cpu host started and kept running',
    });
    const { readFileSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    expect(() => process.kill(pid, 0)).toThrow();

    const failing = fakeQemu(
      `console.error('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x0'); process.exit(1);`,
    );
    const r = await verifyAccelerator({ ...x86, binary: failing }, 'kvm', { arch: 'amd64' });
    expect(r.usable).toBe(false);
    expect(r.reason).toContain('MSR 0x10a');
  });

  it('with a kernel: reads the console from its stdout', async () => {
    const booting = fakeQemu(
      `process.stdout.write('[0.1] Linux version 6.12\\n'); setTimeout(() => process.stdout.write('[0.9] Kernel panic - not syncing: VFS: Unable to mount root fs\\n'), 100); setInterval(() => {}, 1000);`,
    );
    const r = await verifyAccelerator({ ...x86, binary: booting }, 'tcg', { arch: 'amd64', kernel: '/k' });
    expect(r).toMatchObject({ usable: true, reason: expect.stringMatching(/^tcg booted a kernel in \d/) });
  });

  it('a binary that cannot run: unusable, with what the system said, and inconclusive (nothing about the accelerator)', async () => {
    const missing = { ...x86, binary: '/nonexistent/qemu-system-x86_64' };
    expect(await verifyAccelerator(missing, 'tcg', { arch: 'amd64' })).toEqual({
      usable: false,
      reason: 'cannot run /nonexistent/qemu-system-x86_64: spawn /nonexistent/qemu-system-x86_64 ENOENT',
      inconclusive: true,
    });
    expect(await verifyAccelerator(missing, 'tcg', { arch: 'amd64', kernel: '/k' })).toMatchObject({
      usable: false,
      inconclusive: true,
    });
  });

  it("a QEMU whose dynamic loader failed (a library upgraded under it) is inconclusive too; an accelerator's own error is not", async () => {
    const broken = fakeQemu(
      `console.error('qemu-system-x86_64: error while loading shared libraries: libslirp.so.0: cannot open shared object file: No such file or directory'); process.exit(127);`,
    );
    for (const kernel of [undefined, '/k'])
      expect(
        await verifyAccelerator({ ...x86, binary: broken }, 'kvm', { arch: 'amd64', ...(kernel ? { kernel } : {}) }),
      ).toMatchObject({ usable: false, reason: expect.stringContaining('libslirp'), inconclusive: true });
    const refused = fakeQemu(
      `console.error('qemu-system-x86_64: -accel kvm: Could not access KVM kernel module: Permission denied'); process.exit(1);`,
    );
    const r = await verifyAccelerator({ ...x86, binary: refused }, 'kvm', { arch: 'amd64' });
    expect(r).toMatchObject({ usable: false });
    expect(r.inconclusive).toBeUndefined();
  });
});
