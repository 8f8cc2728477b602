import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate authority made for one test run, and a server certificate it signed. */
export interface TestCa {
  dir: string;
  /** The CA certificate (PEM) and its file: what NODE_EXTRA_CA_CERTS points at. */
  caPem: string;
  caFile: string;
  /** Key and certificate of a server for 127.0.0.1 and localhost, signed by the CA. */
  key: string;
  cert: string;
  close(): void;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Makes a throwaway CA with the openssl CLI and a leaf certificate for `127.0.0.1`/`localhost` (and
 * `names`). Real X.509 and real TLS, so clients are tested with the verification they do in use.
 */
export function makeTestCa(options: { names?: string[]; commonName?: string } = {}): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  const san = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...(options.names ?? []).map((n) => `DNS:${n}`)].join(',');
  // Only options OpenSSL and macOS' LibreSSL both take: RSA keys, extensions from config files.
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=${options.commonName ?? 'stack-emulator test CA'}\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n`,
  );
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-config',
      'ca.cnf',
      '-extensions',
      'v3_ca',
    ],
    dir,
  );
  writeFileSync(join(dir, 'leaf.cnf'), '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=localhost\n');
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-config', 'leaf.cnf'],
    dir,
  );
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n`,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ],
    dir,
  );
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
