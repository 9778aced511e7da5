/**
 * Samples a running gateway's legs once a period: feeds the values our RTCP
 * XR VoIP metrics carry (signal and noise level of the decoded audio, MOS),
 * keeps a timeline, and raises RFC 6035 interval reports and alerts when
 * configured thresholds are crossed (and a Clear when they are not any more).
 */
import type { CodecInfo } from '../codecs/table';
import type { LegLossMetrics, PlcKind } from '../media/meters';
import { effectiveJitterBuffer, type JitterBufferOptions, type RtpEndpoint, type RtpStats } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';
import { InvalidArgumentError } from '../errors';
import { localMetrics } from './legReport';
import type { VqAlertSeverity, VqMetrics } from './vqreport';

export interface QualityThresholds {
  /** MOS-CQ below: warning / critical. Default 3.6 / 3.1. */
  mosWarning: number;
  mosCritical: number;
  /** Loss percent above: warning / critical. Default 3 / 10. */
  lossWarning: number;
  lossCritical: number;
  /** Interarrival jitter ms above: warning / critical. Default 30 / 60. */
  jitterWarning: number;
  jitterCritical: number;
  /** Round trip ms above: warning / critical. Default 300 / 600. */
  rttWarning: number;
  rttCritical: number;
}

export const DEFAULT_THRESHOLDS: QualityThresholds = {
  mosWarning: 3.6,
  mosCritical: 3.1,
  lossWarning: 3,
  lossCritical: 10,
  jitterWarning: 30,
  jitterCritical: 60,
  rttWarning: 300,
  rttCritical: 600,
};

export interface QualityOptions {
  /** Sampling period, ms. Default 1000. */
  sampleMs?: number;
  /** Emit an interval report every this many ms (0: never). Default 0. */
  intervalMs?: number;
  thresholds?: Partial<QualityThresholds>;
  /** The jitter buffer to report; default: the one each leg's endpoint uses at the time (none while relayed). */
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  /**
   * Samples kept in `timeline` (both legs together), the oldest dropped
   * first. Default 600: 5 minutes at one sample per second, so that a long
   * call does not grow without bound.
   */
  timelineLimit?: number;
}

export interface QualitySample {
  atMs: number;
  leg: 'a' | 'b';
  mosLq?: number;
  mosCq?: number;
  lossPercent?: number;
  jitterMs: number;
  rttMs?: number;
  signalLevel?: number;
  /** mediastreamer2's own quality indicator (0..5), beside our G.107 estimate. */
  ms2Rating?: number;
}

/** Which metric an alert is about (the report's Type=). */
export type AlertType = 'MOSCQ' | 'NLR' | 'IAJ' | 'RTD';

export interface QualityAlert {
  leg: 'a' | 'b';
  type: AlertType;
  severity: VqAlertSeverity;
  value: number;
  metrics: VqMetrics;
}

export interface QualityMonitorEvents {
  sample: (s: QualitySample) => void;
  interval: (leg: 'a' | 'b', metrics: VqMetrics) => void;
  alert: (a: QualityAlert) => void;
  error: (err: unknown) => void;
}

/** One leg as the monitor samples it. */
export interface MonitoredLeg {
  name: 'a' | 'b';
  codec: CodecInfo;
  payloadType: number;
  ptime: number;
  endpoint: RtpEndpoint;
  /** The jitter buffer in use (default: the endpoint's; none while relayed). */
  jitterBuffer?(): JitterBufferOptions | false;
  stats(): RtpStats;
  /** Level of what the leg sent over the last 200 ms, dBm0. */
  audioLevel(): number | undefined;
  lossMetrics(): LegLossMetrics;
  plc(): PlcKind | 'relayed';
}

/** The call the monitor samples: its legs with media, now. */
export interface MonitoredCall {
  readonly closed: boolean;
  legs(): MonitoredLeg[];
}

export class QualityMonitor extends SafeEmitter<QualityMonitorEvents> {
  readonly timeline: QualitySample[] = [];
  readonly #call: MonitoredCall;
  readonly #t: QualityThresholds;
  readonly #jb: JitterBufferOptions | false | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #intervalMs: number;
  readonly #timelineLimit: number;
  readonly #start = new Date();
  #lastInterval = Date.now();
  readonly #noise = { a: Infinity, b: Infinity };
  readonly #state = new Map<string, VqAlertSeverity>();

