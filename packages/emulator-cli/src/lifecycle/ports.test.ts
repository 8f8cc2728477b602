import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortsFree, portHolder, portIsFree } from './ports.js';

let server: Server | undefined;
afterEach(() => server?.close());

const listen = () =>
  new Promise<number>((resolve) => {
    server = createServer().listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
  });

describe('ports', () => {
  it('sees a busy port and names this process as its holder', async () => {
    const port = await listen();
    expect(await portIsFree(port)).toBe(false);
    if (process.platform === 'linux') expect(await portHolder(port)).toMatch(new RegExp(`^pid ${process.pid} \\(`));
    await expect(assertPortsFree({ backend: port })).rejects.toMatchObject({ code: 'PORT_BUSY', exitCode: 2, message: expect.stringContaining(`port ${port} (backend) is in use`) });
  });

  it('names a holder of several ports once', async () => {
    const port = await listen();
    const error = await assertPortsFree({ dashboard: port, backend: port }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'PORT_BUSY', message: expect.stringContaining(`ports ${port} (dashboard), ${port} (backend) are in use`) });
    if (process.platform === 'linux') expect((error as Error).message.match(/by pid/g)).toHaveLength(1);
  });

  it('passes free ports', async () => {
    const port = await listen();
    server!.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await portIsFree(port)).toBe(true);
    await expect(assertPortsFree({ dashboard: port })).resolves.toBeUndefined();
  });
});
