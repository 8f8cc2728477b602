import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunProcess } from '@stack/internal';
import { describe, expect, it } from 'vitest';
import { probeHost, qemuHasDevice } from './host-probe.js';
import { locateBinary, readProbeEntry } from './probe-cache.js';

const root = mkdtempSync(join(tmpdir(), 'probe-cache-'));

/** An executable file standing for QEMU in its own PATH directory (the runs themselves are injected). */
function fakeBinary(name = 'qemu-system-x86_64'): { dir: string; file: string } {
  const dir = mkdtempSync(join(root, 'bin-'));
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return { dir, file };
}

/** A "QEMU" answering the three probes, counting its runs; `object` fails when told to. */
function countingQemu(version = '10.0.2', options: { objectFails?: boolean } = {}) {
  const runs: string[] = [];
  const files = new Set<string>();
  const run: RunProcess = async (file, args) => {
    runs.push(args.join(' '));
    files.add(file);
    if (args[0] === '-object' && options.objectFails) throw new Error('killed');
    const stdout =
      args[0] === '--version'
        ? `QEMU emulator version ${version}\n`
        : args[0] === '-accel'
          ? 'Accelerators supported in QEMU binary:\ntcg\nkvm\n'
          : args[0] === '-device'
            ? 'Storage devices:\nname "virtio-9p-pci", bus PCI, alias "virtio-9p"\n'
            : 'List of user creatable objects:\n  memory-backend-file\n';
    return { command: file, exitCode: 0, signal: undefined, stdout, stderr: '' };
  };
  return { run, runs, files };
}

describe('probeHost with a cache (QEMU runs injected, the binary a real file)', () => {
  it('runs QEMU three times once per binary; the next probe reads the cache and answers the same', async () => {
    const { dir, file: bin } = fakeBinary();
    const file = join(root, 'a', 'qemu-probes.json');
    const first = countingQemu();
    const a = await probeHost('amd64', { run: first.run, cache: { file, path: dir } });
    expect(first.runs).toEqual(['--version', '-accel help', '-object help']);
    // The file the cache is keyed by is the one that ran, whatever the process's own PATH finds.
    expect([...first.files]).toEqual([bin]);
    expect(a.binary).toBe('qemu-system-x86_64');
    const second = countingQemu('9.9.9');
    const b = await probeHost('amd64', { run: second.run, cache: { file, path: dir } });
    expect(second.runs).toEqual([]);
    expect(b).toEqual(a);
    expect(b.version).toEqual({ major: 10, minor: 0, micro: 2 });
    expect(b.templateRam).toBe(true);
  });

  it('probes again when the binary is replaced (an upgrade: new inode and times)', async () => {
    const { dir, file: bin } = fakeBinary();
    const file = join(root, 'b', 'qemu-probes.json');
    await probeHost('amd64', { run: countingQemu('9.2.0').run, cache: { file, path: dir } });
    const next = join(dir, 'next');
    writeFileSync(next, '#!/bin/sh\n# upgraded\n');
    chmodSync(next, 0o755);
    renameSync(next, bin);
    const after = countingQemu('10.1.0');
    const probe = await probeHost('amd64', { run: after.run, cache: { file, path: dir } });
    expect(after.runs).toHaveLength(3);
    expect(probe.version).toEqual({ major: 10, minor: 1, micro: 0 });
    // Both binaries' answers are kept (the old one may come back on another PATH).
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(2);
  });

  it('keeps nothing when `-object help` failed: the next probe runs QEMU again', async () => {
    const { dir } = fakeBinary();
    const file = join(root, 'c', 'qemu-probes.json');
    const failing = countingQemu('10.0.2', { objectFails: true });
    expect((await probeHost('amd64', { run: failing.run, cache: { file, path: dir } })).templateRam).toBe(false);
    const again = countingQemu();
    expect((await probeHost('amd64', { run: again.run, cache: { file, path: dir } })).templateRam).toBe(true);
    expect(again.runs).toHaveLength(3);
  });

  it('a garbled cache file is no cache: QEMU is asked and the file is written afresh', async () => {
    const { dir } = fakeBinary();
    const file = join(root, 'd', 'qemu-probes.json');
    mkdirSync(join(root, 'd'));
    writeFileSync(file, '[{"identity": 3}');
    const q = countingQemu();
    await probeHost('amd64', { run: q.run, cache: { file, path: dir } });
    expect(q.runs).toHaveLength(3);
    const located = await locateBinary('qemu-system-x86_64', { path: dir });
    expect((await readProbeEntry(file, located!.identity))?.outputs).toMatchObject({
      version: 'QEMU emulator version 10.0.2\n',
    });
  });

  it('a binary not on the PATH is still ARGV_QEMU_NOT_FOUND (the runs say why), and nothing is cached', async () => {
    const file = join(root, 'e', 'qemu-probes.json');
    const run: RunProcess = async () => {
      throw new Error('spawn qemu-system-x86_64 ENOENT');
    };
    await expect(probeHost('amd64', { run, cache: { file, path: join(root, 'nowhere') } })).rejects.toMatchObject({
      code: 'ARGV_QEMU_NOT_FOUND',
    });
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
  });
});

