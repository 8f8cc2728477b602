import type { QmpEvent } from './message.js';

export interface EventFilter {
  /** Only these event names; all when unset. */
  names?: readonly string[];
  /** Only events for which this returns true. */
  filter?: (event: QmpEvent) => boolean;
}

/**
 * A FIFO of events for one consumer (the qemu.qmp `EventListener` model): every listener gets its own
 * copy of each matching event, so consumers never steal events from each other.
 */
export class EventListener implements AsyncIterableIterator<QmpEvent> {
  readonly #names: ReadonlySet<string> | undefined;
  readonly #filter: ((e: QmpEvent) => boolean) | undefined;
  readonly #queue: QmpEvent[] = [];
  readonly #waiters: Array<{ resolve: (r: IteratorResult<QmpEvent>) => void; reject: (e: unknown) => void }> = [];
  readonly #onClose: (l: EventListener) => void;
  #ended = false;
  #error: unknown;

  constructor(filter: EventFilter, onClose: (l: EventListener) => void) {
    this.#names = filter.names ? new Set(filter.names) : undefined;
    this.#filter = filter.filter;
    this.#onClose = onClose;
  }

  /** Called by the client for every event; queues it when it matches. */
  offer(event: QmpEvent): void {
    if (this.#ended) return;
    if (this.#names && !this.#names.has(event.event)) return;
    if (this.#filter && !this.#filter(event)) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value: event, done: false });
    else this.#queue.push(event);
  }

  /** Ends the listener; queued events are still delivered, then iteration ends (or throws `error`). */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#onClose(this);
    for (const w of this.#waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.#ended)
      return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Stops listening (also what `break` in a `for await` loop does). */
  return(): Promise<IteratorResult<QmpEvent>> {
    this.end();
    this.#queue.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Removes and returns the events queued so far. */
  drain(): QmpEvent[] {
    return this.#queue.splice(0);
  }
}
