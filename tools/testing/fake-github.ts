import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** The head commit the fake gives pull request `n` unless told otherwise (see FakeGitHub.pulls). */
const prHeadSha = (n: number) => createHash('sha1').update(`pr-${n}`).digest('hex');

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
  /**
   * Workflow artifacts. One with a `workflow_run: { id }` is listed only for that run (as GitHub's
   * artifact objects carry it); one without, for every run.
   */
  artifacts: Array<Record<string, unknown>> = [];
  /** Pull requests by number: the head branch and commit. @default `feature/pr-<n>` at {@link prHeadSha}(n) */
  readonly pulls = new Map<number, { ref: string; sha: string }>();
  /**
   * Workflow runs, newest first, filtered by `branch`, `head_sha` and `status` as the API does (a fork's
   * branch of the same name shows up under `branch` too). @default one successful run 9 of PR 12's head
   */
  runs: Array<{ id: number; head_branch: string; head_sha: string; conclusion: string | null }> = [];
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
    if ((m = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/artifacts$/.exec(p))) {
      const run = Number(m[1]);
      const artifacts = this.artifacts.filter(
        (a) => ((a.workflow_run as { id: number } | undefined)?.id ?? run) === run,
      );
      return this.#json(res, 200, { total_count: artifacts.length, artifacts });
    }
    if ((m = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(p))) {
      const n = Number(m[1]);
      const head = this.pulls.get(n) ?? { ref: `feature/pr-${n}`, sha: prHeadSha(n) };
      return this.#json(res, 200, { number: n, head });
    }
    if (/^\/repos\/[^/]+\/[^/]+\/actions\/workflows\/[^/]+\/runs$/.test(p)) {
      const q = url.searchParams;
      const runs = this.runs.length
        ? this.runs
        : [{ id: 9, head_branch: 'feature/pr-12', head_sha: prHeadSha(12), conclusion: 'success' }];
      const found = runs.filter(
        (r) =>
          (!q.has('branch') || r.head_branch === q.get('branch')) &&
          (!q.has('head_sha') || r.head_sha === q.get('head_sha')) &&
          (!q.has('status') || r.conclusion === q.get('status')),
      );
      const perPage = Number(q.get('per_page') ?? 30);
      return this.#json(res, 200, { total_count: found.length, workflow_runs: found.slice(0, perPage) });
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
