/**
 * RFC 6035 reports for one call leg, from what the media server measured on
 * that leg (local metrics) and what the peer reported back in RTCP XR
 * (remote metrics). Unknown values stay undefined and are left out of the
 * body, never written as zero; a stretch without media has no quality
 * estimate at all.
 */
import type { NativeRtcpPacket, NativeRxQuality } from '../native';
import type { RtpStats } from '../rtp/RtpEndpoint';
import { eModel, mosFromR } from './emodel';
import type { RxFigures } from './figures';
import type { LegDialog, LegMediaFormat, PlcKind } from './source';
import {
  fromRfc3611Quality,
  percentFromRfc3611Rate,
  type VqMetrics,
  type VqReport,
  type VqSessionReport,
} from './vqreport';

export interface LegMeasurements {
  media: LegMediaFormat;
  /** Figures over the reported stretch (whole call, interval, alert window). */
  rx: RxFigures;
  /** RFC 3550 jitter at the end of the stretch, ms. */
  jitterMs: number;
  stats: Pick<RtpStats, 'roundTripMs'>;
  /** The jitter buffer as our XR describes it (rxQuality().jitterBuffer). */
  jitterBuffer: NativeRxQuality['jitterBuffer'];
  /** dBm0 of the decoded audio (speech), when the leg is transcoded. */
  signalLevel?: number;
  noiseLevel?: number;
  plc: PlcKind;
  /**
   * For a relayed leg: whether the listener's phone conceals losses (we do
   * not decode, so its PLC decides what loss sounds like). Default true: a
   * phone with the PLC G.113 tabulates for the codec.
   */
  relayedPlc?: boolean;
  /** Our own delay on this leg (jitter buffer + packet time), ms. */
  endSystemDelayMs?: number;
  start: Date;
  stop: Date;
}

/** What the E-model needs of a stretch, and what it gives (undefined: no media). */
export interface LegEstimate {
  rLq: number;
  rCq: number;
  mosLq: number;
  mosCq: number;
  burstRatio: number;
  /** Ppl: loss and discards, percent. */
  pplPercent: number;
}

export interface LegIdentity {
  callId: string;
  localId: string;
  remoteId: string;
  origId: string;
  local: { ip: string; port: number; ssrc: number };
  remote: { ip: string; port: number; ssrc: number };
  dialog?: { callId: string; fromTag?: string; toTag?: string };
}

type XrBlock = Extract<NativeRtcpPacket, { type: 'XR' }>['xr'];

