/**
 * Samples the legs of a call once a period (LegQualityMonitor each): feeds
 * the values our RTCP XR VoIP metrics carry, keeps a timeline of samples,
 * per-interval records, alerts and call events (for the quality picture,
 * timeline.ts), and raises RFC 6035 interval reports and alerts with
 * hysteresis. Reads the legs only through QualityLegSource.
 */
import { InvalidArgumentError } from '../errors';
import { SafeEmitter } from '../util/SafeEmitter';
import { DEFAULT_THRESHOLDS, type AlertType, type QualityThresholds } from './alerts';
import { LegQualityMonitor, type QualityInterval, type QualitySample, type ResolvedLegOptions } from './legMonitor';
import type { QualityLegSource } from './source';
import type { VqAlertSeverity, VqMetrics, VqSessionReport } from './vqreport';

export { DEFAULT_THRESHOLDS, type AlertType, type QualityThresholds } from './alerts';
export type { QualityInterval, QualitySample } from './legMonitor';

export interface QualityOptions {
  /** Sampling period, ms. Default 1000. */
  sampleMs?: number;
  /**
   * Emit a VQIntervalReport per leg every this many ms, with the metrics of
   * that interval only (0: none). Default 0. The timeline keeps interval
   * records either way, every intervalMs or, when 0, every 5000 ms.
   */
  intervalMs?: number;
  thresholds?: Partial<QualityThresholds>;
  /** Alerts look at the figures of the last this many ms. Default: one interval. */
  alertWindowMs?: number;
  /**
   * An alert falls only after its figure stayed past the clear point this
   * long. Default: the alert window less one sampling period, so that an
   * alert raised by loss that stops clears within two intervals.
   */
  clearAfterMs?: number;
  /**
   * Relative distance of the clear point below a loss threshold. Default
   * 2/3 (3 % clears below 1 %): bursty loss averaging 4.5 % has 10 s
   * stretches under 1.5 % now and then, and must not clear.
   */
  hysteresis?: number;
  /** The same for jitter and round trip. Default 0.25. */
  delayHysteresis?: number;
  /** MOS distance of the clear point above a MOS threshold. Default 0.2. */
  mosHysteresis?: number;
  /** NoMedia alert after this long without a packet while the peer should send. Default 3000. */
  noMediaMs?: number;
  /**
   * A relayed leg is not decoded here: its listener's phone conceals the
   * loss. true (default): assume it does (the PLC G.113 tabulates for the
   * codec), so relayed and transcoded legs at equal loss score alike.
   */
  relayedPlc?: boolean;
  /** Samples kept in `timeline` (all legs together), oldest dropped first. Default 600. */
  timelineLimit?: number;
  /** Interval records, alerts and events kept. Default 720 each. */
  recordLimit?: number;
  /** @deprecated the jitter buffer reported is the one the leg's endpoint uses (as in its XR). */
  jitterBuffer?: unknown;
}

/** A call event the picture marks (hold, re-INVITE, DTMF, bridge changes ...). */
export interface QualityEvent {
  atMs: number;
  kind: string;
  leg?: string;
  text: string;
}

export interface QualityAlert {
  leg: string;
  type: AlertType;
  severity: VqAlertSeverity;
  value: number;
  atMs: number;
  /** The alert window's metrics. */
  metrics: VqMetrics;
}

export interface QualityMonitorEvents {
  sample: (s: QualitySample) => void;
  interval: (leg: string, metrics: VqMetrics, interval: QualityInterval) => void;
  alert: (a: QualityAlert) => void;
  error: (err: unknown) => void;
}

export interface QualityMonitorContext {
  /** Stops sampling once true. */
  closed?: () => boolean;
  /** Identity for legs whose source has no dialog. */
  callId?: string;
  localUri?: string;
  /** When the call's media began (default now). */
  start?: Date;
}

const int = (name: string, v: number | undefined, dflt: number, min: number) => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x < min)
    throw new InvalidArgumentError(`${name} must be a number >= ${min}, not ${String(v)}`);
  return x;
};

export class QualityMonitor extends SafeEmitter<QualityMonitorEvents> {
  readonly timeline: QualitySample[] = [];
  readonly intervals: QualityInterval[] = [];
  readonly alerts: QualityAlert[] = [];
  readonly events: QualityEvent[] = [];
  readonly legs: Record<string, LegQualityMonitor> = {};
  readonly start: Date;
  readonly sampleMs: number;
  readonly intervalMs: number;
  readonly #reportIntervals: boolean;
  readonly #resolved: ResolvedLegOptions;
  readonly #timer?: NodeJS.Timeout;
  readonly #timelineLimit: number;
  readonly #recordLimit: number;
  readonly #closed: () => boolean;
  #stopped = false;

