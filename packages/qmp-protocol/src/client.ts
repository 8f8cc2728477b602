import { z } from 'zod';
import {
  QmpAbortError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  type QmpError,
  QmpProtocolError,
  QmpTimeoutError,
} from './errors.js';
import { type EventFilter, EventListener } from './event-listener.js';
import type { ProtocolTrace } from './trace.js';
import { encodeCommand, MessageDecoder, type QmpEvent, type QmpGreeting, type QmpMessage } from './message.js';
import { type CallOptions, type Connector, connectUnixSocket, type Transport, withDeadline } from '@stack/internal';

const connectOptionsSchema = z.object({
  timeout: z.number().int().positive().default(5000),
  signal: z.instanceof(AbortSignal).optional(),
  connector: z.custom<Connector>((v) => typeof v === 'function').optional(),
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  trace: z.custom<ProtocolTrace>((v) => typeof v === 'function').optional(),
});

export interface QmpConnectOptions {
  /** Covers the socket connect, the greeting and `qmp_capabilities`. @default 5000 */
  timeout?: number;
  signal?: AbortSignal;
  /** How to open the byte stream. @default a unix domain socket */
  connector?: Connector;
  /** Longest accepted server line; longer is a protocol error. @default 10 MiB */
  maxLineBytes?: number;
  /** Called with every message sent and received on this connection, as a debug log. @default none */
  trace?: ProtocolTrace;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  cleanup: () => void;
}

/**
 * One persistent, negotiated QMP connection. Commands carry ids and may be in flight together; replies
 * are matched by id; events go to every listener registered at the time they arrive.
 */
export class QmpClient {
  readonly #transport: Transport;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<EventListener>();
  readonly #closedPromise: Promise<void>;
  #greeting: QmpGreeting | undefined;
  #onGreeting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #nextId = 1;
  #closedError: QmpError | undefined;

  readonly #trace: ProtocolTrace | undefined;

  private constructor(transport: Transport, maxLineBytes: number, trace: ProtocolTrace | undefined) {
    this.#transport = transport;
    this.#trace = trace;
    const decoder = new MessageDecoder({ maxLineBytes });
    this.#closedPromise = new Promise((resolve) => transport.on('close', resolve));
    transport.on('data', (chunk) => {
      for (const m of decoder.push(chunk)) {
        if (m.type === 'reset') continue;
        trace?.('recv', m);
        this.#dispatch(m);
      }
    });
    transport.on('error', (e) =>
      this.#fail(new QmpDisconnectedError(`QMP connection lost: ${e.message}`, { cause: e })),
    );
    transport.on('close', () => this.#fail(new QmpDisconnectedError('QMP connection closed by the server')));
  }

  /**
   * Connects, waits for the greeting and negotiates capabilities. A second client of the same QMP
   * socket is accepted by the kernel but gets no greeting until the first leaves, so the timeout
   * covers the greeting, not just the connect.
   */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const opts = connectOptionsSchema.parse(options);
    const connector = opts.connector ?? connectUnixSocket;
    let client: QmpClient | undefined;
    try {
      return await withDeadline(
        { timeout: opts.timeout, signal: opts.signal },
        {
          timeout: (ms) => new QmpConnectError(path, `no greeting within ${ms} ms (is another client connected?)`),
          abort: (reason) => new QmpConnectError(path, 'aborted', { cause: reason }),
        },
        async (signal) => {
          let transport: Transport;
          try {
            transport = await connector(path, signal);
          } catch (e) {
            throw new QmpConnectError(path, (e as Error).message, { cause: e });
          }
          const c = new QmpClient(transport, opts.maxLineBytes, opts.trace);
          client = c;
          await new Promise<void>((resolve, reject) => {
            c.#onGreeting = { resolve, reject };
          });
          await c.execute('qmp_capabilities', undefined, { signal });
          return c;
        },
      );
    } catch (e) {
      if (client) client.#transport.destroy();
      if (e instanceof QmpDisconnectedError)
        throw new QmpConnectError(path, 'closed during the handshake', { cause: e });
      throw e;
    }
  }

  /** The server's greeting: QEMU version and capabilities. */
  get greeting(): QmpGreeting {
    return this.#greeting!;
  }

