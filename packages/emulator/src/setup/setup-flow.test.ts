import { describe, expect, it } from 'vitest';
import { describePlan, runSetup, type SetupIo } from './setup-flow.js';
import { planSetup, type SetupFacts } from './setup-plan.js';

const present = { 'qemu-system': true, 'qemu-img': true, firmware: true, zstd: true, socat: true };
const base: SetupFacts = {
  platform: 'linux',
  arch: 'amd64',
  distro: { id: 'debian', idLike: [] },
  present: { ...present, 'qemu-system': false, zstd: false },
  managers: { brew: false, aptGet: true, sudo: true },
  isRoot: false,
  isTerminal: true,
};

/** A terminal that answers `answer`, runs commands with `codes` (0 by default) and records everything. */
function terminal(answer: boolean, codes: number[] = []) {
  const lines: string[] = [];
  const ran: string[][] = [];
  const asked: string[] = [];
  const io: SetupIo = {
    ask: async (q) => (asked.push(q), answer),
    run: async (argv) => (ran.push([...argv]), codes[ran.length - 1] ?? 0),
    print: (l) => lines.push(l),
  };
  return { io, lines, ran, asked };
}

describe('runSetup', () => {
  it('nothing missing: says so, asks nothing, ok', async () => {
    const t = terminal(true);
    const r = await runSetup(() => ({ ...base, present }), t.io, { install: true });
    expect(r.ok).toBe(true);
    expect(t.asked).toEqual([]);
    expect(t.lines).toEqual(['everything stack-emulator needs is installed']);
  });

  it('at a terminal with consent: prints, asks once, runs the commands through the runner, checks again', async () => {
    const t = terminal(true);
    let probes = 0;
    const r = await runSetup(() => (probes++ === 0 ? base : { ...base, present }), t.io, { install: true });
    expect(t.asked).toHaveLength(1);
    expect(t.ran).toEqual([
      ['sudo', 'apt-get', 'update'],
      ['sudo', 'apt-get', 'install', '-y', '--no-install-recommends', 'qemu-system-x86', 'zstd'],
    ]);
    expect(r).toMatchObject({ ok: true, ran: t.ran });
    expect(t.lines).toContain('  sudo apt-get install -y --no-install-recommends qemu-system-x86 zstd');
    expect(t.lines.at(-1)).toMatch(/^done/);
  });

  it('declined: runs nothing, not ok', async () => {
    const t = terminal(false);
    const r = await runSetup(() => base, t.io, { install: true });
    expect(r).toMatchObject({ ok: false, declined: true, ran: [] });
    expect(t.ran).toEqual([]);
  });

  it('no terminal: prints what is missing and the commands, asks and runs nothing, not ok', async () => {
    const t = terminal(true);
    const r = await runSetup(() => ({ ...base, isTerminal: false }), t.io, { install: true });
    expect(r.ok).toBe(false);
    expect(t.asked).toEqual([]);
    expect(t.ran).toEqual([]);
    expect(t.lines.join('\n')).toMatch(/qemu-system.*\(required\)[^]*sudo apt-get update[^]*not a terminal/);
  });

  it('install false (--json): only the report', async () => {
    const t = terminal(true);
    expect((await runSetup(() => base, t.io, { install: false })).ok).toBe(false);
    expect(t.asked).toEqual([]);
  });

  it('a command that fails stops the rest', async () => {
    const t = terminal(true, [100]);
    const r = await runSetup(() => base, t.io, { install: true });
    expect(r.ran).toEqual([['sudo', 'apt-get', 'update']]);
    expect(r.ok).toBe(false);
    expect(t.lines.at(-1)).toContain('failed (exit 100)');
  });

  it('still missing after the commands: not ok, names what', async () => {
    const t = terminal(true);
    const r = await runSetup(() => base, t.io, { install: true });
    expect(r.ok).toBe(false);
    expect(t.lines.at(-1)).toBe('still missing after the install: qemu-system, zstd');
  });

  it('blocked (no Homebrew): prints why, asks nothing', async () => {
    const t = terminal(true);
    const r = await runSetup(() => ({ ...base, platform: 'darwin', distro: undefined }), t.io, { install: true });
    expect(r.ok).toBe(false);
    expect(t.asked).toEqual([]);
    expect(describePlan(r.plan).join('\n')).toContain('Homebrew is not installed');
  });

  it('describePlan quotes what a shell would split', () => {
    expect(describePlan({ ...planSetup(base), commands: [['echo', 'a b']] })).toContain("  echo 'a b'");
  });
});
