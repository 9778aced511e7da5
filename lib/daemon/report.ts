/**
 * What query, delete and statistics replies carry, in the shapes rtpengine
 * uses where Kamailio reads them: `totals` (for $rtpstat), per-tag `medias`
 * with `streams` and their `stats`, and per-SSRC MOS dictionaries (for the
 * rtpengine module's mos_* variables). Bencode has no fractions: MOS is
 * written times ten (as rtpengine does), jitter and times in integer ms or s.
 */
import { isIP } from 'node:net';
import { dict, type BDict, type BValue } from '../control/bencode';
import type { QualitySample } from '../quality/QualityMonitor';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { LegInfo, SessionInfo, SessionSummary } from '../session/info';

/** What the daemon knows of a call beside the session. */
export interface CallFacts {
  /** label -> leg name. */
  labels: Map<string, string>;
  createdMs: number;
  lastSignalMs: number;
}

export interface MosSummary {
  average: number;
  lowest: number;
  highest: number;
  samples: number;
  last: number;
}

/** One leg as a query reply shows it. */
export interface LegView {
  info: LegInfo;
  /** The tag of the leg it is in a dialogue with. */
  peerTag?: string;
  label?: string;
  stats?: RtpStats;
  /** SSRC of what the leg sends us. */
  ssrc?: number;
  /** The address our SDP to this leg carries. */
  advertised: string;
  /** 'a' or 'b' for the two legs the quality monitor samples. */
  sampled?: 'a' | 'b';
}

/** MOS-CQ of one leg over the samples taken so far. */
export function mosOf(samples: readonly QualitySample[], leg: 'a' | 'b'): MosSummary | undefined {
  const values = samples.filter((s) => s.leg === leg && s.mosCq !== undefined).map((s) => s.mosCq!);
  if (!values.length) return undefined;
  return {
    average: values.reduce((a, b) => a + b, 0) / values.length,
    lowest: Math.min(...values),
    highest: Math.max(...values),
    samples: values.length,
    last: values[values.length - 1],
  };
}

const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 0 : Math.round(n));
const mos10 = (m: number) => Math.round(m * 10);
const family = (a: string) => (isIP(a) === 6 ? 'IPv6' : 'IPv4');

function legEntry(v: LegView, mos: MosSummary | undefined): BDict {
  const l = v.info;
  const stats = v.stats;
  const stream = dict({
    'local port': l.localPort,
    'local RTCP port': l.localRtcpPort,
    'advertised endpoint': dict({ family: family(v.advertised), address: v.advertised, port: l.localPort }),
    endpoint: l.remote
      ? dict({ family: family(l.remote.address), address: l.remote.address, port: l.remote.port })
      : undefined,
    SSRC: v.ssrc,
    stats: dict({
      packets: int(stats?.packetsReceived),
      bytes: int(stats?.bytesReceived),
      errors: int(stats ? stats.bad + stats.discarded : 0),
    }),
  });
  return dict({
    tag: l.tag,
    label: v.label,
    leg: l.name,
    state: l.state,
    'in dialogue with': v.peerTag,
    codec: l.codec,
    'payload type': l.payloadType,
    medias: [dict({ index: 1, type: 'audio', protocol: 'RTP/AVP', streams: [stream] })],
    // ours, per leg: what we received from this side and sent to it
    stats: stats
      ? dict({
          'packets received': int(stats.packetsReceived),
          'packets sent': int(stats.packetsSent),
          'bytes received': int(stats.bytesReceived),
          'bytes sent': int(stats.bytesSent),
          'packets lost': int(stats.lost),
          'jitter ms': int(stats.jitterMs),
          'round-trip ms': int(stats.roundTripMs),
          MOS: mos ? mos10(mos.last) : undefined,
        })
      : undefined,
  });
}

/**
 * The query reply (also carried by the delete reply): `created`, `last
 * signal`, `tags` (every leg: the caller, each answering branch), `totals`,
 * `SSRC`, and ours: `state`, `transcoded`.
 */
export function callReport(
  info: SessionInfo,
  facts: CallFacts,
  legs: LegView[],
  samples: readonly QualitySample[],
): BDict {
  const tags = dict();
  const ssrc = dict();
  const totals = { packets: 0, bytes: 0, errors: 0, rtcp: 0 };
  for (const v of legs) {
    const s = v.stats;
    const mos = v.sampled ? mosOf(samples, v.sampled) : undefined;
    tags[v.info.tag ?? `(leg ${v.info.name})`] = legEntry(v, mos);
    if (s) {
      totals.packets += s.packetsReceived;
      totals.bytes += s.bytesReceived;
      totals.errors += s.bad + s.discarded;
      totals.rtcp += s.rtcpReceived;
    }
    if (mos && v.ssrc) {
      const point = (m: number) => dict({ MOS: mos10(m), jitter: int(s?.jitterMs), 'packet loss': int(s?.lost) });
      ssrc[String(v.ssrc)] = dict({
        'average MOS': dict({ MOS: mos10(mos.average), samples: mos.samples }),
        'lowest MOS': point(mos.lowest),
        'highest MOS': point(mos.highest),
      });
    }
  }
  const out: Record<string, BValue | undefined> = {
    created: Math.floor(facts.createdMs / 1000),
    created_us: (facts.createdMs % 1000) * 1000,
    'last signal': Math.floor(facts.lastSignalMs / 1000),
    state: info.state,
    transcoded: info.state === 'answered' ? (info.relay ? 'no' : 'yes') : undefined,
    tags,
    totals: dict({
      RTP: dict({ packets: int(totals.packets), bytes: int(totals.bytes), errors: int(totals.errors) }),
      RTCP: dict({ packets: int(totals.rtcp), bytes: 0, errors: 0 }),
    }),
    SSRC: Object.keys(ssrc).length ? ssrc : undefined,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return dict(out as Record<string, BValue>);
}

/** MOS-CQ per leg of a finished call, from its CallTerm reports (or, failing that, its samples). */
export function finalMos(summary: SessionSummary, samples: readonly QualitySample[]): number[] {
  const out: number[] = [];
  for (const leg of ['a', 'b'] as const) {
    const m = summary.reports?.[leg]?.localMetrics.qualityEst?.moscq ?? mosOf(samples, leg)?.average;
    if (m !== undefined && Number.isFinite(m)) out.push(m);
  }
  return out;
}
