/**
 * The native libraries' own log lines (mediastreamer2, oRTP, bctoolbox).
 * Without a sink they go to stderr in the libraries' format. routeNativeLog()
 * sends them to a Logger instead: the addon hands them from whatever thread
 * logged to the main thread through a bounded channel (native/channel.h, 256
 * lines; past it lines are dropped and counted, never queued without end);
 * here their levels are mapped and repeats of one line (oRTP's "Connection
 * refused", 25 a second per stream whose peer is gone) are logged once per
 * window, then summarised.
 */
import { addon } from '../native';
import type { Logger, LogLevelName } from './logger';

/**
 * Log level of mediastreamer2/oRTP/bctoolbox: -1 fatal only, 0 errors (the
 * default; RMS_NATIVE_LOG sets it at load), 1 warnings, 2 messages, 3 debug.
 * Lines below it are never formatted, whatever the sink.
 */
export function setNativeLogLevel(level: -1 | 0 | 1 | 2 | 3): void {
  addon().setLogLevel(level);
}

/** bctoolbox level bits -> logger levels. */
const LEVELS: [number, LogLevelName][] = [
  [1 << 5, 'fatal'],
  [1 << 4, 'error'],
  [1 << 3, 'warn'],
  [1 << 2, 'info'],
  [1 << 1, 'trace'],
  [1, 'debug'],
];

export function nativeLevelName(bit: number): LogLevelName {
  return LEVELS.find(([b]) => bit & b)?.[1] ?? 'info';
}

export interface NativeLogOptions {
  /** A line repeated within this window is logged once, then its count at the end (default 10000 ms). */
  repeatWindowMs?: number;
  /** Distinct lines tracked for repeats at most (default 1000); past it the oldest is summarised early. */
  maxTracked?: number;
}

interface Tracked {
  level: LogLevelName;
  domain: string;
  message: string;
  until: number;
  repeats: number;
}

/** One route of native lines into a logger; close() sends them back to stderr. */
export class NativeLogRoute {
  readonly #log: Logger;
  readonly #window: number;
  readonly #max: number;
  readonly #tracked = new Map<string, Tracked>();
  #timer?: NodeJS.Timeout;
  #closed = false;
  /** Lines the addon dropped because its queue was full. */
  dropped = 0;

  constructor(log: Logger, opts: NativeLogOptions = {}) {
    this.#log = log;
    this.#window = opts.repeatWindowMs ?? 10_000;
    this.#max = opts.maxTracked ?? 1000;
  }

  /** Takes one batch from the addon (public for the addon's callback only). */
  deliver(records: [number, string, string, number][], dropped: number, now = Date.now()): void {
    if (this.#closed) return;
    for (const [bit, domain, message, count] of records) this.#line(nativeLevelName(bit), domain, message, count, now);
    if (dropped > 0) {
      this.dropped += dropped;
      this.#log.warn({ native: true, dropped }, `native log: ${dropped} line(s) dropped (queue full)`);
    }
  }

  #line(level: LogLevelName, domain: string, message: string, count: number, now: number): void {
    // numbers and pointers differ between streams (ports, sockets, sessions) and between repeats (packets)
    const key = `${level}\0${domain}\0${message.replace(/0x[0-9a-f]+|\d+/gi, '#')}`;
    const t = this.#tracked.get(key);
    if (t && now < t.until) {
      t.repeats += count;
      return;
    }
    if (t) this.#summarise(key, t);
    this.#emit(level, { native: true, domain }, message);
    if (count > 1)
      this.#emit(
        level,
        { native: true, domain, repeats: count - 1 },
        `${message} (repeated ${count - 1} more time(s))`,
      );
    if (this.#tracked.size >= this.#max) {
      const [oldKey, old] = this.#tracked.entries().next().value as [string, Tracked];
      this.#summarise(oldKey, old);
    }
    this.#tracked.set(key, { level, domain, message, until: now + this.#window, repeats: 0 });
    this.#arm();
  }

  #summarise(key: string, t: Tracked): void {
    this.#tracked.delete(key);
    if (t.repeats > 0)
      this.#emit(
        t.level,
        { native: true, domain: t.domain, repeats: t.repeats },
        `${t.message} (repeated ${t.repeats} time(s) in ${Math.round(this.#window / 1000)} s)`,
      );
  }

  /** Summarises the repeats of every window that has ended. */
  flush(now = Date.now(), all = false): void {
    for (const [k, t] of [...this.#tracked]) if (all || now >= t.until) this.#summarise(k, t);
    if (this.#tracked.size) this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#window).unref();
  }

  #emit(level: LogLevelName, fields: object, msg: string): void {
    const fn = this.#log[level] ?? (level === 'fatal' ? this.#log.error : this.#log.debug);
    fn.call(this.#log, fields, msg);
  }

  /** Stops routing (lines go back to stderr) and summarises what is pending. */
  close(): void {
    if (this.#closed) return;
    this.flush(Date.now(), true);
    this.#closed = true;
    clearTimeout(this.#timer);
    if (current === this) {
      current = undefined;
      addon().setLogSink(null);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
}

let current: NativeLogRoute | undefined;

/**
 * Sends the native libraries' log lines to `log` (process-wide: the last
 * route set wins). Returns the route; close() it to go back to stderr.
 */
export function routeNativeLog(log: Logger, opts: NativeLogOptions = {}): NativeLogRoute {
  const route = new NativeLogRoute(log, opts);
  const prev = current;
  current = route;
  addon().setLogSink((records, dropped) => route.deliver(records, dropped));
  if (prev) prev.close();
  return route;
}
