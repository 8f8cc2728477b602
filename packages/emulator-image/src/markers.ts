/** Serial-console markers of the guest contract's image build. */
export const MARKERS = {
  done: 'STACK_CLOUD_INIT_DONE',
  ready: 'STACK_SERVICES_READY',
  failed: 'STACK_CLOUD_INIT_FAILED',
} as const;

export type MarkerEvent =
  { type: 'done' } | { type: 'ready' } | { type: 'failed'; detail: string } | { type: 'line'; text: string };

/**
 * Sans-I/O scanner of the serial log: feed it bytes as they arrive, get lines and markers out. A marker
 * counts anywhere on a line (the kernel may interleave its own output); text after a failure marker is
 * kept as the detail.
 */
export class MarkerScanner {
  #partial = '';
  readonly #tail: string[] = [];
  readonly #tailSize: number;

  constructor(tailSize = 40) {
    this.#tailSize = tailSize;
  }

  push(chunk: string): MarkerEvent[] {
    const text = this.#partial + chunk.replace(/\r/g, '');
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    const out: MarkerEvent[] = [];
    for (const raw of lines) {
      // Strip terminal escapes the guest's console may print.
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      this.#tail.push(line);
      if (this.#tail.length > this.#tailSize) this.#tail.shift();
      out.push({ type: 'line', text: line });
      const f = line.indexOf(MARKERS.failed);
      if (f >= 0) out.push({ type: 'failed', detail: line.slice(f + MARKERS.failed.length).replace(/^[:\s]+/, '') });
      else if (line.includes(MARKERS.done)) out.push({ type: 'done' });
      else if (line.includes(MARKERS.ready)) out.push({ type: 'ready' });
    }
    return out;
  }

  /** The last lines seen, for error messages. */
  tail(): string[] {
    return [...this.#tail];
  }
}
