/**
 * Sends RFC 6035 reports to a collector as SIP PUBLISH over UDP, each in a
 * non-INVITE client transaction of RFC 3261 17.1.2: retransmitted after
 * T1 (500 ms), doubling up to T2 (4 s) and every T2 once a provisional
 * response came, until a final response or Timer F (64 x T1) ends it. One
 * socket per publisher; responses are matched by Via branch.
 */
import * as dgram from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../errors';
import { buildVqPublish, type VqPublishOptions } from './publish';
import type { VqReport } from './vqreport';

export const SIP_T1_MS = 500;
export const SIP_T2_MS = 4000;

export interface VqPublisherOptions {
  /** The collector's SIP URI (Request-URI and To). */
  collectorUri: string;
  /** Where the datagrams go. */
  collector: { host: string; port: number };
  /** Our address: the socket binds it (port 0: any), Via and Contact name it. */
  localAddress: string;
  localPort?: number;
  /** From URI, default sip:rtp-media-server@localAddress. */
  fromUri?: string;
  userAgent?: string;
  /** Override T1 / T2 (tests). */
  t1Ms?: number;
  t2Ms?: number;
}

export interface PublishOutcome {
  /** Final status, or 408 when Timer F fired (RFC 3261 17.1.2.2). */
  status: number;
  reason?: string;
  /** How many times the request was sent (1 = no retransmission). */
  transmissions: number;
  /** Gaps between transmissions, ms (for the T1/T2 schedule). */
  intervalsMs: number[];
}

interface Pending {
  text: string;
  sentAt: number[];
  timer?: NodeJS.Timeout;
  timerF?: NodeJS.Timeout;
  interval: number;
  provisional: boolean;
  done: (o: PublishOutcome) => void;
}

export class VqPublisher {
  readonly #socket: dgram.Socket;
  readonly #o: VqPublisherOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #t1: number;
  readonly #t2: number;
  #cseq = 1;
  #closed = false;
  sent = 0;
  retransmissions = 0;
  responses = 0;
  timeouts = 0;

  private constructor(socket: dgram.Socket, o: VqPublisherOptions) {
    this.#socket = socket;
    this.#o = o;
    this.#t1 = o.t1Ms ?? SIP_T1_MS;
    this.#t2 = o.t2Ms ?? SIP_T2_MS;
    socket.on('message', (msg) => this.#onResponse(msg.toString('latin1')));
    socket.on('error', () => {
      /* a send error is seen as a retransmission that did not happen */
    });
  }

  static create(o: VqPublisherOptions): Promise<VqPublisher> {
    if (!o || typeof o.localAddress !== 'string' || isIP(o.localAddress) === 0)
      throw new InvalidArgumentError('VqPublisher: expected localAddress, an IP address');
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket(isIP(o.localAddress) === 6 ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(o.localPort ?? 0, o.localAddress, () => {
        s.off('error', reject);
        s.unref();
        resolve(new VqPublisher(s, o));
      });
    });
  }

  get port(): number {
    return (this.#socket.address() as AddressInfo).port;
  }

  /** Sends one report; resolves with the transaction's outcome (never rejects). */
  publish(report: VqReport | string, extra: Partial<VqPublishOptions> = {}): Promise<PublishOutcome> {
    if (this.#closed)
      return Promise.resolve({ status: 503, reason: 'publisher closed', transmissions: 0, intervalsMs: [] });
    const host = this.#o.localAddress;
    const hostPart = isIP(host) === 6 ? `[${host}]` : host;
    let req: ReturnType<typeof buildVqPublish>;
    try {
      req = buildVqPublish(report, {
        collectorUri: this.#o.collectorUri,
        fromUri: this.#o.fromUri ?? `sip:rtp-media-server@${hostPart}`,
        viaHost: host,
        viaPort: this.port,
        cseq: this.#cseq++,
        userAgent: this.#o.userAgent,
        ...extra,
      });
    } catch (err) {
      return Promise.resolve({ status: 400, reason: (err as Error).message, transmissions: 0, intervalsMs: [] });
    }
    return new Promise((resolve) => {
      const p: Pending = {
        text: req.text,
        sentAt: [],
        interval: this.#t1,
        provisional: false,
        done: (o) => {
          clearTimeout(p.timer);
          clearTimeout(p.timerF);
          this.#pending.delete(req.branch);
          resolve(o);
        },
      };
      this.#pending.set(req.branch, p);
      p.timerF = setTimeout(() => {
        this.timeouts++;
        p.done({ status: 408, reason: 'Timer F', transmissions: p.sentAt.length, intervalsMs: gaps(p.sentAt) });
      }, 64 * this.#t1);
      this.#send(p);
      this.sent++;
    });
  }

  #send(p: Pending): void {
    p.sentAt.push(Date.now());
    this.#socket.send(p.text, this.#o.collector.port, this.#o.collector.host);
    // Timer E: T1, doubling, never above T2; every T2 once proceeding
    const wait = p.provisional ? this.#t2 : p.interval;
    p.interval = Math.min(p.interval * 2, this.#t2);
    p.timer = setTimeout(() => {
      this.retransmissions++;
      this.#send(p);
    }, wait);
  }

  #onResponse(text: string): void {
    const status = /^SIP\/2\.0 (\d{3})(?: ([^\r\n]*))?/.exec(text);
    const branch = /^Via:[^\r\n]*;branch=([^;\s\r\n]+)/im.exec(text);
    if (!status || !branch) return;
    const p = this.#pending.get(branch[1]);
    if (!p) return;
    this.responses++;
    const code = Number(status[1]);
    if (code < 200) {
      p.provisional = true;
      return;
    }
    p.done({ status: code, reason: status[2], transmissions: p.sentAt.length, intervalsMs: gaps(p.sentAt) });
  }

  close(): void {
    this.#closed = true;
    for (const p of [...this.#pending.values()])
      p.done({ status: 503, reason: 'publisher closed', transmissions: p.sentAt.length, intervalsMs: gaps(p.sentAt) });
    try {
      this.#socket.close();
    } catch {
      /* closed */
    }
  }
}

function gaps(at: number[]): number[] {
  return at.slice(1).map((t, i) => t - at[i]);
}
