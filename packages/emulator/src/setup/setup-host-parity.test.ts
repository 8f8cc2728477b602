import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planSetup, type SetupFacts } from './setup-plan.js';

/**
 * tools/setup-host cannot call this package (CI runs it before `npm ci`, and it also installs the
 * image build's and the tests' tools), so it keeps its own lists: they must hold every package
 * `stack-emulator setup` would install, or the two would drift.
 */
const script = readFileSync(new URL('../../../../tools/setup-host', import.meta.url), 'utf8');
const list = (name: string) => (new RegExp(`^\\s*${name}="([^"]*)"`, 'm').exec(script)?.[1] ?? '').split(/\s+/);

const everythingMissing = (over: Partial<SetupFacts>): SetupFacts => ({
  platform: 'linux',
  arch: 'amd64',
  distro: { id: 'debian', idLike: [] },
  present: { 'qemu-system': false, 'qemu-img': false, firmware: false, zstd: false, socat: false },
  managers: { brew: true, aptGet: true, sudo: true },
  isRoot: true,
  isTerminal: false,
  ...over,
});

describe('tools/setup-host installs what stack-emulator setup would', () => {
  it('apt-get: both architectures', () => {
    const apt = [...list('base_pkgs'), ...list('qemu_pkgs')];
    for (const arch of ['amd64', 'arm64'] as const)
      for (const p of planSetup(everythingMissing({ arch })).packages) expect(apt, p).toContain(p);
  });

  it('Homebrew', () => {
    const brew = list('brew_pkgs');
    for (const p of planSetup(everythingMissing({ platform: 'darwin', distro: undefined })).packages)
      expect(brew, p).toContain(p);
  });
});
