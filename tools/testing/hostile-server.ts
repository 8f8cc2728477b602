import { createHash } from 'node:crypto';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { gzipSync } from 'node:zlib';

export interface SeenRequest {
  path: string;
  headers: Record<string, string>;
}

/**
 * A server that behaves the ways real networks and CDNs do, on 127.0.0.1, over TCP or TLS. It writes
 * raw HTTP/1.1 itself, so tests decide exactly where the bytes break: the head and the body in one
 * write (one TLS record) or apart, a body split into small pieces, a stall after the head, a
 * trickle, an endless 416, chunked, gzip, HTTP/1.0 close-delimited, redirects, any status.
 *
 * Paths: `/<mode>/<blob name>`; modes: together, apart, split, stall, stall-head, drop, trickle, always-416,
 * chunked, gzip, http10, ranged; also `/redirect?to=<url>`, `/status/<code>`, and `/<any mode>/<name>.sha256`
 * serving the blob's sidecar.
 */
export class HostileServer {
  readonly blobs = new Map<string, Buffer>();
  readonly seen: SeenRequest[] = [];
  url = '';
  #server: Server;
  #sockets = new Set<Socket>();
  #timers = new Set<NodeJS.Timeout>();

  constructor(options: { tls?: { key: string; cert: string } } = {}) {
    const handler = (s: Socket) => this.#onSocket(s);
    this.#server = options.tls
      ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : createTcpServer(handler);
    this.scheme = options.tls ? 'https' : 'http';
  }

  readonly scheme: 'http' | 'https';

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `${this.scheme}://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this;
  }

  /** Requests to paths starting with `prefix`. */
  count(prefix: string): number {
    return this.seen.filter((s) => s.path.startsWith(prefix)).length;
  }

  close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #onSocket(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const path = lines[0]!.split(' ')[1] ?? '/';
      this.seen.push({ path, headers });
      this.#respond(socket, path, headers);
    };
    socket.on('data', onData);
  }

  #respond(socket: Socket, path: string, headers: Record<string, string>): void {
    const head = (status: number, fields: Record<string, string | number>, version = '1.1') =>
      `HTTP/${version} ${status} X\r\n${Object.entries({ connection: 'close', ...fields })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
    const u = new URL(path, 'http://x');
    if (u.pathname === '/redirect')
      return void socket.end(head(302, { location: u.searchParams.get('to') ?? '/', 'content-length': 0 }));
    const [, mode = '', ...rest] = u.pathname.split('/');
    if (mode === 'status') return void socket.end(head(Number(rest[0]), { 'content-length': 0 }));
    let name = decodeURIComponent(rest.join('/'));
    const sidecar = name.endsWith('.sha256');
    if (sidecar) name = name.slice(0, -'.sha256'.length);
    const blob = this.blobs.get(name);
    if (!blob) return void socket.end(head(404, { 'content-length': 0 }));
    if (sidecar) {
      const text = `${createHash('sha256').update(blob).digest('hex')}  ${name.split('/').at(-1)}\n`;
      return void socket.end(head(200, { 'content-length': Buffer.byteLength(text) }) + text);
    }
    const etag = `"${createHash('sha256').update(blob).digest('hex').slice(0, 16)}"`;
    const ok = head(200, { 'content-length': blob.length, etag });
    switch (mode) {
      case 'together':
        return void socket.end(Buffer.concat([Buffer.from(ok), blob]));
      case 'apart':
        socket.write(ok);
        return this.#later(15, () => socket.end(blob));
      case 'split': {
        socket.write(ok.slice(0, 7));
        let off = 0;
        const next = () => {
          if (off >= blob.length) return void socket.end();
          const n = 1 + ((off * 7919) % 3000);
          socket.write(blob.subarray(off, off + n));
          off += n;
          this.#later(off % 5 === 0 ? 1 : 0, next);
        };
        return this.#later(5, () => {
          socket.write(ok.slice(7));
          next();
        });
      }
      case 'stall':
        return void socket.write(Buffer.concat([Buffer.from(ok), blob.subarray(0, 1000)]));
      case 'stall-head':
        return;
      case 'drop':
        // Half the body, then the connection is gone (no FIN wait): a reset mid-download.
        socket.write(Buffer.concat([Buffer.from(ok), blob.subarray(0, blob.length >> 1)]));
        return this.#later(5, () => socket.destroy());
      case 'trickle': {
        socket.write(ok);
        let off = 0;
        const drip = () => {
          if (off >= blob.length || socket.destroyed) return;
          socket.write(blob.subarray(off, off + 1));
          off++;
          this.#later(500, drip);
        };
        return drip();
      }
      case 'always-416':
        return void socket.end(head(416, { 'content-range': `bytes */${blob.length}`, 'content-length': 0 }));
      case 'chunked': {
        socket.write(head(200, { 'transfer-encoding': 'chunked', etag }));
        for (let off = 0; off < blob.length;) {
          const n = Math.min(blob.length - off, 1 + ((off * 31) % 70_000));
          socket.write(`${n.toString(16)}\r\n`);
          socket.write(blob.subarray(off, off + n));
          socket.write('\r\n');
          off += n;
        }
        return void socket.end('0\r\n\r\n');
      }
      case 'gzip': {
        const z = gzipSync(blob);
        return void socket.end(
          Buffer.concat([Buffer.from(head(200, { 'content-length': z.length, 'content-encoding': 'gzip', etag })), z]),
        );
      }
      case 'http10':
        // No length: the body ends when the server closes (RFC 9112, 6.3).
        return void socket.end(Buffer.concat([Buffer.from(head(200, {}, '1.0')), blob]));
      case 'ranged': {
        const range = /^bytes=(\d+)-$/.exec(headers.range ?? '');
        if (range && (!headers['if-range'] || headers['if-range'] === etag)) {
          const start = Number(range[1]);
          if (start >= blob.length)
            return void socket.end(head(416, { 'content-range': `bytes */${blob.length}`, 'content-length': 0 }));
          return void socket.end(
            Buffer.concat([
              Buffer.from(
                head(206, {
                  'content-length': blob.length - start,
                  'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
                  etag,
                }),
              ),
              blob.subarray(start),
            ]),
          );
        }
        return void socket.end(Buffer.concat([Buffer.from(ok), blob]));
      }
      default:
        return void socket.end(head(404, { 'content-length': 0 }));
    }
  }
}
