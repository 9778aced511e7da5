/**
 * Threshold alerts with hysteresis, one state per metric: the severity rises
 * as soon as the figure crosses a threshold, and falls (to Warning, or to
 * Clear) only after the figure has stayed on the good side of that level's
 * clear point for `clearAfterMs`. The clear point sits inside the good side
 * (loss, jitter, delay: threshold x (1 - hysteresis); MOS: threshold +
 * mosHysteresis), so a figure hovering at a threshold does not flap.
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
  /** Relative margin of the clear point for loss, jitter and delay. Default 0.25. */
  hysteresis: number;
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
  readonly #state = new Map<AlertType, { severity: VqAlertSeverity; goodSince?: number; target?: VqAlertSeverity }>();

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
    const clearPoint = (limit: number) => (lowIsBad ? limit + this.#h.mosHysteresis : limit * (1 - this.#h.hysteresis));
    // raise at the threshold; fall only to a level whose clear point the figure is past
    const raise: VqAlertSeverity = worse(value, crit) ? 'Critical' : worse(value, warn) ? 'Warning' : 'Clear';
    const fall: VqAlertSeverity = !worse(value, clearPoint(warn))
      ? 'Clear'
      : !worse(value, clearPoint(crit))
        ? 'Warning'
        : 'Critical';
    return this.#apply(type, raise, fall, value, atMs, this.#h.clearAfterMs);
  }

  /** No media: Critical while nothing arrives, Clear once packets flow again (no hysteresis needed). */
  noMedia(silent: boolean, atMs: number, silentForMs: number): AlertChange | undefined {
    const level: VqAlertSeverity = silent ? 'Critical' : 'Clear';
    return this.#apply('NoMedia', level, level, silentForMs, atMs, 0);
  }

  #apply(
    type: AlertType,
    raise: VqAlertSeverity,
    fall: VqAlertSeverity,
    value: number,
    atMs: number,
    clearAfterMs: number,
  ): AlertChange | undefined {
    const s = this.#state.get(type) ?? { severity: 'Clear' as VqAlertSeverity };
    this.#state.set(type, s);
    if (RANK[raise] > RANK[s.severity]) {
      s.severity = raise;
      s.goodSince = undefined;
      s.target = undefined;
      return { type, severity: raise, value };
    }
    if (RANK[fall] >= RANK[s.severity]) {
      s.goodSince = undefined;
      s.target = undefined;
      return undefined;
    }
    // the worst level the figure came back to during the hold is where it falls
    s.goodSince ??= atMs;
    s.target = s.target === undefined || RANK[fall] > RANK[s.target] ? fall : s.target;
    if (atMs - s.goodSince < clearAfterMs) return undefined;
    s.severity = s.target;
    s.goodSince = undefined;
    s.target = undefined;
    return { type, severity: s.severity, value };
  }
}
