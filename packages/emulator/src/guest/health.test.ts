import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ports } from '../config/resolve-config.js';
import { waitHealthy } from './health.js';
import { loopbackRequest } from './loopback-http.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function serve(handler: (path: string) => number): Promise<number> {
  const s = createServer((req, res) => {
    res.statusCode = handler(req.url ?? '');
    res.end();
  });
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
}

describe('loopbackRequest', () => {
  it('closes the connection itself, so the server never holds it in TIME_WAIT (snapshot regression)', async () => {
    let connection: string | undefined;
    const s = createServer((req, res) => {
      connection = req.headers.connection;
      res.end('ok');
    });
    servers.push(s);
    const port = await new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)),
    );
    // The server side of the socket sees the client's FIN while it is still open itself: the client
    // closed first (a server that closed first would not wait for it).
    const clientClosedFirst = new Promise<boolean>((resolve) =>
      s.on('connection', (sock) => sock.on('end', () => resolve(!sock.destroyed))),
    );
    const r = await loopbackRequest(port, '/');
    expect(r).toEqual({ status: 200, body: 'ok' });
    expect(connection).toBe('keep-alive');
    expect(await clientClosedFirst).toBe(true);
  });
});

describe('waitHealthy', () => {
  it('waits until every probe path answers 200, re-probing only the ones that did not', async () => {
    let backendCalls = 0;
    const seen: string[] = [];
    const ok = (p: string) => (seen.push(p), 200);
    const ports: Ports = {
      dashboard: await serve(ok),
      backend: await serve((p) => (seen.push(p), ++backendCalls < 3 ? 503 : 200)),
      minio: await serve(ok),
      inbucket: await serve(ok),
      mockOauth: 1,
    };
    const r = await waitHealthy(ports, { timeoutMs: 10_000 });
    expect(r.healthy).toBe(true);
    expect(backendCalls).toBe(3);
    expect(seen.filter((p) => p === '/handler/sign-in')).toHaveLength(1);
    expect(new Set(seen)).toEqual(new Set(['/handler/sign-in', '/health?db=1', '/minio/health/live', '/']));
  });

  it('gives up after the limit and says which service failed', async () => {
    const ports: Ports = {
      dashboard: await serve(() => 200),
      backend: await serve(() => 500),
      minio: await serve(() => 200),
      inbucket: await serve(() => 200),
      mockOauth: 1,
    };
    const r = await waitHealthy(ports, { timeoutMs: 300 });
    expect(r.healthy).toBe(false);
    expect(r.services.filter((s) => !s.healthy).map((s) => [s.name, s.status])).toEqual([['backend', 500]]);
  });
});
