/** Signal checks on decoded audio. */
import type { Pcm } from '../../lib/util/wav';

/** Power of one frequency over a block (Goertzel). */
export function goertzel(x: ArrayLike<number>, start: number, len: number, freq: number, rate: number): number {
  const k = (2 * Math.cos((2 * Math.PI * freq) / rate));
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + len; i++) {
    const s = x[i] + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (len * len);
}

export function rms(x: ArrayLike<number>, start = 0, len = x.length - start): number {
  let acc = 0;
  for (let i = start; i < start + len; i++) acc += x[i] * x[i];
  return Math.sqrt(acc / Math.max(1, len));
}

export interface ToneReport {
  /** dB of the target frequency above the strongest of the probe frequencies. */
  marginDb: number;
  /** Fraction of 100 ms blocks where the tone dominates by ≥ 10 dB. */
  dominantFraction: number;
  /** RMS level of the signal part (full scale 32767). */
  level: number;
  blocks: number;
}

/**
 * How clearly `freq` dominates the decoded audio: per 100 ms block, compare
 * its power with other probe frequencies across the speech band. Blocks of
 * near-silence (start-up, jitter-buffer fill) are skipped.
 */
export function toneReport(pcm: Pcm, freq: number): ToneReport {
  const x = pcm.samples;
  const block = Math.round(pcm.rate / 10);
  const probes = [300, 500, 700, 1400, 1800, 2500, 3100].filter((f) => Math.abs(f - freq) > 150 && f < pcm.rate / 2);
  let blocks = 0;
  let dominant = 0;
  let sumTarget = 0;
  let sumOther = 0;
  let level = 0;
  for (let s = 0; s + block <= x.length; s += block) {
    const r = rms(x, s, block);
    if (r < 300) continue;
    blocks++;
    level += r;
    const p = goertzel(x, s, block, freq, pcm.rate);
    const other = Math.max(...probes.map((f) => goertzel(x, s, block, f, pcm.rate)));
    sumTarget += p;
    sumOther += other;
    if (p > 10 * other) dominant++;
  }
  return {
    marginDb: blocks ? 10 * Math.log10(sumTarget / Math.max(sumOther, 1e-9)) : -Infinity,
    dominantFraction: blocks ? dominant / blocks : 0,
    level: blocks ? level / blocks : 0,
    blocks,
  };
}
