import { describe, expect, it } from 'vitest';
import { apiBaseUrl } from './api-base.js';

const direct = { httpProxy: '', httpsProxy: '', noProxy: '' };

describe('apiBaseUrl', () => {
  it('takes https (api.github.com by default), without a trailing slash', () => {
    expect(apiBaseUrl(undefined, direct)).toBe('https://api.github.com');
    expect(apiBaseUrl('https://ghe.corp/api/v3/', direct)).toBe('https://ghe.corp/api/v3');
  });

  it('refuses plain http to another machine: FETCH_INSECURE, naming the value and the fix', () => {
    for (const base of [
      'http://api.github.com',
      'http://10.0.0.5:8080',
      'http://[::ffff:a00:5]',
      'http://localhost.evil.com',
    ]) {
      const err = (() => {
        try {
          return apiBaseUrl(base, direct);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toMatchObject({ code: 'FETCH_INSECURE', url: base });
      expect((err as Error).message).toContain(`"${base}"`);
      expect((err as Error).message).toContain('STACK_EMULATOR_GITHUB_API');
      expect((err as Error).message).toContain('https://');
    }
  });

  it('allows plain http to this machine, unless a proxy would carry it', () => {
    for (const base of ['http://127.0.0.1:9', 'http://127.1:9', 'http://[::1]:9', 'http://localhost:9'])
      expect(apiBaseUrl(base, direct)).toBe(base);
    const proxied = { httpProxy: 'http://proxy.corp:3128', httpsProxy: '', noProxy: '' };
    expect(() => apiBaseUrl('http://127.0.0.1:9', proxied)).toThrow(
      expect.objectContaining({ code: 'FETCH_INSECURE', message: expect.stringContaining('through a proxy') }),
    );
    expect(apiBaseUrl('http://127.0.0.1:9', { ...proxied, noProxy: '127.0.0.1' })).toBe('http://127.0.0.1:9');
  });

  it('refuses what is not an http(s) URL, and credentials in it', () => {
    for (const base of ['api.github.com', 'ftp://x', 'https://user:pw@ghe.corp'])
      expect(() => apiBaseUrl(base, direct)).toThrow(expect.objectContaining({ code: 'FETCH_BAD_SOURCE' }));
    expect(() => apiBaseUrl('https://user:pw@ghe.corp', direct)).toThrow(/^(?!.*pw).*credentials/);
  });
});
