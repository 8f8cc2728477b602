import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from '@stack/qmp-protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';
import { testPortBase } from '../../../../tools/testing/ports.js';
import { waitForPath } from '../../../../tools/testing/qemu.js';
import { ensureTestGuest } from '../../../../tools/testing/test-guest.js';
import {
  accelFailureReason,
  buildArgv,
  probeHost,
  qemuHasDevice,
  ramFileFailureReason,
  shareDevice,
  verifyAccelerator,
  type VmSpecInput,
} from '../../src/index.js';

const ok = hasTools('qemu-system-x86_64', 'qemu-img');
const work = mkdtempSync(join(tmpdir(), 'argv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface PciDevice {
  bus: number;
  slot: number;
  function: number;
  qdev_id: string;
  class_info: { desc?: string };
  id: { device: number };
  pci_bridge?: { devices: PciDevice[] };
}

function files(dir: string) {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'base.qcow2'), '1G']);
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-b',
    join(dir, 'base.qcow2'),
    '-F',
    'qcow2',
    join(dir, 'disk.qcow2'),
  ]);
  for (const f of ['seed.phantom', 'bundle.phantom', 'config.iso']) writeFileSync(join(dir, f), Buffer.alloc(1 << 20));
}

async function boot(spec: VmSpecInput): Promise<{ qmp: QmpClient; stop: () => Promise<void> }> {
  const { binary, argv } = buildArgv(spec);
  // A socket left by an earlier, killed QEMU would look ready before this one listens.
  rmSync(spec.qmpSocket, { force: true });
  const proc = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  // 'close', not 'exit': the exit can come before the last of stderr has been read.
  const exited = new Promise((r) => proc.once('close', r));
  const kill = async () => {
    proc.kill('SIGKILL');
    await exited;
  };
  try {
    await Promise.race([waitForPath(spec.qmpSocket), exited.then(() => Promise.reject(new Error(stderr)))]);
    const qmp = await QmpClient.connect(spec.qmpSocket);
    return {
      qmp,
      stop: async () => {
        await qmp.close();
        await kill();
      },
    };
  } catch (e) {
    await kill();
    // QEMU makes its monitor socket before the RAM, so a RAM it cannot open shows first as a monitor
    // that closed during the handshake: its own words are on stderr.
    throw stderr.trim() ? new Error(stderr.trim(), { cause: e }) : e;
  }
}

function spec(dir: string, layout: 'cold' | 'snapshot', over: Partial<VmSpecInput> = {}): VmSpecInput {
  return {
    arch: 'amd64',
    accel: 'tcg',
    memoryMiB: 4096,
    cpus: 4,
    layout,
    paused: true,
    shares: [dir],
    drives: {
      system: join(dir, 'disk.qcow2'),
      seed: join(dir, 'seed.phantom'),
      bundle: join(dir, 'bundle.phantom'),
      config: join(dir, 'config.iso'),
    },
    forwards: [{ name: 'backend', hostPort: testPortBase(1), guestPort: 8102 }],
    qmpSocket: join(dir, `${layout}.qmp`),
    agentSocket: join(dir, `${layout}.qga`),
    serialLog: join(dir, `${layout}.log`),
    ...over,
  };
}

async function devices(dir: string, layout: 'cold' | 'snapshot') {
  const vm = await boot(spec(dir, layout));
  try {
    const pci = (await vm.qmp.execute<Array<{ devices: PciDevice[] }>>('query-pci'))[0]!.devices;
    const block =
      await vm.qmp.execute<
        Array<{ device: string; qdev: string; inserted?: { ro: boolean; image: { format: string } } }>
      >('query-block');
    const ordered = [...pci]
      .sort((a, b) => a.slot - b.slot || a.function - b.function)
      .map((d) => d.qdev_id)
      .filter(Boolean);
    return {
      pci: ordered,
      block: block
        .filter((b) => b.inserted)
        .map((b) => ({ qdev: b.qdev, ro: b.inserted!.ro, format: b.inserted!.image.format })),
    };
  } finally {
    await vm.stop();
  }
}

