/** Signal checks on decoded audio. */
import type { Pcm } from '../../lib/util/wav';

/** Power of one frequency over a block (Goertzel). */
export function goertzel(x: ArrayLike<number>, start: number, len: number, freq: number, rate: number): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
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

/**
 * A voiced, speech-like signal: a glottal pulse train at `f0` through three
 * formant resonators (an /a/-like vowel), with a slow amplitude envelope.
 * Vocoders such as Codec2 keep its pitch and spectral envelope, not its
 * waveform, so it is checked with pitchReport() rather than a tone check.
 */
export function voiced(rate: number, seconds: number, f0: number, amplitude = 0.35): Pcm {
  const n = Math.round(rate * seconds);
  const src = new Float64Array(n);
  const period = rate / f0;
  for (let i = 0, next = 0; i < n; i++) {
    if (i >= next) {
      src[i] = 1;
      next += period;
    }
  }
  let x = src;
  for (const [fc, bw] of [
    [700, 130],
    [1220, 70],
    [2600, 160],
  ]) {
    const r = Math.exp((-Math.PI * bw) / rate);
    const a1 = 2 * r * Math.cos((2 * Math.PI * fc) / rate);
    const a2 = -r * r;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = x[i] + a1 * (i > 0 ? y[i - 1] : 0) + a2 * (i > 1 ? y[i - 2] : 0);
    x = y;
  }
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(x[i]));
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const env = 0.6 + 0.4 * Math.sin((2 * Math.PI * 0.7 * i) / rate);
    samples[i] = Math.round((x[i] / peak) * amplitude * env * 32767);
  }
  return { rate, channels: 1, samples };
}

export interface PitchReport {
  /** Median pitch found over voiced 40 ms blocks, Hz. */
  f0: number;
  /** Fraction of loud blocks whose pitch is within 6 % of `expected`. */
  matchFraction: number;
  /** Share of the signal's energy in the telephone band (300-3400 Hz). */
  speechBandShare: number;
  level: number;
  blocks: number;
}

/** Pitch (autocorrelation, 60-400 Hz) and speech-band energy of decoded audio. */
export function pitchReport(pcm: Pcm, expected: number): PitchReport {
  const x = pcm.samples;
  const rate = pcm.rate;
  const block = Math.round(rate * 0.04);
  const minLag = Math.floor(rate / 400);
  const maxLag = Math.ceil(rate / 60);
  const pitches: number[] = [];
  let blocks = 0;
  let level = 0;
  let inBand = 0;
  let total = 0;
  const bandProbes = [150, 250, 500, 800, 1200, 1800, 2600, 3200, 3600].filter((f) => f < rate / 2);
  for (let s = 0; s + block + maxLag <= x.length; s += block) {
    const r = rms(x, s, block);
    if (r < 300) continue;
    blocks++;
    level += r;
    let best = 0;
    let bestLag = 0;
    for (let lag = minLag; lag <= maxLag; lag++) {
      let acc = 0;
      let e1 = 0;
      let e2 = 0;
      for (let i = s; i < s + block; i++) {
        acc += x[i] * x[i + lag];
        e1 += x[i] * x[i];
        e2 += x[i + lag] * x[i + lag];
      }
      const c = acc / Math.sqrt(e1 * e2 + 1e-9);
      if (c > best) {
        best = c;
        bestLag = lag;
      }
    }
    if (best > 0.4) pitches.push(rate / bestLag);
    for (const f of bandProbes) {
      const p = goertzel(x, s, block, f, rate);
      total += p;
      if (f >= 300 && f <= 3400) inBand += p;
    }
  }
  pitches.sort((a, b) => a - b);
  const f0 = pitches.length ? pitches[Math.floor(pitches.length / 2)] : 0;
  // an octave error (half or double) still shows the pitch was carried
  const near = (p: number) => [expected, expected * 2, expected / 2].some((e) => Math.abs(p - e) / e < 0.06);
  return {
    f0,
    matchFraction: blocks ? pitches.filter(near).length / blocks : 0,
    speechBandShare: total ? inBand / total : 0,
    level: blocks ? level / blocks : 0,
    blocks,
  };
}
