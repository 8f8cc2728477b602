import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Arch, sha256File } from '@stack/internal';
import { buildArgv, defaultCpuCount, ensureSocketDir, socketDirFor } from '@stack/qemu-argv';
import { loadAppliance } from './appliance.js';
import { ensureBaseImage, rootfsKernel } from './base-image.js';
import { type BootFiles, bootFilesDir, extractBootFiles } from './boot-files.js';
import { buildFirmware, chooseBuildAccelerator } from './build-accelerator.js';
import { writeBuildDisks } from './build-disks.js';
import { BuildError } from './errors.js';
import { runProvisioningBoot } from './provisioning-boot.js';
import { publishImage } from './publish-image.js';
import { run } from './run.js';
import { cacheDir } from './cache-dir.js';

export interface BuildApplianceOptions {
  applianceDir: string;
  /** The compressed qcow2 to write; `<output>.sha256` and `<output>.log` go beside it. */
  output: string;
  arch: Arch;
  /** Limit for provisioning (boot to STACK_CLOUD_INIT_DONE). @default 900000 (15 min) */
  timeoutMs?: number;
  cacheRoot?: string;
  /** Phase changes and guest console lines, for progress output. */
  onPhase?: (phase: string) => void;
  onConsole?: (line: string) => void;
}

export interface BuildResult {
  output: string;
  /** The kernel, initrd and command line of the image, beside it in `<output>.boot/`: for direct kernel boot. */
  boot: BootFiles;
  sha256: string;
  log: string;
  accel: string;
  baseCached: boolean;
}

/**
 * Builds an appliance image: base image (cached), seed and bundle disks, a provisioning boot in the
 * snapshot layout that cloud-init drives, then a compressed qcow2 with its sha256. The guest's
 * STACK_CLOUD_INIT_FAILED stops the build at once with the guest's message.
 */
export async function buildAppliance(options: BuildApplianceOptions): Promise<BuildResult> {
  const phase = options.onPhase ?? (() => {});
  const appliance = await loadAppliance(options.applianceDir).catch((e: Error) => {
    throw new BuildError('IMAGE_INVALID_APPLIANCE', e.message, { cause: e });
  });
  const output = resolve(options.output);
  mkdirSync(dirname(output), { recursive: true });
  const work = mkdtempSync(join(dirname(output), `.build-${basename(output)}-`));
  const log = join(work, 'build.log');
  writeFileSync(log, '');
  let socketsToRemove: string | undefined;
  try {
    const base = await ensureBaseImage({ arch: options.arch, cacheRoot: options.cacheRoot, onPhase: phase });
    phase(base.cached ? 'base image: cached' : 'base image: built');
    const disks = await writeBuildDisks(appliance, base, { work, log, onPhase: phase });
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base.qcow2, '-F', 'qcow2', join(work, 'disk.qcow2')], {
      log,
    });

    const { accel, reason } = await chooseBuildAccelerator(options.arch, {
      kernel: rootfsKernel(base.rootfs),
      verdicts: join(options.cacheRoot ?? cacheDir(), 'accel-verdicts.json'),
    });
    phase(`provisioning boot (${accel}: ${reason})`);
    const serial = join(work, 'serial.log');
    // The work directory sits beside the output, as deep as the cache: the sockets go elsewhere.
    const sockets = socketDirFor(work);
    ensureSocketDir(sockets);
    socketsToRemove = sockets;
    const { binary, argv } = buildArgv({
      arch: options.arch,
      accel,
      memoryMiB: 4096,
      cpus: defaultCpuCount(accel),
      layout: 'snapshot',
      firmware: buildFirmware(options.arch),
      // Discards reach the qcow2: a guest's fstrim keeps freed space out of the compressed image.
      drives: { system: join(work, 'disk.qcow2'), ...disks, systemDiscard: true },
      qmpSocket: join(sockets, 'qmp.sock'),
      agentSocket: join(sockets, 'qga.sock'),
      serialLog: serial,
    });
    await runProvisioningBoot({
      binary,
      argv,
      serial,
      timeoutMs: options.timeoutMs,
      onConsole: options.onConsole,
      onPhase: phase,
    });

    phase('boot files and the compressed image');
    // Taken from the disk itself, so a direct kernel boot starts exactly what the firmware would.
    const boot = await extractBootFiles(join(work, 'disk.qcow2'), bootFilesDir(output), { log, work });
    const tmpOut = `${output}.tmp-${process.pid}`;
    await run('qemu-img', ['convert', '-q', '-c', '-O', 'qcow2', join(work, 'disk.qcow2'), tmpOut], { log });
    const digest = await sha256File(tmpOut);
    await publishImage(tmpOut, output, digest);
    return { output, boot, sha256: digest, log: `${output}.log`, accel, baseCached: base.cached };
  } finally {
    // Keep the full logs beside the output, whatever happened.
    try {
      const consoleLog = existsSync(join(work, 'serial.log'))
        ? `\n--- guest console ---\n${readFileSync(join(work, 'serial.log'), 'utf8')}`
        : '';
      writeFileSync(`${output}.log`, readFileSync(log, 'utf8') + consoleLog);
    } catch {}
    rmSync(work, { recursive: true, force: true });
    if (socketsToRemove) rmSync(socketsToRemove, { recursive: true, force: true });
    rmSync(`${output}.tmp-${process.pid}`, { force: true });
  }
}
