/**
 * Sends RFC 6035 reports to a collector as SIP PUBLISH requests over UDP, from
 * one socket on the media address. Fire and forget: a report that cannot be
 * sent is logged, never retried (RFC 3261 retransmission timers are not run;
 * on loopback or a LAN a lost PUBLISH is rare, and a report is not call state).
 * Responses are read and logged.
 */
import * as dgram from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';
import { buildVqPublish } from '../quality/publish';
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
  /** Where send failures and replies are logged. */
  log?: Logger;
}

/** One UDP socket sending RFC 6035 PUBLISH requests to one collector. */
export class CollectorClient {
  readonly #socket: dgram.Socket;
  readonly #opts: CollectorOptions;
  readonly #log: Logger;
  #cseq = 1;
  /** PUBLISH requests sent. */
  sent = 0;
  /** Reports that could not be built or sent. */
  failed = 0;
  /** SIP responses received. */
  responses = 0;

  private constructor(socket: dgram.Socket, opts: CollectorOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#log = opts.log ?? silentLogger;
    socket.on('message', (msg, rinfo) => {
      this.responses++;
      const line = msg.toString('latin1', 0, Math.min(msg.length, 200)).split('\r\n')[0];
      this.#log.debug(`collector ${rinfo.address}:${rinfo.port}: ${line}`);
    });
    socket.on('error', (err) => this.#log.warn(`collector socket: ${err.message}`));
  }

  /** Binds the socket on the local address. */
  static create(opts: CollectorOptions): Promise<CollectorClient> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket(isIP(opts.localAddress) === 6 ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(0, opts.localAddress, () => {
        s.off('error', reject);
        s.unref();
        resolve(new CollectorClient(s, opts));
      });
    });
  }

  /** Sends one report; resolves when the datagram left (never rejects). */
  publish(report: VqReport): Promise<void> {
    const port = (this.#socket.address() as AddressInfo).port;
    const host = this.#opts.localAddress;
    let text: string;
    try {
      text = buildVqPublish(report, {
        collectorUri: this.#opts.uri,
        fromUri: `sip:rtp-media-server@${isIP(host) === 6 ? `[${host}]` : host}`,
        viaHost: host,
        viaPort: port,
        cseq: this.#cseq++,
        userAgent: 'rtp-media-server',
      }).text;
    } catch (err) {
      this.failed++;
      this.#log.warn(`collector: report for ${report.callId} not sent: ${(err as Error).message}`);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#socket.send(text, this.#opts.address.port, this.#opts.address.host, (err) => {
        if (err) {
          this.failed++;
          this.#log.warn(`collector: PUBLISH for ${report.callId} failed: ${err.message}`);
        } else this.sent++;
        resolve();
      });
    });
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.#socket.close();
    } catch {
      /* closed */
    }
  }
}
