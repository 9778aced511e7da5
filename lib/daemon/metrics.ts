/**
 * Prometheus text exposition (format 0.0.4) of the daemon: calls, transcoding,
 * per-ticker load and late ticks, RTP packets and losses, the ng control
 * plane, and a histogram of the MOS of finished call legs. Served over HTTP
 * at /metrics.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { MediaServer } from '../session/MediaServer';
import type { CallControl, CallEnd } from './calls';
import type { HostPort } from './config';
import { silentLogger, type Logger } from './log';
import type { NgServer } from './NgServer';
import { finalMos } from './report';

/** MOS bucket bounds (MOS-CQ, 1..5). */
export const MOS_BUCKETS = [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 5];

class Histogram {
  readonly counts = MOS_BUCKETS.map(() => 0);
  sum = 0;
  count = 0;
  observe(v: number): void {
    MOS_BUCKETS.forEach((b, i) => {
      if (v <= b) this.counts[i]++;
    });
    this.sum += v;
    this.count++;
  }
}

interface PacketTotals {
  received: number;
  sent: number;
  lost: number;
  bytesReceived: number;
  bytesSent: number;
}

const zero = (): PacketTotals => ({ received: 0, sent: 0, lost: 0, bytesReceived: 0, bytesSent: 0 });

function add(t: PacketTotals, s: RtpStats): void {
  t.received += s.packetsReceived;
  t.sent += s.packetsSent;
  t.lost += Math.max(0, s.lost);
  t.bytesReceived += s.bytesReceived;
  t.bytesSent += s.bytesSent;
}

export class DaemonMetrics {
  readonly #media: MediaServer;
  readonly #calls: CallControl;
  readonly #ng?: NgServer;
  readonly #mos = new Histogram();
  readonly #finished = zero();
  readonly #started = Date.now();

  constructor(media: MediaServer, calls: CallControl, ng?: NgServer) {
    this.#media = media;
    this.#calls = calls;
    this.#ng = ng;
  }

