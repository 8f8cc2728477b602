import { describe, expect, it } from 'vitest';
import { missingForPull, parseOsRelease, planSetup, type SetupFacts } from './setup-plan.js';

const allPresent = { 'qemu-system': true, 'qemu-img': true, firmware: true, zstd: true, socat: true };
const none = { 'qemu-system': false, 'qemu-img': false, firmware: false, zstd: false, socat: false };
const facts = (over: Partial<SetupFacts>): SetupFacts => ({
  platform: 'linux',
  arch: 'amd64',
  distro: { id: 'debian', idLike: [] },
  present: allPresent,
  managers: { brew: false, aptGet: true, sudo: true },
  isRoot: true,
  isTerminal: true,
  ...over,
});

describe('planSetup', () => {
  it('nothing missing: no commands, nothing to ask', () => {
    expect(planSetup(facts({}))).toEqual({ missing: [], packages: [], commands: [], ask: false });
  });

  it('macOS with Homebrew: brew install qemu (QEMU, qemu-img and firmware are one package), zstd, socat', () => {
    const p = planSetup(
      facts({
        platform: 'darwin',
        arch: 'arm64',
        distro: undefined,
        present: none,
        managers: { brew: true, aptGet: false, sudo: true },
        isRoot: false,
      }),
    );
    expect(p.manager).toBe('brew');
    expect(p.commands).toEqual([['brew', 'install', 'qemu', 'zstd', 'socat']]);
    expect(p.ask).toBe(true);
    expect(p.missing.filter((m) => m.required).map((m) => m.tool)).toEqual(['qemu-system', 'qemu-img', 'firmware']);
  });

  it('macOS without Homebrew: no commands, says to install Homebrew and what it would run', () => {
    const p = planSetup(
      facts({
        platform: 'darwin',
        distro: undefined,
        present: { ...allPresent, zstd: false },
        managers: { brew: false, aptGet: false, sudo: true },
      }),
    );
    expect(p.commands).toEqual([]);
    expect(p.blocked).toMatch(/Homebrew is not installed.*brew\.sh.*brew install zstd/);
    expect(p.ask).toBe(false);
  });

  it('Debian as root, amd64 guest: apt-get update, then install qemu-system-x86, qemu-utils, ovmf, zstd, socat (no sudo)', () => {
    const p = planSetup(facts({ present: none }));
    expect(p.commands).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'qemu-system-x86', 'qemu-utils', 'ovmf', 'zstd', 'socat'],
    ]);
    // amd64 boots with SeaBIOS or its kernel: OVMF only for UEFI-only images.
    expect(p.missing.find((m) => m.tool === 'firmware')).toMatchObject({ required: false });
  });

  it('Ubuntu (by ID_LIKE too) as non-root, arm64 guest: sudo, qemu-system-arm and qemu-efi-aarch64', () => {
    const p = planSetup(
      facts({
        arch: 'arm64',
        distro: { id: 'pop', idLike: ['ubuntu', 'debian'] },
        isRoot: false,
        present: { ...allPresent, 'qemu-system': false, firmware: false },
      }),
    );
    expect(p.commands).toEqual([
      ['sudo', 'apt-get', 'update'],
      ['sudo', 'apt-get', 'install', '-y', '--no-install-recommends', 'qemu-system-arm', 'qemu-efi-aarch64'],
    ]);
    expect(p.missing.find((m) => m.tool === 'firmware')).toMatchObject({ required: true });
  });

  it('non-root without sudo: the root commands to run, nothing to ask', () => {
    const p = planSetup(
      facts({
        isRoot: false,
        managers: { brew: false, aptGet: true, sudo: false },
        present: { ...allPresent, 'qemu-img': false },
      }),
    );
    expect(p.commands).toEqual([]);
    expect(p.blocked).toContain('as root, run apt-get update && apt-get install -y --no-install-recommends qemu-utils');
  });

  it('no terminal: the commands, but nothing to ask', () => {
    const p = planSetup(facts({ isTerminal: false, present: { ...allPresent, socat: false } }));
    expect(p.commands).toHaveLength(2);
    expect(p.ask).toBe(false);
  });

  it('another distribution or platform: what to install, no commands', () => {
    const fedora = planSetup(
      facts({ distro: { id: 'fedora', idLike: [] }, present: { ...allPresent, 'qemu-system': false } }),
    );
    expect(fedora.commands).toEqual([]);
    expect(fedora.blocked).toMatch(/no install commands for fedora: install QEMU \(qemu-system for amd64\)/);
    expect(planSetup(facts({ platform: 'win32', distro: undefined, present: none })).blocked).toMatch(/for win32/);
  });

  it('pull needs QEMU and qemu-img only', () => {
    expect(missingForPull(planSetup(facts({ present: { ...allPresent, zstd: false, socat: false } })))).toEqual([]);
    expect(missingForPull(planSetup(facts({ present: none }))).map((m) => m.tool)).toEqual(['qemu-system', 'qemu-img']);
  });
});

describe('parseOsRelease', () => {
  it('reads ID and ID_LIKE, quoted or not', () => {
    expect(parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n')).toEqual({ id: 'ubuntu', idLike: ['debian'] });
    expect(parseOsRelease('ID="linuxmint"\nID_LIKE="ubuntu debian"')).toEqual({
      id: 'linuxmint',
      idLike: ['ubuntu', 'debian'],
    });
    expect(parseOsRelease('')).toEqual({ id: '', idLike: [] });
  });
});
