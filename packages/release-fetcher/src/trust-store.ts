import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { runProcess } from '@stack/internal';

/** Where each group of trusted certificates came from, for error messages and `--verbose`. */
export interface TrustStore {
  /** PEM certificates: Node's bundled roots, the OS store, NODE_EXTRA_CA_CERTS, then `ca`. */
  certificates: string[];
  /** e.g. ["bundled (146)", "system /etc/ssl/certs/ca-certificates.crt (140)", "NODE_EXTRA_CA_CERTS /x.pem (1)"] */
  sources: string[];
  /** Files named by the environment that could not be read. */
  warnings: string[];
}

export interface TrustOptions {
  /** Extra CA certificates (PEM), trusted on top of all the others. @default none */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Reads NODE_EXTRA_CA_CERTS and SSL_CERT_FILE. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Which OS store to read. @default process.platform */
  platform?: NodeJS.Platform;
  /** @default fs.promises.readFile as UTF-8, undefined when unreadable */
  readText?: (path: string) => Promise<string | undefined>;
  /** Runs a command and resolves its stdout, undefined on failure (the macOS keychain). @default runProcess, 5 s */
  run?: (command: string, args: string[]) => Promise<string | undefined>;
}

/**
 * The OS bundles OpenSSL-based tools (curl, git) read, in the order Go's crypto/x509 tries them
 * (root_linux.go). A corporate CA installed the distribution's way lands in one of these.
 */
export const LINUX_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
] as const;

/** Certificates an administrator (or MDM) added on macOS: the System keychain. */
export const MACOS_SYSTEM_KEYCHAIN = '/Library/Keychains/System.keychain';

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every PEM certificate block of a text. */
export function splitPem(text: string): string[] {
  return text.match(PEM) ?? [];
}

const defaultReadText = (path: string) => readFile(path, 'utf8').catch(() => undefined);
const defaultRun = (command: string, args: string[]) =>
  runProcess(command, args, { timeout: 5000 }).then(
    (r) => r.stdout,
    () => undefined,
  );

/**
 * Everything an https connection of this package trusts. Node's own default is its bundled Mozilla
 * roots plus NODE_EXTRA_CA_CERTS, and passing `ca` to a TLS connection replaces all of that (Node
 * docs, `tls.createSecureContext`: "the well-known and extra certificates are not used when ca is
 * specified"). Curl and git also trust the OS store, where corporate networks install the CA of
 * their TLS-inspecting proxy, so a pull that only trusted Node's bundle failed where curl worked. The
 * list is built once per dispatcher: bundled roots, the OS store, NODE_EXTRA_CA_CERTS, then `ca`.
 */
export async function loadTrustStore(options: TrustOptions = {}): Promise<TrustStore> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const readText = options.readText ?? defaultReadText;
  const store: TrustStore = {
    certificates: [...rootCertificates],
    sources: [`bundled (${rootCertificates.length})`],
    warnings: [],
  };
  const add = (label: string, certs: string[]) => {
    if (certs.length === 0) return;
    store.certificates.push(...certs);
    store.sources.push(`${label} (${certs.length})`);
  };

  if (platform === 'darwin') {
    const out = await (options.run ?? defaultRun)('/usr/bin/security', [
      'find-certificate',
      '-a',
      '-p',
      MACOS_SYSTEM_KEYCHAIN,
    ]);
    add(`system ${MACOS_SYSTEM_KEYCHAIN}`, splitPem(out ?? ''));
  } else if (platform !== 'win32') {
    // SSL_CERT_FILE is OpenSSL's own override of the bundle path.
    const candidates = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : LINUX_CA_BUNDLES;
    for (const path of candidates) {
      const text = await readText(path);
      if (text === undefined) continue;
      add(`system ${path}`, splitPem(text));
      break;
    }
  }

  const extra = env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    const text = await readText(extra);
    if (text === undefined) store.warnings.push(`NODE_EXTRA_CA_CERTS=${extra} cannot be read`);
    else if (splitPem(text).length === 0) store.warnings.push(`NODE_EXTRA_CA_CERTS=${extra} holds no PEM certificate`);
    else add(`NODE_EXTRA_CA_CERTS ${extra}`, splitPem(text));
  }

  const own = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca as string | Buffer];
  add(
    'ca option',
    own.flatMap((c) => splitPem(c.toString())),
  );
  return store;
}
