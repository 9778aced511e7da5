import * as os from 'node:os';
import { Ticker, type TickerPriority } from '../graph/Ticker';

/**
 * A fixed set of tickers (default: one per core). Each call is pinned to the
 * ticker with the least expected work: the sum of the costs its calls were
 * placed with (callCost(): codec work plus RTP I/O, so an Opus call weighs
 * several relayed ones), ties broken by fewer calls, then by measured load.
 * Counting calls alone lets churn pile the expensive calls onto one ticker
 * while both hold as many calls, and the measured load lags behind a burst
 * of new calls (docs/benchmarks.md).
 */
export class TickerPool {
  readonly tickers: Ticker[];
  readonly #calls: number[];
  readonly #cost: number[];

  constructor(
    count = os.availableParallelism?.() ?? os.cpus().length,
    priority: TickerPriority = 'normal',
    intervalMs: 10 | 20 = 10,
  ) {
    if (!Number.isInteger(count) || count < 1 || count > 256)
      throw new RangeError(`Expected 1..256 tickers but received ${count}`);
    this.tickers = Array.from(
      { length: count },
      (_, i) => new Ticker({ name: `rms-ticker-${i}`, priority, intervalMs }),
    );
    this.#calls = this.tickers.map(() => 0);
    this.#cost = this.tickers.map(() => 0);
  }

  /**
   * Picks a ticker for a new call of the given expected cost (any unit, the
   * same for every call; default 1: all calls alike) and counts it there.
   */
  acquire(cost = 1): Ticker {
    if (!(cost >= 0) || !Number.isFinite(cost)) throw new RangeError(`Expected a cost >= 0 but received ${cost}`);
    let best = 0;
    for (let i = 1; i < this.tickers.length; i++) {
      const d = this.#cost[i] - this.#cost[best];
      if (d < 0) best = i;
      else if (d === 0) {
        const fewer = this.#calls[i] < this.#calls[best];
        const tie =
          this.#calls[i] === this.#calls[best] && this.tickers[i].stats().load < this.tickers[best].stats().load;
        if (fewer || tie) best = i;
      }
    }
    this.#calls[best]++;
    this.#cost[best] += cost;
    return this.tickers[best];
  }

  /** A call placed with acquire(cost) has ended: give the same cost back. */
  release(t: Ticker, cost = 1): void {
    const i = this.tickers.indexOf(t);
    if (i < 0 || this.#calls[i] === 0) return;
    this.#calls[i]--;
    // float sums may drift: an empty ticker is exactly idle
    this.#cost[i] = this.#calls[i] === 0 ? 0 : Math.max(0, this.#cost[i] - cost);
  }

  /** A call on `t` changed codecs (re-INVITE): its expected cost changes too. */
  reweigh(t: Ticker, from: number, to: number): void {
    const i = this.tickers.indexOf(t);
    if (i >= 0 && this.#calls[i] > 0) this.#cost[i] = Math.max(0, this.#cost[i] - from + to);
  }

  callsPerTicker(): number[] {
    return [...this.#calls];
  }

  /** Sum of the expected costs of the calls on each ticker. */
  costPerTicker(): number[] {
    return [...this.#cost];
  }

  close(): void {
    for (const t of this.tickers) t.close();
  }
}
