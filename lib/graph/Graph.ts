import { InvalidStateError } from '../errors';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { Filter } from './Filter';
import type { Ticker } from './Ticker';

/**
 * Owns a set of filters and RTP endpoints that run together: attach() starts
 * the given source filters on a ticker, detach() stops them, and close()
 * detaches, frees the filters, then the endpoints. Use it for live edits:
 * `graph.edit(() => { a.unlink(b); a.link(c); })` detaches, runs the change,
 * and re-attaches, so no packet path is ever half-linked on a running ticker.
 */
export class Graph {
  readonly #filters: Filter<any>[] = [];
  readonly #endpoints: RtpEndpoint[] = [];
  #ticker: Ticker | null = null;
  #roots: Filter<any>[] = [];
  #closed = false;

  add<T extends Filter<any>>(f: T): T {
    this.#checkOpen();
    this.#filters.push(f);
    return f;
  }

  /** Closes `f` (unlinking it) and drops it from the graph; only while detached. */
  remove(f: Filter<any>): void {
    this.#checkOpen();
    if (this.#ticker) throw new InvalidStateError('Remove filters from a detached graph (use edit())');
    const i = this.#filters.indexOf(f);
    if (i < 0) throw new InvalidStateError(`${f.name} is not in this graph`);
    this.#filters.splice(i, 1);
    f.close();
  }

  /**
   * Drops `f` from the graph without closing it, for a filter that outlives
   * the graph (an audio fork's sink keeps what it buffered across rebuilds);
   * it must be unlinked already, and the graph detached.
   */
  release(f: Filter<any>): void {
    this.#checkOpen();
    if (this.#ticker) throw new InvalidStateError('Release filters from a detached graph');
    const i = this.#filters.indexOf(f);
    if (i < 0) return;
    if (!f.closed && f.links().length) throw new InvalidStateError(`${f.name} is still linked`);
    this.#filters.splice(i, 1);
  }

  addEndpoint(ep: RtpEndpoint): RtpEndpoint {
    this.#checkOpen();
    this.#endpoints.push(ep);
    return ep;
  }

  get filters(): readonly Filter<any>[] {
    return this.#filters;
  }

  get endpoints(): readonly RtpEndpoint[] {
    return this.#endpoints;
  }

  get running(): boolean {
    return this.#ticker !== null;
  }

  get ticker(): Ticker | null {
    return this.#ticker;
  }

  /**
   * One filter of `candidates` per connected part of the graph (in their
   * order): what attach() takes, when links (a recording or fork joining two
   * directions) may have made several candidates one part.
   */
  static distinctRoots(candidates: Filter<any>[]): Filter<any>[] {
    const seen = new Set<Filter<any>>();
    const out: Filter<any>[] = [];
    for (const c of candidates) {
      if (seen.has(c)) continue;
      out.push(c);
      const todo = [c];
      seen.add(c);
      while (todo.length) {
        for (const l of todo.pop()!.links())
          if (l.peer && !seen.has(l.peer)) {
            seen.add(l.peer);
            todo.push(l.peer);
          }
      }
    }
    return out;
  }

  /** Attaches the graphs of `roots` (one filter from each connected part) to `ticker`. */
  attach(ticker: Ticker, roots: Filter<any>[]): void {
    this.#checkOpen();
    if (this.#ticker) throw new InvalidStateError('Graph is already attached');
    const done: Filter<any>[] = [];
    try {
      for (const r of roots) {
        ticker.attach(r);
        done.push(r);
      }
    } catch (err) {
      for (const r of done) ticker.detach(r);
      throw err;
    }
    this.#ticker = ticker;
    this.#roots = [...roots];
  }

  detach(): void {
    if (!this.#ticker) return;
    const t = this.#ticker;
    this.#ticker = null;
    if (t.closed) return;
    for (const r of this.#roots) if (!r.closed && r.attached) t.detach(r);
  }

  /**
   * Runs `change` with the graph detached, then re-attaches to the same ticker
   * with `roots` (default: the previous ones).
   */
  edit(change: () => void, roots?: Filter<any>[]): void {
    const ticker = this.#ticker;
    const prevRoots = this.#roots;
    this.detach();
    try {
      change();
    } finally {
      if (ticker && !ticker.closed) this.attach(ticker, roots ?? prevRoots);
    }
  }

  /** Detaches, closes every filter, then every endpoint. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.detach();
    this.#closed = true;
    for (const f of this.#filters) f.close();
    for (const ep of this.#endpoints) ep.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('Graph is closed');
  }
}