  /** True once the connection is closed or lost. */
  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /**
   * Runs a command and resolves with its `return` value. Rejects with {@link QmpCommandError} when
   * the server refuses it, {@link QmpDisconnectedError} when the connection goes, and a timeout or
   * abort error from `options`. A timed-out command may still run; its late reply is dropped.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const { signal, timeout } = options;
    if (signal?.aborted) return Promise.reject(new QmpAbortError(command, signal.reason));
    const id = `stack#${this.#nextId++}`;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.#abandon(id);
        reject(new QmpAbortError(command, signal!.reason));
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          this.#abandon(id);
          reject(new QmpTimeoutError(command, timeout));
        }, timeout);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, cleanup });
      this.#trace?.('send', { execute: command, ...(args !== undefined ? { arguments: args } : {}), id });
      this.#transport.write(encodeCommand(command, args, id));
    });
  }

  /** Registers a listener now; iterate it with `for await`, and `return()` (or `break`) to stop. */
  listen(filter: EventFilter = {}): EventListener {
    const listener = new EventListener(filter, (l) => this.#listeners.delete(l));
    if (this.#closedError) listener.end();
    else this.#listeners.add(listener);
    return listener;
  }

  /**
   * Resolves with the first matching event that arrives after this call. Call it before sending the
   * command that causes the event: QEMU may send the event before that command's reply.
   */
  waitForEvent(filter: string | EventFilter, options: CallOptions = {}): Promise<QmpEvent> {
    const f = typeof filter === 'string' ? { names: [filter] } : filter;
    const what = `waiting for ${f.names?.join('|') ?? 'an event'}`;
    const listener = this.listen(f);
    return withDeadline(
      options,
      { timeout: (ms) => new QmpTimeoutError(what, ms), abort: (r) => new QmpAbortError(what, r) },
      async () => {
        const r = await listener.next();
        if (r.done) throw this.#closedError ?? new QmpDisconnectedError();
        return r.value;
      },
    ).finally(() => listener.end());
  }

  /** Closes the connection; everything pending rejects with {@link QmpDisconnectedError}. */
  async close(): Promise<void> {
    this.#fail(new QmpDisconnectedError('QMP connection closed by the client'));
    this.#transport.destroy();
    await this.#closedPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #abandon(id: string): void {
    const p = this.#pending.get(id);
    if (!p) return;
    p.cleanup();
    this.#pending.delete(id);
  }

  #dispatch(m: QmpMessage): void {
    if (!this.#greeting && m.type !== 'greeting' && m.type !== 'invalid') {
      this.#fail(new QmpProtocolError(`expected a greeting, got a ${m.type}`));
      this.#transport.destroy();
      return;
    }
    switch (m.type) {
      case 'event':
        for (const l of [...this.#listeners]) l.offer(m.event);
        return;
      case 'return':
      case 'error': {
        if (m.id === undefined && m.type === 'error') {
          // qmp-spec: an error without id means the server could not parse our input. We always send
          // ids, so the stream is no longer trustworthy (qemu.qmp treats this as fatal too).
          this.#fail(new QmpProtocolError(`server could not parse a command: ${m.desc}`, m.desc));
          this.#transport.destroy();
          return;
        }
        const id = typeof m.id === 'string' ? m.id : JSON.stringify(m.id);
        const p = this.#pending.get(id);
        // qmp-spec: drop replies with unknown ids (e.g. the late reply of a timed-out command).
        if (!p) return;
        this.#pending.delete(id);
        p.cleanup();
        if (m.type === 'return') p.resolve(m.value);
        else p.reject(new QmpCommandError(p.command, m.errorClass, m.desc));
        return;
      }
      case 'greeting':
        if (this.#greeting) {
          this.#fail(new QmpProtocolError('unexpected second greeting'));
          this.#transport.destroy();
          return;
        }
        this.#greeting = m.greeting;
        this.#onGreeting?.resolve();
        return;
      case 'invalid':
        this.#fail(new QmpProtocolError(`invalid message from server: ${m.reason}`, m.raw));
        this.#transport.destroy();
        return;
    }
  }

  #fail(error: QmpError): void {
    if (this.#closedError) return;
    this.#closedError = error;
    this.#onGreeting?.reject(error);
    for (const p of this.#pending.values()) {
      p.cleanup();
      p.reject(error);
    }
    this.#pending.clear();
    for (const l of [...this.#listeners]) l.end();
  }
}
