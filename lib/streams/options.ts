/**
 * The options of audio forks and injections, checked before anything is
 * built (InvalidArgumentError naming the field), and the sample formats
 * they carry: L16 (16-bit signed PCM, little-endian, as speech recognisers
 * and mod_audio_fork take it), PCMU (G.711 mu-law, as Twilio-style bots
 * take it) and Opus (one packet per frame; forks only).
 */
import { InvalidArgumentError } from '../errors';
import { checkVoiceSettings, type VoiceDetectorSettings } from '../graph/streamFilters';

export type StreamDirection = 'in' | 'out' | 'both';
export type StreamFormat = 'L16' | 'PCMU' | 'opus';
export type StreamRate = 8000 | 16000 | 24000 | 48000;

/** How audio played into a leg meets what it would hear otherwise. */
export type InjectMode = 'replace' | 'mix';

export interface InjectOptions {
  /** Sample format of what is written (default 'L16'; 'PCMU' is 8 kHz only). */
  format?: 'L16' | 'PCMU';
  /** Its rate (default: the fork's rate, else 8000 for PCMU and 16000 for L16). */
  rate?: StreamRate;
  /**
   * 'replace' (default): while injected audio plays the leg hears it instead
   * of the other side; 'mix': both, summed.
   */
  mode?: InjectMode;
  /** Audio held back after the queue ran dry, so bursts from the network play smoothly, ms (0..1000, default 60). */
  jitterMs?: number;
  /** Most audio queued ahead of real time, ms (100..600000, default 20000); more is dropped and counted. */
  bufferMs?: number;
  /** Clears what is queued when the leg starts speaking (voice activity) or sends a digit (default: neither). */
  bargeIn?: { voice?: boolean; dtmf?: boolean };
}

export interface ReconnectOptions {
  /** First delay, ms (default 250); doubles each time up to maxDelayMs (default 10000), with jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts in a row before giving up (default: no limit while the fork lives). */
  attempts?: number;
}

export interface ForkOptions {
  /** A WebSocket (ws:// or wss://) to send the audio to; the fork reconnects when it drops. */
  url?: string;
  /** Extra headers of the WebSocket handshake (authorisation...). */
  headers?: Record<string, string>;
  /** In-process instead: the audio comes out of `fork.readable`, one frame per chunk. */
  stream?: boolean;
  /** 'in' (default): what the leg sends us; 'out': what we send it; 'both'. */
  direction?: StreamDirection;
  format?: StreamFormat;
  /** Default: 8000 for PCMU, else 16000. PCMU is 8 kHz only. */
  rate?: StreamRate;
  /** With direction 'both': the two directions as a stereo pair (left: in, right: out) instead of mixed. */
  stereo?: boolean;
  /** Audio per frame, ms (default 20; 10..100 for PCM, 10/20/40/60 for Opus). */
  frameMs?: number;
  /** Frames waiting for a slow consumer at most, as ms of audio (default 2000); older ones are dropped and counted. */
  queueMs?: number;
  /** Sent in the first metadata message as `call` (e.g. the SIP Call-ID; default: the leg's name). */
  call?: string;
  /** Sent as is in the first metadata message (JSON). */
  metadata?: Record<string, unknown>;
  /** Audio the WebSocket sends back plays into the leg (with `url` only; in-process use leg.inject()). */
  inject?: boolean | InjectOptions;
  /** false: no reconnection. */
  reconnect?: false | ReconnectOptions;
}

/** Voice activity detection on what the leg sends (the leg's 'voice' events). */
export type VoiceOptions = VoiceDetectorSettings;

export interface ResolvedFork {
  url?: string;
  headers: Record<string, string>;
  stream: boolean;
  direction: StreamDirection;
  format: StreamFormat;
  rate: StreamRate;
  channels: 1 | 2;
  /** With 'both': mixed (true) or stereo. */
  mix: boolean;
  frameMs: number;
  queueFrames: number;
  call?: string;
  metadata?: Record<string, unknown>;
  inject?: ResolvedInject;
  reconnect: false | Required<ReconnectOptions>;
}

