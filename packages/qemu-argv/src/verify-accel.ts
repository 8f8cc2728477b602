import { type Accel, accelFailureReason } from './accel-verdict.js';
import type { HostProbe } from './host-probe.js';
import { qemuCannotRun } from './qemu-cannot-run.js';
import { type Arch, type ProcessResult, type RunProcess, runProcess } from '@stack/internal';

export interface AccelCheck {
  usable: boolean;
  reason: string;
  /**
   * QEMU itself could not run (not started, or its dynamic loader failed): the check says nothing
   * about the accelerator and must not be remembered as its verdict. @default false
   */
  inconclusive?: boolean;
}

/** A failed check, inconclusive when QEMU never ran (`spawnFailed`, or its loader's message in `stderr`). */
function failed(reason: string, stderr: string, spawnFailed = false): AccelCheck {
  return {
    usable: false,
    reason: reason.slice(0, 200),
    ...(spawnFailed || qemuCannotRun(stderr) ? { inconclusive: true } : {}),
  };
}

export interface VerifyOptions {
  arch: Arch;
  /** @default "host" under kvm/hvf, "max" under tcg */
  cpu?: string;
  /**
   * A Linux kernel to boot (no disk, no initrd): the accelerator passes when the kernel runs its whole
   * early boot and reaches the panic for its missing root file system. Without it only QEMU's own
   * start is checked. @default none
   */
  kernel?: string;
  /** Without a kernel: how long QEMU must keep running. @default 1500 */
  settleMs?: number;
  /** With a kernel: how long it may stay silent (no console output at all). @default 5000 */
  firstOutputMs?: number;
  /** With a kernel: how long it may take to reach its panic once it printed. @default 30000 */
  bootTimeoutMs?: number;
  /** Runs QEMU; a test injects a fake. @default runProcess */
  run?: RunProcess;
}

/** What a kernel prints once its early boot is done and it finds no root file system. */
const BOOTED = /Kernel panic - not syncing|VFS: Unable to mount root|Run \/init as init process/;

/**
 * Sans-I/O verdict on a kernel boot from its console text: `booted`, `failed` (with QEMU's reason) or
 * `pending`. `exited` says whether QEMU has ended. For a whole appliance (whose boot is quiet), see
 * `bootStage` (boot-stage.ts): a boot marker on its console says the guest is alive under the
 * accelerator, however long its boot takes.
 */
export function judgeKernelBoot(
  consoleText: string,
  stderr: string,
  exited: boolean,
): { state: 'booted' } | { state: 'failed'; reason: string } | { state: 'pending' } {
  if (BOOTED.test(consoleText)) return { state: 'booted' };
  const accel = accelFailureReason(`${stderr}\n${consoleText}`);
  if (accel) return { state: 'failed', reason: accel };
  if (exited)
    return {
      state: 'failed',
      reason: stderr.trim().split('\n')[0] || lastLine(consoleText) || 'QEMU exited before the kernel booted',
    };
  return { state: 'pending' };
}

const lastLine = (text: string) => text.trim().split('\n').at(-1)?.trim().slice(0, 160) ?? '';

/**
 * Checks that `accel` can run guests here. With `kernel`, it boots it: software-nested KVM on some
 * hosts starts QEMU and `-cpu host` without complaint and then runs nothing at all (no console
 * output, no error, forever), which only a real guest shows; on others the guest dies with "KVM
 * internal error ... emulation failure" on instructions a stock kernel uses (xrstor, cmpxchg16b),
 * which a kernel's early boot reaches too. Without a kernel, QEMU is started with the accelerator and
 * CPU model and watched for `settleMs` (catches "failed to set MSR 0x10a" and missing permissions).
 */
