/**
 * Reading an ng message's arguments: the frame (cookie, dictionary), keys
 * normalized as rtpengine reads them, typed accessors that refuse wrong
 * types with the reason rtpengine gives, flags (and Kamailio's rtpp-flags
 * string) turned into SDP options, and participants.
 */
import { isIP } from 'node:net';
import { ControlProtocolError } from '../errors';
import { dict, isDict, type BDict, type BValue } from './bencode';
import { NG_MAX_COOKIE_BYTES } from './ngLimits';
import { NG_CODEC_KEYS, NG_MAX_ID_LENGTH, type NgCodecOptions, type NgParticipant, type NgSdpOptions } from './ngTypes';

// ---------------------------------------------------------------------------
// Framing

/** One message split into its cookie and its bencoded dictionary. */
export interface NgFrame {
  /** The cookie's bytes as a latin1 string (exact: every byte maps to one char). */
  cookie: string;
  /** The dictionary's bytes. */
  body: Buffer;
}

export function fail(message: string, reason = message): never {
  throw new ControlProtocolError(message, 'ERR_RMS_CONTROL_PROTOCOL', reason);
}

/**
 * Splits a message at its first space. No space, or nothing before it, is
 * a ControlProtocolError without a cookie: rtpengine sends no reply then.
 */
export function splitMessage(message: Uint8Array): NgFrame {
  if (!(message instanceof Uint8Array)) fail('ng: a message must be bytes');
  const buf = Buffer.isBuffer(message) ? message : Buffer.from(message.buffer, message.byteOffset, message.length);
  const sp = buf.indexOf(0x20);
  if (sp < 0 || sp > NG_MAX_COOKIE_BYTES)
    fail(`ng: no cookie (no space within the first ${NG_MAX_COOKIE_BYTES + 1} bytes)`);
  if (sp === 0) fail('ng: empty cookie (the message starts with a space)');
  return { cookie: buf.toString('latin1', 0, sp), body: buf.subarray(sp + 1) };
}

// ---------------------------------------------------------------------------
// Reading arguments

export const KNOWN_FLAGS = new Set([
  'all',
  'allow-transcoding',
  'always-transcode',
  'asymmetric',
  'asymmetric-codecs',
  'block-short',
  'block-short-packets',
  'debug',
  'debugging',
  'detect-DTMF',
  'directional',
  'discard-recording',
  'early-media',
  'exclude-recording',
  'fatal',
  'fragment',
  'full-rtcp-attribute',
  'generate-mid',
  'generate-RTCP',
  'inactive',
  'inject-DTMF',
  'loop-protect',
  'media-handover',
  'NAT-wait',
  'no-codec-renegotiation',
  'no-jitter-buffer',
  'no-passthrough',
  'no-port-latching',
  'no-rtcp-attribute',
  'original-sendrecv',
  'pad-crypto',
  'passthrough',
  'pause',
  'pierce-NAT',
  'port-latching',
  'record-call',
  'reject-ICE',
  'reset',
  'reuse-codecs',
  'RTCP-mirror',
  'single-codec',
  'SIP-source-address',
  'strict-source',
  'strip-extmap',
  'symmetric',
  'symmetric-codecs',
  'trickle-ICE',
  'trust-address',
  'unidirectional',
]);

/** Flag prefixes that carry a value (`codec-strip-PCMA`), and where the value goes. */
export const FLAG_PREFIXES: [string, (o: NgSdpOptions, v: string) => void][] = [
  ['replace-', (o, v) => o.replace.push(normalizeWord(v))],
  ['codec-transcode-', (o, v) => o.codec.transcode.push(v)],
  ['transcode-', (o, v) => o.codec.transcode.push(v)],
  ['codec-strip-', (o, v) => o.codec.strip.push(v)],
  ['codec-offer-', (o, v) => o.codec.offer.push(v)],
  ['codec-mask-', (o, v) => o.codec.mask.push(v)],
  ['codec-set-', (o, v) => o.codec.set.push(v)],
  ['codec-except-', (o, v) => o.codec.except.push(v)],
  ['codec-accept-', (o, v) => o.codec.accept.push(v)],
  ['codec-consume-', (o, v) => o.codec.consume.push(v)],
  ['SDES-', (o, v) => o.sdes.push(v)],
  ['OSRTP-', (o, v) => o.osrtp.push(v)],
  ['T38-', (o, v) => o.t38.push(v)],
  ['T.38-', (o, v) => o.t38.push(v)],
  ['rtcp-mux-', (o, v) => o.rtcpMux.push(v)],
  ['endpoint-learning-', (o, v) => (o.endpointLearning = v)],
];

