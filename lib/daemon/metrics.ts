/**
 * The daemon's Prometheus metrics, through prom-client: its default process_*
 * and nodejs_* metrics, and ours (calls, transcoding, per-ticker load and
 * late ticks, RTP packets and losses, the ng control plane, a histogram of
 * the MOS of finished call legs). Names follow Prometheus' conventions: base
 * units (seconds, ratios 0..1), `_total` only on counters. Values are read
 * from the live objects at scrape time (collect()), so nothing is counted
 * twice and nothing goes stale.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { MediaServer } from '../session/MediaServer';
import type { CallControl, CallEnd } from './calls';
import type { NgServer } from './NgServer';
import { finalMos } from './report';

/** MOS bucket bounds (MOS-CQ, 1..5). */
export const MOS_BUCKETS = [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 5];

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

const finite = (v: number) => (Number.isFinite(v) ? v : 0);

/** The daemon's metrics registry, read from the live objects at each scrape. */
export class DaemonMetrics {
  /** The registry /metrics renders; add an application's own metrics to it if embedding. */
  readonly registry = new Registry();
  readonly #mos: Histogram;
  readonly #finished = zero();

  constructor(media: MediaServer, calls: CallControl, ng?: NgServer) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client's sums of the per-type nodejs_active_* gauges are gauges
    // named *_total, which Prometheus reserves for counters (promtool flags
    // them); the per-type gauges stay, and sum() in PromQL gives the same
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(n);
    const c = calls;
    const g = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(finite(value()));
        },
      });
    /** A counter whose total lives elsewhere: set at scrape time. */
    const counter = (name: string, help: string, value: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(Math.max(0, finite(value())));
        },
      });
    /** One sample per label value, all read at scrape time. */
    const labelled = (
      kind: 'gauge' | 'counter',
      name: string,
      help: string,
      label: string,
      values: () => [string, number][],
    ) => {
      const labelNames = [label];
      if (kind === 'gauge')
        return new Gauge({
          name,
          help,
          labelNames,
          registers,
          collect() {
            this.reset();
            for (const [l, v] of values()) this.set({ [label]: l }, finite(v));
          },
        });
      return new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [l, v] of values()) this.inc({ [label]: l }, Math.max(0, finite(v)));
        },
      });
    };

    g('rms_draining', '1 while the daemon drains for shutdown (new calls refused), else 0.', () =>
      c.draining ? 1 : 0,
    );
    g('rms_calls_active', 'Calls in progress (offered or answered).', () => c.size);
    g('rms_calls_transcoding', 'Answered calls whose media is decoded and encoded.', () => c.transcoding);
    counter('rms_calls_total', 'Calls accepted (new offers).', () => c.totals.calls);
    counter('rms_calls_finished_total', 'Calls ended.', () => c.totals.finished);
    counter(
      'rms_calls_transcoded_finished_total',
      'Ended calls that were transcoded.',
      () => c.totals.transcodedFinished,
    );
    labelled('counter', 'rms_calls_rejected_total', 'New offers refused, by reason.', 'reason', () => [
      ['error', c.totals.rejected],
      ['load_limit', c.totals.limited],
    ]);
    counter('rms_calls_timed_out_total', 'Calls ended for lack of media or signalling.', () => c.totals.timedOut);

    // packets of finished calls plus those of calls in progress, summed once per scrape
    let live = zero();
    let liveAt = -1;
    const totals = (): PacketTotals => {
      const now = Date.now();
      if (now !== liveAt) {
        live = zero();
        for (const s of c.sessions())
          if (s.state === 'answered' || s.state === 'early')
            for (const leg of s.legs) if (!leg.endpoint.closed) add(live, leg.stats());
        liveAt = now;
      }
      const f = this.#finished;
      return {
        received: f.received + live.received,
        sent: f.sent + live.sent,
        lost: f.lost + live.lost,
        bytesReceived: f.bytesReceived + live.bytesReceived,
        bytesSent: f.bytesSent + live.bytesSent,
      };
    };
    counter('rms_rtp_packets_received_total', 'RTP packets received on all legs.', () => totals().received);
    counter('rms_rtp_packets_sent_total', 'RTP packets sent on all legs.', () => totals().sent);
    counter('rms_rtp_packets_lost_total', 'RTP packets lost (sequence gaps) on all legs.', () => totals().lost);
    counter('rms_rtp_received_bytes_total', 'RTP bytes received.', () => totals().bytesReceived);
    counter('rms_rtp_sent_bytes_total', 'RTP bytes sent.', () => totals().bytesSent);

    const tickerStats = () =>
      media.tickers.tickers.flatMap((t, i) => (t.closed ? [] : [{ i: String(i), s: t.stats() }]));
    const per = (fn: (s: ReturnType<(typeof media.tickers.tickers)[number]['stats']>) => number) => () =>
      tickerStats().map(({ i, s }): [string, number] => [i, fn(s)]);
    labelled(
      'gauge',
      'rms_ticker_load_ratio',
      "mediastreamer2's smoothed load of each ticker: time spent per tick over the tick interval.",
      'ticker',
      per((s) => s.load / 100),
    );
    labelled(
      'counter',
      'rms_ticker_late_ticks_total',
      'Ticks that started a tick interval or more behind.',
      'ticker',
      per((s) => s.lateTicks),
    );
    labelled(
      'gauge',
      'rms_ticker_max_lateness_seconds',
      'Worst lateness of a tick.',
      'ticker',
      per((s) => s.maxLateMs / 1000),
    );
    labelled(
      'counter',
      'rms_ticker_socket_reads_total',
      'RTP/RTCP socket reads (made only when epoll reported data).',
      'ticker',
      per((s) => s.socketReads),
    );
    labelled(
      'counter',
      'rms_ticker_socket_reads_skipped_total',
      'Socket reads skipped because the socket had no data.',
      'ticker',
      per((s) => s.socketReadsSkipped),
    );
    labelled('gauge', 'rms_ticker_calls', 'Calls pinned to each ticker.', 'ticker', () =>
      media.tickers.callsPerTicker().map((n, i): [string, number] => [String(i), n]),
    );
    g('rms_port_pairs_in_use', 'RTP/RTCP port pairs in use (two per call).', () => media.ports.inUse);
    g('rms_port_pairs', 'RTP/RTCP port pairs in the configured range.', () => media.ports.size);

    if (ng) {
      const n = ng.stats;
      labelled('counter', 'rms_ng_requests_total', 'ng requests carried out, by command.', 'command', () =>
        Object.entries(n.commands),
      );
      counter('rms_ng_retransmissions_total', 'ng requests answered from the reply cache.', () => n.retransmissions);
      counter('rms_ng_errors_total', 'ng replies with result error.', () => n.errors);
      counter('rms_ng_messages_dropped_total', 'ng messages dropped (no cookie, peer not allowed).', () => n.dropped);
    }

    this.#mos = new Histogram({
      name: 'rms_call_mos',
      help: 'MOS-CQ (ITU-T G.107 estimate, 1..5) of each finished call leg that carried media.',
      buckets: MOS_BUCKETS,
      registers,
    });
  }

  /** Counts a finished call: its packets, and the MOS of each leg that had media. */
  callEnded(end: CallEnd): void {
    if (end.summary.stats) {
      add(this.#finished, end.summary.stats.a);
      if (end.summary.stats.b) add(this.#finished, end.summary.stats.b);
    }
    for (const m of finalMos(end.summary, end.samples)) this.#mos.observe(m);
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of render()'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