export function verifyAccelerator(probe: HostProbe, accel: Accel, options: VerifyOptions): Promise<AccelCheck> {
  const cpu = options.cpu ?? (accel === 'tcg' ? 'max' : 'host');
  const machine = options.arch === 'amd64' ? 'q35' : 'virt';
  const args = [
    '-accel',
    accel,
    '-cpu',
    cpu,
    '-machine',
    machine,
    '-nodefaults',
    '-display',
    'none',
    '-m',
    '256',
    '-monitor',
    'none',
    '-no-reboot',
  ];
  const run = options.run ?? runProcess;
  // QEMU is stopped (SIGKILL: nothing of it is kept) once the verdict is in; `exited` is its end.
  const stop = new AbortController();
  const start = (onStdout?: (text: string) => void, onStderr?: (text: string) => void) => {
    const exited: Promise<ProcessResult | Error> = run(probe.binary, args, {
      signal: stop.signal,
      killSignal: 'SIGKILL',
      stdout: onStdout ? 'pipe' : 'ignore',
      reject: false,
      onStdout,
      onStderr,
    }).catch((e: Error) => e);
    return exited;
  };
  if (!options.kernel) {
    if (options.arch === 'arm64' && probe.firmware) args.push('-bios', probe.firmware);
    args.push('-serial', 'none');
    return new Promise((resolve) => {
      let stderr = '';
      const timer = setTimeout(() => {
        stop.abort();
        resolve({ usable: true, reason: `${accel} with -cpu ${cpu} started and kept running` });
      }, options.settleMs ?? 1500);
      void start(undefined, (d) => (stderr += d)).then((end) => {
        clearTimeout(timer);
        if (stop.signal.aborted) return;
        if (end instanceof Error) return resolve(failed(`cannot run ${probe.binary}: ${cause(end)}`, stderr, true));
        const why =
          accelFailureReason(stderr) ?? (stderr.trim().split('\n')[0] || `exited with ${end.exitCode ?? end.signal}`);
        resolve(failed(why, stderr));
      });
    });
  }
  const console = options.arch === 'amd64' ? 'ttyS0' : 'ttyAMA0';
  args.push('-serial', 'stdio', '-kernel', options.kernel, '-append', `console=${console} panic=-1 mitigations=off`);
  const silentLimit = options.firstOutputMs ?? 5000;
  const limit = options.bootTimeoutMs ?? 30_000;
  const t0 = Date.now();
  return new Promise((resolve) => {
    let out = '';
    let stderr = '';
    let done = false;
    const finish = (check: AccelCheck) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop.abort();
      resolve(check);
    };
    const judge = (exited: boolean) => {
      const v = judgeKernelBoot(out, stderr, exited);
      if (v.state === 'booted')
        finish({ usable: true, reason: `${accel} booted a kernel in ${((Date.now() - t0) / 1000).toFixed(1)} s` });
      else if (v.state === 'failed') finish(failed(v.reason, stderr));
    };
    // A working accelerator prints the first kernel lines within a second (TCG here: 0.3 s); a silent
    // hang prints nothing, ever. Once it printed, a slow (loaded) host gets the longer limit.
    let timer = setTimeout(() => {
      if (out.trim() === '')
        return finish({
          usable: false,
          reason: `a kernel made no progress under ${accel} in ${silentLimit / 1000} s (no console output at all)`,
        });
      timer = setTimeout(
        () =>
          finish({
            usable: false,
            reason: `a kernel did not finish booting under ${accel} in ${limit / 1000} s (last console line: ${lastLine(out)})`,
          }),
        Math.max(0, limit - (Date.now() - t0)),
      );
    }, silentLimit);
    const exited = start(
      (d) => {
        // Only the tail matters: the verdict lines come last.
        out = (out + d).slice(-65536);
        judge(false);
      },
      (d) => {
        stderr += d;
        judge(false);
      },
    );
    void exited.then((end) =>
      end instanceof Error ? finish(failed(`cannot run ${probe.binary}: ${cause(end)}`, stderr, true)) : judge(true),
    );
  });
}

/** What node:child_process said when QEMU could not start ("spawn qemu-system-x86_64 ENOENT"). */
const cause = (e: Error) => (e.cause instanceof Error ? e.cause.message : e.message);