  /** Counts a finished call: its packets, and the MOS of each leg that had media. */
  callEnded(end: CallEnd): void {
    if (end.summary.stats) {
      add(this.#finished, end.summary.stats.a);
      if (end.summary.stats.b) add(this.#finished, end.summary.stats.b);
    }
    for (const m of finalMos(end.summary, end.samples)) this.#mos.observe(m);
  }

  render(): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
    };
    const c = this.#calls;
    metric('rms_up', 'gauge', '1 while the daemon runs (0 while draining for shutdown).', [['', c.draining ? 0 : 1]]);
    metric('rms_uptime_seconds', 'gauge', 'Seconds since start.', [['', (Date.now() - this.#started) / 1000]]);
    metric('rms_calls_active', 'gauge', 'Calls in progress (offered or answered).', [['', c.size]]);
    metric('rms_calls_transcoding', 'gauge', 'Answered calls whose media is decoded and encoded.', [
      ['', c.transcoding],
    ]);
    metric('rms_calls_total', 'counter', 'Calls accepted (new offers).', [['', c.totals.calls]]);
    metric('rms_calls_finished_total', 'counter', 'Calls ended.', [['', c.totals.finished]]);
    metric('rms_calls_transcoded_finished_total', 'counter', 'Ended calls that were transcoded.', [
      ['', c.totals.transcodedFinished],
    ]);
    metric('rms_calls_rejected_total', 'counter', 'New offers refused.', [
      ['{reason="error"}', c.totals.rejected],
      ['{reason="load_limit"}', c.totals.limited],
    ]);
    metric('rms_calls_timed_out_total', 'counter', 'Calls ended for lack of media or signalling.', [
      ['', c.totals.timedOut],
    ]);

    const live = zero();
    for (const s of c.sessions())
      if (s.state === 'answered' || s.state === 'early')
        for (const leg of s.legs) if (!leg.endpoint.closed) add(live, leg.stats());
    const f = this.#finished;
    metric('rms_rtp_packets_received_total', 'counter', 'RTP packets received on all legs.', [
      ['', f.received + live.received],
    ]);
    metric('rms_rtp_packets_sent_total', 'counter', 'RTP packets sent on all legs.', [['', f.sent + live.sent]]);
    metric('rms_rtp_packets_lost_total', 'counter', 'RTP packets lost (sequence gaps) on all legs.', [
      ['', f.lost + live.lost],
    ]);
    metric('rms_rtp_bytes_received_total', 'counter', 'RTP bytes received.', [
      ['', f.bytesReceived + live.bytesReceived],
    ]);
    metric('rms_rtp_bytes_sent_total', 'counter', 'RTP bytes sent.', [['', f.bytesSent + live.bytesSent]]);

    const tickers = this.#media.tickers;
    const calls = tickers.callsPerTicker();
    const ts = tickers.tickers.map((t, i) => ({ i, s: t.closed ? undefined : t.stats() }));
    const per = (fn: (s: NonNullable<(typeof ts)[number]['s']>) => number): [string, number][] =>
      ts.filter((x) => x.s).map((x) => [`{ticker="${x.i}"}`, fn(x.s!)]);
    metric(
      'rms_ticker_load_percent',
      'gauge',
      "mediastreamer2's smoothed load of each ticker (10 ms tick).",
      per((s) => s.load),
    );
    metric(
      'rms_ticker_late_ticks_total',
      'counter',
      'Ticks that started 10 ms or more behind.',
      per((s) => s.lateTicks),
    );
    metric(
      'rms_ticker_max_late_ms',
      'gauge',
      'Worst lateness of a tick, ms.',
      per((s) => s.maxLateMs),
    );
    metric(
      'rms_ticker_socket_reads_total',
      'counter',
      'RTP/RTCP socket reads (made only when epoll reported data).',
      per((s) => s.socketReads),
    );
    metric(
      'rms_ticker_socket_reads_skipped_total',
      'counter',
      'Socket reads skipped because the socket had no data.',
      per((s) => s.socketReadsSkipped),
    );
    metric(
      'rms_ticker_calls',
      'gauge',
      'Calls pinned to each ticker.',
      calls.map((n, i) => [`{ticker="${i}"}`, n]),
    );
    metric('rms_ports_in_use', 'gauge', 'RTP port pairs in use (two per call).', [['', this.#media.ports.inUse]]);
    metric('rms_ports_total', 'gauge', 'RTP port pairs in the range.', [['', this.#media.ports.size]]);

    if (this.#ng) {
      const n = this.#ng.stats;
      metric(
        'rms_ng_requests_total',
        'counter',
        'ng requests carried out, by command.',
        Object.entries(n.commands).map(([k, v]) => [`{command="${k.replace(/"/g, '')}"}`, v]),
      );
      metric('rms_ng_retransmissions_total', 'counter', 'ng requests answered from the reply cache.', [
        ['', n.retransmissions],
      ]);
      metric('rms_ng_errors_total', 'counter', 'ng replies with result error.', [['', n.errors]]);
      metric('rms_ng_dropped_total', 'counter', 'ng messages dropped (no cookie, peer not allowed).', [
        ['', n.dropped],
      ]);
    }

    const h = this.#mos;
    out.push(
      '# HELP rms_call_mos MOS-CQ (ITU-T G.107 estimate) of each finished call leg that carried media.',
      '# TYPE rms_call_mos histogram',
    );
    MOS_BUCKETS.forEach((b, i) => out.push(`rms_call_mos_bucket{le="${b}"} ${h.counts[i]}`));
    out.push(`rms_call_mos_bucket{le="+Inf"} ${h.count}`, `rms_call_mos_sum ${h.sum}`, `rms_call_mos_count ${h.count}`);
    return out.join('\n') + '\n';
  }
}

/** Serves `render()` at GET /metrics (and 200 "ok" at /health). */
export function serveMetrics(hp: HostPort, render: () => string, log: Logger = silentLogger): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/metrics') {
        let body: string;
        try {
          body = render();
        } catch (err) {
          log.error(`metrics: ${(err as Error).message}`);
          res.writeHead(500).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      } else if (path === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else {
        res.writeHead(404).end();
      }
    });
    srv.once('error', reject);
    srv.listen(hp.port, hp.host, () => {
      srv.off('error', reject);
      srv.on('error', (err) => log.error(`metrics: ${err.message}`));
      resolve(srv);
    });
  });
}

export function serverAddress(srv: http.Server): AddressInfo {
  return srv.address() as AddressInfo;
}
