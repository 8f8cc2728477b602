import { readBootFiles } from '@stack/emulator-image';
import type { Accel, HostProbe } from '@stack/qemu-argv';
import { resolveConfig, type StartFlags } from '../src/config/resolve-config.js';
import { detectHost } from '../src/config/host-info.js';
import type { BootEnv } from '../src/boot/boot-env.js';
import type { PortVerdict } from '../src/image/port-retargeting.js';
import type { Op } from '../src/context/op.js';
import type { Reporter } from '../src/report/reporter.js';
import { Trace } from '../src/trace/trace.js';
import type { FakeWorld } from './fake-world.js';

/** A reporter that keeps what it was told. */
export function recordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: (t) => (
      lines.push(`step ${t}`),
      { update() {}, succeed: (d) => void lines.push(`ok ${d ?? t}`), fail: () => void lines.push(`failed ${t}`) }
    ),
    info: (t) => void lines.push(`info ${t}`),
    warn: (t) => void lines.push(`warn ${t}`),
  };
}

/** A test's host probe: QEMU 10.0.2 for x86_64 with KVM and TCG, file-backed RAM; `over` changes any part. */
export function testProbe(over: Partial<HostProbe> = {}): HostProbe {
  return {
    binary: 'qemu-system-x86_64',
    version: { major: 10, minor: 0, micro: 2 },
    mappedRam: true,
    templateRam: true,
    accelerators: ['kvm', 'tcg'],
    kvmUnavailable: undefined,
    firmware: undefined,
    ...over,
  };
}

/** The operation of a test: its home in the fake world, the fakes as seams. */
export function testOp(
  world: FakeWorld,
  options: { flags?: StartFlags; env?: Record<string, string>; signal?: AbortSignal } = {},
): Op & { reporter: ReturnType<typeof recordingReporter> } {
  const config = resolveConfig(
    { arch: 'amd64', ...options.flags },
    {
      STACK_EMULATOR_HOME: `${world.home}/home`,
      XDG_RUNTIME_DIR: `${world.home}/run`,
      HOME: world.home,
      ...options.env,
    },
    detectHost({ platform: 'linux', arch: 'x64', cores: 2, memoryMiB: 8192 }),
  );
  return { config, reporter: recordingReporter(), trace: new Trace(), signal: options.signal, seams: world.seams };
}

/** What prepareBoot would resolve, for an image of the fake world, without probing the host. */
export function testEnv(
  op: Op,
  image: string,
  accel: Accel = 'tcg',
  format: 'template-ram' | 'mapped-ram' | 'stream' = 'mapped-ram',
  portVerdict: PortVerdict = undefined,
): BootEnv {
  const boot = readBootFiles(image);
  return {
    op,
    host: {
      probe: testProbe({ templateRam: format === 'template-ram' }),
      accel,
      reason: 'test',
    },
    accel,
    cpus: 2,
    image: { kind: 'path', path: image, digest: 'a'.repeat(64), boot, bootMode: undefined },
    boot: { kernel: boot },
    baseEnv: { text: '', digest: undefined, from: 'none' },
    snapshots: { format },
    portVerdict,
    shares: [],
    readonlyShares: [],
    t0: op.seams.clock.now(),
    timings: {},
  };
}