export const ICE_VALUES = new Set(['remove', 'force', 'default', 'force-relay', 'optional']);
export const TRANSPORTS = new Set([
  'RTP/AVP',
  'RTP/SAVP',
  'RTP/AVPF',
  'RTP/SAVPF',
  'UDP/TLS/RTP/SAVP',
  'UDP/TLS/RTP/SAVPF',
]);
export const DTMF_CHARS = '0123456789*#ABCD';

/** rtpengine reads `trust address` and `trust-address` alike. */
export function normalizeWord(s: string): string {
  return s.replace(/ /g, '-');
}

/** Keys with spaces become hyphenated; of two keys that then collide, the first stays. */
export function normalizeKeys(d: BDict): BDict {
  const out = dict();
  for (const [k, v] of Object.entries(d)) {
    const nk = normalizeWord(k);
    if (!Object.prototype.hasOwnProperty.call(out, nk)) out[nk] = v;
  }
  return out;
}

export function typeName(v: BValue): string {
  if (typeof v === 'number' || typeof v === 'bigint') return 'an integer';
  if (typeof v === 'string') return 'a string';
  if (Buffer.isBuffer(v)) return 'a byte string that is not UTF-8';
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

export class Args {
  constructor(
    readonly d: BDict,
    readonly warnings: string[],
  ) {}

  has(k: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.d, k);
  }

  get(k: string): BValue | undefined {
    return this.has(k) ? this.d[k] : undefined;
  }

  str(k: string, opts: { required?: boolean; max?: number; nonEmpty?: boolean } = {}): string | undefined {
    const v = this.get(k);
    if (v === undefined) {
      if (opts.required) fail(`ng: ${k} is missing`, `Missing ${k}`);
      return undefined;
    }
    if (typeof v !== 'string') fail(`ng: ${k} must be a string, got ${typeName(v)}`, `${k} must be a string`);
    const max = opts.max ?? NG_MAX_ID_LENGTH;
    if (v.length > max) fail(`ng: ${k} is longer than ${max} characters`, `${k} too long`);
    if ((opts.required || opts.nonEmpty) && v.length === 0) fail(`ng: ${k} is empty`, `${k} is empty`);
    return v;
  }

  /** An integer, given as an integer or as a decimal string (Kamailio sends `key=value` flags as strings). */
  int(k: string, lo: number, hi: number): number | undefined {
    const v = this.get(k);
    if (v === undefined) return undefined;
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim())) n = Number(v.trim());
    else if (typeof v === 'bigint') n = Number.NaN;
    else return fail(`ng: ${k} must be an integer, got ${typeName(v)}`, `${k} must be an integer`);
    if (!Number.isSafeInteger(n) || n < lo || n > hi)
      fail(`ng: ${k} must be an integer ${lo}..${hi}, got ${String(v)}`, `${k} out of range`);
    return n;
  }

  /** A list of strings; a lone string counts as a list of one. */
  strList(k: string, maxItems = 256): string[] {
    const v = this.get(k);
    if (v === undefined) return [];
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list)) fail(`ng: ${k} must be a list of strings, got ${typeName(v)}`, `${k} must be a list`);
    if (list.length > maxItems) fail(`ng: ${k} has more than ${maxItems} items`, `${k} too long`);
    return list.map((item, n) => {
      if (typeof item !== 'string')
        fail(`ng: ${k}[${n}] must be a string, got ${typeName(item)}`, `${k} must be a list of strings`);
      if (item.length > 1024) fail(`ng: ${k}[${n}] is longer than 1024 characters`, `${k} item too long`);
      return item;
    });
  }

  /** yes/no/on/off (and 1/0, true/false). */
  bool(k: string): boolean | undefined {
    const v = this.get(k);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string') {
      const s = v.toLowerCase();
      if (['yes', 'on', 'true', '1'].includes(s)) return true;
      if (['no', 'off', 'false', '0'].includes(s)) return false;
    }
    this.warnings.push(`${k}: ignored value ${JSON.stringify(typeof v === 'string' ? v : typeName(v))}`);
    return undefined;
  }

  oneOf<T extends string>(k: string, values: ReadonlySet<string> | readonly string[]): T | undefined {
    const v = this.str(k, { max: 64 });
    if (v === undefined) return undefined;
    const ok = Array.isArray(values) ? values.includes(v) : (values as ReadonlySet<string>).has(v);
    if (!ok) fail(`ng: ${k} must be one of ${[...values].join(', ')}, got ${JSON.stringify(v)}`, `Invalid ${k} value`);
    return v as T;
  }
}

