/** Options every asynchronous call accepts. */
export interface CallOptions {
  /** Cancels the call; it rejects with an abort error whose `cause` is the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the call rejects with a timeout error. No limit when unset. */
  timeout?: number;
}

export interface DeadlineErrors {
  timeout: (ms: number) => Error;
  abort: (reason: unknown) => Error;
}

/**
 * Runs `work` under the caller's signal and timeout. `work` gets a signal that fires on either, so it
 * can stop its own waits; the returned promise rejects with the matching error from `errors`.
 */
export async function withDeadline<T>(
  options: CallOptions,
  errors: DeadlineErrors,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { signal, timeout } = options;
  if (signal?.aborted) throw errors.abort(signal.reason);
  const controller = new AbortController();
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_r, reject) => {
    fail = reject;
  });
  const onAbort = () => {
    const e = errors.abort(signal!.reason);
    controller.abort(e);
    fail(e);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          const e = errors.timeout(timeout);
          controller.abort(e);
          fail(e);
        }, timeout);
  try {
    return await Promise.race([work(controller.signal), failed]);
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
