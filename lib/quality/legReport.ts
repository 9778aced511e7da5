/**
 * RFC 6035 reports for one call leg, from what the media server measured on
 * that leg (local metrics) and what the peer reported back in RTCP XR
 * (remote metrics). Unknown values stay undefined and are left out of the
 * body, never written as zero.
 */
import type { CodecInfo } from '../codecs/table';
import type { LegLossMetrics, PlcKind } from '../media/meters';
import type { NativeRtcpPacket } from '../native';
import type { JitterBufferOptions, RtpStats } from '../rtp/RtpEndpoint';
import { eModel, mosFromR } from './emodel';
import {
  fromRfc3611Quality,
  percentFromRfc3611Rate,
  type VqMetrics,
  type VqReport,
  type VqSessionReport,
} from './vqreport';

export interface LegMeasurements {
  codec: CodecInfo;
  payloadType: number;
  ptimeMs: number;
  fmtp?: string;
  stats: RtpStats;
  loss?: LegLossMetrics;
  jitterBuffer: JitterBufferOptions | false;
  /** dBm0 of the decoded audio, when the leg is transcoded. */
  signalLevel?: number;
  noiseLevel?: number;
  /** Concealment of what this leg receives (Gateway.plc()); absent: unknown. */
  plc?: PlcKind;
  start: Date;
  stop: Date;
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

/** What we measured on what this leg sent us. */
export function localMetrics(m: LegMeasurements): VqMetrics {
  const lossPercent = m.loss ? m.loss.lossRate * 100 : undefined;
  const jb = m.jitterBuffer;
  // mouth-to-ear one way: half the round trip (when known) + jitter buffer + a packet time
  const oneWay = (m.stats.roundTripMs > 0 ? m.stats.roundTripMs / 2 : 0) + (jb ? jb.nominalMs : 0) + m.ptimeMs;
  const est =
    lossPercent !== undefined
      ? eModel({
          codec: m.codec.name,
          lossPercent,
          // G.107 BurstR from the Gmin burst/gap split: > 1 when loss clusters in bursts
          burstRatio:
            m.loss && m.loss.bursts > 0 && m.loss.lossRate > 0 ? Math.max(1, m.loss.burstDensity / m.loss.lossRate) : 1,
          oneWayDelayMs: oneWay,
          plc: m.plc === undefined ? undefined : m.plc !== 'none',
        })
      : undefined;
  return {
    start: m.start,
    stop: m.stop,
    sessionDesc: {
      payloadType: m.payloadType,
      payloadDesc: m.codec.name,
      sampleRate: m.codec.clockRate,
      frameDuration: m.ptimeMs,
      packetsPerSecond: Math.round(1000 / m.ptimeMs),
      silenceSuppression: false,
      // RFC 3611 4.7.6: a codec's own concealment is its standard PLC (3);
      // mediastreamer2's generic PLC on a codec without one is enhanced (2)
      plc: m.plc === undefined ? undefined : m.plc === 'decoder' ? 3 : m.plc === 'generic' ? 2 : 1,
    },
    jitterBuffer: jb
      ? { adaptive: jb.adaptive ? 3 : 2, nominalMs: jb.nominalMs, maxMs: jb.maxMs, absMaxMs: jb.maxMs }
      : undefined,
    packetLoss: m.loss ? { networkLossPercent: round1(m.loss.lossRate * 100) } : undefined,
    burstGapLoss: m.loss
      ? {
          burstLossDensityPercent: round1(m.loss.burstDensity * 100),
          burstDurationMs: Math.round(m.loss.burstDurationMs),
          gapLossDensityPercent: round1(m.loss.gapDensity * 100),
          gapDurationMs: Math.min(3_600_000, Math.round(m.loss.gapDurationMs)),
          gmin: m.loss.gmin,
        }
      : undefined,
    delay: {
      roundTripMs: m.stats.roundTripMs > 0 ? Math.round(m.stats.roundTripMs) : undefined,
      interarrivalJitterMs: Math.round(m.stats.jitterMs),
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
          rlq: Math.round(est.rLq),
          rcq: Math.round(est.rCq),
          moslq: round1(mosFromR(est.rLq)),
          moscq: round1(mosFromR(est.rCq)),
          qoeEstAlg: 'G.107',
        }
      : undefined,
  };
}

/** What the peer reported about our stream in its last RTCP XR VoIP metrics block. */
export function remoteMetrics(xr: XrBlock | undefined, start: Date, stop: Date): VqMetrics | undefined {
  if (!xr) return undefined;
  const n = (k: string) => xr[k] as number;
  const level = (v: number) => (v === 127 ? undefined : v);
  const jb = n('rxConfig') & 0x30;
  return {
    start,
    stop,
    jitterBuffer: {
      adaptive: jb === 0x30 ? 3 : jb === 0x20 ? 2 : undefined,
      nominalMs: n('jbNominal'),
      maxMs: n('jbMaximum'),
      absMaxMs: n('jbAbsMax') === 65535 ? undefined : n('jbAbsMax'),
    },
    packetLoss: {
      networkLossPercent: round1(percentFromRfc3611Rate(n('lossRate'))),
      discardPercent: round1(percentFromRfc3611Rate(n('discardRate'))),
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
