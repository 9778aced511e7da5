/**
 * Where the daemon keeps its calls (--redis): one Redis string per call,
 * `<prefix>call:<Call-ID>`, holding its StoredCall as JSON.
 *
 * A command never waits for Redis: changed(callId) writes the call's state
 * as it is when the write goes out, and a slow or absent Redis slows no call.
 * Nothing queues without bound either: while Redis is unreachable, only the
 * Call-IDs that changed are remembered (one entry per call, the calls
 * themselves are bounded), and once it is back each is written again from
 * its state then - or deleted, when the call ended meanwhile.
 */
import { Redis } from 'ioredis';
import type { RedisTarget } from './redisTarget';
import type { Logger } from '../util/logger';

/** Where a call's stored JSON comes from: undefined when the call is gone (its key is deleted). */
export type CurrentRecord = (callId: string) => string | undefined;

export class RedisCallStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #log: Logger;
  #current: CurrentRecord = () => undefined;
  /** Call-IDs to write again once Redis answers. */
  readonly #dirty = new Set<string>();
  /** Writes sent and not answered (for close() and tests). */
  #inFlight = 0;
  #closed = false;

  constructor(target: RedisTarget, opts: { prefix?: string; log: Logger }) {
    this.#prefix = `${opts.prefix ?? 'rms:'}call:`;
    this.#log = opts.log;
    this.#redis = new Redis({
      host: target.host,
      port: target.port,
      db: target.db,
      password: target.password,
      lazyConnect: true,
      connectTimeout: 1000,
      // a command while disconnected fails at once (its call is marked dirty) instead of queueing
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (n) => Math.min(100 * n, 2000),
    });
    this.#redis.on('ready', () => this.#flush());
    this.#redis.on('error', (err) => this.#log.debug({ err }, `redis: ${err.message}`));
  }

  /** Connects; false (logged) when Redis does not answer within timeoutMs - the daemon then starts with no calls, and writes once it is back. */
  async connect(timeoutMs = 2000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#redis.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return true;
    } catch (err) {
      this.#log.error(
        { err },
        `redis: cannot connect (${(err as Error).message}); calls are not restored, kept once it is back`,
      );
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every stored call, parsed; a value that is not JSON is logged and left out. */
  async loadAll(): Promise<unknown[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const out: unknown[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const values = await this.#redis.mget(...keys.slice(i, i + 500));
      values.forEach((v, j) => {
        if (v === null) return;
        try {
          out.push(JSON.parse(v));
        } catch {
          this.#log.warn({ key: keys[i + j] }, 'redis: a stored call is not JSON; left out');
        }
      });
    }
    return out;
  }

  /** Where changed() reads a call's record from. */
  setSource(current: CurrentRecord): void {
    this.#current = current;
  }

  /** The call changed (or ended): its key follows, now or once Redis is back. */
  changed(callId: string): void {
    if (this.#closed) return;
    if (this.#redis.status !== 'ready') {
      this.#dirty.add(callId);
      return;
    }
    this.#write(callId);
  }

  #write(callId: string): void {
    let value: string | undefined;
    try {
      value = this.#current(callId);
    } catch (err) {
      // a call that cannot be kept (a secured leg): its old state must not come back either
      this.#log.warn({ callId, err }, `redis: call ${callId} not kept: ${(err as Error).message}`);
      value = undefined;
    }
    const key = this.#prefix + callId;
    this.#inFlight++;
    const p = value === undefined ? this.#redis.del(key) : this.#redis.set(key, value);
    p.then(
      () => this.#inFlight--,
      (err: Error) => {
        this.#inFlight--;
        this.#dirty.add(callId);
        this.#log.debug({ callId, err }, `redis: write of ${callId} failed, retried when Redis is back`);
      },
    );
  }

  #flush(): void {
    const ids = [...this.#dirty];
    this.#dirty.clear();
    if (ids.length) this.#log.info(`redis: back; writing ${ids.length} call(s) that changed meanwhile`);
    for (const id of ids) this.#write(id);
  }

  /** Calls waiting for Redis to come back. */
  get pending(): number {
    return this.#dirty.size;
  }

  /** Resolves once every write sent so far is answered (or after timeoutMs). */
  async settled(timeoutMs = 1000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.#inFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  }

  /** Stops writing (what is stored stays: the next start restores it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.settled();
    this.#redis.disconnect();
  }
}
