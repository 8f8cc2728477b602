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

/** The default connector: a unix domain socket. */
export const connectUnixSocket: Connector = (path, signal) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ path });
    const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
