import { describe, expect, it } from 'vitest';
import { portBusyHint, recogniseHolder } from './port-busy-hint.js';

const ours =
  'qemu-system-x86_64 -machine q35 -drive file=/home/u/.stack/emulator/run/vm/runtime-config.iso -chardev socket,id=mon,path=/run/user/1000/stack-emulator/0123456789ab/monitor.sock,server=on';
const oursTmp =
  '/usr/bin/qemu-system-aarch64 -chardev socket,id=qga,path=/tmp/stack-emulator-501/abcdef012345/qga.sock';
const original =
  '/opt/homebrew/bin/qemu-system-aarch64 -machine virt -drive file=/Users/u/.stack/emulator/run/vm/disk.qcow2,format=qcow2 -chardev socket,id=monitor,path=/Users/u/.stack/emulator/run/vm/monitor.sock,server=on,wait=off';

describe('recogniseHolder', () => {
  it('another VM of ours: QEMU with its monitor in our private socket directory (even with a run/vm path too)', () => {
    expect(recogniseHolder(26701, ours)).toEqual({ kind: 'ours' });
    expect(recogniseHolder(26701, oursTmp)).toEqual({ kind: 'ours' });
  });

  it("the original's QEMU: its sockets in <run dir>/vm/, the run directory named", () => {
    expect(recogniseHolder(26700, original)).toEqual({ kind: 'original', runDir: '/Users/u/.stack/emulator/run' });
    expect(recogniseHolder(26701, original.replaceAll('/Users/u/.stack/emulator/run', '/ci/run'))).toEqual({
      kind: 'original',
      runDir: '/ci/run',
    });
  });

  it("the successor's dashboard: a node process on 26700 only", () => {
    expect(
      recogniseHolder(26700, '/usr/local/bin/node /usr/lib/node_modules/@stackframe/stack-cli/dist/index.js dev'),
    ).toEqual({
      kind: 'successor-dashboard',
    });
    expect(recogniseHolder(26700, 'node')).toEqual({ kind: 'successor-dashboard' });
    expect(recogniseHolder(26701, 'node server.js')).toEqual({ kind: 'other' });
  });

  it('anything else, or no command line, is other (a non-QEMU process naming a socket path is not a VM)', () => {
    expect(recogniseHolder(26700, 'python3 -m http.server 26700')).toEqual({ kind: 'other' });
    expect(recogniseHolder(26700, undefined)).toEqual({ kind: 'other' });
    expect(recogniseHolder(26700, `tail -f x ${original}`)).toEqual({ kind: 'other' });
  });
});

describe('portBusyHint', () => {
  const dash = [{ port: 26700, variable: 'STACK_EMULATOR_DASHBOARD_PORT' }];
  it('names the successor dashboard and the variable that moves our dashboard port', () => {
    const h = portBusyHint('node /x/stack-cli.js', dash);
    expect(h).toContain('local dashboard of the `stack` CLI');
    expect(h).toContain('STACK_EMULATOR_DASHBOARD_PORT=26710');
  });

  it("names the original's QEMU with its run directory and how to stop it", () => {
    const h = portBusyHint(original, [
      { port: 26700, variable: 'STACK_EMULATOR_DASHBOARD_PORT' },
      { port: 26701, variable: 'STACK_EMULATOR_BACKEND_PORT' },
    ]);
    expect(h).toContain('original `stack emulator`');
    expect(h).toContain('/Users/u/.stack/emulator/run');
    expect(h).toContain('STACK_EMULATOR_DASHBOARD_PORT=26710 STACK_EMULATOR_BACKEND_PORT=26711');
  });

  it('names another VM of ours and the named-instance way out', () => {
    const h = portBusyHint(ours, [{ port: 26701, variable: 'STACK_EMULATOR_BACKEND_PORT' }]);
    expect(h).toContain('another VM of stack-emulator');
    expect(h).toContain('--instance <name>');
    expect(h).toContain('STACK_EMULATOR_BACKEND_PORT=26711');
  });

  it('an unknown holder: stop it, or the variable', () => {
    expect(portBusyHint('nginx', [{ port: 26703, variable: 'STACK_EMULATOR_INBUCKET_PORT' }])).toBe(
      'stop that process, or move ours to free ports: STACK_EMULATOR_INBUCKET_PORT=26713 (any free ports will do)',
    );
    expect(portBusyHint(undefined, [])).toBe('');
  });
});