export function emptyOptions(): NgSdpOptions {
  return {
    flags: [],
    unknownFlags: [],
    replace: [],
    codec: { strip: [], offer: [], transcode: [], mask: [], set: [], except: [], accept: [], consume: [] },
    sdes: [],
    osrtp: [],
    rtcpMux: [],
    t38: [],
    supports: [],
  };
}

/** Unknown flags kept per request (the rest are counted as one "(more not shown)"). */
export const NG_MAX_UNKNOWN_FLAGS = 16;
/** Characters of an unknown flag kept. */
export const NG_MAX_UNKNOWN_FLAG_CHARS = 64;

export function addFlag(o: NgSdpOptions, raw: string, warnings: string[]): void {
  const f = normalizeWord(raw);
  if (KNOWN_FLAGS.has(f)) {
    if (!o.flags.includes(f)) o.flags.push(f);
    return;
  }
  for (const [prefix, put] of FLAG_PREFIXES)
    if (f.startsWith(prefix) && f.length > prefix.length) {
      // the value keeps its spelling (codec names are case-sensitive and may hold spaces)
      put(o, raw.slice(prefix.length));
      return;
    }
  // kept (and echoed in the reply's warning) up to a bound: a peer cannot
  // make every cached reply carry 60 KB of its own text
  if (o.unknownFlags.length < NG_MAX_UNKNOWN_FLAGS) {
    const shown = raw.length > NG_MAX_UNKNOWN_FLAG_CHARS ? `${raw.slice(0, NG_MAX_UNKNOWN_FLAG_CHARS)}...` : raw;
    o.unknownFlags.push(shown);
    warnings.push(`unknown flag ${JSON.stringify(shown)}`);
  } else if (o.unknownFlags.length === NG_MAX_UNKNOWN_FLAGS) {
    o.unknownFlags.push('(more not shown)');
    warnings.push('more unknown flags not shown');
  }
}

/** Reads every offer/answer option from normalized arguments. */
export function readSdpOptions(a: Args): NgSdpOptions {
  const o = emptyOptions();
  for (const f of a.strList('flags', 1024)) addFlag(o, f, a.warnings);
  for (const r of a.strList('replace')) o.replace.push(normalizeWord(r));

  const codec = a.get('codec');
  if (codec !== undefined) {
    if (!isDict(codec)) fail(`ng: codec must be a dictionary, got ${typeName(codec)}`, 'codec must be a dictionary');
    const c = new Args(codec, a.warnings);
    for (const key of Object.keys(codec)) {
      if (!(NG_CODEC_KEYS as readonly string[]).includes(key)) {
        a.warnings.push(`codec: unknown key ${JSON.stringify(key)}`);
        continue;
      }
      // c.strList validates each list; the error names codec's key
      try {
        o.codec[key as keyof NgCodecOptions].push(...c.strList(key));
      } catch (err) {
        if (err instanceof ControlProtocolError)
          fail(`ng: codec.${key} must be a list of strings`, `codec ${key} must be a list of strings`);
        throw err;
      }
    }
  }

  if (a.has('direction')) {
    const dir = a.strList('direction', 2);
    if (dir.length > 0) o.direction = dir;
  }

  if (a.has('received-from')) {
    const rf = a.get('received-from');
    if (!Array.isArray(rf)) fail('ng: received-from must be a list [family, address]', 'received-from must be a list');
    const [family, address] = a.strList('received-from', 2);
    const v = address === undefined ? 0 : isIP(address);
    if ((family === 'IP4' && v === 4) || (family === 'IP6' && v === 6)) o.receivedFrom = { family, address };
    else a.warnings.push(`received-from: ignored ${JSON.stringify(rf)}`);
  }

  o.addressFamily = a.oneOf<'IP4' | 'IP6'>('address-family', ['IP4', 'IP6']);
  const ma = a.str('media-address', { max: 64 });
  if (ma !== undefined) {
    if (isIP(ma) === 0) fail(`ng: media-address ${JSON.stringify(ma)} is not an IP address`, 'Invalid media-address');
    o.mediaAddress = ma;
  }
  o.ice = a.oneOf('ICE', ICE_VALUES);
  o.dtls = a.str('DTLS', { max: 64 });
  o.sdes.push(...a.strList('SDES'));
  o.osrtp.push(...a.strList('OSRTP'));
  o.rtcpMux.push(...a.strList('rtcp-mux'));
  o.t38.push(...a.strList('T.38'), ...a.strList('T38'));
  const tp = a.str('transport-protocol', { max: 64 });
  if (tp !== undefined) {
    if (!TRANSPORTS.has(tp) && tp !== 'accept')
      fail(`ng: transport-protocol ${JSON.stringify(tp)} is not one we know`, 'Invalid transport-protocol');
    o.transportProtocol = tp;
  }
  o.ptime = a.int('ptime', 1, 1000);
  o.ptimeReverse = a.int('ptime-reverse', 1, 1000);
  o.recordCall = a.bool('record-call');
  if (o.flags.includes('record-call')) o.recordCall = true;
  o.label = a.str('label') ?? a.str('from-label');
  o.supports = a.strList('supports');
  const smt = a.str('sip-message-type', { max: 32 });
  if (smt === 'sip_request' || smt === 'sip_reply') o.sipMessageType = smt;
  else if (smt !== undefined) a.warnings.push(`sip-message-type: ignored ${JSON.stringify(smt)}`);
  const el = a.str('endpoint-learning', { max: 32 });
  if (el !== undefined) o.endpointLearning = el;
  o.rtppFlags = a.str('rtpp-flags', { max: 8192 });
  return compact(o);
}

