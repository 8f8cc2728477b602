/** A contiguous part of the ring handed out by {@link RingSpace.take}. */
export interface RingRegion {
  start: number;
  end: number;
  /** Index of the last range published from it (-1: none). */
  last: number;
  /** End of what was published from it. */
  used: number;
  /** Still being filled (a pending socket read): in use whatever was consumed. */
  open: boolean;
}

/**
 * Which bytes of a ring are in use. Sans-I/O: the caller says how many published ranges the
 * consumers have finished. Regions are handed out in ring order from the head, wrapping; a region is
 * free again once it is closed and every range published from it is consumed. Ranges are not in ring
 * order (the bytes that came with a response head are copied in while the next read's region is
 * already handed out, then that read's ranges follow), so freedom is tracked per region, in the order
 * they were taken.
 */
export class RingSpace {
  readonly #regions: RingRegion[] = [];
  #head = 0;

  constructor(readonly size: number) {}

  /**
   * A free contiguous region of `min` to `max` bytes at the head, or undefined when there is none
   * yet (wait for the consumers, then ask again). `consumed`: how many ranges the slower consumer
   * has finished.
   */
  take(min: number, max: number, consumed: number): RingRegion | undefined {
    while (this.#regions.length > 0 && !this.#regions[0]!.open && this.#regions[0]!.last < consumed) this.#regions.shift();
    // In use: from the oldest region's start (tail) up to the head, wrapping.
    const tail = this.#regions[0]?.start ?? -1;
    let free = 0;
    if (tail < this.#head) {
      // Not wrapped: free from the head to the end, then from the start of the ring to the tail.
      if (this.size - this.#head < min && (tail < 0 || tail >= min)) this.#head = 0;
      free = this.#head === 0 && tail >= 0 ? tail : this.size - this.#head;
    } else if (tail > this.#head) {
      free = tail - this.#head; // wrapped: free up to the tail
    }
    if (free < min) return undefined;
    const start = this.#head;
    this.#head += Math.min(max, free);
    const region: RingRegion = { start, end: this.#head, last: -1, used: start, open: true };
    this.#regions.push(region);
    return region;
  }

  /** `region` will get no more ranges: its unused end is given back if nothing was taken after it. */
  close(region: RingRegion): void {
    region.open = false;
    if (region.end === this.#head) region.end = this.#head = region.used;
  }

}
