import { diffKeys, keyId } from '@stack/snapshot-cache';
import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/fake-world.js';
import { testEnv, testOp } from '../../test/boot-env.js';
import { compatibilityKey } from '../vm/vm-spec.js';
import {
  keyPorts,
  knownPortVerdict,
  NEUTRAL_PORTS,
  portsOfConfigDisk,
  portsOfRecord,
  portsReason,
  rememberPortVerdict,
  retargetFor,
  retargetInput,
} from './port-retargeting.js';

const OTHER = { dashboard: 27000, backend: 27001, minio: 27002, inbucket: 27003, mockOauth: 27004 };
const portEnv = (p: typeof OTHER) => ({
  EMULATOR_DASHBOARD_PORT: String(p.dashboard),
  EMULATOR_BACKEND_PORT: String(p.backend),
  EMULATOR_MINIO_PORT: String(p.minio),
  EMULATOR_INBUCKET_PORT: String(p.inbucket),
  EMULATOR_MOCK_OAUTH_PORT: String(p.mockOauth),
});

describe('keyPorts: which host ports a snapshot key holds', () => {
  it.each([
    [true, NEUTRAL_PORTS],
    [false, OTHER],
    [undefined, OTHER],
  ] as const)('verdict %s: %o', (verdict, want) => {
    expect(keyPorts(OTHER, verdict)).toEqual(want);
  });
});

describe('compatibilityKey with and without the ports', () => {
  const w = new FakeWorld();
  const image = w.image();
  const env = (ports: typeof OTHER | undefined, verdict: boolean | undefined) =>
    testEnv(testOp(w, { env: ports ? portEnv(ports) : {} }), image, 'tcg', 'mapped-ram', verdict);
  const more = { dashboard: 28000, backend: 28001, minio: 28002, inbucket: 28003, mockOauth: 28004 };

  it('an image that retargets: instances on any ports have one key, with the neutral ports', () => {
    const a = compatibilityKey(env(OTHER, true), 'mapped-ram');
    const b = compatibilityKey(env(more, true), 'mapped-ram');
    const d = compatibilityKey(env(undefined, true), 'mapped-ram');
    expect(keyId(a)).toBe(keyId(b));
    expect(keyId(a)).toBe(keyId(d));
    expect(a.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).toBe('26701');
  });

  it('an image that does not: the ports are in the key, and only they differ', () => {
    const a = compatibilityKey(env(OTHER, false), 'mapped-ram');
    const b = compatibilityKey(env(more, false), 'mapped-ram');
    expect(a.configDisk.STACK_EMULATOR_BACKEND_HOST_PORT).toBe('27001');
    expect(diffKeys(a, b).map((d) => d.component)).toEqual([
      'configDisk.STACK_EMULATOR_BACKEND_HOST_PORT',
      'configDisk.STACK_EMULATOR_DASHBOARD_HOST_PORT',
      'configDisk.STACK_EMULATOR_INBUCKET_HOST_PORT',
      'configDisk.STACK_EMULATOR_MINIO_HOST_PORT',
      'configDisk.STACK_EMULATOR_MOCK_OAUTH_HOST_PORT',
    ]);
  });

  it('an image never captured: its ports are in the key (its capture decides which key it is stored under)', () => {
    expect(compatibilityKey(env(OTHER, undefined), 'mapped-ram').configDisk.STACK_EMULATOR_DASHBOARD_HOST_PORT).toBe(
      '27000',
    );
  });
});

describe('retargetFor: when settle hands the guest its ports', () => {
  const lines = retargetInput(OTHER);

  it('only an image that retargets, and only when the guest holds other ports (or unknown ones)', () => {
    expect(retargetFor(true, NEUTRAL_PORTS, OTHER)).toEqual(lines);
    expect(retargetFor(true, undefined, OTHER)).toEqual(lines);
    expect(retargetFor(true, OTHER, OTHER)).toBeUndefined();
    expect(retargetFor(true, NEUTRAL_PORTS, NEUTRAL_PORTS)).toBeUndefined();
    expect(retargetFor(false, NEUTRAL_PORTS, OTHER)).toBeUndefined();
    expect(retargetFor(undefined, NEUTRAL_PORTS, OTHER)).toBeUndefined();
  });

  it("the hook's input is runtime.env's five host-port lines", () => {
    expect(lines).toEqual({
      STACK_EMULATOR_DASHBOARD_HOST_PORT: '27000',
      STACK_EMULATOR_BACKEND_HOST_PORT: '27001',
      STACK_EMULATOR_MINIO_HOST_PORT: '27002',
      STACK_EMULATOR_INBUCKET_HOST_PORT: '27003',
      STACK_EMULATOR_MOCK_OAUTH_HOST_PORT: '27004',
    });
  });

  it('reads the ports a guest holds back from a config disk or a session record', () => {
    expect(portsOfConfigDisk({ ...lines, STACK_EMULATOR_PORT_PREFIX: '81' })).toEqual(OTHER);
    expect(portsOfConfigDisk({})).toEqual(NEUTRAL_PORTS);
    expect(portsOfRecord(OTHER)).toEqual(OTHER);
    expect(portsOfRecord({ backend: 1 })).toBeUndefined();
    expect(portsOfRecord(undefined)).toBeUndefined();
  });
});

describe('portsReason: why an image that cannot retarget captures again', () => {
  const port = (name: string) => ({ component: `configDisk.${name}`, was: '26701', now: '27001' });

  it('names the marker and the ports when the ports are all that differ', () => {
    const r = portsReason(false, [port('STACK_EMULATOR_BACKEND_HOST_PORT')], OTHER);
    expect(r).toBe(
      'this image cannot take other host ports when it resumes (no /etc/stack-emulator/retargets-ports), and no snapshot here is for ports 27000, 27001, 27002, 27003, 27004',
    );
  });

  it("leaves the cache's reason otherwise", () => {
    const other = { component: 'qemuVersion', was: '9.2.0', now: '10.0.2' };
    expect(portsReason(false, [port('STACK_EMULATOR_BACKEND_HOST_PORT'), other], OTHER)).toBeUndefined();
    expect(portsReason(false, [], OTHER)).toBeUndefined();
    expect(portsReason(true, [port('STACK_EMULATOR_BACKEND_HOST_PORT')], OTHER)).toBeUndefined();
    expect(portsReason(undefined, [port('STACK_EMULATOR_BACKEND_HOST_PORT')], OTHER)).toBeUndefined();
  });
});

describe('the verdicts remembered per image', () => {
  it('unknown until remembered; kept by digest; a garbled file is told and read as unknown', async () => {
    const w = new FakeWorld();
    const { config } = testOp(w);
    expect(await knownPortVerdict(config, 'a'.repeat(64))).toBeUndefined();
    await rememberPortVerdict(config, 'a'.repeat(64), true);
    await rememberPortVerdict(config, 'b'.repeat(64), false);
    expect(await knownPortVerdict(config, 'a'.repeat(64))).toBe(true);
    expect(await knownPortVerdict(config, 'b'.repeat(64))).toBe(false);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${config.paths.images}/retargets-ports.json`, '{"x": "yes"}');
    const warned: string[] = [];
    expect(await knownPortVerdict(config, 'a'.repeat(64), (t) => warned.push(t))).toBeUndefined();
    expect(warned[0]).toContain('port retargeting cache');
  });
});
