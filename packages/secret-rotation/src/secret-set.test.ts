import { describe, expect, it } from 'vitest';
import { isRotationError } from './errors.js';
import {
  encodeEnvLines,
  generateSecrets,
  LEGACY_SECRET_NAMES,
  PLACEHOLDERS,
  SECRET_NAMES,
  validateSecrets,
} from './secret-set.js';

describe('secret set', () => {
  it('generates four distinct 64-hex values that differ from the placeholders and between calls', () => {
    const a = generateSecrets();
    const b = generateSecrets();
    for (const name of SECRET_NAMES) {
      expect(a[name]).toMatch(/^[0-9a-f]{64}$/);
      expect(a[name]).not.toBe(PLACEHOLDERS[name]);
      expect(a[name]).not.toBe(b[name]);
    }
    expect(new Set(Object.values(a)).size).toBe(4);
  });

  it('uses the injected random source', () => {
    let n = 0;
    const set = generateSecrets((size) => Buffer.alloc(size, ++n));
    expect(set.CRON_SECRET).toBe('04'.repeat(32));
  });

  it('refuses bad formats, placeholders and unknown names without echoing the value', () => {
    const good = { ...generateSecrets() };
    expect(() => validateSecrets({ ...good, CRON_SECRET: 'ABCDEF'.repeat(10) + 'ABCD' })).toThrow(
      /^CRON_SECRET must be 64 lowercase hex/,
    );
    expect(() => validateSecrets({ ...good, CRON_SECRET: PLACEHOLDERS.CRON_SECRET })).toThrow(/placeholder/);
    expect(() => validateSecrets({ ...good, EXTRA: 'x' })).toThrow(/unknown secret name/);
    const err = (() => {
      try {
        validateSecrets({ ...good, CRON_SECRET: 'x' });
      } catch (e) {
        return e;
      }
    })();
    expect(isRotationError(err) && err.code).toBe('ROTATION_INVALID_OPTIONS');
    try {
      validateSecrets({ ...good, CRON_SECRET: 'secret-value-xyz' });
    } catch (e) {
      expect(String(e)).not.toContain('secret-value-xyz');
    }
  });

  it('encodes KEY=VALUE lines in contract order, then the older names of the same values', () => {
    const set = generateSecrets();
    const lines = encodeEnvLines(set).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines.slice(0, 4).map((l) => l.split('=')[0])).toEqual([...SECRET_NAMES]);
    // Images built before the rename read these (their hook exits 1 without them).
    expect(lines.slice(4, 6)).toEqual([
      `STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY=${set.STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY}`,
      `STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY=${set.STACK_INTERNAL_PROJECT_SECRET_SERVER_KEY}`,
    ]);
    expect(lines[6]).toBe('');
    expect(Object.values(LEGACY_SECRET_NAMES)).toEqual([
      'STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY',
      'STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY',
    ]);
  });
});
