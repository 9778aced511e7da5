import type { Ticker } from '../graph/Ticker';
import type { CodecInfo } from '../codecs/table';
import { callCost } from './negotiation';
import type { TickerPool } from './TickerPool';

/**
 * A call's place on a ticker: taken at the offer with the cost of a relayed
 * call, weighed again whenever its codecs or its bridge change, given back
 * at the end.
 */
export class Placement {
  readonly ticker: Ticker;
  readonly #pool: TickerPool;
  #cost = callCost(null, null, true);
  #released = false;

  constructor(pool: TickerPool) {
    this.#pool = pool;
    this.ticker = pool.acquire(this.#cost);
  }

  /** The call now runs `a` bridged with `b` (relayed or not), or `a` alone (`bridged` false). */
  weigh(a: CodecInfo | null, b: CodecInfo | null, bridged: boolean, relay: boolean): void {
    const cost = bridged ? callCost(a, b, relay) : callCost(a, null, false) / 2;
    if (cost === this.#cost || this.#released) return;
    this.#pool.reweigh(this.ticker, this.#cost, cost);
    this.#cost = cost;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#pool.release(this.ticker, this.#cost);
  }
}
