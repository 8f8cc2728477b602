import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmulatorError } from '../errors.js';
import { detectHost } from './host-info.js';
import { resolveConfig, vcpuCount } from './resolve-config.js';

const home = { STACK_EMULATOR_HOME: '/tmp/emu-test-home' };

describe('resolveConfig', () => {
  it('applies defaults, the original port numbers and the home layout', () => {
    const c = resolveConfig({ arch: 'amd64' }, home);
    expect(c.ports).toEqual({ dashboard: 26700, backend: 26701, minio: 26702, inbucket: 26703, mockOauth: 26704 });
    expect(c.portPrefix).toBe('81');
    expect(c.paths.internalPck).toBe('/tmp/emu-test-home/run/vm/internal-pck');
    expect(c.snapshot && c.rotation && !c.forceCapture).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lets flags turn off what the environment leaves on, and the environment turn off what flags leave on', () => {
    expect(resolveConfig({ arch: 'amd64', snapshot: false }, home).snapshot).toBe(false);
    expect(resolveConfig({ arch: 'amd64' }, { ...home, EMULATOR_NO_ROTATION: '1' }).rotation).toBe(false);
    expect(resolveConfig({ arch: 'amd64' }, { ...home, NEXT_PUBLIC_STACK_PORT_PREFIX: '91' }).portPrefix).toBe('91');
    expect(resolveConfig({}, { ...home, EMULATOR_ARCH: 'arm64' }).arch).toBe('arm64');
  });

  it('names the variable and exits 2 for a bad value', () => {
    const err = (() => {
      try {
        resolveConfig({ arch: 'amd64' }, { ...home, EMULATOR_MINIO_PORT: '70000' });
      } catch (e) {
        return e as EmulatorError;
      }
    })();
    expect(err).toBeInstanceOf(EmulatorError);
    expect(err!.code).toBe('CONFIG_INVALID');
    expect(err!.message).toContain('EMULATOR_MINIO_PORT="70000"');
  });

  it('refuses two services on one host port', () => {
    expect(() => resolveConfig({ arch: 'amd64' }, { ...home, EMULATOR_MINIO_PORT: '26700' })).toThrow(/both 26700/);
  });

  it('checks --arch, --image and --config-file', () => {
    expect(() => resolveConfig({ arch: 'riscv' }, home)).toThrow(/--arch riscv/);
    expect(() => resolveConfig({ arch: 'amd64', image: '/nonexistent.qcow2' }, home)).toThrow(/no such file/);
    expect(() => resolveConfig({ arch: 'amd64', configFile: '/nonexistent/stack.config.ts' }, home)).toThrow(
      /config file not found/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'stack.config.ts'), '');
    expect(resolveConfig({ arch: 'amd64', configFile: join(dir, 'stack.config.ts') }, home).configFile).toBe(
      join(dir, 'stack.config.ts'),
    );
  });
});

