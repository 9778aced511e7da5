/**
 * Threshold alerts with hysteresis, one state per metric: the severity rises
 * as soon as the figure crosses a threshold, and falls (to Warning, or to
 * Clear) only after the figure has stayed on the good side of that level's
 * clear point for `clearAfterMs`. The clear point sits inside the good side
 * (loss: a third of the threshold by default; jitter, delay: three quarters;
 * MOS: threshold + 0.2), so a figure hovering at a threshold does not flap.
 */
import type { VqAlertSeverity } from './vqreport';

export interface QualityThresholds {
  /** MOS-CQ below: warning / critical. Default 3.6 / 3.1. */
  mosWarning: number;
  mosCritical: number;
  /** Loss percent (network loss + discards) above: warning / critical. Default 3 / 10. */
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

/** Which metric an alert is about (the report's Type=); NoMedia: nothing arrived while the peer should send. */
export type AlertType = 'MOSCQ' | 'NLR' | 'IAJ' | 'RTD' | 'NoMedia';

export interface HysteresisOptions {
  /** Relative margin of the clear point below a loss threshold. */
  hysteresis: number;
  /** The same for jitter and round trip. */
  delayHysteresis: number;
  /** MOS margin of the clear point. Default 0.2. */
  mosHysteresis: number;
  /** How long a figure stays on the good side before its alert falls, ms. */
  clearAfterMs: number;
}

const RANK: Record<VqAlertSeverity, number> = { Clear: 0, Warning: 1, Critical: 2 };

export interface AlertChange {
  type: AlertType;
  severity: VqAlertSeverity;
  value: number;
}

/** The alert state of one leg. */
export class AlertTracker {
  readonly #t: QualityThresholds;
  readonly #h: HysteresisOptions;
  readonly #state = new Map<AlertType, { severity: VqAlertSeverity; warnGoodSince?: number; critGoodSince?: number }>();

  constructor(t: QualityThresholds, h: HysteresisOptions) {
    this.#t = t;
    this.#h = h;
  }

  severity(type: AlertType): VqAlertSeverity {
    return this.#state.get(type)?.severity ?? 'Clear';
  }

  /** Feeds one figure (undefined: unknown, no change); returns the change, if any. */
  update(type: Exclude<AlertType, 'NoMedia'>, value: number | undefined, atMs: number): AlertChange | undefined {
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const t = this.#t;
    const [warn, crit, lowIsBad] =
      type === 'MOSCQ'
        ? [t.mosWarning, t.mosCritical, true]
        : type === 'NLR'
          ? [t.lossWarning, t.lossCritical, false]
          : type === 'IAJ'
            ? [t.jitterWarning, t.jitterCritical, false]
            : [t.rttWarning, t.rttCritical, false];
    const worse = (v: number, limit: number) => (lowIsBad ? v < limit : v > limit);
    const h = type === 'NLR' ? this.#h.hysteresis : this.#h.delayHysteresis;
    const clearPoint = (limit: number) => (lowIsBad ? limit + this.#h.mosHysteresis : limit * (1 - h));
    const raise: VqAlertSeverity = worse(value, crit) ? 'Critical' : worse(value, warn) ? 'Warning' : 'Clear';
    return this.#apply(type, raise, !worse(value, clearPoint(warn)), !worse(value, clearPoint(crit)), value, atMs);
  }

  /** No media: Critical while nothing arrives, Clear once packets flow again (no hysteresis needed). */
  noMedia(silent: boolean, atMs: number, silentForMs: number): AlertChange | undefined {
    const s = this.#state.get('NoMedia')?.severity ?? 'Clear';
    if (silent === (s === 'Critical')) return undefined;
    this.#state.set('NoMedia', { severity: silent ? 'Critical' : 'Clear' });
    return { type: 'NoMedia', severity: silent ? 'Critical' : 'Clear', value: silentForMs };
  }

  /**
   * Raises at once; falls to Clear once the figure has been past the warning
   * level's clear point for clearAfterMs, or from Critical to Warning once
   * past the critical level's clear point that long.
   */
  #apply(
    type: AlertType,
    raise: VqAlertSeverity,
    pastWarnClear: boolean,
    pastCritClear: boolean,
    value: number,
    atMs: number,
  ): AlertChange | undefined {
    const s = this.#state.get(type) ?? { severity: 'Clear' as VqAlertSeverity };
    this.#state.set(type, s);
    s.warnGoodSince = pastWarnClear ? (s.warnGoodSince ?? atMs) : undefined;
    s.critGoodSince = pastCritClear ? (s.critGoodSince ?? atMs) : undefined;
    if (RANK[raise] > RANK[s.severity]) {
      s.severity = raise;
      return { type, severity: raise, value };
    }
    const held = (since: number | undefined) => since !== undefined && atMs - since >= this.#h.clearAfterMs;
    const fall: VqAlertSeverity | undefined =
      s.severity !== 'Clear' && held(s.warnGoodSince)
        ? 'Clear'
        : s.severity === 'Critical' && held(s.critGoodSince)
          ? 'Warning'
          : undefined;
    if (!fall) return undefined;
    s.severity = fall;
    return { type, severity: fall, value };
  }
}
