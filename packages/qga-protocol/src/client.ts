import { type CallOptions, type Connector, connectUnixSocket, type Transport, withDeadline } from '@stack/internal';
import { encodeCommand, MessageDecoder, type ProtocolTrace, type QmpMessage } from '@stack/qmp-protocol';
import { z } from 'zod';
import {
  QgaAbortError,
  QgaCommandError,
  QgaConnectError,
  QgaDisconnectedError,
  QgaError,
  QgaProtocolError,
  QgaTimeoutError,
} from './errors.js';

const optionsSchema = z.object({
  timeout: z.number().int().positive().default(5000),
  signal: z.instanceof(AbortSignal).optional(),
  connector: z.custom<Connector>((v) => typeof v === 'function').optional(),
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  syncTimeout: z.number().int().positive().default(5000),
  defaultTimeout: z.number().int().positive().default(30_000),
  syncId: z.custom<() => number>((v) => typeof v === 'function').optional(),
  trace: z.custom<ProtocolTrace>((v) => typeof v === 'function').optional(),
});

export interface QgaConnectOptions {
  /** Limit for opening the socket (the agent sends no greeting). @default 5000 */
  timeout?: number;
  signal?: AbortSignal;
  /** How to open the byte stream. @default a unix domain socket */
  connector?: Connector;
  /**
   * Longest accepted reply line. guest-exec-status can carry 2 × 16 MiB of output as base64 in one
   * line (GUEST_EXEC_MAX_OUTPUT in qga/commands.c). @default 64 MiB
   */
  maxLineBytes?: number;
  /** Limit of each synchronisation; libvirt uses 5 s. @default 5000 */
  syncTimeout?: number;
  /** Limit of a call that passes no `timeout`. @default 30000 */
  defaultTimeout?: number;
  /** Source of sync ids (integers below 2^31). @default a random integer per sync */
  syncId?: () => number;
  /** Called with every message sent and received on this connection, as a debug log. @default none */
  trace?: ProtocolTrace;
}

type Waiter =
  | { kind: 'sync'; id: number; seenReset: boolean; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'command'; id: string; command: string; resolve: (v: unknown) => void; reject: (e: Error) => void };

const SYNC_RESET = Buffer.from([0xff]);

/**
 * A guest agent connection. The agent runs one command at a time and its channel may hold leftovers
 * of earlier clients, so calls are serialised and the channel is synchronised (0xFF +
 * guest-sync-delimited) before the first call and after any timeout, abort or protocol error.
 */
export class QgaClient {
  readonly #path: string;
  readonly #transport: Transport;
  readonly #syncTimeout: number;
  readonly #defaultTimeout: number;
  readonly #syncId: () => number;
  readonly #closedPromise: Promise<void>;
  #waiter: Waiter | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #synced = false;
  #nextId = 1;
  #closedError: QgaError | undefined;
  readonly #trace: ProtocolTrace | undefined;

