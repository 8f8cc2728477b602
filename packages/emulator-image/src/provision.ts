import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { buildIso, entriesFromDirectory, type IsoEntry, writeIso } from '@stack/iso9660';
import {
  buildArgv,
  defaultCpuCount,
  ensureSocketDir,
  findArm64Firmware,
  loadVerdicts,
  probeHost,
  saveVerdict,
  socketDirFor,
  verdictKey,
  verifyAccelerator,
} from '@stack/qemu-argv';
import { loadAppliance } from './appliance.js';
import { type BaseImage, ensureBaseImage, rootfsKernel } from './base-image.js';
import { type BootFiles, bootFilesDir, extractBootFiles } from './boot-files.js';
import { aptInChroot } from './debian-rootfs.js';
import { UEFI_FIRMWARE } from './disk-image.js';
import { MarkerScanner } from './markers.js';
import { BuildError } from './errors.js';
import { run } from './run.js';
import { cacheDir } from './cache-dir.js';
import { type Accel, type Arch, runProcess } from '@stack/internal';

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

function firmware(arch: Arch): string {
  const f =
    arch === 'arm64'
      ? findArm64Firmware({ binary: 'qemu-system-aarch64' })
      : UEFI_FIRMWARE.amd64.find((p) => existsSync(p));
  if (!f)
    throw new BuildError(
      'IMAGE_BUILD_FAILED',
      `no UEFI firmware for ${arch}; install ${arch === 'amd64' ? 'ovmf' : 'qemu-efi-aarch64'} (looked in ${UEFI_FIRMWARE[arch].join(', ')})`,
    );
  return f;
}

/** The bundle trees of an appliance's layers on one disk: a later layer's file replaces an earlier one's. */
export function mergeEntries(layers: IsoEntry[][]): IsoEntry[] {
  const byPath = new Map<string, IsoEntry>();
  for (const layer of layers) {
    for (const e of layer) {
      const prior = byPath.get(e.path);
      if (prior && (prior.type === 'directory') !== (e.type === 'directory'))
        throw new BuildError(
          'IMAGE_INVALID_APPLIANCE',
          `bundle path ${e.path} is a ${prior.type} in one layer and a ${e.type} in another`,
        );
      byPath.set(e.path, prior?.type === 'directory' ? prior : e);
    }
  }
  return [...byPath.values()];
}

async function fetchDebs(base: BaseImage, packages: string[], dest: string, log: string): Promise<string[]> {
  if (packages.length === 0) return [];
  // Resolved and downloaded inside the base image's own tree, so dependencies match the guest's suite;
  // the archive dir persists there, so a rebuild reuses what it fetched.
  const archive = '/var/cache/stack-bundle-debs';
  mkdirSync(join(base.rootfs, archive, 'partial'), { recursive: true });
  await aptInChroot(base.rootfs, log, ['update']);
  await aptInChroot(base.rootfs, log, [
    'install',
    '--download-only',
    '-o',
    `Dir::Cache::archives=${archive}`,
    ...packages,
  ]);
  mkdirSync(dest, { recursive: true });
  const debs = readdirSync(join(base.rootfs, archive))
    .filter((f) => f.endsWith('.deb'))
    .sort();
  for (const d of debs) copyFileSync(join(base.rootfs, archive, d), join(dest, d));
  return debs;
}

