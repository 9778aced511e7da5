/**
 * What the daemon's /health and /ready report: whether it drains, whether
 * each media address can be bound (a media address that is not local makes
 * every offer fail "Cannot bind"), and whether admission control would take
 * a new call now. /health is 503 only when the daemon is broken (a media
 * address cannot be bound): restarting it may help. /ready is 503 as well
 * while it drains or refuses new calls: a balancer should send calls
 * elsewhere, not restart it.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { MediaServer } from '../session/MediaServer';
import type { CallControl } from './calls';
import type { DaemonConfig } from './config';

/** One media address and whether a UDP socket can be bound on it now. */
export interface MediaAddressState {
  /** Config key: media.address or media.address6. */
  key: string;
  /** The address. */
  address: string;
  /** Whether a socket bound on it (port 0) just now. */
  bindable: boolean;
  /** The bind error (e.g. "EADDRNOTAVAIL"), when not bindable. */
  error?: string;
}

/** The JSON body of /health and /ready. */
export interface HealthReport {
  /** ok: taking calls; draining; refusing (admission control); unhealthy (a media address cannot be bound). */
  status: 'ok' | 'draining' | 'refusing' | 'unhealthy';
  /** Every media address can be bound (/health answers 200). */
  healthy: boolean;
  /** Healthy, not draining and admitting calls (/ready answers 200). */
  ready: boolean;
  /** Shutting down: new calls get load limit. */
  draining: boolean;
  /** Each media address. */
  media: MediaAddressState[];
  /** Whether a new call would be admitted now, and if not why. */
  admission: { open: boolean; reason?: string };
  /** Calls in progress. */
  calls: number;
}

/** Binds a UDP socket on `address`, port 0, and closes it: undefined if that works, else the error code. */
export function probeBind(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.close();
      resolve(err.code ?? err.message);
    });
    s.bind(0, address, () => {
      s.close();
      resolve(undefined);
    });
  });
}

/** The media addresses of a configuration, with their keys. */
export function mediaAddresses(config: DaemonConfig): { key: string; address: string }[] {
  const out = [{ key: 'media.address', address: config.media.address }];
  if (config.media.address6) out.push({ key: 'media.address6', address: config.media.address6 });
  return out;
}

/** Answers /health and /ready for a daemon. */
export class HealthCheck {
  readonly #config: DaemonConfig;
  readonly #media: MediaServer;
  readonly #calls: CallControl;
  #probe?: { at: number; result: Promise<MediaAddressState[]> };

  constructor(config: DaemonConfig, media: MediaServer, calls: CallControl) {
    this.#config = config;
    this.#media = media;
    this.#calls = calls;
  }

  /** Probes every media address (at most once a second, so a scrape storm binds few sockets). */
  mediaState(): Promise<MediaAddressState[]> {
    const now = Date.now();
    if (!this.#probe || now - this.#probe.at >= 1000)
      this.#probe = {
        at: now,
        result: Promise.all(
          mediaAddresses(this.#config).map(async ({ key, address }) => {
            const error = await probeBind(address);
            return error ? { key, address, bindable: false, error } : { key, address, bindable: true };
          }),
        ),
      };
    return this.#probe.result;
  }

  /** Whether admission control would refuse a new call now, and why (the same limits as CallControl and MediaServer). */
  admission(): { open: boolean; reason?: string } {
    const c = this.#config;
    if (c.maxSessions > 0 && this.#calls.size >= c.maxSessions)
      return { open: false, reason: `${this.#calls.size} calls, the configured maximum` };
    const l = this.#media.load();
    if (c.maxTickerLoad > 0 && l.tickerLoad > c.maxTickerLoad)
      return { open: false, reason: `ticker load ${l.tickerLoad.toFixed(0)} % is above ${c.maxTickerLoad} %` };
    if (c.maxCpu > 0 && l.cpu > c.maxCpu)
      return { open: false, reason: `CPU ${l.cpu.toFixed(0)} % is above ${c.maxCpu} %` };
    if (l.freePorts < 2) return { open: false, reason: `${l.freePorts} free port pairs` };
    return { open: true };
  }

  /** The report /health and /ready send. */
  async report(): Promise<HealthReport> {
    const media = await this.mediaState();
    const draining = this.#calls.draining;
    const admission = this.admission();
    const healthy = media.every((m) => m.bindable);
    const status = !healthy ? 'unhealthy' : draining ? 'draining' : admission.open ? 'ok' : 'refusing';
    return {
      status,
      healthy,
      ready: status === 'ok',
      draining,
      media,
      admission,
      calls: this.#calls.size,
    };
  }
}
