import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostileServer } from '../../../../tools/testing/hostile-server.js';
import { BodyFeed } from '../../src/body-feed.js';
import { FileSink } from '../../src/file-sink.js';
import { requestFollowing } from '../../src/http-request.js';
import { openNetwork } from '../../src/network.js';

// Regression test for nodejs/undici#5360 (see body-feed.ts): a sink that always holds the body back,
// on responses that end the connection, must never leave undici's parser paused at the last byte
// (an uncatchable AssertionError would end the test process and fail the run).
const server = new HostileServer();
const sizes = [70 * 1024, 300 * 1024, 1 << 20, (1 << 20) + 123, 3 << 20];

beforeAll(async () => {
  await server.listen();
  for (const n of sizes) server.blobs.set(`b${n}`, randomBytes(n));
});
afterAll(() => server.close());

/** A sink whose every write makes the caller wait a little: constant backpressure. */
function slowSink(): FileSink & { received: Buffer[] } {
  const received: Buffer[] = [];
  let size = 0;
  return {
    received,
    get size() {
      return size;
    },
    write(chunk: Buffer) {
      received.push(chunk);
      size += chunk.length;
      return new Promise<void>((r) => setTimeout(r, 2));
    },
  } as unknown as FileSink & { received: Buffer[] };
}

describe('BodyFeed under constant backpressure', () => {
  for (const mode of ['together', 'apart', 'http10', 'chunked', 'gzip'] as const) {
    it(`${mode}: every size arrives whole, the process survives`, async () => {
      const network = await openNetwork({ env: {} });
      try {
        for (const n of sizes) {
          const res = await requestFollowing(`${server.url}/${mode}/b${n}`, {
            network,
            headers: mode === 'gzip' ? {} : { 'accept-encoding': 'identity' },
          });
          const decoder = mode === 'gzip' ? (await import('node:zlib')).createGunzip() : undefined;
          const feed = BodyFeed.start(res, decoder);
          await new Promise((r) => setTimeout(r, 20)); // the body keeps flowing before the sink is there
          const sink = slowSink();
          await feed.into(sink, () => {});
          expect(Buffer.concat(sink.received).equals(server.blobs.get(`b${n}`)!), `${mode} ${n}`).toBe(true);
        }
        await new Promise((r) => setTimeout(r, 50)); // a late socket end would crash here
      } finally {
        await network.close();
      }
    });
  }
});

describe('BodyFeed when the connection fails before the sink opens', () => {
  it('still hands what arrived to the sink, so the next attempt resumes from it', async () => {
    const network = await openNetwork({ env: {} });
    const dir = mkdtempSync(join(tmpdir(), 'body-feed-'));
    try {
      const n = 300 * 1024;
      const res = await requestFollowing(`${server.url}/drop/b${n}`, {
        network,
        headers: { 'accept-encoding': 'identity' },
      });
      const feed = BodyFeed.start(res);
      await new Promise((r) => setTimeout(r, 200)); // the half body and the reset arrive meanwhile
      const sink = await FileSink.open(join(dir, 'part'), 0);
      await expect(feed.into(sink, () => {})).rejects.toBeTruthy();
      await sink.close();
      expect(readFileSync(join(dir, 'part')).equals(server.blobs.get(`b${n}`)!.subarray(0, n >> 1))).toBe(true);
    } finally {
      await network.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
