import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet } from './http-get.js';

const payload = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function collect(url: string, options: Parameters<typeof httpGet>[1] = {}, delayPipeMs = 0): Promise<{ status: number; body: Buffer; headers: Map<string, string> }> {
  const res = await httpGet(url, options);
  if (delayPipeMs) await new Promise((r) => setTimeout(r, delayPipeMs));
  const parts: Buffer[] = [];
  // The chunk is a view of the reused receive buffer: copy it, as a consumer must.
  await res.pipe((c) => parts.push(Buffer.from(c)));
  return { status: res.status, body: Buffer.concat(parts), headers: res.headers };
}

/**
 * Reads with `readInto`: every read goes into a fresh region of one big buffer, so the chunks can be
 * kept without a copy; checks that each chunk is a view of the region of its read.
 */
async function collectInto(url: string, options: Parameters<typeof httpGet>[1] = {}): Promise<Buffer> {
  // TLS hands out a record (at most 16 KiB) per read: room for 512 reads of up to 64 KiB.
  const arena = new Uint8Array(new SharedArrayBuffer(32 * 1024 * 1024));
  let next = 0;
  let region = arena.subarray(0, 0);
  const readInto = () => {
    if (next >= arena.length) throw new Error('the test arena is too small');
    return (region = arena.subarray(next, (next += 64 * 1024)));
  };
  const res = await httpGet(url, { ...options, readInto });
  const parts: Uint8Array[] = [];
  let inPlace = false;
  await res.pipe((c) => {
    // The body bytes that came with the head were copied out of their region (and may make several
    // chunks); from the first chunk in place on, every chunk is a view of the region of its read.
    inPlace ||= c.buffer === arena.buffer;
    if (inPlace) expect(c.buffer === arena.buffer && c.byteOffset >= region.byteOffset && c.byteOffset + c.byteLength <= region.byteOffset + region.byteLength).toBe(true);
    parts.push(c);
  });
  expect(inPlace).toBe(true);
  return Buffer.concat(parts);
}

describe('httpGet', () => {
  let base = '';
  let raw = '';
  const server = createServer((req, res) => {
    if (req.url === '/length') return res.writeHead(200, { 'content-length': String(payload.length), etag: '"e"' }).end(payload);
    if (req.url === '/chunked') {
      res.writeHead(200);
      for (let off = 0; off < payload.length; off += 100_000) res.write(payload.subarray(off, off + 100_000));
      return res.end();
    }
    if (req.url === '/echo') return res.end(JSON.stringify(req.headers));
    if (req.url === '/drop') {
      res.writeHead(200, { 'content-length': String(payload.length) });
      res.write(payload.subarray(0, 100_000));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    if (req.url === '/silent') return; // never answers
    res.writeHead(404).end();
  });
  // A server that ends its body by closing the connection (HTTP/1.0 style).
  const closer = createTcpServer((s) => s.once('data', () => s.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), payload]))));

  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
    raw = `http://127.0.0.1:${await listen(closer)}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
    closer.close();
  });

  it('reads Content-Length, chunked and close-delimited bodies byte for byte', async () => {
    for (const url of [`${base}/length`, `${base}/chunked`, `${raw}/`]) {
      const r = await collect(url);
      expect(r.status).toBe(200);
      expect(sha(r.body)).toBe(sha(payload));
    }
  });

  it('keeps the body bytes that came with the head until pipe() is called', async () => {
    const r = await collect(`${base}/length`, {}, 100);
    expect(sha(r.body)).toBe(sha(payload));
    expect(r.headers.get('etag')).toBe('"e"');
  });

  it('sends the given headers and the Host with its port; refuses a header with a line break', async () => {
    const r = await collect(`${base}/echo`, { headers: { range: 'bytes=5-', 'x-token': 'abc' } });
    const seen = JSON.parse(r.body.toString()) as Record<string, string>;
    expect(seen).toMatchObject({ range: 'bytes=5-', 'x-token': 'abc', host: base.slice('http://'.length) });
    await expect(httpGet(`${base}/echo`, { headers: { x: 'a\r\nInjected: 1' } })).rejects.toThrow(/line break/);
  });

  it('rejects the body on a connection dropped mid-way, and on abort', async () => {
    await expect(collect(`${base}/drop`)).rejects.toMatchObject({ code: 'FETCH_NETWORK' });
    const controller = new AbortController();
    const res = await httpGet(`${base}/drop`, { signal: controller.signal });
    const piping = res.pipe(() => controller.abort());
    await expect(piping).rejects.toMatchObject({ code: 'FETCH_ABORTED' });
  });

  it('gives up on a server that says nothing, after the timeout', async () => {
    await expect(httpGet(`${base}/silent`, { timeout: 300 })).rejects.toMatchObject({ code: 'FETCH_NETWORK', message: expect.stringContaining('no data') });
  });

  it('reads into the regions readInto hands out, for a sized and a chunked body', async () => {
    expect(sha(await collectInto(`${base}/length`))).toBe(sha(payload));
    expect(sha(await collectInto(`${base}/chunked`))).toBe(sha(payload));
  });

  it('says which host refused the connection', async () => {
    const free = createTcpServer();
    const port = await listen(free);
    free.close();
    await expect(httpGet(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'FETCH_NETWORK', message: expect.stringContaining(`127.0.0.1:${port}`) });
  });
});

let opensslReason: string | undefined;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  opensslReason = 'openssl is not installed (needed to make a test certificate)';
}
if (opensslReason) console.warn(`skipping the https test: ${opensslReason}`);

describe.skipIf(opensslReason !== undefined)('httpGet over https', () => {
  it('verifies the server against the given CA and reads the body', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'https-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (_req, res) => res.writeHead(200, { 'content-length': String(payload.length) }).end(payload));
    const port = await listen(server as unknown as Server);
    try {
      const r = await collect(`https://localhost:${port}/`, { ca: cert });
      expect(sha(r.body)).toBe(sha(payload));
      expect(sha(await collectInto(`https://localhost:${port}/`, { ca: cert }))).toBe(sha(payload));
      // Without the CA the self-signed certificate is refused.
      await expect(httpGet(`https://localhost:${port}/`)).rejects.toMatchObject({ code: 'FETCH_NETWORK', message: expect.stringMatching(/self[- ]signed/i) });
    } finally {
      server.close();
    }
  });
});