export interface ResolvedInject {
  format: 'L16' | 'PCMU';
  rate: StreamRate;
  mode: InjectMode;
  jitterMs: number;
  bufferMs: number;
  bargeIn: { voice: boolean; dtmf: boolean };
}

const RATES = [8000, 16000, 24000, 48000];
const fail = (what: string, got: unknown): never => {
  throw new InvalidArgumentError(`${what} but received ${JSON.stringify(got)}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
function intIn(v: unknown, min: number, max: number, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(`Expected an integer ${min}..${max} for ${name}`, v);
  return v as number;
}

export function resolveInject(o: unknown, fallbackRate?: StreamRate): ResolvedInject {
  if (o === undefined || o === true) o = {};
  if (!isObj(o)) return fail('Expected inject options', o);
  const format = o.format ?? 'L16';
  if (format !== 'L16' && format !== 'PCMU') fail("Expected format 'L16' or 'PCMU' for the injection", format);
  const rate = o.rate ?? (format === 'PCMU' ? 8000 : (fallbackRate ?? 16000));
  if (!RATES.includes(rate as number)) fail(`Expected a rate of ${RATES.join(', ')} for the injection`, rate);
  if (format === 'PCMU' && rate !== 8000) fail('PCMU is 8 kHz: expected rate 8000', rate);
  const mode = o.mode ?? 'replace';
  if (mode !== 'replace' && mode !== 'mix') fail("Expected mode 'replace' or 'mix'", mode);
  const b = o.bargeIn ?? {};
  if (!isObj(b)) fail('Expected bargeIn { voice?, dtmf? }', b);
  const barge = b as Record<string, unknown>;
  for (const k of ['voice', 'dtmf'])
    if (barge[k] !== undefined && typeof barge[k] !== 'boolean') fail(`Expected a boolean for bargeIn.${k}`, barge[k]);
  return {
    format: format as 'L16' | 'PCMU',
    rate: rate as StreamRate,
    mode: mode as InjectMode,
    jitterMs: intIn(o.jitterMs, 0, 1000, 'jitterMs', 60),
    bufferMs: intIn(o.bufferMs, 100, 600000, 'bufferMs', 20000),
    bargeIn: { voice: barge.voice === true, dtmf: barge.dtmf === true },
  };
}

export function resolveFork(o: unknown): ResolvedFork {
  if (!isObj(o)) return fail('Expected fork options { url } or { stream: true }', o);
  const url = o.url;
  if (url !== undefined) {
    if (typeof url !== 'string' || url.length > 2048) fail('Expected a ws:// or wss:// URL', url);
    let u: URL | undefined;
    try {
      u = new URL(url as string);
    } catch {
      fail('Expected a ws:// or wss:// URL', url);
    }
    if (u!.protocol !== 'ws:' && u!.protocol !== 'wss:') fail('Expected a ws:// or wss:// URL', url);
  }
  if (o.stream !== undefined && typeof o.stream !== 'boolean') fail('Expected a boolean for stream', o.stream);
  const stream = o.stream === true;
  if ((url === undefined) === !stream) fail('Give a fork exactly one of url and stream: true', { url, stream });
  const headers = o.headers ?? {};
  if (!isObj(headers) || Object.values(headers).some((v) => typeof v !== 'string'))
    fail('Expected headers as { name: string }', headers);
  const direction = o.direction ?? 'in';
  if (direction !== 'in' && direction !== 'out' && direction !== 'both')
    fail("Expected direction 'in', 'out' or 'both'", direction);
  const format = o.format ?? 'L16';
  if (format !== 'L16' && format !== 'PCMU' && format !== 'opus')
    fail("Expected format 'L16', 'PCMU' or 'opus'", format);
  const rate = o.rate ?? (format === 'PCMU' ? 8000 : 16000);
  if (!RATES.includes(rate as number)) fail(`Expected a rate of ${RATES.join(', ')}`, rate);
  if (format === 'PCMU' && rate !== 8000) fail('PCMU is 8 kHz: expected rate 8000', rate);
  if (o.stereo !== undefined && typeof o.stereo !== 'boolean') fail('Expected a boolean for stereo', o.stereo);
  if (o.mix !== undefined && typeof o.mix !== 'boolean') fail('Expected a boolean for mix', o.mix);
  const stereo = o.stereo === true || o.mix === false;
  if (stereo && direction !== 'both') fail("stereo needs direction 'both'", direction);
  const frameMs = intIn(o.frameMs, 10, 100, 'frameMs', 20);
  if (format === 'opus' && ![10, 20, 40, 60].includes(frameMs))
    fail('Expected frameMs 10, 20, 40 or 60 for Opus', frameMs);
  if (format !== 'opus' && frameMs % 10 !== 0) fail('Expected frameMs in steps of 10 ms', frameMs);
  const queueMs = intIn(o.queueMs, 100, 60000, 'queueMs', 2000);
  if (o.call !== undefined && (typeof o.call !== 'string' || o.call.length > 256))
    fail('Expected a string of at most 256 characters for call', o.call);
  if (o.metadata !== undefined && !isObj(o.metadata)) fail('Expected an object for metadata', o.metadata);
  if (o.metadata !== undefined && JSON.stringify(o.metadata).length > 16384) fail('metadata over 16 KiB', '...');
  let inject: ResolvedInject | undefined;
  if (o.inject !== undefined && o.inject !== false) {
    if (!url) fail('inject on a fork needs a url (in-process, use leg.inject())', o.inject);
    inject = resolveInject(o.inject, format === 'opus' ? undefined : (rate as StreamRate));
  }
  let reconnect: ResolvedFork['reconnect'] = { minDelayMs: 250, maxDelayMs: 10000, attempts: Infinity };
  if (o.reconnect === false) reconnect = false;
  else if (o.reconnect !== undefined) {
    if (!isObj(o.reconnect)) fail('Expected reconnect options or false', o.reconnect);
    const r = o.reconnect as Record<string, unknown>;
    const minDelayMs = intIn(r.minDelayMs, 10, 60000, 'reconnect.minDelayMs', 250);
    reconnect = {
      minDelayMs,
      maxDelayMs: intIn(r.maxDelayMs, minDelayMs, 600000, 'reconnect.maxDelayMs', Math.max(minDelayMs, 10000)),
      attempts: r.attempts === undefined ? Infinity : intIn(r.attempts, 1, 1e6, 'reconnect.attempts', 1),
    };
  }
  return {
    url: url as string | undefined,
    headers: headers as Record<string, string>,
    stream,
    direction: direction as StreamDirection,
    format: format as StreamFormat,
    rate: rate as StreamRate,
    channels: stereo ? 2 : 1,
    mix: direction === 'both' && !stereo,
    frameMs,
    queueFrames: Math.max(1, Math.ceil(queueMs / frameMs)),
    call: o.call as string | undefined,
    metadata: o.metadata as Record<string, unknown> | undefined,
    inject,
    reconnect,
  };
}

export function resolveVoice(o: unknown): VoiceOptions {
  if (o === undefined || o === true) return {};
  checkVoiceSettings(o as VoiceOptions);
  return o as VoiceOptions;
}

// G.711 mu-law (ITU-T G.711; the segment encoding with a bias of 0x84)
const BIAS = 0x84;
const CLIP = 32635;
export function linearToUlaw(sample: number): number {
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}
const ULAW_TABLE = (() => {
  const t = new Int16Array(256);
  for (let u = 0; u < 256; u++) {
    const x = ~u & 0xff;
    const exp = (x >> 4) & 7;
    const mag = (((x & 0x0f) << 3) + BIAS) << exp;
    t[u] = x & 0x80 ? BIAS - mag : mag - BIAS;
  }
  return t;
})();
export const ulawToLinear = (u: number): number => ULAW_TABLE[u & 0xff];

/** 16-bit little-endian PCM -> mu-law bytes. */
export function encodeUlaw(pcm: Buffer): Buffer {
  const n = pcm.length >> 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = linearToUlaw(pcm.readInt16LE(i * 2));
  return out;
}

/** mu-law bytes -> 16-bit little-endian PCM. */
export function decodeUlaw(u: Buffer): Buffer {
  const out = Buffer.allocUnsafe(u.length * 2);
  for (let i = 0; i < u.length; i++) out.writeInt16LE(ULAW_TABLE[u[i]], i * 2);
  return out;
}