/** The last VoIP metrics block the peer sent about our stream, if any. */
export function lastVoipMetrics(packets: NativeRtcpPacket[]): XrBlock | undefined {
  let last: XrBlock | undefined;
  for (const p of packets)
    if (p.direction === 'received' && p.type === 'XR' && p.xr.block === 'voip-metrics') last = p.xr;
  return last;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The PLC the E-model assumes for a leg. */
export function assumedPlc(plc: PlcKind, relayedPlc = true): boolean {
  return plc === 'relayed' ? relayedPlc : plc !== 'none';
}

/** RFC 3611 4.7.6 PLC code of what we do with the leg's audio (0 when we do not decode it). */
export function plcCode(plc: PlcKind): 0 | 1 | 2 | 3 {
  // a codec's own concealment is its standard PLC (3); mediastreamer2's
  // generic PLC on a codec without one is enhanced (2)
  return plc === 'decoder' ? 3 : plc === 'generic' ? 2 : plc === 'none' ? 1 : 0;
}

/** Mouth-to-ear one-way delay as far as we know it: half the round trip + our own delay. */
function oneWayMs(m: LegMeasurements): number {
  return (m.stats.roundTripMs > 0 ? m.stats.roundTripMs / 2 : 0) + (m.endSystemDelayMs ?? m.media.ptimeMs);
}

/** G.107 over the stretch; undefined when no packet was expected in it (no media). */
export function legEstimate(m: LegMeasurements): LegEstimate | undefined {
  if (m.rx.expected === 0 || m.rx.received === 0) return undefined;
  const ppl = Math.min(100, (100 * (m.rx.lost + m.rx.discarded)) / m.rx.expected);
  const e = eModel({
    codec: m.media.codec.name,
    lossPercent: ppl,
    burstRatio: m.rx.burstRatio,
    oneWayDelayMs: oneWayMs(m),
    plc: assumedPlc(m.plc, m.relayedPlc),
  });
  return {
    rLq: e.rLq,
    rCq: e.rCq,
    mosLq: mosFromR(e.rLq),
    mosCq: mosFromR(e.rCq),
    burstRatio: m.rx.burstRatio,
    pplPercent: ppl,
  };
}

/** What we measured on what this leg sent us, over the stretch. */
export function localMetrics(m: LegMeasurements): VqMetrics {
  const est = legEstimate(m);
  const media = m.rx.expected > 0;
  const jb = m.jitterBuffer;
  return {
    start: m.start,
    stop: m.stop,
    sessionDesc: {
      payloadType: m.media.payloadType,
      payloadDesc: m.media.codec.name,
      sampleRate: m.media.codec.clockRate,
      frameDuration: m.media.ptimeMs,
      packetsPerSecond: Math.round(1000 / m.media.ptimeMs),
      fmtp: m.media.fmtp && !m.media.fmtp.includes(';') ? m.media.fmtp : undefined,
      silenceSuppression: false,
      plc: plcCode(m.plc),
    },
    // as our XR says it: the delay the buffer aims at now, what it may adapt up to
    jitterBuffer: jb.enabled
      ? { adaptive: jb.adaptive ? 3 : 2, nominalMs: jb.nominalMs, maxMs: jb.maxMs, absMaxMs: jb.absMaxMs }
      : { adaptive: 2, nominalMs: 0, maxMs: 0, absMaxMs: 0 },
    packetLoss:
      media && m.rx.lossPercent !== undefined
        ? { networkLossPercent: round2(m.rx.lossPercent), discardPercent: round2(m.rx.discardPercent ?? 0) }
        : undefined,
    burstGapLoss: media
      ? {
          burstLossDensityPercent: round2(m.rx.burstDensity * 100),
          burstDurationMs: Math.min(3_600_000, Math.round(m.rx.burstDurationMs)),
          gapLossDensityPercent: round2(m.rx.gapDensity * 100),
          gapDurationMs: Math.min(3_600_000, Math.round(m.rx.gapDurationMs)),
          gmin: 16,
        }
      : undefined,
    delay: {
      roundTripMs: m.stats.roundTripMs > 0 ? Math.min(65535, Math.round(m.stats.roundTripMs)) : undefined,
      endSystemMs: m.endSystemDelayMs !== undefined ? Math.min(65535, Math.round(m.endSystemDelayMs)) : undefined,
      interarrivalJitterMs: media ? Math.min(65535, Math.round(m.jitterMs)) : undefined,
    },
    signal:
      m.signalLevel !== undefined
        ? {
            // the report's SL/NL fields hold -99..99 dB; digital silence measures lower
            signalLevel: Math.max(-99, Math.round(m.signalLevel)),
            noiseLevel: m.noiseLevel !== undefined ? Math.max(-99, Math.round(m.noiseLevel)) : undefined,
          }
        : undefined,
    qualityEst: est
      ? {
          rlq: Math.max(0, Math.min(120, Math.round(est.rLq))),
          rcq: Math.max(0, Math.min(120, Math.round(est.rCq))),
          moslq: round1(est.mosLq),
          moscq: round1(est.mosCq),
          qoeEstAlg: 'G.107',
        }
      : undefined,
  };
}

/** What the peer reported about our stream in its last RTCP XR VoIP metrics block. */
export function remoteMetrics(xr: XrBlock | undefined, start: Date, stop: Date): VqMetrics | undefined {
  if (!xr) return undefined;
  const n = (k: string) => xr[k] as number;
  const level = (v: number) => (v === 127 ? undefined : v > 127 ? v - 256 : v);
  const jba = (n('rxConfig') >> 4) & 3;
  const plc = (n('rxConfig') >> 6) & 3;
  return {
    start,
    stop,
    sessionDesc: { plc: plc as 0 | 1 | 2 | 3 },
    jitterBuffer: {
      adaptive: jba as 0 | 1 | 2 | 3,
      rate: n('rxConfig') & 0x0f,
      nominalMs: n('jbNominal'),
      maxMs: n('jbMaximum'),
      absMaxMs: n('jbAbsMax') === 65535 ? undefined : n('jbAbsMax'),
    },
    packetLoss: {
      networkLossPercent: round2(percentFromRfc3611Rate(n('lossRate'))),
      discardPercent: round2(percentFromRfc3611Rate(n('discardRate'))),
    },
    burstGapLoss: {
      burstLossDensityPercent: round2(percentFromRfc3611Rate(n('burstDensity'))),
      burstDurationMs: n('burstDuration'),
      gapLossDensityPercent: round2(percentFromRfc3611Rate(n('gapDensity'))),
      gapDurationMs: n('gapDuration'),
      gmin: n('gmin') >= 1 ? n('gmin') : undefined,
    },
    delay: { roundTripMs: n('roundTripDelay') || undefined, endSystemMs: n('endSystemDelay') || undefined },
    signal: { signalLevel: level(n('signalLevel')), noiseLevel: level(n('noiseLevel')), rerl: level(n('rerl')) },
    qualityEst: {
      rlq: fromRfc3611Quality('R', n('rFactor')),
      moslq: fromRfc3611Quality('MOS', n('mosLq')),
      moscq: fromRfc3611Quality('MOS', n('mosCq')),
    },
  };
}

const quoted = (name: string) => `"${name.replace(/(["\\])/g, '\\$1')}"`;

/** `"Display" <uri>` (RFC 3261 name-addr), or `<uri>`. */
export function nameAddr(p: { uri: string; displayName?: string }): string {
  return p.displayName ? `${quoted(p.displayName)} <${p.uri}>` : `<${p.uri}>`;
}

/**
 * RFC 6035 session info of a leg from its SIP dialog: CallID, LocalID
 * (us on this dialog), RemoteID (the peer), OrigID (whoever sent the
 * INVITE), DialogID with the tags as the INVITE's From and To carry them.
 */
export function dialogIdentity(
  d: LegDialog,
): Pick<LegIdentity, 'callId' | 'localId' | 'remoteId' | 'origId' | 'dialog'> {
  const fromTag = d.initiator === 'local' ? d.localTag : d.remoteTag;
  const toTag = d.initiator === 'local' ? d.remoteTag : d.localTag;
  return {
    callId: d.callId,
    localId: nameAddr(d.local),
    remoteId: nameAddr(d.remote),
    origId: nameAddr(d.initiator === 'local' ? d.local : d.remote),
    dialog: { callId: d.callId, fromTag, toTag },
  };
}

/** A VQSessionReport (CallTerm when the call ended) for one leg. */
export function legSessionReport(
  id: LegIdentity,
  local: VqMetrics,
  remote: VqMetrics | undefined,
  callTerm: boolean,
): VqSessionReport {
  const report: VqReport = {
    kind: 'VQSessionReport',
    callTerm,
    callId: id.callId,
    localId: id.localId,
    remoteId: id.remoteId,
    origId: id.origId,
    localAddr: id.local,
    remoteAddr: id.remote,
    localMetrics: local,
    remoteMetrics: remote,
    dialogId: id.dialog ? { callId: id.dialog.callId, fromTag: id.dialog.fromTag, toTag: id.dialog.toTag } : undefined,
  };
  return report;
}
