import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTools } from '../../../../tools/testing/requires.js';

// The reference appliance's HTTP layer (images/reference/bundle/app/stack_reference.py) run by the
// host's Python: its small HTTP/1.1 reader replaced http.server to start faster under TCG. The routes
// that need PostgreSQL are covered by the VM tests; here there is none, so they must answer 503.
const ok = hasTools('python3');
const app = new URL('../../../../images/reference/bundle/app', import.meta.url).pathname;
const roles = ['dashboard', 'backend', 'admin'] as const;
let py: ChildProcess | undefined;
const port: Record<string, number> = {};

/** Sends raw bytes on one connection and collects everything the server sends until it closes or `ms` pass. */
function exchange(p: number, raw: string, ms = 1500): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(p, '127.0.0.1', () => s.write(raw));
    let text = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, ms);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('end', () => {
      clearTimeout(t);
      resolve({ text, closed: true });
    });
    s.on('error', reject);
  });
}

describe.skipIf(!ok)("the reference app's HTTP server", () => {
  beforeAll(async () => {
    const script = `import sys; sys.path.insert(0, ${JSON.stringify(app)}); import stack_reference as s\nfor r in ${JSON.stringify(roles)}: print(r, s.serve(r, 0, "127.0.0.1").server_address[1], flush=True)\nsys.stdin.read()`;
    py = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => {
      let out = '';
      py!.stdout!.on('data', (d) => {
        out += d;
        for (const [, r, n] of out.matchAll(/(\w+) (\d+)\n/g)) port[r!] = Number(n);
        if (Object.keys(port).length === roles.length) resolve();
      });
    });
  });
  afterAll(() => py?.kill());

  it('answers several requests on one connection (HTTP/1.1 keep-alive), then closes when asked', async () => {
    const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
    const r = await exchange(
      port.dashboard!,
      get('/handler/sign-in') + get('/nope') + get('/handler/sign-in', 'Connection: close\r\n'),
    );
    expect(r.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 404', 'HTTP/1.1 200']);
    expect(r.text).toContain('Content-Type: text/html');
    expect(r.closed).toBe(true);
  });

  it('the test-data extra: a bad name is 400, no internal project header 401, and without its database 503', async () => {
    const put = (name: string, headers = '') =>
      `PUT /api/v1/internal/emulator-test/data/${name} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: 2\r\nConnection: close\r\n\r\nhi`;
    const internal = 'x-stack-project-id: internal\r\nx-stack-publishable-client-key: k\r\n';
    expect((await exchange(port.backend!, put('a/b', internal))).text).toMatch(/^HTTP\/1\.1 400 /);
    expect((await exchange(port.backend!, put('ok'))).text).toMatch(/^HTTP\/1\.1 401 /);
    expect((await exchange(port.backend!, put('ok', internal))).text).toMatch(/^HTTP\/1\.1 503 /);
    // Only the backend serves it.
    expect((await exchange(port.dashboard!, put('ok', internal))).text).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('keeps an HTTP/1.1 connection open and closes an HTTP/1.0 one', async () => {
    expect((await exchange(port.backend!, 'GET /health HTTP/1.1\r\n\r\n', 500)).closed).toBe(false);
    const r = await exchange(port.backend!, 'GET /health HTTP/1.0\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 16\r\n[^]*\r\n\r\n\{"status": "ok"\}$/);
    expect(r.closed).toBe(true);
  });

  it('answers 503, not a hang, when the database is unreachable', async () => {
    const r = await exchange(port.backend!, 'GET /health?db=1 HTTP/1.1\r\nConnection: close\r\n\r\n', 10_000);
    expect(r.text).toMatch(/^HTTP\/1\.1 503 /);
    expect(r.closed).toBe(true);
  });

  it('reads a POST body by Content-Length and validates rotation input', async () => {
    const body = 'STACK_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY=xyz\n';
    const r = await exchange(
      port.admin!,
      `POST /rotate HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /x HTTP/1.1\r\nConnection: close\r\n\r\n`,
    );
    expect(r.text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 400', 'HTTP/1.1 404']);
    expect(r.text).toContain('need the four keys');
  });

  it('rejects a malformed request with 400 and closes the connection', async () => {
    for (const raw of [
      'garbage\r\n\r\n',
      'GET / HTTP/1.1\r\nno colon here\r\n\r\n',
      'POST /rotate HTTP/1.1\r\nContent-Length: abc\r\n\r\n',
      'POST /rotate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n',
    ]) {
      const r = await exchange(port.admin!, raw);
      expect(r.text, raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n/);
      expect(r.closed, raw).toBe(true);
    }
  });
});
