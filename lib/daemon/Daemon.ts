/**
 * `rtp-media-server serve`: a MediaServer driven over the ng control
 * protocol, with a Prometheus endpoint (and /health, /ready) and an optional
 * RFC 6035 collector. Start fails when media.address cannot be bound (every
 * offer would fail); media.address6 that cannot be bound only makes /health
 * report unhealthy, as calls of the other family still work.
 * shutdown() is the SIGTERM path: new calls are refused with `load limit`
 * (Kamailio then uses its other nodes), calls in progress may end by
 * themselves for up to drainTimeoutSec, then whatever is left is closed
 * (its CallTerm reports still go out) and every socket is released.
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MediaRoots } from '../media/mediaRoots';
import type { VqReport } from '../quality/vqreport';
import { MediaServer } from '../session/MediaServer';
import { CallControl } from './calls';
import type { CollectorClient } from './collector';
import type { BDict } from '../control/bencode';
import { InvalidArgumentError } from '../errors';
import type { NgRequest } from '../control/ng';
import type { DaemonConfig } from './config';
import type { RedisTarget } from './redisTarget';
import { ConfigError } from './config';
import { HealthCheck, probeBind } from './health';

import { childLogger, silentLogger, type Logger } from '../util/logger';
import type { DaemonMetrics } from './metrics';
import { NgServer } from './NgServer';
import { restoreCalls, storedCall } from './persist';
import type { RedisCallStore } from './store';
import { readStoredCalls } from './storeRead';

/** The commands that change a call (what Redis keeps of it follows them). */
const CHANGES = new Set<string>([
  'offer',
  'answer',
  'delete',
  'block DTMF',
  'unblock DTMF',
  'block media',
  'unblock media',
  'silence media',
  'unsilence media',
  'start recording',
  'stop recording',
]);

/** Where the daemon listens (after start, with the ports picked for port 0). */
export interface DaemonAddresses {
  /** ng over UDP. */
  udp?: AddressInfo;
  /** ng over TCP. */
  tcp?: AddressInfo;
  /** HTTP: /metrics, /health, /ready. */
  metrics?: AddressInfo;
}

/** What a graceful shutdown did. */
export interface ShutdownResult {
  /** Calls that ended by themselves while draining. */
  ended: number;
  /** Calls still up at the deadline, closed by us. */
  closed: number;
  /** How long the drain took. */
  waitedMs: number;
}

/** The daemon in-process: start() it, shutdown() or close() it. */
export class Daemon {
  /** The configuration it runs with. */
  readonly config: DaemonConfig;
  /** The media server the calls run on. */
  readonly media: MediaServer;
  /** The calls, by Call-ID, as the ng commands see them. */
  readonly calls: CallControl;
  /** The ng control protocol server. */
  readonly ng: NgServer;
  #metrics?: DaemonMetrics;
  /** What /health and /ready answer. */
  readonly health: HealthCheck;
  readonly #log: Logger;
  #http?: http.Server;
  #collector?: CollectorClient;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  #shutdown?: Promise<ShutdownResult>;
  #store?: RedisCallStore;
  readonly #roots?: MediaRoots;
  /** Calls brought back from Redis at start. */
  restored = 0;

