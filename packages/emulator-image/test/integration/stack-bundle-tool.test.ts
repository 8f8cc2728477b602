import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sampleStackCheckout } from '../../../../tools/testing/stack-checkout.js';
import { parseEnvFile, STACK_BASE_ENV_KEYS } from '../../src/index.js';

// tools/stack-bundle: the Stack appliance's bundle inputs from a checkout. Building the container
// needs Docker with buildx (the image workflow runs that path); here the saved-image path, which
// writes the same files, and every refusal.
const tool = new URL('../../../../tools/stack-bundle', import.meta.url).pathname;
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(tool, args, { encoding: 'utf8', env: { ...process.env, ...env } });

describe('tools/stack-bundle', () => {
  it('writes img.tgz (gzipping a plain saved image, keeping a gzipped one) and base.env', () => {
    const checkout = sampleStackCheckout();
    const out = mkdtempSync(join(tmpdir(), 'stack-bundle-'));
    try {
      const tar = join(out, 'saved.tar');
      writeFileSync(tar, 'a saved image');
      const r = run([checkout, '--saved-image', tar, '-o', join(out, 'bundle')]);
      expect(r.status, r.stderr).toBe(0);
      expect(gunzipSync(readFileSync(join(out, 'bundle', 'img.tgz'))).toString()).toBe('a saved image');
      expect([...parseEnvFile(readFileSync(join(out, 'bundle', 'base.env'), 'utf8')).keys()]).toEqual([
        ...STACK_BASE_ENV_KEYS,
      ]);
      const gz = join(out, 'saved.tar.gz');
      writeFileSync(gz, gzipSync('already gzipped'));
      expect(run([checkout, '--saved-image', gz, '-o', join(out, 'bundle')]).status).toBe(0);
      expect(readFileSync(join(out, 'bundle', 'img.tgz')).equals(readFileSync(gz))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses bad input with exit 2 and the fix, leaving an earlier bundle as it was', () => {
    const checkout = sampleStackCheckout();
    const out = mkdtempSync(join(tmpdir(), 'stack-bundle-'));
    try {
      writeFileSync(join(out, 'img.tgz'), 'earlier');
      const usage = run([checkout]);
      expect(usage.status).toBe(2);
      expect(usage.stderr).toContain('-o <dir> are required');
      const arch = run([checkout, '-o', out, '--arch', 'x86']);
      expect(arch.status).toBe(2);
      expect(arch.stderr).toContain('--arch x86 is not amd64 or arm64');
      const missing = run([checkout, '-o', out, '--saved-image', join(out, 'nope.tar')]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/--saved-image .*nope\.tar does not exist/);
      const notStack = run([out, '-o', out, '--saved-image', join(out, 'img.tgz')]);
      expect(notStack.status).toBe(2);
      expect(notStack.stderr).toMatch(
        /cannot read apps\/backend\/\.env\.development .*\n {2}fix: pass the root of a Stack Auth checkout/,
      );
      // No Dockerfile in the checkout: the build path says what it needs.
      const noDockerfile = run([checkout, '-o', out]);
      expect(noDockerfile.status).toBe(2);
      expect(noDockerfile.stderr).toContain('docker/local-emulator/Dockerfile does not exist');
      // A checkout with a Dockerfile, and no Docker on PATH (only node): exit 1 with the fix.
      mkdirSync(join(checkout, 'docker', 'local-emulator'), { recursive: true });
      writeFileSync(join(checkout, 'docker', 'local-emulator', 'Dockerfile'), 'FROM scratch\n');
      const bin = mkdtempSync(join(tmpdir(), 'only-node-'));
      symlinkSync(process.execPath, join(bin, 'node'));
      const noDocker = run([checkout, '-o', out], { PATH: bin });
      expect(noDocker.status).toBe(1);
      expect(noDocker.stderr).toMatch(
        /docker buildx is not available\n {2}fix: install Docker with the buildx plugin, or pass --saved-image/,
      );
      rmSync(bin, { recursive: true, force: true });
      expect(readFileSync(join(out, 'img.tgz'), 'utf8')).toBe('earlier');
      expect(existsSync(join(out, 'base.env'))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