/** Drops properties whose value is undefined, so that requests compare and print cleanly. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Reads a flags string the way Kamailio's rtpengine module does before it
 * builds the dictionary (and the way rtpengine reads `rtpp-flags`): tokens
 * separated by spaces, `key=value` or bare. Returns the dictionary entries
 * they stand for: bare words in `flags`, `replace-X`/`replace=X` in
 * `replace`, codec words in `codec`, transports in `transport-protocol`,
 * `direction=`/`internal`/`external` in `direction`, other `key=value` as
 * string entries. Handy for tests that play Kamailio.
 */
export function parseRtppFlags(text: string): BDict {
  if (typeof text !== 'string') fail('ng: rtpp-flags must be a string', 'rtpp-flags must be a string');
  const out = dict();
  const list = (k: string): BValue[] => (out[k] ??= []) as BValue[];
  const codec = (k: string): BValue[] => {
    const c = (out.codec ??= dict()) as BDict;
    return (c[k] ??= []) as BValue[];
  };
  const prefixed = (key: string, val: string | undefined, name: string): string | undefined => {
    if (key === name) return val || undefined;
    if (key.startsWith(name + '-') && key.length > name.length + 1) return key.slice(name.length + 1);
    return undefined;
  };
  const codecFlag = (key: string, val: string | undefined): [string, string] | undefined => {
    for (const c of NG_CODEC_KEYS) {
      const v = c === 'transcode' ? undefined : prefixed(key, val, `codec-${c}`);
      if (v !== undefined) return [c, v];
    }
    return undefined;
  };
  let transport = 0;
  for (const token of text.split(' ')) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    const val = eq < 0 ? undefined : token.slice(eq + 1);
    if (key === '') continue;
    let v: string | undefined;
    let cv: [string, string] | undefined;
    if (key === 'via-branch') continue; // Kamailio's own (1, 2, auto...): it sends the branch itself
    if ((v = prefixed(key, val, 'replace')) !== undefined) list('replace').push(v);
    else if ((v = prefixed(key, val, 'SDES')) !== undefined) list('SDES').push(v);
    else if ((v = prefixed(key, val, 'T38') ?? prefixed(key, val, 'T.38')) !== undefined) list('T.38').push(v);
    else if ((v = prefixed(key, val, 'rtcp-mux')) !== undefined) list('rtcp-mux').push(v);
    else if ((v = prefixed(key, val, 'received-from')) !== undefined) {
      const ipv = isIP(v);
      if (ipv) out['received-from'] = [ipv === 4 ? 'IP4' : 'IP6', v];
    } else if ((v = prefixed(key, val, 'transcode') ?? prefixed(key, val, 'codec-transcode')) !== undefined)
      codec('transcode').push(v);
    else if ((cv = codecFlag(key, val)) !== undefined) codec(cv[0]).push(cv[1]);
    else if (val === undefined && (key === 'RTP' || key === 'AVP'))
      transport = (transport | 0x100) & (key === 'RTP' ? ~1 : ~2);
    else if (val === undefined && key === 'SRTP') transport |= 0x101;
    else if (val === undefined && key === 'AVPF') transport |= 0x102;
    else if (val === undefined && key === 'DTLS') transport |= 0x104;
    else if (val === undefined && TRANSPORTS.has(key)) transport = 0x100 | TRANSPORT_BITS[key];
    else if (key === 'internal' || key === 'external') list('direction').push(key);
    else if (key === 'direction' && val) list('direction').push(val);
    else if (val === undefined) list('flags').push(key);
    else if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = val;
  }
  if (transport & 0x100) {
    const name = Object.keys(TRANSPORT_BITS).find((k) => TRANSPORT_BITS[k] === (transport & 7));
    if (name) out['transport-protocol'] = name;
  }
  return out;
}

