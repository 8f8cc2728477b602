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

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Makes a throwaway CA with the openssl CLI and a leaf certificate for `127.0.0.1`/`localhost` (and
 * `names`). Real X.509 and real TLS, so clients are tested with the verification they do in use.
 */
export function makeTestCa(options: { names?: string[]; commonName?: string } = {}): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'test-ca-'));
  const san = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...(options.names ?? []).map((n) => `DNS:${n}`)].join(',');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${options.commonName ?? 'stack-emulator test CA'}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