describe('qemuHasDevice with the cache', () => {
  it('asks `-device help` once per probed binary, beside its probe', async () => {
    const { dir } = fakeBinary();
    const file = join(root, 'f', 'qemu-probes.json');
    const q = countingQemu();
    await probeHost('amd64', { run: q.run, cache: { file, path: dir } });
    expect(await qemuHasDevice('qemu-system-x86_64', 'virtio-9p-pci', { run: q.run, cache: { file, path: dir } })).toBe(
      true,
    );
    expect(await qemuHasDevice('qemu-system-x86_64', 'virtio-9p-pci', { run: q.run, cache: { file, path: dir } })).toBe(
      true,
    );
    expect(await qemuHasDevice('qemu-system-x86_64', 'vhost-user-fs', { run: q.run, cache: { file, path: dir } })).toBe(
      false,
    );
    expect(q.runs).toEqual(['--version', '-accel help', '-object help', '-device help']);
  });

  it('a binary the probe never cached is asked every time (nothing half-written), and a failed run is false', async () => {
    const { dir } = fakeBinary();
    const file = join(root, 'g', 'qemu-probes.json');
    const q = countingQemu();
    await qemuHasDevice('qemu-system-x86_64', 'virtio-9p-pci', { run: q.run, cache: { file, path: dir } });
    await qemuHasDevice('qemu-system-x86_64', 'virtio-9p-pci', { run: q.run, cache: { file, path: dir } });
    expect(q.runs).toEqual(['-device help', '-device help']);
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
    const failing: RunProcess = async () => {
      throw new Error('exited with 1');
    };
    expect(await qemuHasDevice('qemu-system-x86_64', 'virtio-9p-pci', { run: failing })).toBe(false);
  });
});

describe('locateBinary', () => {
  it('follows PATH and symlinks to the file (a Homebrew-style link names its target), undefined when absent', async () => {
    const { file } = fakeBinary('qemu-real');
    const linkDir = mkdtempSync(join(root, 'links-'));
    const link = join(linkDir, 'qemu-system-x86_64');
    symlinkSync(file, link);
    const found = await locateBinary('qemu-system-x86_64', { path: `${join(root, 'empty')}:${linkDir}` });
    expect(found?.file).toBe(link);
    expect(found?.identity.split('|')[0]).toBe(file);
    expect((await locateBinary(file))?.identity).toBe(found?.identity);
    expect(await locateBinary('qemu-system-x86_64', { path: join(root, 'empty') })).toBeUndefined();
  });

  it('skips a file on the PATH that is not executable, as a spawn does', async () => {
    const { dir: first } = fakeBinary();
    chmodSync(join(first, 'qemu-system-x86_64'), 0o644);
    const { dir: second, file } = fakeBinary();
    expect((await locateBinary('qemu-system-x86_64', { path: `${first}:${second}` }))?.file).toBe(file);
  });
});

describe('the cache file', () => {
  it('keeps the 8 binaries probed last', async () => {
    const file = join(root, 'h', 'qemu-probes.json');
    const bins = Array.from({ length: 9 }, () => fakeBinary());
    for (const b of bins) await probeHost('amd64', { run: countingQemu().run, cache: { file, path: b.dir } });
    const kept = (JSON.parse(readFileSync(file, 'utf8')) as Array<{ identity: string }>).map((e) => e.identity);
    expect(kept).toHaveLength(8);
    expect(kept.some((id) => id.startsWith(`${bins[0]!.file}|`))).toBe(false);
    expect(kept.at(-1)!.startsWith(`${bins[8]!.file}|`)).toBe(true);
  });

  it('a cache that cannot be written costs the next probe its runs, never the probe', async () => {
    const { dir } = fakeBinary();
    const blocker = join(root, 'i');
    writeFileSync(blocker, 'a file where the cache directory would be');
    const q = countingQemu();
    const probe = await probeHost('amd64', {
      run: q.run,
      cache: { file: join(blocker, 'qemu-probes.json'), path: dir },
    });
    expect(probe.version).toEqual({ major: 10, minor: 0, micro: 2 });
  });
});
