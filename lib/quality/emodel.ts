/**
 * ITU-T G.107 E-model, narrowband, reduced to the terms a media server can
 * measure: codec (Ie, Bpl), packet loss (Ppl, BurstR) and one-way delay (Ta).
 *
 *   R = Ro - Is - Id - Ie,eff + A, with G.107's default values for every
 *   other parameter: Ro - Is = 93.2 (the well-known default-R, which also
 *   carries Idte and Idle at their defaults, echo cancelled), A = 0.
 *
 *   Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)        (G.107 7.4)
 *
 *   Id is taken as Idd alone (the absolute-delay term; G.107 7.3):
 *     Idd = 0                                                     for Ta <= 100 ms
 *     Idd = 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2)  for Ta > 100 ms,
 *     X = log2(Ta / 100)
 *   This leaves out the talker-echo term's growth with delay, which is small
 *   with echo cancelled (TELR at its 65 dB default).
 *
 *   MOS from R, G.107 Annex B: 1 below R = 0, 4.5 above R = 100, and
 *   1 + 0.035 R + R (R - 60) (100 - R) 7e-6 between. That cubic dips just
 *   under 1.0 for R below ~6.5; the result is clamped to 1.0 there so that
 *   MOS never rises as R falls.
 *
 * The Ie / Bpl values, with their sources, are in EMODEL_CODEC_TABLE and
 * docs/quality.md.
 */
import { InvalidArgumentError, UnknownNameError } from '../errors';
import type { VqQualityEst } from './vqreport';

export type EModelCodec = 'PCMU' | 'PCMA' | 'G729' | 'G722' | 'opus' | 'CODEC2';

export interface EModelCodecEntry {
  codec: EModelCodec;
  /** Whether the decoder conceals lost packets; G.711 has an entry for each. */
  plc: boolean;
  /** Equipment impairment factor. */
  ie: number;
  /** Packet-loss robustness factor. */
  bpl: number;
  /** Where the numbers come from. */
  source: string;
}

const G113 = 'ITU-T G.113 Appendix I (provisional planning values, random loss)';

/** The Ie / Bpl values this module uses, one row per codec and PLC choice. */
export const EMODEL_CODEC_TABLE: readonly EModelCodecEntry[] = Object.freeze([
  { codec: 'PCMU', plc: true, ie: 0, bpl: 25.1, source: `${G113}: G.711 with the G.711 Appendix I PLC` },
  { codec: 'PCMU', plc: false, ie: 0, bpl: 4.3, source: `${G113}: G.711 without PLC` },
  { codec: 'PCMA', plc: true, ie: 0, bpl: 25.1, source: `${G113}: G.711 with the G.711 Appendix I PLC` },
  { codec: 'PCMA', plc: false, ie: 0, bpl: 4.3, source: `${G113}: G.711 without PLC` },
  {
    codec: 'G729',
    plc: true,
    ie: 11,
    bpl: 19,
    source: `${G113}: G.729 Annex A (+VAD), 20 ms packets; its frame erasure concealment is built in`,
  },
  {
    codec: 'G722',
    plc: true,
    ie: 0,
    bpl: 25.1,
    source:
      'narrowband equivalent (our choice): G.722 is wideband and at least as good as G.711 on the ' +
      'narrowband scale, so Ie = 0 (R saturates at 93.2); Bpl taken as G.711 with PLC, for a decoder ' +
      'with G.722 Appendix III/IV concealment. The wideband E-model (G.107.1, Ie,wb) is not used',
  },
  {
    codec: 'opus',
    plc: true,
    ie: 0,
    bpl: 25.1,
    source:
      'not in G.113; our choice: Ie = 0 as for G.722 (Opus at the rates we use is wideband or better, ' +
      'never worse than G.711), Bpl = 25.1, the best concealment G.113 tabulates; in-band FEC, when ' +
      'negotiated, makes Opus more robust than this, so the figure is conservative',
  },
  {
    codec: 'CODEC2',
    plc: false,
    ie: 30,
    bpl: 4.3,
    source:
      'not in G.113; our choice: Ie = 30, placing the 3.2 kbit/s and lower vocoder modes at or below ' +
      'the lowest-rate coders G.113 lists (G.723.1 5.3 kbit/s Ie = 19, 3.45 kbit/s PSI-CELP Ie = 30); ' +
      "Bpl = 4.3, G.113's no-PLC value, since our Codec2 decoder has no concealment",
  },
] as EModelCodecEntry[]);

export interface EModelInput {
  /** PCMU, PCMA, G729 (G729A), G722, opus or CODEC2, any case. */
  codec: string;
  /** Packet loss Ppl, percent 0-100 (network loss plus jitter-buffer discards). */
  lossPercent: number;
  /** G.107 BurstR: 1 = random loss, > 1 bursty; 1/(p+q) for a 2-state Markov loss model. Default 1. */
  burstRatio?: number;
  /** One-way mouth-to-ear delay Ta, ms. Default 0. */
  oneWayDelayMs?: number;
  /** For G.711 only: whether the receiver conceals losses. Default true. */
  plc?: boolean;
  /** Replace the table's Ie and/or Bpl (e.g. a measured value for a codec mode). */
  ie?: number;
  bpl?: number;
}

export interface EModelResult {
  codec: EModelCodec;
  ie: number;
  bpl: number;
  ieEff: number;
  id: number;
  /** R without the delay impairment (listening quality). */
  rLq: number;
  /** R with it (conversational quality). */
  rCq: number;
}

/** Ro - Is with every G.107 default (A = 0, Id at T = 0 included). */
export const EMODEL_DEFAULT_R = 93.2;

