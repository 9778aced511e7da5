/**
 * Sends RFC 6035 reports to a collector as SIP PUBLISH requests over UDP, from
 * one socket on the media address, each in an RFC 3261 non-INVITE client
 * transaction (lib/quality/publisher.ts: retransmitted from T1 doubling up to
 * T2, until a final response or Timer F). A report that ends without a 2xx is
 * logged, never queued again: a report is not call state.
 */
import { isIP } from 'node:net';
import { VqPublisher } from '../quality/publisher';
import type { VqReport } from '../quality/vqreport';
import type { HostPort } from './config';
import { silentLogger, type Logger } from './log';

export interface CollectorOptions {
  /** The collector's SIP URI (Request-URI and To). */
  uri: string;
  /** Where the datagrams go. */
  address: HostPort;
  /** Our address: the socket binds it, Via and From name it. */
  localAddress: string;
  log?: Logger;
}

/** One UDP socket sending RFC 6035 PUBLISH requests to one collector. */
export class CollectorClient {
  readonly #pub: VqPublisher;
  readonly #log: Logger;
  /** PUBLISH requests sent (each a transaction). */
  sent = 0;
  /** Reports that could not be built, or whose transaction ended without a 2xx. */
  failed = 0;
  /** Final SIP responses received. */
  responses = 0;

  private constructor(pub: VqPublisher, opts: CollectorOptions) {
    this.#pub = pub;
    this.#log = opts.log ?? silentLogger;
  }

  static async create(opts: CollectorOptions): Promise<CollectorClient> {
    const host = opts.localAddress;
    const pub = await VqPublisher.create({
      collectorUri: opts.uri,
      collector: opts.address,
      localAddress: host,
      fromUri: `sip:rtp-media-server@${isIP(host) === 6 ? `[${host}]` : host}`,
      userAgent: 'rtp-media-server',
    });
    return new CollectorClient(pub, opts);
  }

  /** Sends one report; resolves when its transaction ended (never rejects). */
  async publish(report: VqReport): Promise<void> {
    this.sent++;
    const o = await this.#pub.publish(report);
    if (o.status >= 200 && o.status < 300) {
      this.responses++;
      this.#log.debug(`collector: PUBLISH for ${report.callId}: ${o.status} after ${o.transmissions} transmission(s)`);
      return;
    }
    if (o.status !== 408 && o.status !== 503) this.responses++;
    this.failed++;
    this.#log.warn(`collector: PUBLISH for ${report.callId}: ${o.status} ${o.reason ?? ''}`);
  }

  /** Ends the transactions still running and closes the socket. */
  close(): void {
    this.#pub.close();
  }
}
