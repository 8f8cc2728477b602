import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** A blob the "CDN" serves, with a strong ETag and byte ranges. */
export interface Blob {
  data: Buffer;
  etag: string;
}

export interface SeenRequest {
  host: 'api' | 'cdn';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * A local server pair that behaves like GitHub for what the fetcher uses: the API (releases, assets,
 * runs, artifacts, pulls, rate limits) on 127.0.0.1, and downloads redirected to a second origin
 * (`localhost`, another port) as GitHub redirects to its storage host. Every request is recorded.
 */
export class FakeGitHub {
  readonly seen: SeenRequest[] = [];
  readonly blobs = new Map<string, Blob>();
  /** Drop the connection after this many body bytes on the next CDN GET (once). */
  dropAfter: number | undefined;
  /** Answer every API call with a rate-limit 403. */
  rateLimited = false;
  /** Repositories that were renamed: old `owner/name` -> the repository id the API redirects to (301). */
  readonly renamed = new Map<string, number>();
  releases: Array<Record<string, unknown>> = [];
  /** Repository files served by the contents API: `<ref>:<path>` -> text. */
  readonly contents = new Map<string, string>();
  artifacts: Array<Record<string, unknown>> = [];
  apiUrl = '';
  cdnUrl = '';
  #api: Server;
  #cdn: Server;

  readonly #scheme: 'http' | 'https';

  /** With `tls`, both origins speak HTTPS with that certificate (see tls-ca.ts), as GitHub does. */
  constructor(options: { tls?: { key: string; cert: string } } = {}) {
    const make = (fn: (req: IncomingMessage, res: ServerResponse) => void): Server =>
      options.tls ? createHttpsServer(options.tls, fn) : createServer(fn);
    this.#api = make((req, res) => this.#onApi(req, res));
    this.#cdn = make((req, res) => this.#onCdn(req, res));
    this.#scheme = options.tls ? 'https' : 'http';
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#api.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.#cdn.listen(0, '127.0.0.1', r));
    this.apiUrl = `${this.#scheme}://127.0.0.1:${(this.#api.address() as { port: number }).port}`;
    this.cdnUrl = `${this.#scheme}://localhost:${(this.#cdn.address() as { port: number }).port}`;
  }

  close(): void {
    this.#api.closeAllConnections();
    this.#cdn.closeAllConnections();
    this.#api.close();
    this.#cdn.close();
  }

  addBlob(name: string, data: Buffer): Blob {
    const blob = { data, etag: `"${createHash('sha256').update(data).digest('hex').slice(0, 16)}"` };
    this.blobs.set(name, blob);
    return blob;
  }

  #json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  #onApi(req: IncomingMessage, res: ServerResponse) {
    this.seen.push({ host: 'api', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', this.apiUrl);
    let p = url.pathname;
    const old = /^\/repos\/([^/]+\/[^/]+)(\/.*)?$/.exec(p);
    if (old && this.renamed.has(old[1]!)) {
      res.writeHead(301, {
        location: `${this.apiUrl}/repositories/${this.renamed.get(old[1]!)}${old[2] ?? ''}${url.search}`,
      });
      return res.end();
    }
    // A renamed repository is served under its id, as the API does after the redirect.
    p = p.replace(/^\/repositories\/\d+/, '/repos/moved/repo');
    if (this.rateLimited)
      return this.#json(
        res,
        403,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4102444800' },
      );
    let m: RegExpExecArray | null;
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/releases\/tags\/(.+)$/.exec(p))) {
      const r = this.releases.find((x) => x.tag_name === decodeURIComponent(m![2]!) && !x.draft);
      return r ? this.#json(res, 200, r) : this.#json(res, 404, { message: 'Not Found' });
    }
    if (/^\/repos\/[^/]+\/[^/]+\/releases$/.test(p)) return this.#json(res, 200, this.releases);
    if ((m = /^\/repos\/[^/]+\/[^/]+\/contents\/(.+)$/.exec(p))) {
      const text = this.contents.get(`${url.searchParams.get('ref')}:${decodeURIComponent(m[1]!)}`);
      if (text === undefined) return this.#json(res, 404, { message: 'Not Found' });
      if (req.headers.accept !== 'application/vnd.github.raw')
        return this.#json(res, 200, {
          type: 'file',
          encoding: 'base64',
          content: Buffer.from(text).toString('base64'),
        });
      res.writeHead(200, { 'content-type': 'application/vnd.github.raw' });
      return res.end(text);
    }
    if ((m = /^\/repos\/[^/]+\/[^/]+\/releases\/assets\/(.+)$/.exec(p))) {
      if (req.headers.accept !== 'application/octet-stream')
        return this.#json(res, 415, { message: 'want octet-stream' });
      res.writeHead(302, { location: `${this.cdnUrl}/blob/${m[1]}` });
      return res.end();
    }
    if ((m = /^\/repos\/[^/]+\/[^/]+\/actions\/artifacts\/(\d+)\/zip$/.exec(p))) {
      if (!req.headers.authorization) return this.#json(res, 401, { message: 'Requires authentication' });
      res.writeHead(302, { location: `${this.cdnUrl}/blob/artifact-${m[1]}` });
      return res.end();
    }
    if (/^\/repos\/[^/]+\/[^/]+\/actions\/runs\/\d+\/artifacts$/.test(p))
      return this.#json(res, 200, { total_count: this.artifacts.length, artifacts: this.artifacts });
    if ((m = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(p)))
      return this.#json(res, 200, { number: Number(m[1]), head: { ref: `feature/pr-${m[1]}` } });
    if (/^\/repos\/[^/]+\/[^/]+\/actions\/workflows\/[^/]+\/runs$/.test(p)) {
      return url.searchParams.get('branch') === 'feature/pr-12' && url.searchParams.get('status') === 'success'
        ? this.#json(res, 200, { workflow_runs: [{ id: 9 }] })
        : this.#json(res, 200, { workflow_runs: [] });
    }
    return this.#json(res, 404, { message: 'Not Found' });
  }

  #onCdn(req: IncomingMessage, res: ServerResponse) {
    this.seen.push({ host: 'cdn', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const name = decodeURIComponent((req.url ?? '').replace(/^\/blob\//, '').split('?')[0]!);
    const blob = this.blobs.get(name);
    if (!blob) {
      res.writeHead(404);
      return res.end();
    }
    const size = blob.data.length;
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    // If-Range: a range only when the validator still matches, else the whole blob (RFC 9110 13.1.5).
    if (range && (!req.headers['if-range'] || req.headers['if-range'] === blob.etag)) {
      start = Number(range[1]);
      if (start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        return res.end();
      }
      status = 206;
    }
    const headers: Record<string, string> = {
      etag: blob.etag,
      'accept-ranges': 'bytes',
      'content-length': String(size - start),
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    res.writeHead(status, headers);
    const body = blob.data.subarray(start);
    if (this.dropAfter !== undefined) {
      const cut = this.dropAfter;
      this.dropAfter = undefined;
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
