import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { LINUX_CA_BUNDLES, loadTrustStore, MACOS_SYSTEM_KEYCHAIN, splitPem } from './trust-store.js';

const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nMII${n}\n-----END CERTIFICATE-----\n`;
const files = (map: Record<string, string>) => async (path: string) => map[path];

describe('loadTrustStore', () => {
  it('linux: bundled roots, the first OS bundle found, NODE_EXTRA_CA_CERTS, then ca, in that order', async () => {
    const s = await loadTrustStore({
      platform: 'linux',
      env: { NODE_EXTRA_CA_CERTS: '/extra.pem' },
      readText: files({ [LINUX_CA_BUNDLES[1]]: pem(1) + pem(2), [LINUX_CA_BUNDLES[3]]: pem(9), '/extra.pem': pem(3) }),
      ca: pem(4),
    });
    expect(s.certificates.slice(0, rootCertificates.length)).toEqual([...rootCertificates]);
    expect(s.certificates.slice(rootCertificates.length).map((c) => c.match(/MII(\d)/)![1])).toEqual([
      '1',
      '2',
      '3',
      '4',
    ]);
    expect(s.sources).toEqual([
      `bundled (${rootCertificates.length})`,
      `system ${LINUX_CA_BUNDLES[1]} (2)`,
      'NODE_EXTRA_CA_CERTS /extra.pem (1)',
      'ca option (1)',
    ]);
    expect(s.warnings).toEqual([]);
  });

  it('linux: SSL_CERT_FILE replaces the bundle search', async () => {
    const s = await loadTrustStore({
      platform: 'linux',
      env: { SSL_CERT_FILE: '/mine.pem' },
      readText: files({ '/mine.pem': pem(5), [LINUX_CA_BUNDLES[0]]: pem(6) }),
    });
    expect(s.sources.at(-1)).toBe('system /mine.pem (1)');
  });

  it('darwin: the System keychain through security(1), never a Linux path', async () => {
    const calls: string[][] = [];
    const s = await loadTrustStore({
      platform: 'darwin',
      env: {},
      readText: async (p) => {
        throw new Error(`read ${p}`);
      },
      run: async (cmd, args) => {
        calls.push([cmd, ...args]);
        return pem(7);
      },
    });
    expect(calls).toEqual([['/usr/bin/security', 'find-certificate', '-a', '-p', MACOS_SYSTEM_KEYCHAIN]]);
    expect(s.sources.at(-1)).toBe(`system ${MACOS_SYSTEM_KEYCHAIN} (1)`);
  });

  it('says when NODE_EXTRA_CA_CERTS cannot be used, and still trusts the rest', async () => {
    const missing = await loadTrustStore({
      platform: 'linux',
      env: { NODE_EXTRA_CA_CERTS: '/nope' },
      readText: files({}),
    });
    expect(missing.warnings).toEqual(['NODE_EXTRA_CA_CERTS=/nope cannot be read']);
    expect(missing.certificates).toHaveLength(rootCertificates.length);
    const empty = await loadTrustStore({
      platform: 'linux',
      env: { NODE_EXTRA_CA_CERTS: '/empty' },
      readText: files({ '/empty': 'hello' }),
    });
    expect(empty.warnings).toEqual(['NODE_EXTRA_CA_CERTS=/empty holds no PEM certificate']);
  });

  it('splits PEM bundles', () => {
    expect(splitPem(`junk\n${pem(1)}more\n${pem(2)}`)).toHaveLength(2);
  });
});
