/**
 * What a transcoded or relayed direction measures for the quality reports:
 * RFC 3611 loss and burst/gap figures from the sequence numbers played out
 * (the loss meter), and the level of the decoded audio (the level meter).
 */
import type { LossCounters, LossMeter, LevelMeter } from '../graph/filters';
import { powerToDbm0 } from '../graph/filters';
import type { RtpStats } from '../rtp/RtpEndpoint';

/** What a leg received, as RFC 3611 4.7 defines the loss and burst/gap metrics (Gmin 16). */
export interface LegLossMetrics extends LossCounters {
  /** Lost (and discarded) over expected, 0..1. */
  lossRate: number;
  /** Share of lost packets within bursts, 0..1 (0 when there was no burst). */
  burstDensity: number;
  /** Share of lost packets within gaps, 0..1. */
  gapDensity: number;
  /** Mean burst length in ms (0 without bursts). */
  burstDurationMs: number;
  /** Mean gap length in ms. */
  gapDurationMs: number;
}

/** How the audio decoded from a leg is concealed when packets are lost. */
export type PlcKind = 'decoder' | 'generic' | 'none';

export function lossMetrics(c: LossCounters, ptimeMs: number): LegLossMetrics {
  const gapPackets = c.packets - c.burstPackets;
  const gapLost = c.lost - c.burstLost;
  return {
    ...c,
    lossRate: c.packets ? c.lost / c.packets : 0,
    burstDensity: c.burstPackets ? c.burstLost / c.burstPackets : 0,
    gapDensity: gapPackets ? gapLost / gapPackets : 0,
    burstDurationMs: c.bursts ? (c.burstPackets / c.bursts) * ptimeMs : 0,
    gapDurationMs: (gapPackets / (c.bursts + 1)) * ptimeMs,
  };
}

/** Loss figures from oRTP's counters when no loss meter runs: every loss counted as gap (no burst seen). */
export function lossFromStats(st: RtpStats, ptimeMs: number): LegLossMetrics {
  const lost = Math.max(0, st.lost);
  return lossMetrics(
    { packets: st.packetsReceived + lost, lost, burstPackets: 0, burstLost: 0, bursts: 0, gmin: 16 },
    ptimeMs,
  );
}

/**
 * The meters of the directions out of each leg, across graph rebuilds: a
 * re-INVITE or a recording rebuilds the graph, and the speech heard before
 * must still count in the end-of-call signal level.
 */
export class DirectionMeters<L extends string> {
  readonly #loss = new Map<L, LossMeter>();
  readonly #level = new Map<L, LevelMeter>();
  readonly #speech = new Map<L, { power: number; n: number }>();

  setLoss(leg: L, m: LossMeter): void {
    this.#loss.set(leg, m);
  }

  setLevel(leg: L, m: LevelMeter): void {
    this.#level.set(leg, m);
  }

  loss(leg: L): LossMeter | undefined {
    return this.#loss.get(leg);
  }

  /** Level of the last 200 ms block decoded from `leg`, dBm0. */
  level(leg: L): number | undefined {
    const m = this.#level.get(leg);
    return m && !m.closed ? m.reading().levelDbm0 : undefined;
  }

  /** RFC 3611 signal level of everything decoded from `leg` so far, dBm0. */
  speechLevel(leg: L): number | undefined {
    const kept = this.#speech.get(leg) ?? { power: 0, n: 0 };
    const m = this.#level.get(leg);
    const r = m && !m.closed ? m.reading() : undefined;
    const power = kept.power + (r?.speechPowerSum ?? 0);
    const n = kept.n + (r?.speechBlocks ?? 0);
    return n ? powerToDbm0(power / n) : undefined;
  }

  /** Folds the live level meters into the running totals before their graph is freed, and forgets the meters. */
  release(): void {
    for (const [leg, m] of this.#level) {
      if (m.closed) continue;
      const r = m.reading();
      const kept = this.#speech.get(leg) ?? { power: 0, n: 0 };
      this.#speech.set(leg, { power: kept.power + r.speechPowerSum, n: kept.n + r.speechBlocks });
    }
    this.#level.clear();
    this.#loss.clear();
  }
}