describe.skipIf(!ok)('layouts as QEMU builds them (paused, inspected over QMP)', () => {
  const dir = mkdtempSync(join(work, 'vm-'));
  files(dir);

  const ports = ['share-port0', 'share-port1', 'share-port2', 'share-port3'];
  it('snapshot layout: the contract device order, the share slots last', async () => {
    const d = await devices(dir, 'snapshot');
    expect(d.pci).toEqual(['system-dev', 'seed-dev', 'bundle-dev', 'config-dev', 'net0-dev', 'serial0', ...ports]);
    expect(d.block).toEqual([
      { qdev: expect.stringContaining('system-dev'), ro: false, format: 'qcow2' },
      { qdev: expect.stringContaining('seed-dev'), ro: true, format: 'raw' },
      { qdev: expect.stringContaining('bundle-dev'), ro: true, format: 'raw' },
      { qdev: expect.stringContaining('config-dev'), ro: true, format: 'raw' },
    ]);
  });

  it('cold layout differs only where the contract says: no seed/bundle slots', async () => {
    const cold = await devices(dir, 'cold');
    const snap = await devices(dir, 'snapshot');
    expect(cold.pci).toEqual(['system-dev', 'config-dev', 'net0-dev', 'serial0', ...ports]);
    expect(cold.pci).toEqual(snap.pci.filter((x) => !['seed-dev', 'bundle-dev'].includes(x)));
  });

  it("an image build's system disk passes discards and zeros through (query-block)", async () => {
    const vm = await boot(
      spec(dir, 'snapshot', {
        drives: { ...spec(dir, 'snapshot').drives, systemDiscard: true },
        qmpSocket: join(dir, 'disc.qmp'),
        agentSocket: join(dir, 'disc.qga'),
      }),
    );
    try {
      const block = await vm.qmp.execute<Array<{ qdev: string; inserted?: { detect_zeroes: string } }>>('query-block');
      const zeros = Object.fromEntries(
        block
          .filter((b) => b.inserted)
          .map((b) => [b.qdev.replace(/.*\/(\w+-dev).*/, '$1'), b.inserted!.detect_zeroes]),
      );
      expect(zeros).toMatchObject({ 'system-dev': 'unmap', 'config-dev': 'off' });
    } finally {
      await vm.stop();
    }
  });

  it('accepts a migration target (-incoming defer) with the same device tree', async () => {
    const vm = await boot(
      spec(dir, 'snapshot', { incoming: true, qmpSocket: join(dir, 'inc.qmp'), agentSocket: join(dir, 'inc.qga') }),
    );
    try {
      expect((await vm.qmp.execute<{ status: string }>('query-status')).status).toBe('inmigrate');
    } finally {
      await vm.stop();
    }
  });

  it('RAM in a file: the backend QEMU reports takes the default RAM id, shared for a capture, private and read-only-opened for a resume', async () => {
    const ram = join(dir, 'ram.img');
    for (const memoryFile of [
      { path: ram, mode: 'shared' as const },
      { path: ram, mode: 'private' as const, readOnlyOpen: true },
    ]) {
      const vm = await boot(
        spec(dir, 'snapshot', { memoryFile, qmpSocket: join(dir, 'mem.qmp'), agentSocket: join(dir, 'mem.qga') }),
      );
      try {
        const memdevs = await vm.qmp.execute<Array<{ id: string; size: number; share: boolean }>>('query-memdev');
        expect(memdevs).toEqual([
          expect.objectContaining({ id: 'pc.ram', size: 4096 * 1024 * 1024, share: memoryFile.mode === 'shared' }),
        ]);
      } finally {
        await vm.stop();
      }
    }
  });

  it('a RAM file QEMU cannot open stops it at once, in words ramFileFailureReason knows (the capture then remembers the format)', async () => {
    const err = await boot(
      spec(dir, 'snapshot', {
        memoryFile: { path: join(dir, 'no-such-dir', 'ram.img'), mode: 'shared' },
        qmpSocket: join(dir, 'bad.qmp'),
        agentSocket: join(dir, 'bad.qga'),
      }),
    ).then(
      (vm) => vm.stop().then(() => undefined),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(ramFileFailureReason(err!.message), err!.message).toMatch(
      /can't open backing store .*no-such-dir.* for guest RAM/,
    );
    expect(ramFileFailureReason('qemu-system-x86_64: KVM internal error. Suberror: 1')).toBeUndefined();
  });

  it('hot-plugs a 9p share into each reserved root port', async () => {
    const vm = await boot(
      spec(dir, 'snapshot', { qmpSocket: join(dir, 'hp.qmp'), agentSocket: join(dir, 'hp.qga'), shares: [dir, work] }),
    );
    try {
      for (const i of [0, 1]) {
        await vm.qmp.execute('device_add', shareDevice(i));
        // A paused guest has not enumerated the port's secondary bus, so query-pci cannot list the
        // device under it yet; QOM shows which bus it was plugged into.
        const parent = await vm.qmp.execute<string>('qom-get', {
          path: `/machine/peripheral/share${i}-dev`,
          property: 'parent_bus',
        });
        expect(parent).toMatch(new RegExp(`share-port${i}`));
      }
    } finally {
      await vm.stop();
    }
  });

  it('a plugged share on the command line (a saved session) sits where the hot-plugged one did', async () => {
    const vm = await boot(
      spec(dir, 'snapshot', {
        qmpSocket: join(dir, 'pl.qmp'),
        agentSocket: join(dir, 'pl.qga'),
        shares: [dir, work],
        pluggedShares: 1,
      }),
    );
    try {
      expect(
        await vm.qmp.execute<string>('qom-get', { path: '/machine/peripheral/share0-dev', property: 'parent_bus' }),
      ).toMatch(/share-port0/);
      expect(
        await vm.qmp.execute<string>('qom-get', { path: '/machine/peripheral/share0-dev', property: 'mount_tag' }),
      ).toBe('stackshare0');
      // The next slot is still free for a hot-plug.
      await vm.qmp.execute('device_add', shareDevice(1));
    } finally {
      await vm.stop();
    }
  });

  it('a real KVM attempt either starts or fails in a way the fallback recognises', async () => {
    const probe = await probeHost('amd64');
    if (!probe.accelerators.includes('kvm') || probe.kvmUnavailable) {
      expect(probe.accelerators).toContain('tcg');
      return;
    }
    const s = spec(dir, 'cold', {
      accel: 'kvm',
      paused: false,
      qmpSocket: join(dir, 'kvm.qmp'),
      agentSocket: join(dir, 'kvm.qga'),
    });
    const { binary, argv } = buildArgv(s);
    const proc = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', r));
    const started = await Promise.race([waitForPath(s.qmpSocket).then(() => true), exited.then(() => false)]);
    if (started) {
      proc.kill('SIGKILL');
      await exited;
    } else {
      // On this kind of host (software-nested kvm_pvm) `-cpu host` fails with "failed to set MSR 0x10a".
      expect(accelFailureReason(stderr), stderr).toBeDefined();
    }
  });
});

describe.skipIf(!ok)('verifyAccelerator', () => {
  it('passes TCG', async () => {
    const probe = await probeHost('amd64');
    expect(await verifyAccelerator(probe, 'tcg', { arch: 'amd64' })).toMatchObject({ usable: true });
  });

  it('either passes KVM or gives the reason it cannot run a guest here', async () => {
    const probe = await probeHost('amd64');
    if (!probe.accelerators.includes('kvm') || probe.kvmUnavailable)
      return void console.log(`SKIPPED (no usable /dev/kvm: ${probe.kvmUnavailable ?? 'not listed'})`);
    const check = await verifyAccelerator(probe, 'kvm', { arch: 'amd64' });
    // On one kind of software-nested host this is "failed to set MSR 0x10a ...".
    if (!check.usable) expect(accelFailureReason(check.reason)).toBeDefined();
    console.log(`kvm on this host (QEMU start only): ${check.usable ? 'usable' : `unusable (${check.reason})`}`);
  });

  it('boots a real kernel to its root-fs panic under TCG', async () => {
    const probe = await probeHost('amd64');
    const check = await verifyAccelerator(probe, 'tcg', {
      arch: 'amd64',
      kernel: ensureTestGuest().kernel,
      bootTimeoutMs: 120_000,
    });
    expect(check).toMatchObject({ usable: true, reason: expect.stringMatching(/^tcg booted a kernel in [\d.]+ s$/) });
  });

  it('with a kernel, KVM either boots it or is unusable with a reason (a silent hang on some nested hosts)', async () => {
    const probe = await probeHost('amd64');
    if (!probe.accelerators.includes('kvm') || probe.kvmUnavailable)
      return void console.log(`SKIPPED (no usable /dev/kvm: ${probe.kvmUnavailable ?? 'not listed'})`);
    const check = await verifyAccelerator(probe, 'kvm', { arch: 'amd64', kernel: ensureTestGuest().kernel });
    expect(check.reason).toMatch(/^kvm booted a kernel in|made no progress under kvm|KVM|MSR|kvm/);
    console.log(`kvm on this host (kernel boot): ${check.usable ? 'usable' : `unusable (${check.reason})`}`);
  });
});

describe.skipIf(!ok)('qemuHasDevice', () => {
  it('finds virtio-9p-pci in this QEMU and not a made-up device', async () => {
    const probe = await probeHost('amd64');
    expect(await qemuHasDevice(probe.binary, 'virtio-9p-pci')).toBe(true);
    expect(await qemuHasDevice(probe.binary, 'virtio-no-such-device')).toBe(false);
  });
});

describe.skipIf(!hasTools('qemu-system-aarch64'))('arm64 under TCG', () => {
  it('the CPU model the argv picks (not max: V8 under TCG) exists in this QEMU and starts', () => {
    const { binary, argv } = buildArgv({
      arch: 'arm64',
      accel: 'tcg',
      memoryMiB: 256,
      cpus: 1,
      layout: 'cold',
      firmware: '/unused/AAVMF_CODE.fd',
      drives: { system: '/dev/null', config: '/dev/null' },
      qmpSocket: '/tmp/unused.qmp',
      agentSocket: '/tmp/unused.qga',
      serialLog: '/dev/null',
    });
    const cpu = argv[argv.indexOf('-cpu') + 1]!;
    expect(cpu).toBe('cortex-a76');
    expect(
      execFileSync(binary, ['-cpu', 'help'], { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.trim()),
    ).toContain(cpu);
    // A paused virt machine with that CPU: QEMU accepts the model for this machine.
    const out = execFileSync(
      binary,
      ['-machine', 'virt', '-accel', 'tcg', '-cpu', cpu, '-nodefaults', '-display', 'none', '-S', '-monitor', 'stdio'],
      { input: 'info status\nquit\n', encoding: 'utf8' },
    );
    expect(out).toContain('VM status: paused');
  });
});
