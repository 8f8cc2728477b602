import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pull } from '../api/home-ops.js';
import type { ProbeDeps } from './setup-probe.js';

/** A host whose PATH holds exactly `tools` (in /bin). */
const hostWith = (tools: string[]) => (): ProbeDeps => ({
  platform: 'linux',
  env: { PATH: '/bin' },
  isExecutable: (p) => tools.some((t) => p === `/bin/${t}`),
  osRelease: () => 'ID=debian\n',
  firmware: () => true,
  isRoot: false,
  isTerminal: false,
});

describe('pull checks the host tools before any download', () => {
  it('QEMU or qemu-img missing: stops naming `stack-emulator setup`, writes nothing, fetches nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pull-precheck-'));
    // An address that would fail if it were fetched: the error must come first.
    const options = { env: { STACK_EMULATOR_HOME: home }, arch: 'amd64' as const, url: 'https://127.0.0.1:9/x.qcow2' };
    for (const tools of [['qemu-img'], ['qemu-system-x86_64'], []]) {
      const e = await pull(options, hostWith(tools)).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'HOST_UNSUPPORTED', hint: expect.stringContaining('stack-emulator setup') });
      expect((e as Error).message).toContain('nothing was downloaded');
    }
    expect(((await pull(options, hostWith([])).catch((x: unknown) => x)) as Error).message).toMatch(
      /^QEMU \(qemu-system for amd64\) and qemu-img are not installed/,
    );
    expect(readdirSync(home)).toEqual([]);
  });

  it('both present (zstd and socat need not be): the pull goes on to its own checks', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pull-precheck-'));
    const e = await pull(
      { env: { STACK_EMULATOR_HOME: home }, arch: 'amd64', url: 'ftp://example.invalid/x' },
      hostWith(['qemu-system-x86_64', 'qemu-img']),
    ).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('--url ftp://') });
  });
});
