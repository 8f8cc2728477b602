import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortsFree, portHolder, portIsFree } from './ports.js';

let server: Server | undefined;
afterEach(() => server?.close());

const listen = (host = '127.0.0.1', ipv6Only = false) =>
  new Promise<number>((resolve, reject) => {
    server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, ipv6Only }, () => resolve((server!.address() as { port: number }).port));
  });
const hasIpv6 = () =>
  new Promise<boolean>((r) => {
    const s = createServer()
      .once('error', () => r(false))
      .listen(0, '::1', () => s.close(() => r(true)));
  });

describe('ports', () => {
  it('sees a busy port and names this process as its holder', async () => {
    const port = await listen();
    expect(await portIsFree(port)).toBe(false);
    if (process.platform === 'linux') expect(await portHolder(port)).toMatch(new RegExp(`^pid ${process.pid} \\(`));
    await expect(assertPortsFree({ backend: port })).rejects.toMatchObject({
      code: 'PORT_BUSY',
      message: expect.stringContaining(`port ${port} (backend) is in use`),
    });
  });

  it('the hint names the variable that moves the busy port', async () => {
    const port = await listen();
    await expect(assertPortsFree({ backend: port })).rejects.toMatchObject({
      hint: expect.stringContaining(`STACK_EMULATOR_BACKEND_PORT=${port + 10}`),
    });
  });

  it('names a holder of several ports once', async () => {
    const port = await listen();
    const error = await assertPortsFree({ dashboard: port, backend: port }).catch((e: Error) => e);
    expect(error).toMatchObject({
      code: 'PORT_BUSY',
      message: expect.stringContaining(`ports ${port} (dashboard), ${port} (backend) are in use`),
    });
    if (process.platform === 'linux') expect((error as Error).message.match(/by pid/g)).toHaveLength(1);
  });

  it('sees listeners on 0.0.0.0, [::1] and [::] too (QEMU would share the port with them silently)', async () => {
    for (const [host, ipv6Only] of [
      ['0.0.0.0', false],
      ['::1', false],
      ['::', true],
    ] as const) {
      if (host !== '0.0.0.0' && !(await hasIpv6())) {
        console.log('SKIPPED (no IPv6 on this host) for', host);
        continue;
      }
      const port = await listen(host, ipv6Only);
      expect(await portIsFree(port), host).toBe(false);
      server!.close();
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('an address the host lacks (no IPv6) does not make a port busy', async () => {
    const calls: string[] = [];
    const bind = async (_p: number, host: string) => {
      calls.push(host);
      return host.includes(':') ? ('unavailable' as const) : ('free' as const);
    };
    expect(await portIsFree(4242, { bind })).toBe(true);
    expect(calls).toEqual(['127.0.0.1', '0.0.0.0', '::1', '::']);
    expect(await portIsFree(4242, { bind: async (_p, host) => (host === '::1' ? 'busy' : 'free') })).toBe(false);
  });

  it('passes free ports', async () => {
    const port = await listen();
    server!.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await portIsFree(port)).toBe(true);
    await expect(assertPortsFree({ dashboard: port })).resolves.toBeUndefined();
  });
});
