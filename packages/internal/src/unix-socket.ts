import { connect, type Socket } from 'node:net';

/** What the client needs of a byte stream; a `net.Socket` satisfies it. Injected for tests. */
export interface Transport {
  write(data: Uint8Array): boolean;
  destroy(error?: Error): void;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

/** Opens a transport to `path`; resolves once connected. */
export type Connector = (path: string, signal: AbortSignal) => Promise<Transport>;

function connectOnce(path: string, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ path });
    const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}

/**
 * The default connector: a unix domain socket. QEMU creates its socket file (bind) a moment before it
 * listens, and a just-spawned QEMU may not have created it yet, so ENOENT and ECONNREFUSED are retried
 * every 10 ms until the caller's signal (the connect timeout) ends the attempt.
 */
export const connectUnixSocket: Connector = async (path, signal) => {
  for (;;) {
    try {
      return await connectOnce(path, signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (signal.aborted || (code !== 'ENOENT' && code !== 'ECONNREFUSED')) throw e;
    }
    await new Promise((r) => setTimeout(r, 10));
    if (signal.aborted) throw signal.reason;
  }
};
