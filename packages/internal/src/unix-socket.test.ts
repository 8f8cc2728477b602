import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectUnixSocket } from './unix-socket.js';

describe('connectUnixSocket', () => {
  it('waits for a socket that starts listening only after the connect began (QEMU binds before it listens)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sock-')), 's.sock');
    const server = createServer((c) => c.end());
    setTimeout(() => server.listen(path), 100);
    const socket = await connectUnixSocket(path, AbortSignal.timeout(5000));
    socket.destroy();
    server.close();
  });

  it('gives up when the signal fires', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sock-')), 'never.sock');
    await expect(connectUnixSocket(path, AbortSignal.timeout(100))).rejects.toBeDefined();
  });
});
