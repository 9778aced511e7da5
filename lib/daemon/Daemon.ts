/**
 * `rtp-media-server serve`: a MediaServer driven over the ng control
 * protocol, with a Prometheus endpoint and an optional RFC 6035 collector.
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
import { CollectorClient } from './collector';
import type { DaemonConfig } from './config';
import { silentLogger, type Logger } from './log';
import { DaemonMetrics, serveMetrics } from './metrics';
import { NgServer } from './NgServer';

export interface DaemonAddresses {
  udp?: AddressInfo;
  tcp?: AddressInfo;
  metrics?: AddressInfo;
}

export interface ShutdownResult {
  /** Calls that ended by themselves while draining. */
  ended: number;
  /** Calls still up at the deadline, closed by us. */
  closed: number;
  waitedMs: number;
}

export class Daemon {
  readonly config: DaemonConfig;
  readonly media: MediaServer;
  readonly calls: CallControl;
  readonly ng: NgServer;
  readonly metrics: DaemonMetrics;
  readonly #log: Logger;
  #http?: http.Server;
  #collector?: CollectorClient;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  #shutdown?: Promise<ShutdownResult>;

  private constructor(config: DaemonConfig, log: Logger) {
    this.config = config;
    this.#log = log;
    const q = config.quality;
    // checked before anything holds threads or sockets
    const roots = config.mediaRoots.length ? new MediaRoots(config.mediaRoots) : undefined;
    this.media = new MediaServer({
      address: config.media.address,
      advertisedAddress: config.media.advertisedAddress,
      address6: config.media.address6,
      advertisedAddress6: config.media.advertisedAddress6,
      ports: config.media.ports,
      tickers: config.tickers,
      tickIntervalMs: config.tickMs,
      codecs: config.transcodeCodecs.length ? config.transcodeCodecs : undefined,
      transcode: config.transcodeCodecs.length > 0,
      quality: q.sampleMs > 0 ? { sampleMs: q.sampleMs, intervalMs: q.intervalSec * 1000 } : false,
      admission: {
        maxCalls: config.maxSessions || undefined,
        maxTickerLoad: config.maxTickerLoad || undefined,
        maxCpu: config.maxCpu || undefined,
      },
      mediaRoots: roots,
    });
    this.media.on('error', (err) => log.warn(`media: ${String((err as Error)?.message ?? err)}`));
    this.calls = new CallControl({
      media: this.media,
      mediaRoots: roots,
      mediaTimeoutSec: config.mediaTimeoutSec,
      offerTimeoutSec: config.offerTimeoutSec,
      log,
    });
    this.calls.on('error', (err) => log.warn(`calls: ${String((err as Error)?.message ?? err)}`));
    this.ng = new NgServer({
      udp: config.control.udp,
      tcp: config.control.tcp,
      allow: config.control.allow,
      handler: (req) => this.calls.handle(req),
      log,
    });
    this.metrics = new DaemonMetrics(this.media, this.calls, this.ng);
    this.calls.on('callEnd', (end) => {
      this.metrics.callEnded(end);
      if (end.summary.reports) for (const r of [end.summary.reports.a, end.summary.reports.b]) if (r) this.#publish(r);
    });
    this.media.on('session', (s) => {
      s.on('alert', (r) => this.#publish(r));
      s.on('interval', (r) => this.#publish(r));
    });
  }

  /** Builds everything and binds every socket; on any failure, releases what was bound and throws. */
  static async start(config: DaemonConfig, opts: { log?: Logger } = {}): Promise<Daemon> {
    const log = opts.log ?? silentLogger;
    const d = new Daemon(config, log);
    try {
      const q = config.quality;
      if (q.collector && q.collectorAddress)
        d.#collector = await CollectorClient.create({
          uri: q.collector,
          address: q.collectorAddress,
          localAddress: config.media.address,
          log,
        });
      await d.ng.listen();
      if (config.metrics) d.#http = await serveMetrics(config.metrics, () => d.metrics.render(), log);
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

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
      this.#log.info(`shutting down: ${before} call(s) in progress, waiting up to ${Math.round(timeoutMs / 1000)} s`);
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
    try {
      this.calls.closeAll();
    } catch (err) {
      this.#log.error(`closing calls: ${(err as Error).message}`);
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
