import { describe, expect, it } from 'vitest';
import { isSnapshotError } from './errors.js';
import { type CompatibilityKey, describeDifferences, diffKeys, keyId, parseKey } from './key.js';

const key: CompatibilityKey = {
  imageDigest: 'a'.repeat(64),
  qemuVersion: '10.0.2',
  accel: 'tcg',
  layoutFingerprint: 'f'.repeat(64),
  configDisk: { STACK_EMULATOR_PORT_PREFIX: '81', STACK_EMULATOR_BACKEND_HOST_PORT: '26701' },
  format: 'mapped-ram',
};

describe('compatibility key', () => {
  it('a bad key is SNAPSHOT_INVALID_KEY naming the field, not a raw ZodError', () => {
    const bad = { ...key, imageDigest: 'nope', accel: 'xen' } as unknown as CompatibilityKey;
    const err = (() => {
      try {
        keyId(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(isSnapshotError(err) && err.code).toBe('SNAPSHOT_INVALID_KEY');
    expect((err as Error).message).toMatch(/invalid snapshot compatibility key \(imageDigest: .*; accel: /);
    expect(parseKey(key)).toEqual(key);
  });

  it('is stable whatever the order of its fields', () => {
    const reordered = {
      format: key.format,
      configDisk: { STACK_EMULATOR_BACKEND_HOST_PORT: '26701', STACK_EMULATOR_PORT_PREFIX: '81' },
      accel: key.accel,
      layoutFingerprint: key.layoutFingerprint,
      qemuVersion: key.qemuVersion,
      imageDigest: key.imageDigest,
    };
    expect(keyId(reordered as CompatibilityKey)).toBe(keyId(key));
  });

  it.each([
    ['imageDigest', { imageDigest: 'b'.repeat(64) }],
    ['qemuVersion', { qemuVersion: '10.1.0' }],
    ['accel', { accel: 'kvm' as const }],
    ['layoutFingerprint', { layoutFingerprint: 'e'.repeat(64) }],
    ['format', { format: 'stream' as const }],
    [
      'configDisk.STACK_EMULATOR_BACKEND_HOST_PORT',
      { configDisk: { ...key.configDisk, STACK_EMULATOR_BACKEND_HOST_PORT: '30001' } },
    ],
    ['configDisk.STACK_EMULATOR_VM_DIR_HOST', { configDisk: { ...key.configDisk, STACK_EMULATOR_VM_DIR_HOST: '/x' } }],
    ['firmware', { firmware: '/usr/share/AAVMF/AAVMF_CODE.fd:67108864:1700000000000' }],
  ])('a different %s gives another id and names the component', (component, over) => {
    const other = { ...key, ...over } as CompatibilityKey;
    expect(keyId(other)).not.toBe(keyId(key));
    const diffs = diffKeys(key, other);
    expect(diffs.map((d) => d.component)).toEqual([component]);
    expect(describeDifferences(diffs)).toContain(`${component} changed`);
  });

  it('a home restored on another machine (kvm/hvf: another CPU or its flags, another kernel) does not match', () => {
    const here = {
      ...key,
      accel: 'hvf' as const,
      host: { cpu: 'Apple M1', cpuFlags: 'a'.repeat(16), os: 'darwin 24.1.0' },
    };
    const there = { ...here, host: { cpu: 'Apple M1', cpuFlags: 'b'.repeat(16), os: 'darwin 24.1.0' } };
    expect(keyId(there)).not.toBe(keyId(here));
    expect(diffKeys(here, there).map((d) => d.component)).toEqual(['host.cpuFlags']);
  });

  it('optional fields left undefined (TCG, no -bios) do not change the id: snapshots taken before they existed still match', () => {
    expect(keyId({ ...key, host: undefined, firmware: undefined })).toBe(keyId(key));
  });

  it('rejects a malformed key', () => {
    expect(() => keyId({ ...key, imageDigest: 'nope' })).toThrow();
  });
});