  private constructor(config: DaemonConfig, log: Logger) {
    this.config = config;
    this.#log = log;
    const q = config.quality;
    // checked before anything holds threads or sockets
    const roots = config.mediaRoots.length ? new MediaRoots(config.mediaRoots) : undefined;
    this.#roots = roots;
    this.media = new MediaServer({
      address: config.media.address,
      advertisedAddress: config.media.advertisedAddress,
      address6: config.media.address6,
      advertisedAddress6: config.media.advertisedAddress6,
      ports: config.media.ports,
      tickers: config.tickers,
      tickIntervalMs: config.tickMs,
      logger: childLogger(log, { component: 'media' }),
      codecs: config.transcodeCodecs.length ? config.transcodeCodecs : undefined,
      transcode: config.transcodeCodecs.length > 0,
      quality: q.sampleMs > 0 ? { sampleMs: q.sampleMs, intervalMs: q.intervalSec * 1000 } : false,
      admission: {
        maxCalls: config.maxSessions || undefined,
        maxTickerLoad: config.maxTickerLoad || undefined,
        maxCpu: config.maxCpu || undefined,
      },
      mediaRoots: roots,
      latch: config.latch,
      codec2Mode: config.codec2Mode,
    });
    this.media.on('error', (err) => log.warn({ err }, `media: ${String((err as Error)?.message ?? err)}`));
    this.calls = new CallControl({
      media: this.media,
      mediaRoots: roots,
      mediaTimeoutSec: config.mediaTimeoutSec,
      offerTimeoutSec: config.offerTimeoutSec,
      log,
    });
    this.calls.on('error', (err) => log.warn({ err }, `calls: ${String((err as Error)?.message ?? err)}`));
    this.ng = new NgServer({
      udp: config.control.udp,
      tcp: config.control.tcp,
      allow: config.control.allow,
      handler: (req) => this.#handle(req),
      log,
    });
    this.calls.statistics.control = this.ng.control;
    this.health = new HealthCheck(config, this.media, this.calls);
    this.calls.on('callEnd', (end) => {
      this.#store?.changed(end.callId);
      this.#metrics?.callEnded(end);
      if (end.summary.reports) for (const r of [end.summary.reports.a, end.summary.reports.b]) if (r) this.#publish(r);
    });
    this.media.on('session', (s) => {
      s.on('alert', (r) => this.#publish(r));
      s.on('interval', (r) => this.#publish(r));
    });
  }

  /** What /metrics renders. */
  get metrics(): DaemonMetrics {
    return this.#metrics!;
  }

  /**
   * Builds everything and binds every socket; on any failure, releases what
   * was bound and throws. Calls kept in Redis come back first: their media
   * runs again before the modules only the control side needs (metrics,
   * HTTP, the collector) are even loaded.
   */
  static async start(config: DaemonConfig, opts: { log?: Logger } = {}): Promise<Daemon> {
    const log = opts.log ?? silentLogger;
    // a media address that is not this machine's makes every offer fail "Cannot bind": refuse to start
    const bindError = await probeBind(config.media.address);
    if (bindError)
      throw new ConfigError(
        `media.address ${config.media.address} cannot be bound (${bindError}): it must be an address of this machine`,
      );
    const d = new Daemon(config, log);
    try {
      if (config.redis) await d.#restore(config.redis, config.redisPrefix);
      for (const m of await d.health.mediaState())
        if (!m.bindable)
          log.error(
            { key: m.key, address: m.address, error: m.error },
            `${m.key} ${m.address} cannot be bound (${m.error}): its calls will fail; /health reports unhealthy`,
          );
      const q = config.quality;
      if (q.collector && q.collectorAddress)
        d.#collector = await (require('./collector') as typeof import('./collector')).CollectorClient.create({
          uri: q.collector,
          address: q.collectorAddress,
          localAddress: config.media.address,
          log,
        });
      const { DaemonMetrics } = require('./metrics') as typeof import('./metrics');
      d.#metrics = new DaemonMetrics(d.media, d.calls, d.ng);
      await d.ng.listen();
      if (config.metrics)
        d.#http = await (require('./http') as typeof import('./http')).serveMetrics(
          config.metrics,
          { metrics: () => d.metrics.render(), contentType: d.metrics.contentType, health: () => d.health.report() },
          log,
        );
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  /**
   * Brings back the calls Redis keeps, before the control socket takes
   * commands; then connects the client that writes (its writes wait for it
   * without holding any command).
   */
  async #restore(target: RedisTarget, prefix: string): Promise<void> {
    const log = childLogger(this.#log, { component: 'redis' });
    const t0 = performance.now();
    let texts: string[] = [];
    try {
      texts = await readStoredCalls(target, prefix);
    } catch (err) {
      log.error({ err }, `redis: cannot read the calls (${(err as Error).message}); none restored`);
    }
    const t1 = performance.now();
    const records: unknown[] = [];
    for (const t of texts)
      try {
        records.push(JSON.parse(t));
      } catch {
        log.warn('redis: a stored call is not JSON; left out');
      }
    const { entries, failed } = restoreCalls(this.media, records, this.#roots, log);
    for (const e of entries) this.calls.adopt(e);
    const t2 = performance.now();
    const { RedisCallStore } = require('./store') as typeof import('./store');
    const store = new RedisCallStore(target, { prefix, log });
    this.#store = store;
    store.setSource((callId) => {
      const e = this.calls.entry(callId);
      return e ? JSON.stringify(storedCall(e)) : undefined;
    });
    void store.connect();
    for (const f of failed) {
      log.warn({ callId: f.callId, err: f.error }, `call ${f.callId ?? '?'} not restored: ${f.error.message}`);
      // a record this version cannot read goes; one that could not bind (a port held by someone else) stays
      if (f.callId !== undefined && f.error instanceof InvalidArgumentError) store.changed(f.callId);
    }
    this.restored = entries.length;
    if (records.length)
      log.info(
        { readMs: t1 - t0, restoreMs: t2 - t1, uptimeMs: t2 },
        `redis: ${entries.length} call(s) restored, ${failed.length} not (process up ${Math.round(t2)} ms)`,
      );
  }

  /** An ng command; what it changed goes to Redis once it is done. */
  #handle(req: NgRequest): BDict | Promise<BDict> {
    const out = this.calls.handle(req);
    const store = this.#store;
    if (!store || !('callId' in req) || !CHANGES.has(req.command)) return out;
    const callId = req.callId;
    if (out instanceof Promise) return out.finally(() => store.changed(callId));
    store.changed(callId);
    return out;
  }

  /** The bound addresses of the control and HTTP sockets. */
  addresses(): DaemonAddresses {
    return {
      ...this.ng.addresses(),
      metrics: this.#http ? (this.#http.address() as AddressInfo) : undefined,
    };
  }

  #publish(report: VqReport): void {
    if (!this.#collector) return;
    const p = this.#collector.publish(report).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /**
   * Graceful stop: refuse new calls, wait up to `timeoutMs` (default the
   * configured drain timeout) for calls to end, close the rest, release
   * everything. Idempotent: later calls get the same promise.
   */
  shutdown(timeoutMs = this.config.drainTimeoutSec * 1000): Promise<ShutdownResult> {
    this.#shutdown ??= (async () => {
      const start = Date.now();
      const before = this.calls.size;
      this.calls.drain();
      this.#log.info(
        { calls: before, timeoutMs },
        `shutting down: ${before} call(s) in progress, waiting up to ${Math.round(timeoutMs / 1000)} s`,
      );
      while (this.calls.size > 0 && Date.now() - start < timeoutMs && !this.#closed)
        await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, timeoutMs - (Date.now() - start)))));
      const left = this.calls.size;
      if (left) this.#log.info(`drain timeout: closing ${left} call(s)`);
      await this.close();
      return { ended: Math.max(0, before - left), closed: left, waitedMs: Date.now() - start };
    })();
    return this.#shutdown;
  }

  /** Closes every call and socket now (CallTerm reports still sent). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.calls.drain();
    this.calls.close();
    // the calls left are kept in Redis: the next start (or a standby) brings them back
    await this.#store?.close();
    try {
      this.calls.closeAll();
    } catch (err) {
      this.#log.error({ err }, `closing calls: ${(err as Error).message}`);
    }
    await Promise.race([Promise.all(this.#pending), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.ng.close();
    this.#collector?.close();
    if (this.#http) {
      const srv = this.#http;
      srv.closeAllConnections?.();
      await new Promise<void>((r) => srv.close(() => r()));
    }
    this.media.close();
    this.#log.info('closed');
  }
}
