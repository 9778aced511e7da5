/**
 * Replies by cookie, for retransmissions. Kamailio resends a request with
 * the same cookie when no reply came within rtpengine_tout_ms (default 1 s),
 * up to rtpengine_retr times (default 5); rtpengine answers a known cookie
 * from its cache without running the command again, and makes a duplicate of
 * a request still being worked on wait for that one. reply() does the same:
 * the first call for a cookie runs `produce`; later ones get the very same
 * bytes, or the same pending promise. The body of a duplicate is not looked
 * at.
 *
 * Bounded in entries and in bytes: a peer sending fresh cookies with large
 * replies (10 000 offers echoing 60 KB of unknown flags took the daemon from
 * 81 to 735 MB) pushes out the oldest finished replies instead of growing
 * memory; expired replies are released by sweep() (the server calls it on a
 * timer, so they go even when no request comes).
 */
import { ControlProtocolError } from '../errors';

/** Size and lifetime of the reply cache. */
export interface ReplyCacheOptions {
  /** Most cookies remembered (oldest go first). Default 10000. */
  maxEntries?: number;
  /** Most reply bytes kept (oldest finished go first). Default 16 MiB. */
  maxBytes?: number;
  /** How long a finished reply is kept, from when it was made. Default 60 s (rtpengine keeps 30-60 s). */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface CacheEntry {
  promise: Promise<Buffer>;
  reply?: Buffer;
  doneAt?: number;
}

export class NgReplyCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #ttl: number;
  readonly #now: () => number;
  #bytes = 0;
  hits = 0;
  /** Finished replies pushed out by the entry or byte bound before they expired. */
  evicted = 0;

  constructor(opts: ReplyCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 10_000;
    this.#maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.#ttl = opts.ttlMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1)
      throw new ControlProtocolError('NgReplyCache: maxEntries must be a positive integer');
    if (!Number.isSafeInteger(this.#maxBytes) || this.#maxBytes < 1)
      throw new ControlProtocolError('NgReplyCache: maxBytes must be a positive integer');
    if (!Number.isFinite(this.#ttl) || this.#ttl < 0)
      throw new ControlProtocolError('NgReplyCache: ttlMs must be >= 0');
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of the finished replies kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The reply for `cookie`: `cached` is true when it was not produced by this
   * call. If `produce` throws or rejects, the cookie is forgotten and every
   * caller waiting on it gets that error.
   */
  async reply(cookie: string, produce: () => Buffer | Promise<Buffer>): Promise<{ reply: Buffer; cached: boolean }> {
    this.sweep();
    const hit = this.#entries.get(cookie);
    if (hit && !this.#expired(hit)) {
      this.hits++;
      return { reply: hit.reply ?? (await hit.promise), cached: true };
    }
    if (hit) this.#delete(cookie, hit);
    while (this.#entries.size >= this.#max) this.#evictOldest();
    const entry: CacheEntry = { promise: undefined as unknown as Promise<Buffer> };
    entry.promise = (async () => produce())().then(
      (reply) => {
        if (!Buffer.isBuffer(reply)) throw new ControlProtocolError('NgReplyCache: produce() must return a Buffer');
        // finished entries sit in finishing order, which the sweep relies on
        if (this.#entries.get(cookie) === entry) {
          this.#entries.delete(cookie);
          entry.reply = reply;
          entry.doneAt = this.#now();
          this.#entries.set(cookie, entry);
          this.#bytes += reply.length;
          while (this.#bytes > this.#maxBytes && this.#entries.size > 0) this.#evictOldest();
        }
        return reply;
      },
      (err) => {
        if (this.#entries.get(cookie) === entry) this.#entries.delete(cookie);
        throw err;
      },
    );
    this.#entries.set(cookie, entry);
    return { reply: await entry.promise, cached: false };
  }

  /** The finished reply for a cookie, if still kept. */
  peek(cookie: string): Buffer | undefined {
    const e = this.#entries.get(cookie);
    return e && !this.#expired(e) ? e.reply : undefined;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  /** Releases the expired replies. */
  sweep(): void {
    for (const [k, e] of this.#entries) {
      if (e.doneAt === undefined) continue; // still running
      if (!this.#expired(e)) break;
      this.#delete(k, e);
    }
  }

  #expired(e: CacheEntry): boolean {
    return e.doneAt !== undefined && this.#now() - e.doneAt >= this.#ttl;
  }

  #delete(k: string, e: CacheEntry): void {
    this.#entries.delete(k);
    if (e.reply) this.#bytes -= e.reply.length;
  }

  // The oldest entry (finished ones first: a running one has callers waiting).
  #evictOldest(): void {
    for (const [k, e] of this.#entries)
      if (e.doneAt !== undefined) {
        this.#delete(k, e);
        this.evicted++;
        return;
      }
    const first = this.#entries.keys().next().value as string;
    this.#entries.delete(first);
    this.evicted++;
  }
}