export const TRANSPORT_BITS: Record<string, number> = {
  'RTP/AVP': 0,
  'RTP/SAVP': 1,
  'RTP/AVPF': 2,
  'RTP/SAVPF': 3,
  'UDP/TLS/RTP/SAVP': 4,
  'UDP/TLS/RTP/SAVPF': 6,
};

/** Lists from rtpp-flags are appended to the dictionary's; other entries fill only what is missing. */
export function mergeRtppFlags(d: BDict, text: string): BDict {
  const extra = normalizeKeys(parseRtppFlags(text));
  const out = dict(Object.entries(d));
  for (const [k, v] of Object.entries(extra)) {
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (Array.isArray(cur) && Array.isArray(v) && k !== 'received-from') out[k] = [...cur, ...v];
    else if (k === 'codec' && isDict(cur) && isDict(v)) {
      const merged = dict(Object.entries(cur));
      for (const [ck, cv] of Object.entries(v))
        merged[ck] =
          Array.isArray(merged[ck]) && Array.isArray(cv) ? [...(merged[ck] as BValue[]), ...cv] : (merged[ck] ?? cv);
      out[k] = merged;
    }
  }
  return out;
}

export function readParticipant(a: Args, flags: readonly string[]): NgParticipant {
  const p: NgParticipant = {
    fromTag: a.str('from-tag'),
    toTag: a.str('to-tag'),
    label: a.str('label') ?? a.str('from-label'),
    toLabel: a.str('to-label'),
  };
  const addr = a.str('address', { max: 64 });
  if (addr !== undefined) {
    if (isIP(addr) === 0) fail(`ng: address ${JSON.stringify(addr)} is not an IP address`, 'Invalid address');
    p.address = addr;
  }
  const all = a.str('all', { max: 32 });
  if (all !== undefined && all !== 'none') {
    if (!['all', 'offer-answer', 'except-offer-answer', 'flows'].includes(all))
      fail(`ng: all must be none, all, offer-answer, except-offer-answer or flows`, 'Invalid all value');
    p.all = all as NgParticipant['all'];
  } else if (all === undefined && flags.includes('all')) p.all = 'all';
  for (const k of Object.keys(p) as (keyof NgParticipant)[]) if (p[k] === undefined) delete p[k];
  return p;
}

export function flagsOf(a: Args): string[] {
  return a.strList('flags', 1024).map(normalizeWord);
}

export function dtmfEvent(a: Args): { event: number; digit: string } {
  const key = a.has('code') ? 'code' : a.has('digit') ? 'digit' : undefined;
  if (key === undefined) fail('ng: play DTMF needs code or digit', 'Missing code');
  const v = a.get(key)!;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{1,2}$/.test(v) && Number(v) > 9)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 15) fail(`ng: ${key} must be 0..15, got ${String(v)}`, `Invalid ${key}`);
    return { event: n, digit: DTMF_CHARS[n] };
  }
  if (typeof v === 'string' && v.length === 1) {
    const n = DTMF_CHARS.indexOf(v.toUpperCase());
    if (n >= 0) return { event: n, digit: DTMF_CHARS[n] };
  }
  return fail(`ng: ${key} must be 0..15 or one of ${DTMF_CHARS}, got ${JSON.stringify(String(v))}`, `Invalid ${key}`);
}

export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

export function requireParticipant(p: NgParticipant, command: string): void {
  if (!p.fromTag && !p.label && !p.address && !p.all)
    fail(`ng: ${command} needs from-tag, label, address or all`, 'No participant selected');
}
