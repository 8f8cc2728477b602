import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOT_MARKERS, bootProgress } from '@stack/qemu-argv';
import { describe, expect, it } from 'vitest';
import { INIT_FUNCTIONS, initramfsFiles } from './initramfs.js';

const file = (path: string) => initramfsFiles().find((f) => f.path === path)!.text;

/**
 * Runs /init's functions with the host's POSIX sh (klibc's sh is dash's relative), with stand-ins for
 * e2fsck and mount on the PATH and for sleep and poweroff as functions. Returns what reached the
 * console, and the arguments e2fsck was called with (undefined: not called).
 */
function runInit(body: string, tools: { e2fsckExit?: number; mountError?: string } = {}) {
  const t = mkdtempSync(join(tmpdir(), 'stack-init-'));
  mkdirSync(join(t, 'bin'));
  const tool = (name: string, text: string) => {
    writeFileSync(join(t, 'bin', name), `#!/bin/sh\n${text}\n`);
    chmodSync(join(t, 'bin', name), 0o755);
  };
  tool('e2fsck', `echo "$*" > "${t}/e2fsck.args"\necho "stackroot: recovering journal"\nexit ${tools.e2fsckExit ?? 0}`);
  tool('mount', tools.mountError ? `echo "${tools.mountError}" >&2\nexit 255` : 'exit 0');
  const script = [
    `con=${t}/console`,
    `fsck_log=${t}/fsck.log`,
    `PATH=${t}/bin:$PATH`,
    ': > "$con"',
    INIT_FUNCTIONS,
    'sleep() { :; }',
    'poweroff() { echo "POWEROFF $*" >> "$con"; exit 0; }',
    'fsck_mode=auto',
    'fsck_repair=yes',
    body,
    'echo "CONTINUED" >> "$con"',
  ].join('\n');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const args = join(t, 'e2fsck.args');
  return {
    console: readFileSync(join(t, 'console'), 'utf8'),
    e2fsck: existsSync(args) ? readFileSync(args, 'utf8').trim() : undefined,
  };
}

describe('the initramfs /init', () => {
  it('is valid sh, prints the first boot marker of the guest contract, and checks the root before it mounts it', () => {
    const init = file('etc/initramfs-tools/stack-init');
    expect(spawnSync('sh', ['-n', '-c', init]).status).toBe(0);
    expect(init).toContain(`say "${BOOT_MARKERS.initramfs}"`);
    const order = ['say "STACK_BOOT_STAGE initramfs"', 'find_root "$root"', 'check_root "$dev"', 'mount_root "$dev"'];
    const at = order.map((s) => init.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('its hook puts e2fsck in the initramfs, and fails the build without it', () => {
    expect(file('etc/initramfs-tools/hooks/zz-stack-init')).toMatch(
      /copy_exec \/usr\/sbin\/e2fsck \/usr\/sbin \|\| \{.*exit 1; \}/,
    );
  });
});

describe('/init: the root file system check', () => {
  it('a clean file system: e2fsck -y (answers yes, never asks), and nothing on the console', () => {
    const r = runInit('check_root /dev/vda2 ext4');
    expect(r.e2fsck).toBe('-y /dev/vda2');
    expect(r.console).toBe('CONTINUED\n');
  });

  it('repairs after an unclean stop: e2fsck says what it did on the console, and the boot goes on', () => {
    const r = runInit('check_root /dev/vda2 ext4', { e2fsckExit: 1 });
    expect(r.console).toBe(
      'stackroot: recovering journal\nstack-initramfs: e2fsck -y /dev/vda2 repaired the root file system (exit 1)\nCONTINUED\n',
    );
  });

  it('errors left uncorrected: the reason on the console as a boot failure, then power off', () => {
    const r = runInit('check_root /dev/vda2 ext4', { e2fsckExit: 4 });
    expect(r.console).toContain(
      'STACK_BOOT_FAILED stack-initramfs: e2fsck -y /dev/vda2 exited 4: the root file system needs a manual repair; powering off\nPOWEROFF -f\n',
    );
    expect(r.console).not.toContain('CONTINUED');
    expect(bootProgress(r.console).failure).toMatch(/exited 4/);
  });

  it('follows fsck.mode= and fsck.repair= of the command line (systemd-fsck(8)), and checks only ext2/3/4', () => {
    const run = (cmdline: string, fstype = 'ext4') =>
      runInit(`parse_cmdline "${cmdline}"\ncheck_root /dev/vda2 ${fstype}`).e2fsck;
    expect(run('root=PARTUUID=x ro fsck.mode=auto fsck.repair=yes')).toBe('-y /dev/vda2');
    expect(run('root=PARTUUID=x fsck.mode=force fsck.repair=preen')).toBe('-p -f /dev/vda2');
    expect(run('root=PARTUUID=x fsck.repair=no')).toBe('-n /dev/vda2');
    expect(run('root=PARTUUID=x fsck.mode=skip')).toBeUndefined();
    expect(run('root=PARTUUID=x', 'xfs')).toBeUndefined();
  });
});

describe('/init: failures reach the console', () => {
  it('a root that cannot be mounted: the mount error on the console, then power off', () => {
    const r = runInit('mount_root /dev/vda2 ext4 ro', { mountError: 'mount: Invalid argument' });
    expect(r.console).toBe(
      'STACK_BOOT_FAILED stack-initramfs: cannot mount /dev/vda2 (ext4) on /root: mount: Invalid argument; powering off\nPOWEROFF -f\n',
    );
  });

  it('a root that never appears', () => {
    const r = runInit('find_root PARTUUID=no-such-partition 0');
    expect(r.console).toMatch(
      /^STACK_BOOT_FAILED stack-initramfs: root PARTUUID=no-such-partition not found after 0 s; powering off\n/,
    );
  });

  it('parses the command line', () => {
    const r = runInit(
      'parse_cmdline "root=PARTUUID=6e1e ro console=ttyS0,115200 quiet rootfstype=ext3 init=/lib/systemd/systemd"\nsay "$root $mode $fstype $init"',
    );
    expect(r.console).toBe('PARTUUID=6e1e ro ext3 /lib/systemd/systemd\nCONTINUED\n');
  });
});