  private constructor(path: string, transport: Transport, opts: z.infer<typeof optionsSchema>) {
    this.#path = path;
    this.#transport = transport;
    this.#syncTimeout = opts.syncTimeout;
    this.#defaultTimeout = opts.defaultTimeout;
    this.#syncId = opts.syncId ?? (() => 1 + Math.floor(Math.random() * 0x7ffffffe));
    const decoder = new MessageDecoder({ maxLineBytes: opts.maxLineBytes, resetByte: 0xff });
    this.#closedPromise = new Promise((resolve) => transport.on('close', resolve));
    this.#trace = opts.trace;
    transport.on('data', (chunk) => {
      for (const m of decoder.push(chunk)) {
        if (m.type !== 'reset') this.#trace?.('recv', m);
        this.#dispatch(m);
      }
    });
    transport.on('error', (e) =>
      this.#fail(new QgaDisconnectedError(`guest agent connection lost: ${e.message}`, { cause: e })),
    );
    transport.on('close', () => this.#fail(new QgaDisconnectedError()));
  }

  /** Opens the agent socket. Synchronisation happens lazily, before the first call. */
  static async connect(path: string, options: QgaConnectOptions = {}): Promise<QgaClient> {
    const opts = optionsSchema.parse(options);
    const connector = opts.connector ?? connectUnixSocket;
    const transport = await withDeadline(
      { timeout: opts.timeout, signal: opts.signal },
      {
        timeout: (ms) => new QgaConnectError(path, `not connected within ${ms} ms`),
        abort: (r) => new QgaConnectError(path, 'aborted', { cause: r }),
      },
      (signal) => connector(path, signal),
    ).catch((e) => {
      throw e instanceof QgaError ? e : new QgaConnectError(path, (e as Error).message, { cause: e });
    });
    return new QgaClient(path, transport, opts);
  }

  /** True once the connection is closed or lost. */
  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  /** False after a timeout, abort or protocol error, until the next call resynchronises. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Synchronises the channel now, discarding anything stale on it. */
  sync(options: CallOptions = {}): Promise<void> {
    return this.#enqueue(
      'guest-sync-delimited',
      { timeout: options.timeout ?? this.#syncTimeout, signal: options.signal },
      (signal) => this.#syncNow(signal),
    );
  }

  /**
   * Runs an agent command and resolves with its `return` value; rejects with {@link QgaCommandError}
   * when the agent refuses it. Commands without a success reply (guest-shutdown, guest-suspend-*)
   * never resolve: give them a short `timeout` and watch QMP for the outcome.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    const timeout = options.timeout ?? this.#defaultTimeout;
    return this.#enqueue(command, { timeout, signal: options.signal }, async (signal) => {
      if (!this.#synced) await this.#syncNow(signal);
      const id = `stack#${this.#nextId++}`;
      this.#trace?.('send', { execute: command, ...(args !== undefined ? { arguments: args } : {}), id });
      return this.#request({ kind: 'command', id, command }, encodeCommand(command, args, id), signal);
    }) as Promise<T>;
  }

  /** Closes the connection; everything pending rejects with {@link QgaDisconnectedError}. */
  async close(): Promise<void> {
    this.#fail(new QgaDisconnectedError('guest agent connection closed by the client'));
    this.#transport.destroy();
    await this.#closedPromise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueue<T>(what: string, options: CallOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const run = () =>
      withDeadline(
        options,
        { timeout: (ms) => new QgaTimeoutError(what, ms), abort: (r) => new QgaAbortError(what, r) },
        (signal) => {
          if (this.#closedError) throw this.#closedError;
          return work(signal);
        },
      ).catch((e) => {
        // The agent may still answer later: the channel is out of step until the next sync.
        if (e instanceof QgaTimeoutError || e instanceof QgaAbortError) this.#desync();
        throw e;
      });
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #syncNow(signal: AbortSignal): Promise<void> {
    // qga/qapi-schema.json guest-sync-delimited: send 0xFF first so the agent drops any partial
    // command an earlier client left in its parser; the reply is prefixed with 0xFF so we can drop
    // everything (stale replies, parse errors) before it. Ids stay below 2^31 to be exact in JSON.
    const id = this.#syncId();
    this.#trace?.('send', { execute: 'guest-sync-delimited', arguments: { id } });
    const payload = Buffer.concat([SYNC_RESET, encodeCommand('guest-sync-delimited', { id }, undefined)]);
    await this.#request({ kind: 'sync', id, seenReset: false }, payload, signal);
    this.#synced = true;
  }

  #request(
    w: { kind: 'sync'; id: number; seenReset: boolean } | { kind: 'command'; id: string; command: string },
    payload: Buffer,
    signal: AbortSignal,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        if (this.#waiter?.id === w.id) this.#waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => {
          signal.removeEventListener('abort', onAbort);
          this.#waiter = undefined;
          f(...a);
        };
      this.#waiter = { ...w, resolve: done(resolve), reject: done(reject) } as Waiter;
      this.#transport.write(payload);
    });
  }

  #dispatch(m: QmpMessage | { type: 'reset' }): void {
    const w = this.#waiter;
    if (!w) return; // a stale reply (e.g. of a timed-out command): the next sync skips it anyway
    if (w.kind === 'sync') {
      // Everything up to the 0xFF and every reply but ours is stale or noise from our own 0xFF.
      if (m.type === 'reset') w.seenReset = true;
      else if (w.seenReset && m.type === 'return' && m.value === w.id) w.resolve();
      return;
    }
    switch (m.type) {
      case 'return':
        if (m.id === w.id) w.resolve(m.value);
        return;
      case 'error':
        if (m.id === w.id) w.reject(new QgaCommandError(w.command, m.errorClass, m.desc));
        else if (m.id === undefined) this.#protocolError(w, `agent could not parse input: ${m.desc}`, m.desc);
        return;
      case 'invalid':
        this.#protocolError(w, `invalid message from the agent: ${m.reason}`, m.raw);
        return;
      default:
        return;
    }
  }

  #protocolError(w: Waiter, message: string, raw: string): void {
    this.#desync();
    w.reject(new QgaProtocolError(`${message} (${this.#path})`, raw));
  }

  #desync(): void {
    this.#synced = false;
  }

  #fail(error: QgaError): void {
    if (this.#closedError) return;
    this.#closedError = error;
    this.#waiter?.reject(error);
  }
}
