import { InvalidArgumentError, InvalidStateError } from '../errors';
import { addon, type NativeTicker, type NativeTickerStats } from '../native';
import type { Filter } from './Filter';

export type TickerPriority = 'normal' | 'high' | 'realtime';

export interface TickerOptions {
  /** Thread name, shown in logs and `top -H`. Default 'rms-ticker'. */
  name?: string;
  /**
   * Thread priority. 'high' asks for SCHED_RR (falls back to nice -20 without
   * the capability); default 'normal'.
   */
  priority?: TickerPriority;
  /**
   * Tick interval in ms: 10 (ms2's default) or 20. Every tick runs every
   * graph once; at 20 ms a 20 ms-ptime stream has one packet per tick, so
   * the per-tick costs (polling each RTP socket, walking each graph) are
   * paid half as often, for up to 10 ms more latency. Default 10.
   */
  intervalMs?: 10 | 20;
}

export type TickerStats = NativeTickerStats;

const PRIORITIES: Record<TickerPriority, number> = { normal: 0, high: 1, realtime: 2 };

/**
 * An MSTicker: one thread that runs the attached graphs every 10 ms (or 20). While a
 * graph is attached the ticker keeps the Node event loop alive (unref() to opt
 * out), like a listening socket.
 */
export class Ticker {
  #native: NativeTicker | null;
  readonly name: string;

  constructor(opts: TickerOptions = {}) {
    this.name = opts.name ?? 'rms-ticker';
    const prio = PRIORITIES[opts.priority ?? 'normal'];
    if (prio === undefined) throw new InvalidArgumentError(`Unknown ticker priority ${String(opts.priority)}`);
    const interval = opts.intervalMs ?? 10;
    if (interval !== 10 && interval !== 20)
      throw new InvalidArgumentError(`Expected a tick interval of 10 or 20 ms but received ${String(opts.intervalMs)}`);
    this.#native = new (addon().Ticker)(this.name, prio, interval);
  }

  get closed(): boolean {
    return this.#native === null;
  }

  get #n(): NativeTicker {
    if (!this.#native) throw new InvalidStateError(`Ticker ${this.name} is closed`);
    return this.#native;
  }

  /**
   * Starts running the graph that `filter` belongs to. The graph must have a
   * source and every output pin 0 linked; throws GraphError otherwise.
   */
  attach(filter: Filter<any>): void {
    this.#n.attach(filter.native);
  }

  /** Stops running the graph that `filter` belongs to. */
  detach(filter: Filter<any>): void {
    this.#n.detach(filter.native);
  }

  stats(): TickerStats {
    return this.#n.stats();
  }

  /** Clears the late-tick counters (ticks and load are kept). */
  resetStats(): void {
    this.#n.resetStats();
  }

  /** Keep the event loop alive while graphs run (the default). */
  ref(): this {
    this.#n.ref();
    return this;
  }

  /** Let the process exit even while graphs run. */
  unref(): this {
    this.#n.unref();
    return this;
  }

  /** Detaches every graph and stops the thread. Idempotent. */
  close(): void {
    if (!this.#native) return;
    this.#native.close();
    this.#native = null;
  }
}
