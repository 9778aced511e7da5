/**
 * a=fmtp parameters: parsing, validation and generation per codec. Values are
 * checked against the ranges of their RFCs (RFC 7587 for Opus, RFC 4733 for
 * telephone-event, G.729 Annex B per RFC 4856 4.1.9) and of libcodec2, and a
 * bad one is an InvalidArgumentError that says what is allowed.
 */
import { InvalidArgumentError } from '../errors';

/** Raw key=value pairs as written after the payload type (";"-separated). */
export function parseFmtpPairs(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!fmtp) return out;
  for (const part of fmtp.split(';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (key) out.set(key, value);
  }
  return out;
}

function formatPairs(pairs: [string, string | number | undefined][]): string | undefined {
  const s = pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  return s || undefined;
}

function intIn(pairs: Map<string, string>, key: string, lo: number, hi: number, codec: string): number | undefined {
  const raw = pairs.get(key);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw))
    throw new InvalidArgumentError(`${codec} fmtp ${key}=${raw}: expected an integer ${lo}..${hi}`);
  const v = Number(raw);
  if (v < lo || v > hi) throw new InvalidArgumentError(`${codec} fmtp ${key}=${raw}: expected ${lo}..${hi}`);
  return v;
}

function flag(pairs: Map<string, string>, key: string, codec: string): boolean | undefined {
  const raw = pairs.get(key);
  if (raw === undefined) return undefined;
  if (raw === '1') return true;
  if (raw === '0') return false;
  throw new InvalidArgumentError(`${codec} fmtp ${key}=${raw}: expected 0 or 1`);
}

// ---------------------------------------------------------------- Opus

/** RFC 7587 section 6.1 parameters. */
export interface OpusFmtp {
  maxplaybackrate?: number;
  spropMaxcapturerate?: number;
  maxptime?: number;
  ptime?: number;
  minptime?: number;
  maxaveragebitrate?: number;
  stereo?: boolean;
  spropStereo?: boolean;
  cbr?: boolean;
  useinbandfec?: boolean;
  usedtx?: boolean;
}

export function parseOpusFmtp(fmtp: string | undefined): OpusFmtp {
  const p = parseFmtpPairs(fmtp);
  const c = 'opus';
  return {
    maxplaybackrate: intIn(p, 'maxplaybackrate', 8000, 48000, c),
    spropMaxcapturerate: intIn(p, 'sprop-maxcapturerate', 8000, 48000, c),
    maxptime: intIn(p, 'maxptime', 3, 120, c),
    ptime: intIn(p, 'ptime', 3, 120, c),
    minptime: intIn(p, 'minptime', 3, 120, c),
    maxaveragebitrate: intIn(p, 'maxaveragebitrate', 6000, 510000, c),
    stereo: flag(p, 'stereo', c),
    spropStereo: flag(p, 'sprop-stereo', c),
    cbr: flag(p, 'cbr', c),
    useinbandfec: flag(p, 'useinbandfec', c),
    usedtx: flag(p, 'usedtx', c),
  };
}

const b = (v: boolean | undefined) => (v === undefined ? undefined : v ? 1 : 0);

export function formatOpusFmtp(o: OpusFmtp): string | undefined {
  return formatPairs([
    ['maxplaybackrate', o.maxplaybackrate],
    ['sprop-maxcapturerate', o.spropMaxcapturerate],
    ['maxptime', o.maxptime],
    ['ptime', o.ptime],
    ['minptime', o.minptime],
    ['maxaveragebitrate', o.maxaveragebitrate],
    ['stereo', b(o.stereo)],
    ['sprop-stereo', b(o.spropStereo)],
    ['cbr', b(o.cbr)],
    ['useinbandfec', b(o.useinbandfec)],
    ['usedtx', b(o.usedtx)],
  ]);
}

// ---------------------------------------------------------------- G.729

export interface G729Fmtp {
  /** Annex B (VAD/CNG). RFC 4856: absent means yes. We never send Annex B SID frames. */
  annexb: boolean;
}

export function parseG729Fmtp(fmtp: string | undefined): G729Fmtp {
  const raw = parseFmtpPairs(fmtp).get('annexb');
  if (raw === undefined) return { annexb: true };
  const v = raw.toLowerCase();
  if (v !== 'yes' && v !== 'no') throw new InvalidArgumentError(`G729 fmtp annexb=${raw}: expected yes or no`);
  return { annexb: v === 'yes' };
}

export function formatG729Fmtp(o: G729Fmtp): string {
  return `annexb=${o.annexb ? 'yes' : 'no'}`;
}

// ---------------------------------------------------------------- Codec2

/** Bit rates libcodec2 1.0 offers for speech ('700' is mode 700C). */
export const CODEC2_MODES = [3200, 2400, 1600, 1400, 1300, 1200, 700] as const;
export type Codec2Mode = (typeof CODEC2_MODES)[number];

/** Frame length per mode: 20 ms at 3200/2400, 40 ms below. */
export function codec2FrameMs(mode: Codec2Mode): number {
  return mode >= 2400 ? 20 : 40;
}

export interface Codec2Fmtp {
  mode: Codec2Mode;
}

/** Without fmtp a CODEC2 line means 2400 (what baresip and FreeSWITCH default to). */
export function parseCodec2Fmtp(fmtp: string | undefined, fallback: Codec2Mode = 2400): Codec2Fmtp {
  const raw = parseFmtpPairs(fmtp).get('mode');
  if (raw === undefined) return { mode: fallback };
  const mode = raw.toUpperCase() === '700C' ? 700 : Number(raw);
  if (!CODEC2_MODES.includes(mode as Codec2Mode))
    throw new InvalidArgumentError(
      `CODEC2 fmtp mode=${raw} is not supported; supported modes: ${CODEC2_MODES.join(', ')}`,
    );
  return { mode: mode as Codec2Mode };
}

export function formatCodec2Fmtp(o: Codec2Fmtp): string {
  return `mode=${o.mode}`;
}

// ---------------------------------------------------------------- telephone-event

/** RFC 4733 events as a sorted list of event codes (0-255). */
export function parseTelephoneEventFmtp(fmtp: string | undefined): number[] {
  const text = fmtp?.trim();
  // RFC 4733 2.4.1: without fmtp, 0-15 (the DTMF digits) are assumed
  if (!text) return range(0, 15);
  const events = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,3})(?:\s*-\s*(\d{1,3}))?\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`telephone-event fmtp "${fmtp}": expected a list like 0-15,66`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 255 || hi > 255 || hi < lo)
      throw new InvalidArgumentError(`telephone-event fmtp "${fmtp}": events are 0..255`);
    for (const e of range(lo, hi)) events.add(e);
  }
  return [...events].sort((x, y) => x - y);
}

export function formatTelephoneEventFmtp(events: number[]): string {
  const sorted = [...new Set(events)].sort((x, y) => x - y);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
