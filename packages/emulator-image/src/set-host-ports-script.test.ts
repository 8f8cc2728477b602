import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// images/contract's stack-set-host-ports, which every retarget-host-ports hook runs: bash builtins and
// one mv, so the host's bash runs it as the guest's does, on a runtime.env in a temp directory.
const script = new URL('../../../images/contract/bundle/bin/stack-set-host-ports', import.meta.url).pathname;

const BOOT =
  'STACK_EMULATOR_PORT_PREFIX=81\nSTACK_EMULATOR_DASHBOARD_HOST_PORT=26700\nSTACK_EMULATOR_BACKEND_HOST_PORT=26701\n' +
  'STACK_EMULATOR_MINIO_HOST_PORT=26702\nSTACK_EMULATOR_INBUCKET_HOST_PORT=26703\n' +
  'STACK_EMULATOR_MOCK_OAUTH_HOST_PORT=26704\nSTACK_EMULATOR_VM_DIR_HOST=\n';
const PORTS =
  'STACK_EMULATOR_DASHBOARD_HOST_PORT=27000\nSTACK_EMULATOR_BACKEND_HOST_PORT=27001\nSTACK_EMULATOR_MINIO_HOST_PORT=27002\n' +
  'STACK_EMULATOR_INBUCKET_HOST_PORT=27003\nSTACK_EMULATOR_MOCK_OAUTH_HOST_PORT=27004\n';

function run(input: string) {
  const dir = mkdtempSync(join(tmpdir(), 'set-host-ports-'));
  writeFileSync(join(dir, 'runtime.env'), BOOT);
  const r = spawnSync('bash', [script], { input, env: { ...process.env, STACK_RUNTIME_DIR: dir }, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, runtime: readFileSync(join(dir, 'runtime.env'), 'utf8') };
}

describe('stack-set-host-ports (the guest side of port retargeting)', () => {
  it('replaces the five host ports in runtime.env and keeps every other line', () => {
    const r = run(`${PORTS}STACK_EMULATOR_SOMETHING_NEW=x\n`);
    expect(r.status).toBe(0);
    expect(r.runtime).toBe(`STACK_EMULATOR_PORT_PREFIX=81\nSTACK_EMULATOR_VM_DIR_HOST=\n${PORTS}`);
  });

  it('refuses a value that is not a port, or a missing port, and leaves runtime.env as it was', () => {
    const bad = run(PORTS.replace('27001', '70000'));
    expect(bad).toMatchObject({ status: 3, runtime: BOOT });
    expect(bad.stderr).toContain('STACK_EMULATOR_BACKEND_HOST_PORT=70000 is not a port');
    const missing = run(PORTS.replace(/STACK_EMULATOR_MINIO_HOST_PORT=\d+\n/, ''));
    expect(missing).toMatchObject({ status: 4, runtime: BOOT });
    expect(missing.stderr).toContain('STACK_EMULATOR_MINIO_HOST_PORT missing');
  });
});