  constructor(call: MonitoredCall, opts: QualityOptions = {}) {
    super();
    this.#call = call;
    this.#t = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    this.#jb = opts.jitterBuffer === undefined ? undefined : effectiveJitterBuffer(opts.jitterBuffer);
    this.#intervalMs = opts.intervalMs ?? 0;
    const limit = opts.timelineLimit ?? 600;
    if (!Number.isInteger(limit) || limit < 0)
      throw new InvalidArgumentError(`timelineLimit must be an integer >= 0, not ${String(opts.timelineLimit)}`);
    this.#timelineLimit = limit;
    this.#timer = setInterval(() => this.sample(), opts.sampleMs ?? 1000);
    this.#timer.unref();
  }

  /** Takes one sample of both legs now (also run by the timer). */
  sample(): void {
    if (this.#call.closed) return this.stop();
    try {
      const now = new Date();
      const intervalDue = this.#intervalMs > 0 && now.getTime() - this.#lastInterval >= this.#intervalMs;
      if (intervalDue) this.#lastInterval = now.getTime();
      for (const leg of this.#call.legs()) {
        const n = leg.name;
        const stats = leg.stats();
        const signal = leg.audioLevel();
        // the quietest level heard so far stands for the noise floor
        if (signal !== undefined) this.#noise[n] = Math.min(this.#noise[n], signal);
        const plc = leg.plc();
        const m = localMetrics({
          codec: leg.codec,
          payloadType: leg.payloadType,
          ptimeMs: leg.ptime,
          stats,
          loss: leg.lossMetrics(),
          jitterBuffer: this.#jb ?? leg.jitterBuffer?.() ?? leg.endpoint.jitterBuffer,
          signalLevel: signal,
          noiseLevel: Number.isFinite(this.#noise[n]) ? this.#noise[n] : undefined,
          plc: plc === 'relayed' ? undefined : plc,
          start: this.#start,
          stop: now,
        });
        const q = m.qualityEst;
        leg.endpoint.setXrMedia({
          plc: plc === 'none' ? 'none' : 'enhanced',
          signalLevel: signal !== undefined ? Math.max(-120, Math.min(0, Math.round(signal))) : undefined,
          noiseLevel: Number.isFinite(this.#noise[n])
            ? Math.max(-120, Math.min(0, Math.round(this.#noise[n])))
            : undefined,
          mosLq: q?.moslq,
          mosCq: q?.moscq,
        });
        const s: QualitySample = {
          atMs: now.getTime(),
          leg: n,
          mosLq: q?.moslq,
          mosCq: q?.moscq,
          lossPercent: m.packetLoss?.networkLossPercent,
          jitterMs: stats.jitterMs,
          rttMs: stats.roundTripMs > 0 ? stats.roundTripMs : undefined,
          signalLevel: signal,
          ms2Rating: leg.endpoint.qualityIndicator().rating,
        };
        this.timeline.push(s);
        if (this.timeline.length > this.#timelineLimit)
          this.timeline.splice(0, this.timeline.length - this.#timelineLimit);
        this.safeEmit('sample', s);
        this.#checkAlerts(n, s, m);
        if (intervalDue) this.safeEmit('interval', n, m);
      }
    } catch (err) {
      this.safeEmit('error', err);
    }
  }

  #checkAlerts(leg: 'a' | 'b', s: QualitySample, metrics: VqMetrics): void {
    const t = this.#t;
    const check = (type: AlertType, value: number | undefined, warn: number, crit: number, lowIsBad: boolean) => {
      if (value === undefined) return;
      const bad = (limit: number) => (lowIsBad ? value < limit : value > limit);
      const severity: VqAlertSeverity | undefined = bad(crit) ? 'Critical' : bad(warn) ? 'Warning' : undefined;
      const key = `${leg}:${type}`;
      const prev = this.#state.get(key);
      if (severity && severity !== prev) {
        this.#state.set(key, severity);
        this.safeEmit('alert', { leg, type, severity, value, metrics });
      } else if (!severity && prev && prev !== 'Clear') {
        this.#state.set(key, 'Clear');
        this.safeEmit('alert', { leg, type, severity: 'Clear', value, metrics });
      }
    };
    check('MOSCQ', s.mosCq, t.mosWarning, t.mosCritical, true);
    check('NLR', s.lossPercent, t.lossWarning, t.lossCritical, false);
    check('IAJ', s.jitterMs, t.jitterWarning, t.jitterCritical, false);
    check('RTD', s.rttMs, t.rttWarning, t.rttCritical, false);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
