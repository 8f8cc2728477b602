import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cpioNewc, type CpioEntry } from './cpio.js';

/**
 * A throwaway Linux guest for tests that need a real kernel (the host kernel here has no iso9660
 * driver): Debian's cloud kernel and busybox, unpacked from their .deb files into the user cache,
 * keyed by package version, and booted with -kernel/-initrd under TCG.
 */
export interface TestGuest {
  kernel: string;
  moduleRoot: string;
  busybox: string;
}

const cacheRoot = () => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stack-emulator', 'test-guest');

function candidate(pkg: string): string {
  const out = execFileSync('apt-cache', ['policy', pkg], { encoding: 'utf8' });
  const m = /Candidate: (\S+)/.exec(out);
  if (!m || m[1] === '(none)') throw new Error(`apt has no candidate for ${pkg}; run apt-get update`);
  return m[1]!;
}

/** Downloads (once) and unpacks the kernel and busybox packages. */
export function ensureTestGuest(): TestGuest {
  const meta = 'linux-image-cloud-amd64';
  const version = candidate(meta);
  const dir = join(cacheRoot(), `${version}-${candidate('busybox-static')}`.replace(/[^\w.+-]/g, '_'));
  if (!existsSync(join(dir, 'ready'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const deps = execFileSync('apt-cache', ['depends', meta], { encoding: 'utf8' });
    const image = /Depends: (linux-image-\S+)/.exec(deps)![1]!;
    execFileSync('apt-get', ['download', image, 'busybox-static'], { cwd: tmp, stdio: 'ignore' });
    for (const deb of readdirSync(tmp).filter((f) => f.endsWith('.deb'))) {
      execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')]);
      rmSync(join(tmp, deb));
    }
    execFileSync('touch', [join(tmp, 'ready')]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  const boot = join(dir, 'root', 'boot');
  const kernel = join(
    boot,
    readdirSync(boot).find((f) => f.startsWith('vmlinuz-'))!,
  );
  const modulesBase = join(dir, 'root', 'lib', 'modules');
  return {
    kernel,
    moduleRoot: join(modulesBase, readdirSync(modulesBase)[0]!),
    busybox: join(dir, 'root', 'bin', 'busybox'),
  };
}

function findModule(root: string, name: string): string {
  const want = `${name.replace(/-/g, '_')}.ko`;
  const stack = [join(root, 'kernel')];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) stack.push(join(d, e.name));
      else if (e.name.replace(/-/g, '_') === want) return join(d, e.name);
    }
  }
  throw new Error(`module ${name} not found under ${root}`);
}

/** Modules in load order, dependencies first (read from each module's `depends=` modinfo). */
function moduleClosure(root: string, names: string[]): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    const path = findModule(root, name);
    if (order.includes(path)) return;
    const info = readFileSync(path).toString('latin1');
    const deps = /depends=([^\0]*)/.exec(info)?.[1] ?? '';
    for (const d of deps.split(',').filter(Boolean)) visit(d);
    order.push(path);
  };
  names.forEach(visit);
  return order;
}

export interface GuestRun {
  output: string;
  exitCode: number;
}

/**
 * Boots the guest with `disks` as read-only virtio disks (/dev/vda, /dev/vdb, ...), runs `script` with
 * busybox sh and returns what it printed and its exit status. `qemuArgs` go on QEMU's command line
 * after the disks (a NIC, say: its driver then belongs in `modules`).
 */
export async function runInGuest(options: {
  disks: string[];
  script: string;
  modules: string[];
  timeoutMs?: number;
  qemuArgs?: string[];
}): Promise<GuestRun> {
  const g = ensureTestGuest();
  const mods = moduleClosure(g.moduleRoot, ['virtio_pci', 'virtio_blk', ...options.modules]);
  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev',
    ...mods.map((_, i) => `insmod /m/${i}.ko`),
    'for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/vda ] && break; sleep 0.2; done',
    'echo STACK_TEST_BEGIN',
    'sh /test.sh; rc=$?',
    'echo "STACK_TEST_END $rc"',
    'poweroff -f',
  ].join('\n');
  const entries: CpioEntry[] = [
    ...['bin', 'proc', 'sys', 'dev', 'm', 'mnt'].map((d) => ({ path: d, mode: 0o40755 })),
    { path: 'bin/busybox', mode: 0o100755, data: readFileSync(g.busybox) },
    { path: 'init', mode: 0o100755, data: Buffer.from(init) },
    { path: 'test.sh', mode: 0o100755, data: Buffer.from(options.script) },
    ...mods.map((m, i) => ({ path: `m/${i}.ko`, mode: 0o100644, data: readFileSync(m) })),
  ];
  const initrd = join(cacheRoot(), `initrd-${process.pid}-${Date.now()}.cpio`);
  mkdirSync(cacheRoot(), { recursive: true });
  writeFileSync(initrd, cpioNewc(entries));
  const args = [
    '-machine',
    'q35',
    '-accel',
    'tcg',
    '-m',
    '512',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    'stdio',
    '-kernel',
    g.kernel,
    '-initrd',
    initrd,
    '-append',
    // no_timer_check: the kernel's timer interrupt check panicked ("IO-APIC + timer doesn't work!")
    // a TCG guest starved on a loaded CI host (see emulator-image's kernel-cmdline.ts).
    'console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check',
  ];
  for (const d of options.disks) args.push('-drive', `file=${d},format=raw,if=virtio,readonly=on`);
  args.push(...(options.qemuArgs ?? []));
  try {
    return await new Promise<GuestRun>((resolve, reject) => {
      const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      // Decode once at the end: a chunk boundary can split a multi-byte UTF-8 character.
      const chunks: Buffer[] = [];
      let err = '';
      qemu.stdout.on('data', (d: Buffer) => chunks.push(d));
      qemu.stderr.on('data', (d) => (err += d));
      // Only a guard against a hung guest: a slow, busy machine must not fail the test.
      const timer = setTimeout(() => qemu.kill('SIGKILL'), options.timeoutMs ?? 900_000);
      qemu.on('exit', () => {
        clearTimeout(timer);
        const clean = Buffer.concat(chunks).toString('utf8').replace(/\r/g, '');
        const m = /STACK_TEST_BEGIN\n([\s\S]*?)STACK_TEST_END (\d+)/.exec(clean);
        if (!m)
          return reject(new Error(`guest did not finish its script.\nserial:\n${clean.slice(-3000)}\nqemu: ${err}`));
        resolve({ output: m[1]!, exitCode: Number(m[2]) });
      });
    });
  } finally {
    rmSync(initrd, { force: true });
  }
}