describe('vcpuCount', () => {
  it('keeps 4 vCPUs with a hardware accelerator, no more than the host cores under TCG, and an explicit value always', () => {
    expect(vcpuCount(undefined, 'kvm', 2)).toBe(4);
    expect(vcpuCount(undefined, 'tcg', 2)).toBe(2);
    expect(vcpuCount(undefined, 'tcg', 16)).toBe(4);
    expect(vcpuCount(6, 'tcg', 2)).toBe(6);
  });

  describe('host and guest limits', () => {
    const small = detectHost({ platform: 'linux', arch: 'x64', cores: 2, memoryMiB: 8192 });
    const refused = (env: Record<string, string>) => {
      try {
        resolveConfig({ arch: 'amd64' }, { ...home, ...env }, small);
      } catch (e) {
        return e as EmulatorError;
      }
      return undefined;
    };

    it("refuses more RAM or CPUs than the host has, not the default's 4096 MiB on a smaller host", () => {
      expect(refused({ EMULATOR_RAM: '16384' })).toMatchObject({
        code: 'CONFIG_INVALID',
        message: "EMULATOR_RAM=16384 (MiB) is more than this host's memory (8192 MiB)",
      });
      expect(refused({ EMULATOR_CPUS: '4' })).toMatchObject({
        code: 'CONFIG_INVALID',
        message: "EMULATOR_CPUS=4 is more than this host's 2 CPUs",
      });
      expect(
        resolveConfig(
          { arch: 'amd64' },
          home,
          detectHost({ platform: 'linux', arch: 'x64', cores: 1, memoryMiB: 2048 }),
        ).memoryMiB,
      ).toBe(4096);
    });

    it("takes the original's snapshot-VM variables as the VM's, and refuses them when they disagree", () => {
      expect(
        resolveConfig(
          { arch: 'amd64' },
          { ...home, EMULATOR_SNAPSHOT_RAM: '2048', EMULATOR_SNAPSHOT_CPUS: '1' },
          small,
        ),
      ).toMatchObject({ memoryMiB: 2048, cpus: 1 });
      expect(refused({ EMULATOR_RAM: '2048', EMULATOR_SNAPSHOT_RAM: '4096' })?.message).toBe(
        'EMULATOR_RAM=2048 and EMULATOR_SNAPSHOT_RAM=4096 disagree; here the snapshot VM is the VM',
      );
    });

    it("refuses a mock OAuth port that is one of the guest's own ports (it is forwarded to the same port inside)", () => {
      expect(refused({ EMULATOR_MOCK_OAUTH_PORT: '8102' })?.message).toBe(
        "EMULATOR_MOCK_OAUTH_PORT=8102 is the guest's backend port (mock OAuth listens on the same port inside the guest)",
      );
      expect(refused({ EMULATOR_MOCK_OAUTH_PORT: '9090' })?.message).toContain("guest's minio port");
      expect(refused({ EMULATOR_MOCK_OAUTH_PORT: '9102', PORT_PREFIX: '91' })?.message).toContain(
        "guest's backend port",
      );
      expect(refused({ EMULATOR_MOCK_OAUTH_PORT: '8102', PORT_PREFIX: '91' })).toBeUndefined();
    });
  });
});

describe('resolveConfig: wide shares (issue 32)', () => {
  const root = mkdtempSync(join(tmpdir(), 'cfg-shares-'));
  const [a, b, c] = ['a', 'b', 'c'].map((n) => join(root, n));
  for (const d of [a!, b!, c!]) mkdirSync(d);
  const env = { STACK_EMULATOR_HOME: join(root, 'emu'), HOME: join(root, 'me') };
  mkdirSync(env.HOME);

  it("none unless asked: only the config file's project is shared", () => {
    expect(resolveConfig({ arch: 'amd64' }, env)).toMatchObject({ extraShares: [], shareWarnings: [] });
  });

  it('EMULATOR_SHARES (from the given environment, split like PATH) and --share add up; --share-readonly is read-only', () => {
    const cfg = resolveConfig(
      { arch: 'amd64', shares: [b!], readonlyShares: [c!] },
      { ...env, EMULATOR_SHARES: `${a}:${b}` },
    );
    expect(cfg.extraShares).toEqual([
      { dir: a, readonly: false },
      { dir: b, readonly: false },
      { dir: c, readonly: true },
    ]);
  });

  it('the variable is read only from the environment given, never from process.env', () => {
    process.env.EMULATOR_SHARES = a;
    try {
      expect(resolveConfig({ arch: 'amd64' }, env).extraShares).toEqual([]);
    } finally {
      delete process.env.EMULATOR_SHARES;
    }
  });

  it('refuses the home unless confirmed, and then warns', () => {
    expect(() => resolveConfig({ arch: 'amd64' }, { ...env, EMULATOR_SHARES: env.HOME })).toThrow(
      expect.objectContaining({ code: 'SHARE_TOO_WIDE' }),
    );
    const ok = resolveConfig({ arch: 'amd64', confirmWideShare: true }, { ...env, EMULATOR_SHARES: env.HOME });
    expect(ok.shareWarnings).toEqual([expect.stringContaining('your whole home directory')]);
  });

  it('a missing directory in EMULATOR_SHARES is named', () => {
    expect(() => resolveConfig({ arch: 'amd64' }, { ...env, EMULATOR_SHARES: join(root, 'nope') })).toThrow(
      expect.objectContaining({
        code: 'SHARE_INVALID',
        message: `EMULATOR_SHARES entry ${join(root, 'nope')}: no such directory (${join(root, 'nope')})`,
        hint: 'create it, or fix the path given to EMULATOR_SHARES',
      }),
    );
  });
});