  constructor(sources: Record<string, QualityLegSource>, opts: QualityOptions = {}, ctx: QualityMonitorContext = {}) {
    super();
    if (!sources || typeof sources !== 'object' || Object.keys(sources).length === 0)
      throw new InvalidArgumentError('QualityMonitor: expected the legs, e.g. { a: source, b: source }');
    const limit = opts.timelineLimit ?? 600;
    if (!Number.isInteger(limit) || limit < 0)
      throw new InvalidArgumentError(`timelineLimit must be an integer >= 0, not ${String(opts.timelineLimit)}`);
    this.#timelineLimit = limit;
    this.#recordLimit = int('recordLimit', opts.recordLimit, 720, 0);
    this.sampleMs = int('sampleMs', opts.sampleMs, 1000, 0);
    this.#reportIntervals = int('intervalMs', opts.intervalMs, 0, 0) > 0;
    this.#resolved = QualityMonitor.resolveOptions(opts, ctx);
    this.intervalMs = this.#resolved.intervalMs;
    this.start = ctx.start ?? new Date();
    for (const [name, src] of Object.entries(sources)) this.addLeg(name, src, this.start);
    this.#closed = ctx.closed ?? (() => false);
    if (this.sampleMs > 0) {
      this.#timer = setInterval(() => this.sample(), this.sampleMs);
      this.#timer.unref();
    }
  }

  /** The per-leg options of a monitor with these options (for a LegQualityMonitor of one's own). */
  static resolveOptions(opts: QualityOptions, ctx: QualityMonitorContext = {}): ResolvedLegOptions {
    const sampleMs = int('sampleMs', opts.sampleMs, 1000, 0);
    const reportMs = int('intervalMs', opts.intervalMs, 0, 0);
    const intervalMs = reportMs > 0 ? reportMs : 5000;
    const window = int('alertWindowMs', opts.alertWindowMs, intervalMs, 0);
    return {
      thresholds: { ...DEFAULT_THRESHOLDS, ...opts.thresholds },
      alertWindowMs: window,
      clearAfterMs: int('clearAfterMs', opts.clearAfterMs, Math.max(0, window - (sampleMs || 1000)), 0),
      hysteresis: int('hysteresis', opts.hysteresis, 2 / 3, 0),
      delayHysteresis: int('delayHysteresis', opts.delayHysteresis, 0.25, 0),
      mosHysteresis: int('mosHysteresis', opts.mosHysteresis, 0.2, 0),
      intervalMs,
      noMediaMs: int('noMediaMs', opts.noMediaMs, 3000, 0),
      relayedPlc: opts.relayedPlc ?? true,
      fallback: { callId: ctx.callId ?? 'unknown', localUri: ctx.localUri ?? 'sip:rtp-media-server@invalid' },
    };
  }

  /** Starts monitoring one more leg (a callee that answered): its figures from now on. */
  addLeg(name: string, source: QualityLegSource, start = new Date()): LegQualityMonitor {
    if (this.legs[name])
      throw new InvalidArgumentError(`QualityMonitor: leg ${JSON.stringify(name)} is monitored already`);
    const leg = new LegQualityMonitor(name, source, this.#resolved, start);
    this.legs[name] = leg;
    return leg;
  }

  /** Marks a call event on the timeline (hold, resume, re-INVITE, DTMF, bridge change ...). */
  mark(kind: string, text: string, leg?: string, atMs = Date.now()): void {
    this.#keep(this.events, { atMs, kind, leg, text });
  }

  #keep<T>(list: T[], item: T, limit = this.#recordLimit): void {
    list.push(item);
    if (list.length > limit) list.splice(0, list.length - limit);
  }

  /** Takes one sample of every leg now (also run by the timer). */
  sample(nowMs = Date.now()): void {
    if (this.#stopped) return;
    if (this.#closed()) return this.stop();
    for (const leg of Object.values(this.legs)) {
      try {
        const changed = leg.mediaChanged();
        if (changed) this.mark('codec', `${changed.codec.name}/${changed.payloadType}`, leg.name, nowMs);
        const r = leg.sample(nowMs);
        if (!r) continue;
        this.#keep(this.timeline, r.sample, this.#timelineLimit);
        this.safeEmit('sample', r.sample);
        for (const a of r.alerts) {
          const alert: QualityAlert = { leg: leg.name, atMs: nowMs, ...a };
          this.#keep(this.alerts, alert);
          this.safeEmit('alert', alert);
        }
        if (r.interval) {
          this.#keep(this.intervals, r.interval);
          if (this.#reportIntervals) this.safeEmit('interval', leg.name, r.interval.metrics, r.interval);
        }
      } catch (err) {
        this.safeEmit('error', err);
      }
    }
  }

  /** The VQSessionReport of a leg: its whole call so far (CallTerm at the end). */
  report(leg: string, callTerm = true): VqSessionReport {
    const l = this.legs[leg];
    if (!l) throw new InvalidArgumentError(`QualityMonitor: no leg ${JSON.stringify(leg)}`);
    return l.sessionReport(callTerm);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
  }
}
