/**
 * The figures of one stretch of a leg's reception (the whole call, one
 * interval, an alert window), from two rxQuality() snapshots: loss and
 * discards, RFC 3611 Appendix A.2 burst/gap metrics, G.107's BurstR from
 * the 2-state loss model, jitter. Unknown (nothing expected) stays
 * undefined; no figure is made up.
 */
import type { NativeRxQuality } from '../native';

export type RxCounters = Pick<
  NativeRxQuality,
  'received' | 'expected' | 'lost' | 'duplicates' | 'reordered' | 'tooLate' | 'discarded' | 'a2' | 'transitions'
>;

const ZERO: RxCounters = {
  received: 0,
  expected: 0,
  lost: 0,
  duplicates: 0,
  reordered: 0,
  tooLate: 0,
  discarded: 0,
  a2: { c11: 0, c13: 0, c14: 0, c22: 0, c23: 0, c33: 0 },
  transitions: { rr: 0, rl: 0, lr: 0, ll: 0 },
};

/** Counters of `now` since `before` (all of `now` without it). */
export function rxDelta(now: RxCounters, before: RxCounters | undefined): RxCounters {
  const b = before ?? ZERO;
  const d = (x: number, y: number) => Math.max(0, x - y);
  return {
    received: d(now.received, b.received),
    expected: d(now.expected, b.expected),
    lost: d(now.lost, b.lost),
    duplicates: d(now.duplicates, b.duplicates),
    reordered: d(now.reordered, b.reordered),
    tooLate: d(now.tooLate, b.tooLate),
    discarded: d(now.discarded, b.discarded),
    a2: {
      c11: d(now.a2.c11, b.a2.c11),
      c13: d(now.a2.c13, b.a2.c13),
      c14: d(now.a2.c14, b.a2.c14),
      c22: d(now.a2.c22, b.a2.c22),
      c23: d(now.a2.c23, b.a2.c23),
      c33: d(now.a2.c33, b.a2.c33),
    },
    transitions: {
      rr: d(now.transitions.rr, b.transitions.rr),
      rl: d(now.transitions.rl, b.transitions.rl),
      lr: d(now.transitions.lr, b.transitions.lr),
      ll: d(now.transitions.ll, b.transitions.ll),
    },
  };
}

export interface BurstGap {
  /** 0..1 */
  burstDensity: number;
  gapDensity: number;
  burstDurationMs: number;
  gapDurationMs: number;
}

/**
 * RFC 3611 Appendix A.2's burst and gap metrics from its transition counts.
 * Where A.2 would call a stream without any burst "100 % dense bursts"
 * (p23 = 1 when no received packet was ever seen inside a burst), a stream
 * without burst has density 0, as the field definitions of 4.7.2 say.
 */
export function a2Figures(c: RxCounters['a2'], packetMs: number): BurstGap {
  const c31 = c.c13;
  const c32 = c.c23;
  const total = c.c11 + c.c14 + c.c13 + c.c22 + c.c23 + c31 + c32 + c.c33;
  const out: BurstGap = { burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0 };
  if (total <= 0) return out;
  const anyBurst = c.c23 + c.c33 > 0;
  const p32 = c31 + c32 + c.c33 > 0 ? c32 / (c31 + c32 + c.c33) : 0;
  const p23 = c.c22 + c.c23 < 1 ? 1 : 1 - c.c22 / (c.c22 + c.c23);
  out.burstDensity = anyBurst && p23 + p32 > 0 ? p23 / (p23 + p32) : 0;
  out.gapDensity = c.c11 + c.c14 > 0 ? c.c14 / (c.c11 + c.c14) : 0;
  if (c.c13 > 0) {
    out.gapDurationMs = ((c.c11 + c.c14 + c.c13) * packetMs) / c.c13;
    out.burstDurationMs = anyBurst ? Math.max(0, (total * packetMs) / c.c13 - out.gapDurationMs) : 0;
  } else {
    out.gapDurationMs = (c.c11 + c.c14) * packetMs;
  }
  return out;
}

/**
 * G.107 BurstR of a 2-state loss model fitted to the transitions:
 * p = P(lost | previous received), q = P(received | previous lost),
 * BurstR = 1 / (p + q): 1 for random (Bernoulli) loss, above 1 when losses
 * cluster. 1 when nothing was lost.
 */
export function burstRatio(t: RxCounters['transitions']): number {
  const fromReceived = t.rr + t.rl;
  const fromLost = t.lr + t.ll;
  if (t.rl + t.ll === 0 || fromReceived === 0 || fromLost === 0) return 1;
  const p = t.rl / fromReceived;
  const q = t.lr / fromLost;
  return p + q > 0 ? 1 / (p + q) : 1;
}

export interface RxFigures extends BurstGap {
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
  discarded: number;
  /** Network loss, percent (RFC 6035 NLR); undefined when nothing was expected. */
  lossPercent?: number;
  /** Jitter buffer discards, percent (JDR). */
  discardPercent?: number;
  burstRatio: number;
}

export function rxFigures(c: RxCounters, packetMs: number): RxFigures {
  const known = c.expected > 0;
  return {
    expected: c.expected,
    received: c.received,
    lost: c.lost,
    duplicates: c.duplicates,
    reordered: c.reordered,
    discarded: c.discarded,
    lossPercent: known ? (100 * c.lost) / c.expected : undefined,
    discardPercent: known ? Math.min(100, (100 * c.discarded) / c.expected) : undefined,
    burstRatio: burstRatio(c.transitions),
    ...a2Figures(c.a2, packetMs),
  };
}