const codecNames: Record<string, EModelCodec> = {
  pcmu: 'PCMU',
  pcma: 'PCMA',
  g711u: 'PCMU',
  g711a: 'PCMA',
  g729: 'G729',
  g729a: 'G729',
  g722: 'G722',
  opus: 'opus',
  codec2: 'CODEC2',
};

function entryFor(codec: string, plc: boolean | undefined): EModelCodecEntry {
  const name = typeof codec === 'string' ? codecNames[codec.toLowerCase().replace(/[.\-_ ]/g, '')] : undefined;
  if (!name)
    throw new UnknownNameError(
      `E-model codec: expected one of PCMU, PCMA, G729, G722, opus, CODEC2, got ${JSON.stringify(codec)}`,
    );
  const rows = EMODEL_CODEC_TABLE.filter((e) => e.codec === name);
  if (plc === false && (name === 'PCMU' || name === 'PCMA')) return rows.find((e) => !e.plc)!;
  if (plc === undefined || rows.length === 1) return rows.find((e) => e.plc) ?? rows[0];
  return rows.find((e) => e.plc === plc)!;
}

function checkNumber(name: string, v: number, min: number, max: number, what: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new InvalidArgumentError(`${name}: expected ${what}, got ${v}`);
}

/** G.107 Idd for an absolute one-way delay Ta in ms. */
export function delayImpairment(oneWayDelayMs: number): number {
  checkNumber('oneWayDelayMs', oneWayDelayMs, 0, Number.MAX_VALUE, 'a delay in ms, 0 or more');
  if (oneWayDelayMs <= 100) return 0;
  const x = Math.log2(oneWayDelayMs / 100);
  return 25 * (Math.pow(1 + x ** 6, 1 / 6) - 3 * Math.pow(1 + (x / 3) ** 6, 1 / 6) + 2);
}

/** G.107 Ie,eff. */
export function effectiveEquipmentImpairment(ie: number, bpl: number, lossPercent: number, burstRatio = 1): number {
  checkNumber('ie', ie, 0, 95, 'an equipment impairment 0-95');
  checkNumber('bpl', bpl, Number.MIN_VALUE, Number.MAX_VALUE, 'a robustness factor above 0');
  checkNumber('lossPercent', lossPercent, 0, 100, 'a loss percentage 0-100');
  checkNumber('burstRatio', burstRatio, Number.MIN_VALUE, Number.MAX_VALUE, 'a BurstR above 0 (1 = random loss)');
  return ie + ((95 - ie) * lossPercent) / (lossPercent / burstRatio + bpl);
}

/** Every term of the E-model for one stream. */
export function eModel(input: EModelInput): EModelResult {
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('E-model: expected an input object');
  const entry = entryFor(input.codec, input.plc);
  const ie = input.ie ?? entry.ie;
  const bpl = input.bpl ?? entry.bpl;
  const ieEff = effectiveEquipmentImpairment(ie, bpl, input.lossPercent, input.burstRatio ?? 1);
  const id = delayImpairment(input.oneWayDelayMs ?? 0);
  const rLq = EMODEL_DEFAULT_R - ieEff;
  return { codec: entry.codec, ie, bpl, ieEff, id, rLq, rCq: rLq - id };
}

/** G.107 transmission rating R (conversational: loss and delay). */
export function rFactor(input: EModelInput): number {
  return eModel(input).rCq;
}

/** G.107 Annex B: estimated MOS (conversational quality) from R, 1.0-4.5. */
export function mosFromR(r: number): number {
  if (typeof r !== 'number' || Number.isNaN(r)) throw new InvalidArgumentError(`R: expected a number, got ${r}`);
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.max(1, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

export interface MosLqCq {
  /** R of the listening-quality estimate: no delay impairment. */
  rLq: number;
  /** R of the conversational estimate: with it. */
  rCq: number;
  /** MOS-LQ (RFC 3611 4.7.5: listening quality, does not include delay). */
  mosLq: number;
  /** MOS-CQ (RFC 3611 4.7.5: conversational quality, includes delay). */
  mosCq: number;
}

/** MOS-LQ and MOS-CQ as RFC 3611 defines them, both from the E-model. */
export function mosLqCq(input: EModelInput): MosLqCq {
  const e = eModel(input);
  return { rLq: e.rLq, rCq: e.rCq, mosLq: mosFromR(e.rLq), mosCq: mosFromR(e.rCq) };
}

/**
 * The `QualityEst` line of a report from the E-model: RLQ / RCQ rounded and
 * clamped to 0-120, MOSLQ / MOSCQ, and QoEEstAlg=G.107.
 */
export function qualityEstimate(input: EModelInput): VqQualityEst {
  const q = mosLqCq(input);
  const r = (v: number) => Math.min(120, Math.max(0, Math.round(v)));
  const mos = (v: number) => Math.round(v * 10) / 10;
  return { rlq: r(q.rLq), rcq: r(q.rCq), moslq: mos(q.mosLq), moscq: mos(q.mosCq), qoeEstAlg: 'G.107' };
}

/** G.107 BurstR from a 2-state (Gilbert) loss model: p = P(loss | last received), q = P(received | last lost). */
export function burstRatioFromMarkov(p: number, q: number): number {
  checkNumber('p', p, 0, 1, 'a probability 0-1');
  checkNumber('q', q, 0, 1, 'a probability 0-1');
  if (p + q === 0)
    throw new InvalidArgumentError('p + q: expected above 0 (a chain that never changes state has no BurstR)');
  return 1 / (p + q);
}
