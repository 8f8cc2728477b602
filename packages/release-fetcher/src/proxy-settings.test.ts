import { describe, expect, it } from 'vitest';
import { proxyFor, proxySettings, redactProxy } from './proxy-settings.js';

describe('proxy settings', () => {
  it('reads lower case first, then upper case, and adds a missing scheme', () => {
    expect(
      proxySettings({
        https_proxy: 'http://lower:1',
        HTTPS_PROXY: 'http://upper:2',
        HTTP_PROXY: 'proxy.corp:3128',
        NO_PROXY: 'a,b',
      }),
    ).toEqual({ httpsProxy: 'http://lower:1', httpProxy: 'http://proxy.corp:3128', noProxy: 'a,b' });
    expect(proxySettings({})).toEqual({ httpProxy: '', httpsProxy: '', noProxy: '' });
  });

  it('applies NO_PROXY by host, domain suffix, port and wildcard; https falls back to the http proxy', () => {
    const s = proxySettings({
      HTTP_PROXY: 'http://p:1',
      NO_PROXY: 'localhost, .internal.corp,*.svc,127.0.0.1:8443,[::1]',
    });
    expect(proxyFor(new URL('https://github.com/x'), s)).toBe('http://p:1');
    expect(proxyFor(new URL('http://localhost:9/x'), s)).toBe('');
    expect(proxyFor(new URL('https://cache.internal.corp/x'), s)).toBe('');
    expect(proxyFor(new URL('https://internal.corp/x'), s)).toBe('');
    expect(proxyFor(new URL('https://a.svc/x'), s)).toBe('');
    expect(proxyFor(new URL('https://127.0.0.1:8443/x'), s)).toBe('');
    expect(proxyFor(new URL('https://127.0.0.1:8444/x'), s)).toBe('http://p:1');
    expect(proxyFor(new URL('http://[::1]:80/x'), s)).toBe('');
    expect(proxyFor(new URL('https://evilinternal.corp/x'), s)).toBe('http://p:1');
    expect(proxyFor(new URL('https://x/'), proxySettings({ HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }))).toBe('');
  });

  it('never shows proxy credentials', () => {
    expect(redactProxy('http://user:secret@proxy:3128')).toBe('http://***@proxy:3128');
    expect(redactProxy('http://proxy:3128')).toBe('http://proxy:3128');
  });
});
