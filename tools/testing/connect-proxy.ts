import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxiedConnection {
  target: string;
  headers: Record<string, string>;
}

/**
 * An HTTP CONNECT proxy on 127.0.0.1, as corporate networks run them: it opens a TCP tunnel to the
 * requested host:port and records each one. `refuse` answers a status instead (403: policy; 407: asks
 * for credentials unless `Proxy-Authorization` matches `credentials`).
 */
export class ConnectProxy {
  readonly connections: ProxiedConnection[] = [];
  refuse: number | undefined;
  /** "user:password" the proxy demands (407 otherwise). */
  credentials: string | undefined;
  url = '';
  #server: Server;
  #sockets = new Set<Socket>();

  constructor() {
    this.#server = createServer((client) => this.#onClient(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((r) => this.#server.close(() => r()));
  }

  #onClient(client: Socket): void {
    this.#sockets.add(client);
    client.once('close', () => this.#sockets.delete(client));
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const [method, target] = lines[0]!.split(' ');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      if (method !== 'CONNECT' || !target)
        return void client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
      this.connections.push({ target, headers });
      if (
        this.credentials &&
        headers['proxy-authorization'] !== `Basic ${Buffer.from(this.credentials).toString('base64')}`
      ) {
        return void client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n',
        );
      }
      if (this.refuse) return void client.end(`HTTP/1.1 ${this.refuse} Refused\r\nContent-Length: 0\r\n\r\n`);
      const i = target.lastIndexOf(':');
      const upstream = connect(
        { host: target.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(target.slice(i + 1)) },
        () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          if (rest.length) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        },
      );
      this.#sockets.add(upstream);
      upstream.once('close', () => this.#sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  }
}
