import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QgaClient } from '@stack/qga-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startHostAgent, type TestAgent } from '../../../../tools/testing/qemu-ga.js';
import { hasTools } from '../../../../tools/testing/requires.js';
import {
  generateSecrets,
  RotationHookError,
  rotateSecrets,
  SECRET_NAMES,
  writeClientKeyFile,
} from '../../src/index.js';

const ok = hasTools('qemu-ga');
let agent: TestAgent | undefined;
afterEach(async () => {
  await agent?.dispose();
  agent = undefined;
});

/**
 * A stand-in for the guest's trigger-fast-rotate: validates the KEY=VALUE lines on stdin as the
 * contract says, keeps them in its "guest" directory, signals that it is running, and lingers so the
 * test can look around while a rotation is in progress.
 */
function writeHook(dir: string, lingerSeconds = 0): string {
  const hook = join(dir, 'trigger-fast-rotate');
  writeFileSync(
    hook,
    `#!/bin/sh
set -eu
umask 077
guest="${dir}/guest"; mkdir -p "$guest"
n=0
while IFS='=' read -r k v; do
  case "$k" in
    STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY|STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY|STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY|CRON_SECRET) ;;
    # The older generation's names of the same values: a hook of this generation ignores them.
    STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY|STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY) continue ;;
    *) echo "unknown key $k" >&2; exit 2 ;;
  esac
  echo "$v" | grep -Eq '^[0-9a-f]{64}$' || { echo "bad value for $k: $v" >&2; exit 3; }
  printf '%s=%s\\n' "$k" "$v" >> "$guest/applied.env.tmp"
  n=$((n+1))
done
[ "$n" -eq 4 ] || { echo "expected 4 keys, got $n" >&2; exit 4; }
mv "$guest/applied.env.tmp" "$guest/applied.env"
echo $$ > "${dir}/hook-running"
sleep ${lingerSeconds}
`,
  );
  chmodSync(hook, 0o755);
  return hook;
}

/** Every place on the host where a secret could leak: argv and environment of every process, files under `home`. */
function findLeaks(values: string[], home: string, allowed: string): string[] {
  const leaks: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    for (const f of ['cmdline', 'environ']) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/${f}`, 'latin1');
      } catch {
        continue; // the process ended meanwhile
      }
      for (const v of values)
        if (text.includes(v)) leaks.push(`/proc/${pid}/${f} (${readlinkSafe(`/proc/${pid}/exe`)})`);
    }
  }
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p !== allowed) {
        const text = readFileSync(p, 'latin1');
        for (const v of values) if (text.includes(v)) leaks.push(p);
      }
    }
  };
  walk(home);
  return leaks;
}
const readlinkSafe = (p: string) => {
  try {
    return readlinkSync(p);
  } catch {
    return '?';
  }
};

describe('the leak scanner itself', () => {
  it('finds a secret in a live process argv and in a file under home', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const secret = generateSecrets().CRON_SECRET;
    const home = mkdtempSync(join(tmpdir(), 'leak-'));
    writeFileSync(join(home, 'log.txt'), `oops ${secret}`);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)', secret]);
    await new Promise((r) => setTimeout(r, 100));
    try {
      const leaks = findLeaks([secret], home, '');
      expect(leaks).toContain(join(home, 'log.txt'));
      expect(leaks.some((l) => l.startsWith(`/proc/${child.pid}/cmdline`))).toBe(true);
    } finally {
      child.kill();
    }
  });
});

describe.skipIf(!ok)('rotateSecrets through a real qemu-ga', () => {
  it('delivers the four KEY=VALUE lines to the hook', async () => {
    agent = await startHostAgent();
    const hook = writeHook(agent.dir);
    await using qga = await QgaClient.connect(agent.socketPath);
    const secrets = await rotateSecrets(qga, { hook });
    const applied = readFileSync(join(agent.dir, 'guest', 'applied.env'), 'utf8');
    expect(applied).toBe(SECRET_NAMES.map((n) => `${n}=${secrets[n]}\n`).join(''));
  });

  it('surfaces the hook exit code and stderr, with secret values redacted', async () => {
    agent = await startHostAgent();
    const hook = join(agent.dir, 'failing-hook');
    writeFileSync(hook, '#!/bin/sh\nread -r line\necho "refusing $line" >&2\nexit 5\n');
    chmodSync(hook, 0o755);
    await using qga = await QgaClient.connect(agent.socketPath);
    const secrets = generateSecrets();
    const err = await rotateSecrets(qga, { hook, secrets }).catch((e) => e);
    expect(err).toBeInstanceOf(RotationHookError);
    expect(err).toMatchObject({ code: 'ROTATION_HOOK_FAILED', exitCode: 5 });
    expect(err.stderr).toBe('refusing STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY=<redacted>\n');
    for (const v of Object.values(secrets)) expect(`${err.message}${err.stderr}`).not.toContain(v);
  });

  it('leaves no secret in any process table entry or in the home directory, except the 0600 key file', async () => {
    agent = await startHostAgent();
    const hook = writeHook(agent.dir, 1);
    const home = join(agent.dir, 'home');
    const keyFile = join(home, 'run', 'vm', 'internal-pck');
    mkdirSync(join(home, 'run', 'vm'), { recursive: true });
    await using qga = await QgaClient.connect(agent.socketPath);
    const secrets = generateSecrets();
    const values = Object.values(secrets);
    // The hook lingers one second after applying: scan while it runs (its own argv and environment
    // included), and prove the scan happened while the hook process was still alive.
    const rotation = rotateSecrets(qga, { hook, secrets, timeout: 30_000 });
    const running = join(agent.dir, 'hook-running');
    let during: string[] | undefined;
    let hookAliveAfterScan = false;
    for (let i = 0; i < 500 && !during; i++) {
      let pid = '';
      try {
        pid = readFileSync(running, 'utf8').trim();
      } catch {}
      if (!pid) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      during = findLeaks(values, home, keyFile);
      hookAliveAfterScan = readdirSync('/proc').includes(pid);
    }
    await rotation;
    expect(hookAliveAfterScan).toBe(true);
    await writeClientKeyFile(keyFile, secrets.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
    expect(during).toEqual([]);
    expect(findLeaks(values, home, keyFile)).toEqual([]);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // The key alone, no newline: the original's guest wrote it so, and scripts read it whole.
    expect(readFileSync(keyFile, 'utf8')).toBe(secrets.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY);
  });
});
