/**
 * Frames waiting for a consumer that cannot take them yet (a WebSocket
 * whose send buffer is full, a Readable nobody reads, a reconnection): at
 * most `max`; a frame that does not fit pushes out the oldest, which is
 * counted. Real-time audio is worth more fresh than complete.
 */
export class FrameQueue {
  readonly #items: Buffer[] = [];
  #head = 0;
  readonly max: number;
  dropped = 0;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(b: Buffer): void {
    if (this.size >= this.max) {
      this.#head++;
      this.dropped++;
    }
    this.#items.push(b);
    // compact now and then: the array never holds more than 2 x max
    if (this.#head > this.max) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  shift(): Buffer | undefined {
    if (this.size === 0) return undefined;
    const b = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    return b;
  }

  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
  }
}
