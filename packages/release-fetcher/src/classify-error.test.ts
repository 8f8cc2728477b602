import { describe, expect, it } from 'vitest';
import { classifyError } from './classify-error.js';
import { proxySettings } from './proxy-settings.js';

const direct = { proxy: proxySettings({}) };
const err = (code: string, message = code, cause?: unknown) => Object.assign(new Error(message, { cause }), { code });

describe('classifyError', () => {
  it('certificate problems are not retried and name NODE_EXTRA_CA_CERTS', () => {
    const e = classifyError(
      err('UND_ERR_SOCKET', 'socket', err('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain')),
      'https://h:1/x',
      direct,
    );
    expect(e).toMatchObject({ code: 'FETCH_CERTIFICATE', retryable: false });
    expect(e.message).toMatch(/certificate of h:1 is not trusted \(SELF_SIGNED_CERT_IN_CHAIN.*NODE_EXTRA_CA_CERTS/);
    expect(classifyError(err('ERR_TLS_CERT_ALTNAME_INVALID'), 'https://h/x', direct).code).toBe('FETCH_CERTIFICATE');
  });

  it('a proxy refusing the tunnel is FETCH_PROXY, without its credentials', () => {
    const proxy = { proxy: proxySettings({ HTTPS_PROXY: 'http://u:pw@p:3128' }) };
    const e = classifyError(
      err('UND_ERR_ABORTED', 'Proxy response (403) !== 200 when HTTP Tunneling'),
      'https://github.com/x',
      proxy,
    );
    expect(e).toMatchObject({ code: 'FETCH_PROXY', status: 403, retryable: false });
    expect(e.message).not.toContain('pw');
    expect(e.message).toContain('NO_PROXY');
    expect(
      classifyError(
        err('UND_ERR_ABORTED', 'Proxy response (407) !== 200 when HTTP Tunneling'),
        'https://github.com/x',
        proxy,
      ).message,
    ).toMatch(/credentials/);
  });

  it('resets and timeouts are retried; unknown hosts are not', () => {
    expect(classifyError(err('ECONNRESET'), 'https://h/x', direct)).toMatchObject({
      code: 'FETCH_NETWORK',
      retryable: true,
    });
    expect(classifyError(err('UND_ERR_BODY_TIMEOUT'), 'https://h/x', direct)).toMatchObject({
      code: 'FETCH_STALLED',
      retryable: true,
    });
    expect(classifyError(err('ENOTFOUND'), 'https://nowhere.example/x', direct)).toMatchObject({
      code: 'FETCH_NETWORK',
      retryable: false,
    });
  });

  it('an abort by the caller is FETCH_ABORTED whatever undici threw', () => {
    const c = new AbortController();
    c.abort();
    expect(classifyError(err('UND_ERR_ABORTED'), 'https://h/x', { ...direct, signal: c.signal }).code).toBe(
      'FETCH_ABORTED',
    );
  });
});
