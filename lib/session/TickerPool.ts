import * as os from 'node:os';
import { Ticker, type TickerPriority } from '../graph/Ticker';

/**
 * A fixed set of tickers (default: one per core). Each call is pinned to the
 * ticker with the fewest calls, ties broken by measured load, so that one
 * late ticker does not delay every call.
 */
export class TickerPool {
  readonly tickers: Ticker[];
  readonly #calls: number[];

  constructor(count = os.availableParallelism?.() ?? os.cpus().length, priority: TickerPriority = 'normal') {
    if (!Number.isInteger(count) || count < 1 || count > 256)
      throw new RangeError(`Expected 1..256 tickers but received ${count}`);
    this.tickers = Array.from({ length: count }, (_, i) => new Ticker({ name: `rms-ticker-${i}`, priority }));
    this.#calls = this.tickers.map(() => 0);
  }

  /** Picks a ticker for a new call and counts it there. */
  acquire(): Ticker {
    let best = 0;
    for (let i = 1; i < this.tickers.length; i++) {
      const fewer = this.#calls[i] < this.#calls[best];
      const tie =
        this.#calls[i] === this.#calls[best] && this.tickers[i].stats().load < this.tickers[best].stats().load;
      if (fewer || tie) best = i;
    }
    this.#calls[best]++;
    return this.tickers[best];
  }

  release(t: Ticker): void {
    const i = this.tickers.indexOf(t);
    if (i >= 0 && this.#calls[i] > 0) this.#calls[i]--;
  }

  callsPerTicker(): number[] {
    return [...this.#calls];
  }

  close(): void {
    for (const t of this.tickers) t.close();
  }
}