function runtimeEnv(): string {
  // The build boots with the defaults; the emulator writes the real values at every start.
  return [
    'STACK_EMULATOR_PORT_PREFIX=81',
    'STACK_EMULATOR_DASHBOARD_HOST_PORT=26700',
    'STACK_EMULATOR_BACKEND_HOST_PORT=26701',
    'STACK_EMULATOR_MINIO_HOST_PORT=26702',
    'STACK_EMULATOR_INBUCKET_HOST_PORT=26703',
    'STACK_EMULATOR_MOCK_OAUTH_HOST_PORT=26704',
    'STACK_EMULATOR_VM_DIR_HOST=',
    '',
  ].join('\n');
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Follows a growing file, feeding new text to `onText` until `stop` is called. */
function follow(path: string, onText: (t: string) => void): () => void {
  let pos = 0;
  const buf = Buffer.alloc(1 << 16);
  const tick = () => {
    if (!existsSync(path)) return;
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        onText(buf.subarray(0, n).toString('utf8'));
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(tick, 200);
  return () => {
    clearInterval(timer);
    tick();
  };
}

/**
 * KVM/HVF when they can run a guest here, else TCG; with the reason. With `kernel` (the base image's),
 * the check boots it (see qemu-argv verifyAccelerator: some nested hosts hang silently under KVM). The
 * verdict is remembered in `verdicts` (keyed by host kernel, QEMU and device), so only the first build
 * on a host pays for the check.
 */
export async function chooseBuildAccelerator(
  arch: Arch,
  options: { kernel?: string; verdicts?: string } = {},
): Promise<{ accel: Accel; reason: string }> {
  const probe = await probeHost(arch);
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  for (const hw of ['kvm', 'hvf'] as const) {
    if (hostArch !== arch || !probe.accelerators.includes(hw) || (hw === 'kvm' && probe.kvmUnavailable)) continue;
    const key = await verdictKey(probe, hw);
    const known = options.verdicts
      ? (await loadVerdicts(options.verdicts)).find((v) => v.key === key && v.accel === hw)
      : undefined;
    if (known)
      return known.usable
        ? { accel: hw, reason: `${hw} verified on this host` }
        : { accel: 'tcg', reason: `${hw} cannot run a guest here: ${known.reason ?? 'unknown'}` };
    const check = await verifyAccelerator(probe, hw, { arch, kernel: options.kernel });
    if (options.verdicts && options.kernel)
      await saveVerdict(options.verdicts, {
        key,
        accel: hw,
        usable: check.usable,
        reason: check.reason,
        decidedAt: new Date().toISOString(),
      });
    if (check.usable) return { accel: hw, reason: check.reason };
    return { accel: 'tcg', reason: `${hw} cannot run a guest here: ${check.reason}` };
  }
  return { accel: 'tcg', reason: 'no usable hardware accelerator' };
}

/** The kernel of a base image's tree (what its disk boots). */
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
  // Kills QEMU (SIGKILL) if it still runs when the build gives up on it or ends.
  const stopQemu = new AbortController();
  let socketsToRemove: string | undefined;
  try {
    const base = await ensureBaseImage({ arch: options.arch, cacheRoot: options.cacheRoot, onPhase: phase });
    phase(base.cached ? 'base image: cached' : 'base image: built');
    const packages = appliance.packages;
    phase(`packages: ${packages.length ? packages.join(', ') : 'none'}`);
    const debs = await fetchDebs(base, packages, join(work, 'debs'), log);

    phase('seed, bundle and config disks');
    const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000 || Date.now());
    writeFileSync(
      join(work, 'seed.iso'),
      await buildIso(
        [
          { type: 'file', path: 'user-data', data: appliance.userData },
          { type: 'file', path: 'meta-data', data: appliance.metaData },
        ],
        { volumeId: 'cidata', date },
      ),
    );
    const bundleEntries = mergeEntries(await Promise.all(appliance.bundleDirs.map((d) => entriesFromDirectory(d))));
    for (const d of debs)
      bundleEntries.push({
        type: 'file',
        path: `debs/${d}`,
        data: { size: statSync(join(work, 'debs', d)).size, path: join(work, 'debs', d) },
      });
    await writeIso(bundleEntries, join(work, 'bundle.iso'), {
      volumeId: 'STACKBUNDLE',
      rockRidge: true,
      date,
      fsync: false,
    });
    writeFileSync(
      join(work, 'config.iso'),
      await buildIso(
        [
          { type: 'file', path: 'runtime.env', data: runtimeEnv() },
          { type: 'file', path: 'base.env', data: '' },
        ],
        { volumeId: 'STACKCFG', date },
      ),
    );
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
      firmware: firmware(options.arch),
      // Discards reach the qcow2: a guest's fstrim keeps freed space out of the compressed image.
      drives: {
        system: join(work, 'disk.qcow2'),
        seed: join(work, 'seed.iso'),
        bundle: join(work, 'bundle.iso'),
        config: join(work, 'config.iso'),
        systemDiscard: true,
      },
      qmpSocket: join(sockets, 'qmp.sock'),
      agentSocket: join(sockets, 'qga.sock'),
      serialLog: serial,
    });
    const scanner = new MarkerScanner(50);
    let stderr = '';
    // Settles when QEMU ends (the guest powered off, or it died), with how; it never rejects.
    const ended = runProcess(binary, argv, {
      signal: stopQemu.signal,
      killSignal: 'SIGKILL',
      stdout: 'ignore',
      reject: false,
      onStderr: (d) => (stderr += d),
    }).then(
      (r) => String(r.signal ?? r.exitCode),
      (e: Error) => e.message,
    );
    await new Promise<void>((resolvePromise, reject) => {
      const fail = (code: BuildError['code'], why: string) => {
        stop();
        clearTimeout(timer);
        stopQemu.abort();
        reject(
          new BuildError(
            code,
            `${why}\n--- last lines of the guest console ---\n${scanner.tail().join('\n')}${stderr ? `\n--- qemu ---\n${stderr.trim()}` : ''}`,
          ),
        );
      };
      const stop = follow(serial, (text) => {
        for (const ev of scanner.push(text)) {
          if (ev.type === 'line') options.onConsole?.(ev.text);
          else if (ev.type === 'failed')
            return fail(
              'IMAGE_PROVISION_FAILED',
              `provisioning failed in the guest: ${ev.detail || 'STACK_CLOUD_INIT_FAILED'}`,
            );
          else if (ev.type === 'done') {
            stop();
            clearTimeout(timer);
            return resolvePromise();
          }
        }
      });
      const limit = options.timeoutMs ?? 900_000;
      const timer = setTimeout(
        () =>
          fail(
            'IMAGE_PROVISION_TIMEOUT',
            `provisioning did not finish within ${Math.round(limit / 1000)} s (no STACK_CLOUD_INIT_DONE on the console)`,
          ),
        limit,
      );
      // After STACK_CLOUD_INIT_DONE this comes when the guest powered off: the promise is settled, a no-op.
      void ended.then((how) =>
        fail('IMAGE_PROVISION_FAILED', `QEMU exited (${how}) before the guest reported STACK_CLOUD_INIT_DONE`),
      );
    });
    phase('waiting for the guest to power off');
    const powerOffLimit = setTimeout(() => stopQemu.abort(), 120_000);
    await ended;
    clearTimeout(powerOffLimit);

    phase('boot files and the compressed image');
    // Taken from the disk itself, so a direct kernel boot starts exactly what the firmware would.
    const boot = await extractBootFiles(join(work, 'disk.qcow2'), bootFilesDir(output), { log, work });
    const tmpOut = `${output}.tmp-${process.pid}`;
    await run('qemu-img', ['convert', '-q', '-c', '-O', 'qcow2', join(work, 'disk.qcow2'), tmpOut], { log });
    const digest = await sha256(tmpOut);
    renameSync(tmpOut, output);
    writeFileSync(`${output}.sha256`, `${digest}  ${basename(output)}\n`);
    return { output, boot, sha256: digest, log: `${output}.log`, accel, baseCached: base.cached };
  } finally {
    stopQemu.abort();
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
