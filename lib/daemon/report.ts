/**
 * What query, delete and statistics replies carry, in the shapes rtpengine
 * 10.5 uses where Kamailio and monitoring read them: `totals` (for
 * $rtpstat), per-tag `created`, `subscriptions`/`subscribers` and `medias`
 * (with `codec`, `flags` and an RTP and an RTCP stream, each with its
 * addresses, `flags`, `SSRC`, `last packet` and `stats`), and per-SSRC MOS
 * dictionaries (mosReport.ts; for the rtpengine module's mos_* variables).
 * Bencode has no fractions: MOS is written times ten (as rtpengine does),
 * jitter and times in integer ms, µs or s. A figure we do not measure is
 * left out, not written as 0.
 */
import { isIP } from 'node:net';
import { findCodec } from '../codecs/table';
import { dict, type BDict, type BValue } from '../control/bencode';
import type { QualitySample } from '../quality/QualityMonitor';
import type { RtpEndpoint, RtpStats } from '../rtp/RtpEndpoint';
import type { LegInfo, SessionInfo, SessionSummary } from '../session/info';
import { ssrcEntry } from './mosReport';

/** What the daemon knows of a call beside the session. */
export interface CallFacts {
  /** label -> leg name. */
  labels: Map<string, string>;
  createdMs: number;
  lastSignalMs: number;
  /** When each answering tag was first seen (absent: the offer's time). */
  tagsSeenMs?: Map<string, number>;
}

/** Notes when an answering tag was first seen (its `created` in the query reply). */
export function noteTag(facts: CallFacts, tag: string, nowMs = Date.now()): void {
  facts.tagsSeenMs ??= new Map();
  if (!facts.tagsSeenMs.has(tag)) facts.tagsSeenMs.set(tag, nowMs);
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
  /** When the last RTP packet from the leg arrived (epoch ms), if one did. */
  lastPacketMs?: number;
  /** The address our SDP to this leg carries. */
  advertised: string;
  /** The address our sockets for this leg are bound to. */
  localAddress?: string;
  /** 'a' or 'b' for the two legs the quality monitor samples. */
  sampled?: 'a' | 'b';
}

