import { request } from 'node:http';

export interface LoopbackResponse {
  /** HTTP status, or 0 when nothing answered. */
  status: number;
  /** The body as text (at most 64 KiB is kept). */
  body: string;
  /** Why nothing (or not all) arrived. */
  error?: string;
  /** The socket error's code (ECONNREFUSED, ECONNRESET...), when there was one. */
  code?: string;
}

/**
 * The CLI's one client for the guest's forwarded ports on 127.0.0.1 (health probes, the local
 * emulator project endpoint); never throws. Downloads from the network use release-fetcher (undici)
 * instead. Kept apart for its close semantics: the client closes the connection, not the guest. With
 * `Connection: close` the guest's server closed first and kept each probe's socket in TIME_WAIT for
 * 60 s. Those sockets went into the snapshot, and after a resume a new connection whose host port
 * matched one of them (user-mode networking reuses the host port) was reset: about one start in twenty
 * failed its first request to the backend.
 */
export function loopbackRequest(
  port: number,
  path: string,
  options: { method?: 'GET' | 'POST'; timeout?: number; headers?: Record<string, string>; json?: unknown } = {},
): Promise<LoopbackResponse> {
  const timeout = options.timeout ?? 1000;
  const data = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
  const headers: Record<string, string> = { connection: 'keep-alive', ...options.headers };
  if (data) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(data.length) });
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, headers, timeout },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 65536) body += d;
        });
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: '', error: e.message, ...(e.code ? { code: e.code } : {}) }),
    );
    req.end(data);
  });
}
