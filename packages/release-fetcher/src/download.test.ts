import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { download } from './download.js';

// /dev/full (writes fail with ENOSPC) is Linux's; macOS has none.
const hasDevFull = existsSync('/dev/full');
if (!hasDevFull) console.warn('SKIPPED (no /dev/full on this OS) the full-disk test');

describe('download', () => {
  it.skipIf(!hasDevFull)(
    'stops at once with FETCH_DISK when the disk refuses the bytes, instead of retrying the network',
    async () => {
      let requests = 0;
      const server = createServer((_req, res) => {
        requests++;
        res.writeHead(200, { 'content-length': String(1 << 20), etag: '"x"' }).end(Buffer.alloc(1 << 20, 7));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const dir = mkdtempSync(join(tmpdir(), 'dl-disk-'));
      // /dev/full accepts open() and fails every write with ENOSPC: a full disk without filling one.
      const part = join(dir, 'image.part');
      symlinkSync('/dev/full', part);
      try {
        const err = await download({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/image`,
          partFile: part,
          retries: 3,
          backoff: 1,
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: 'FETCH_DISK',
          message: expect.stringMatching(/cannot write .*image\.part at byte 0: .*ENOSPC.*pull again/),
        });
        expect(requests).toBe(1);
      } finally {
        server.close();
      }
    },
  );
});