/** What a leg's open endpoint tells of it: the SSRC it sends, when its last RTP came, our bound address. */
export function liveFigures(ep: RtpEndpoint | undefined): Pick<LegView, 'ssrc' | 'lastPacketMs' | 'localAddress'> {
  if (!ep) return {};
  const rx = ep.rxQuality();
  return {
    ssrc: rx.ssrc || ep.info().recvSsrc || undefined,
    lastPacketMs: rx.lastArrivalMs > 0 ? rx.lastArrivalMs : undefined,
    localAddress: ep.address,
  };
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
const endpoint = (address: string, port: number) => dict({ family: family(address), address, port });

/** The codec as rtpengine writes it: encoding/clock rate[/channels]. */
export function codecWithParams(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const c = findCodec(name);
  if (!c) return name;
  return `${c.name}/${c.clockRate}${c.sdpChannels > 1 ? `/${c.sdpChannels}` : ''}`;
}

/** rtpengine's media flags we can state: initialized, the SDP's send/recv, transcoding. */
function mediaFlags(l: LegInfo, transcoding: boolean): string[] {
  const d = l.direction ?? 'sendrecv';
  const flags = ['initialized'];
  if (d === 'sendrecv' || d === 'sendonly') flags.push('send');
  if (d === 'sendrecv' || d === 'recvonly') flags.push('recv');
  if (transcoding) flags.push('transcoding');
  return flags;
}

export interface StreamTotals {
  rtp: { packets: number; bytes: number; errors: number };
  rtcp: { packets: number; bytes: number; errors: number };
}

/** The RTP and the RTCP stream of a leg, rtpengine's packet streams: what arrived from that party. */
function streams(v: LegView, totals: StreamTotals): BDict[] {
  const l = v.info;
  const s = v.stats;
  const local = v.localAddress ?? v.advertised;
  const out: BDict[] = [];
  for (const rtcp of [false, true]) {
    const packets = s ? (rtcp ? s.rtcpReceived : s.packetsReceived) : 0;
    const bytes = s ? (rtcp ? s.rtcpBytesReceived : s.bytesReceived) : 0;
    const errors = s ? (rtcp ? s.rtcpInvalid : s.bad + s.discarded) : 0;
    const t = rtcp ? totals.rtcp : totals.rtp;
    t.packets += int(packets);
    t.bytes += int(bytes);
    t.errors += int(errors);
    const remotePort = l.remote ? (rtcp ? l.remote.rtcpPort : l.remote.port) : undefined;
    const flags = [rtcp ? 'RTCP' : 'RTP'];
    if (l.remote) flags.push('filled');
    if (packets > 0) flags.push('confirmed');
    out.push(
      dict({
        'local port': rtcp ? l.localRtcpPort : l.localPort,
        // ours, kept from before: the RTP stream names its RTCP port too
        'local RTCP port': rtcp ? undefined : l.localRtcpPort,
        'local address': local,
        family: family(local),
        // the party's address as its SDP gives it (where we send), not the source we latched to
        endpoint: l.remote && remotePort !== undefined ? endpoint(l.remote.address, remotePort) : undefined,
        'advertised endpoint':
          l.remote && remotePort !== undefined ? endpoint(l.remote.address, remotePort) : undefined,
        'last packet':
          !rtcp && v.lastPacketMs !== undefined && v.lastPacketMs > 0 ? Math.floor(v.lastPacketMs / 1000) : undefined,
        flags,
        SSRC: rtcp ? undefined : v.ssrc,
        stats: dict({ packets: int(packets), bytes: int(bytes), errors: int(errors) }),
      }),
    );
  }
  return out;
}

function legEntry(
  v: LegView,
  facts: CallFacts,
  mos: MosSummary | undefined,
  transcoding: boolean,
  totals: StreamTotals,
): BDict {
  const l = v.info;
  const stats = v.stats;
  const created = (l.tag !== undefined ? facts.tagsSeenMs?.get(l.tag) : undefined) ?? facts.createdMs;
  const peers = v.peerTag !== undefined ? [dict({ tag: v.peerTag, type: 'offer/answer' })] : [];
  return dict({
    tag: l.tag,
    label: v.label,
    created: Math.floor(created / 1000),
    subscriptions: peers,
    subscribers: peers,
    leg: l.name,
    state: l.state,
    'in dialogue with': v.peerTag,
    codec: l.codec,
    'payload type': l.payloadType,
    medias: [
      dict({
        index: 1,
        type: 'audio',
        protocol: 'RTP/AVP',
        codec: codecWithParams(l.codec),
        streams: streams(v, totals),
        flags: mediaFlags(l, transcoding),
      }),
    ],
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
 * signal`, `SSRC`, `tags` (every leg: the caller, each answering branch),
 * `totals`, and ours: `state`, `transcoded`.
 */
export function callReport(
  info: SessionInfo,
  facts: CallFacts,
  legs: LegView[],
  samples: readonly QualitySample[],
): BDict {
  const tags = dict();
  const ssrc = dict();
  const totals: StreamTotals = { rtp: { packets: 0, bytes: 0, errors: 0 }, rtcp: { packets: 0, bytes: 0, errors: 0 } };
  const transcoding = info.state === 'answered' && !info.relay;
  for (const v of legs) {
    const mos = v.sampled ? mosOf(samples, v.sampled) : undefined;
    tags[v.info.tag ?? `(leg ${v.info.name})`] = legEntry(v, facts, mos, transcoding, totals);
    if (v.sampled && v.ssrc) {
      const entry = ssrcEntry(samples, v.sampled, v.sampled === 'a' ? 'b' : 'a', v.stats?.lost);
      if (entry) ssrc[String(v.ssrc)] = entry;
    }
  }
  const out: Record<string, BValue | undefined> = {
    created: Math.floor(facts.createdMs / 1000),
    created_us: (facts.createdMs % 1000) * 1000,
    'last signal': Math.floor(facts.lastSignalMs / 1000),
    state: info.state,
    transcoded: info.state === 'answered' ? (info.relay ? 'no' : 'yes') : undefined,
    SSRC: ssrc,
    tags,
    totals: dict({ RTP: dict(totals.rtp), RTCP: dict(totals.rtcp) }),
  };
  return dict(out);
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
