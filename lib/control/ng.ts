/**
 * The rtpengine "ng" control protocol, as Kamailio's rtpengine module speaks
 * it: each message is a cookie, one space and a bencoded dictionary; the
 * reply carries the same cookie. This module reads requests into a typed,
 * normalized model, formats replies, caches replies by cookie so that a
 * retransmitted request gets the same bytes without running again, and
 * splits a TCP byte stream into messages. It opens no socket and touches no
 * call: the daemon (`rtp-media-server serve`) wires it to MediaServer.
 *
 * docs/control-protocol.md lists the commands and options and what Kamailio
 * sends.
 */
import { isIP } from 'node:net';
import { ControlProtocolError, RmsError } from '../errors';
import { decode, decodePrefix, dict, encode, isDict, type BDict, type BValue } from './bencode';

/** The commands this server carries out. */
export const NG_COMMANDS = [
  'ping',
  'offer',
  'answer',
  'delete',
  'query',
  'list',
  'play media',
  'stop media',
  'play DTMF',
  'block DTMF',
  'unblock DTMF',
  'block media',
  'unblock media',
  'silence media',
  'unsilence media',
  'start recording',
  'stop recording',
  'statistics',
] as const;
/** The commands parseRequest() understands. */
export type NgCommand = (typeof NG_COMMANDS)[number];

/** Commands rtpengine defines that this server knows of but does not carry out. */
export const NG_UNSUPPORTED_COMMANDS = [
  'pause recording',
  'block silence media',
  'unblock silence media',
  'start forwarding',
  'stop forwarding',
  'publish',
  'subscribe request',
  'subscribe answer',
  'unsubscribe',
  'connect',
  'cli',
] as const;

/**
 * `error-reason` texts. The first five are rtpengine's own; Kamailio's module
 * treats the two load-limit ones specially: on either it tries the next node
 * of the set instead of failing the call.
 */
export const NG_REASONS = {
  noPayload: 'Invalid data (no payload)',
  notBencode: 'Could not decode bencode dictionary',
  noCommand: 'Dictionary contains no key "command"',
  unknownCommand: 'Unrecognized command',
  badFormat: 'Invalid NG data format',
  sessionLimit: 'Parallel session limit reached',
  outOfPorts: 'Ran out of ports',
  unsupportedCommand: 'Unsupported command',
  replyTooLarge: 'Reply too large',
  internal: 'Internal error',
} as const;

/** Longest cookie accepted (Kamailio's are like "0_32690_1"; its buffer is 128 bytes). */
export const NG_MAX_COOKIE_BYTES = 256;
/** Largest request accepted, cookie included. */
export const NG_MAX_MESSAGE_BYTES = 256 * 1024;
/** Largest reply that fits one IPv4 UDP datagram. */
export const NG_MAX_UDP_REPLY_BYTES = 65_507;
/** Longest SDP body (as lib/sdp/parse.ts accepts). */
export const NG_MAX_SDP_BYTES = 64 * 1024;
/** Longest Call-ID, tag, via-branch or label (as MediaServer accepts for a Call-ID). */
export const NG_MAX_ID_LENGTH = 256;

// ---------------------------------------------------------------------------
// Request model

/** The `codec` dictionary of offer/answer: what to strip, keep, transcode to... */
export interface NgCodecOptions {
  /** Codecs to remove from the SDP (`all`/`full`: every codec). */
  strip: string[];
  /** Codecs to keep, in this order, first preferred. */
  offer: string[];
  /** Codecs to add, transcoded when the peer picks them. */
  transcode: string[];
  /** Codecs removed from the offer but still accepted from the offerer (transcoded). */
  mask: string[];
  /** Codec parameters for transcoding (e.g. `opus/48000/2/32000`). */
  set: string[];
  /** Codecs never stripped by `strip`/`mask` `all`. */
  except: string[];
  /** Codecs accepted towards the offerer even if the answerer rejects them. */
  accept: string[];
  /** Like mask, and engages transcoding. */
  consume: string[];
}

/** The keys of the `codec` dictionary that are read. */
export const NG_CODEC_KEYS = ['strip', 'offer', 'transcode', 'mask', 'set', 'except', 'accept', 'consume'] as const;

/** The options of offer and answer (and of other commands where they apply). */
export interface NgSdpOptions {
  /** Flags we know, normalized to rtpengine's hyphenated spelling (`trust address` -> `trust-address`), in order. */
  flags: string[];
  /** Flags we do not know, as received; also listed in the request's warnings. */
  unknownFlags: string[];
  /** SDP parts to rewrite: `origin`, `session-connection`, `SDP-version`, `username`, `session-name`, `zero-address`, `force-increment-sdp-ver`. */
  replace: string[];
  codec: NgCodecOptions;
  /** Logical interface names for the sides, [from, to]. */
  direction?: string[];
  /** Where the SIP message came from (Kamailio sends it with every command). */
  receivedFrom?: { family: 'IP4' | 'IP6'; address: string };
  addressFamily?: 'IP4' | 'IP6';
  /** Overrides the SDP's addresses and receivedFrom. */
  mediaAddress?: string;
  ice?: 'remove' | 'force' | 'default' | 'force-relay' | 'optional';
  dtls?: string;
  sdes: string[];
  osrtp: string[];
  rtcpMux: string[];
  t38: string[];
  /** `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVP`, `UDP/TLS/RTP/SAVPF` or `accept`. */
  transportProtocol?: string;
  ptime?: number;
  ptimeReverse?: number;
  recordCall?: boolean;
  /** Label for this participant (`label` or `from-label`). */
  label?: string;
  /** What the controlling proxy supports; `load limit` allows the `load limit` result. */
  supports: string[];
  /** Newer Kamailio (5.8+) says whether the command came from a request or a reply. */
  sipMessageType?: 'sip_request' | 'sip_reply';
  endpointLearning?: string;
  /** The raw `rtpp-flags` string (newer Kamailio with flags parsed by the server); already merged into these options. */
  rtppFlags?: string;
}

/** Which participant(s) a command applies to. */
export interface NgParticipant {
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** A label set on the leg by an earlier offer or answer. */
  label?: string;
  /** The label of the other leg. */
  toLabel?: string;
  /** Select by the SDP media address. */
  address?: string;
  /** `all` (flag or key): every participant, or the named subset. */
  all?: 'all' | 'offer-answer' | 'except-offer-answer' | 'flows';
}

interface NgBase {
  /** The request's cookie; the reply carries it back. */
  cookie: string;
  /** The dictionary as received, keys normalized (spaces -> hyphens, first of duplicates kept). */
  args: BDict;
  /** Things accepted but ignored (unknown flags, bad optional values). A daemon may log them. */
  warnings: string[];
}

/** A parsed `ping` request. */
export interface NgPing extends NgBase {
  /** The ng command. */
  command: 'ping';
}
/** A parsed `offer` request. */
export interface NgOffer extends NgBase {
  /** The ng command. */
  command: 'offer';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag: string;
  /** Present in a re-INVITE's offer. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** The SDP body. */
  sdp: string;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `answer` request. */
export interface NgAnswer extends NgBase {
  /** The ng command. */
  command: 'answer';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag: string;
  /** The SIP To tag. */
  toTag: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** The SDP body. */
  sdp: string;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `delete` request. */
export interface NgDelete extends NgBase {
  /** The ng command. */
  command: 'delete';
  /** The SIP Call-ID. */
  callId: string;
  /** Without it the whole call goes (Kamailio sends it always; it leaves to-tag out unless asked). */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** Unknown call -> error instead of ok with a warning. */
  fatal: boolean;
  /** Seconds to wait before deleting (`delete delay`, or Kamailio's `delete-delay=` flag). */
  deleteDelay?: number;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `query` request. */
export interface NgQuery extends NgBase {
  /** The ng command. */
  command: 'query';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
}
/** A parsed `list` request. */
export interface NgList extends NgBase {
  /** The ng command. */
  command: 'list';
  /** Most Call-IDs to return. Default 32. */
  limit: number;
}
/** A parsed `play media` request. */
export interface NgPlayMedia extends NgBase {
  /** The ng command. */
  command: 'play media';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  source: { file: string } | { blob: Buffer } | { dbId: number };
  repeatTimes: number;
  startPos?: number;
}
/** A parsed `stop media` request. */
export interface NgStopMedia extends NgBase {
  /** The ng command. */
  command: 'stop media';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
}
/** A parsed `play DTMF` request. */
export interface NgPlayDtmf extends NgBase {
  /** The ng command. */
  command: 'play DTMF';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  /** RFC 4733 event 0..15 (0-9, 10 '*', 11 '#', 12-15 A-D). */
  event: number;
  /** The same as a character. */
  digit: string;
  /** Milliseconds, 100..5000, default 250. */
  durationMs: number;
  /** dBm0, -63..0, default -8 (a positive value is taken as negative). */
  volume: number;
  /** Milliseconds between queued digits, 100..5000, default 100. */
  pauseMs: number;
}
/** A parsed `block DTMF / unblock DTMF` request. */
export interface NgBlockDtmf extends NgBase {
  /** The ng command. */
  command: 'block DTMF' | 'unblock DTMF';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  /** `DTMF-security` mode for block (drop, silence, tone, random, zero, DTMF, off). */
  mode?: string;
}
/** block/unblock media (drop what the participant sends), silence/unsilence media (replace it by silence). */
export interface NgMediaBlock extends NgBase {
  command: 'block media' | 'unblock media' | 'silence media' | 'unsilence media';
  callId: string;
  /** Who sends the media; nobody named: every participant of the call. */
  participant: NgParticipant;
}
/** A parsed `start recording` request. */
export interface NgStartRecording extends NgBase {
  /** The ng command. */
  command: 'start recording';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  outputDestination?: string;
}
/** A parsed `stop recording` request. */
export interface NgStopRecording extends NgBase {
  /** The ng command. */
  command: 'stop recording';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** `pause` flag or `pause=yes`: keep the file open for a later start. */
  pause: boolean;
}
/** A parsed `statistics` request. */
export interface NgStatistics extends NgBase {
  /** The ng command. */
  command: 'statistics';
}

/** Any parsed request, told apart by `command`. */
export type NgRequest =
  | NgPing
  | NgOffer
  | NgAnswer
  | NgDelete
  | NgQuery
  | NgList
  | NgPlayMedia
  | NgStopMedia
  | NgPlayDtmf
  | NgBlockDtmf
  | NgMediaBlock
  | NgStartRecording
  | NgStopRecording
  | NgStatistics;

// ---------------------------------------------------------------------------
// Framing

/** One message split into its cookie and its bencoded dictionary. */
export interface NgFrame {
  /** The cookie's bytes as a latin1 string (exact: every byte maps to one char). */
  cookie: string;
  /** The dictionary's bytes. */
  body: Buffer;
}

function fail(message: string, reason = message): never {
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

const KNOWN_FLAGS = new Set([
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
const FLAG_PREFIXES: [string, (o: NgSdpOptions, v: string) => void][] = [
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

const ICE_VALUES = new Set(['remove', 'force', 'default', 'force-relay', 'optional']);
const TRANSPORTS = new Set(['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVPF']);
const DTMF_CHARS = '0123456789*#ABCD';

/** rtpengine reads `trust address` and `trust-address` alike. */
function normalizeWord(s: string): string {
  return s.replace(/ /g, '-');
}

/** Keys with spaces become hyphenated; of two keys that then collide, the first stays. */
function normalizeKeys(d: BDict): BDict {
  const out = dict();
  for (const [k, v] of Object.entries(d)) {
    const nk = normalizeWord(k);
    if (!Object.prototype.hasOwnProperty.call(out, nk)) out[nk] = v;
  }
  return out;
}

function typeName(v: BValue): string {
  if (typeof v === 'number' || typeof v === 'bigint') return 'an integer';
  if (typeof v === 'string') return 'a string';
  if (Buffer.isBuffer(v)) return 'a byte string that is not UTF-8';
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

class Args {
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

function emptyOptions(): NgSdpOptions {
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

function addFlag(o: NgSdpOptions, raw: string, warnings: string[]): void {
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
  o.unknownFlags.push(raw);
  warnings.push(`unknown flag ${JSON.stringify(raw)}`);
}

/** Reads every offer/answer option from normalized arguments. */
function readSdpOptions(a: Args): NgSdpOptions {
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
function compact<T extends object>(o: T): T {
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

const TRANSPORT_BITS: Record<string, number> = {
  'RTP/AVP': 0,
  'RTP/SAVP': 1,
  'RTP/AVPF': 2,
  'RTP/SAVPF': 3,
  'UDP/TLS/RTP/SAVP': 4,
  'UDP/TLS/RTP/SAVPF': 6,
};

/** Lists from rtpp-flags are appended to the dictionary's; other entries fill only what is missing. */
function mergeRtppFlags(d: BDict, text: string): BDict {
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

function readParticipant(a: Args, flags: readonly string[]): NgParticipant {
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

function flagsOf(a: Args): string[] {
  return a.strList('flags', 1024).map(normalizeWord);
}

function dtmfEvent(a: Args): { event: number; digit: string } {
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

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function requireParticipant(p: NgParticipant, command: string): void {
  if (!p.fromTag && !p.label && !p.address && !p.all)
    fail(`ng: ${command} needs from-tag, label, address or all`, 'No participant selected');
}

// ---------------------------------------------------------------------------
// Parsing

/** Limits of parseRequest(). */
export interface ParseOptions {
  /** Largest message, cookie included. Default NG_MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
}

const DECODE_LIMITS = { maxDepth: 16, maxItems: 20_000, strings: 'auto', duplicateKeys: 'first' } as const;

/**
 * Reads one message (a datagram, or one message from NgStreamDecoder) into a
 * request. Throws only ControlProtocolError: with `cookie` set when the
 * message had one (reply with errorReplyFor(err)), without when it had none
 * (send nothing, as rtpengine does).
 */
export function parseRequest(message: Uint8Array, opts: ParseOptions = {}): NgRequest {
  let cookie: string | undefined;
  try {
    const max = opts.maxMessageBytes ?? NG_MAX_MESSAGE_BYTES;
    const frame = splitMessage(message);
    cookie = frame.cookie;
    if (message.length > max)
      fail(`ng: message of ${message.length} bytes, more than the ${max} allowed`, 'Message too large');
    return compact(readRequest(frame.cookie, frame.body));
  } catch (err) {
    const e =
      err instanceof ControlProtocolError
        ? err
        : new ControlProtocolError(`ng: cannot read the message: ${String((err as Error)?.message ?? err)}`);
    if (cookie !== undefined && e.cookie === undefined) e.cookie = cookie;
    throw e;
  }
}

function readRequest(cookie: string, body: Buffer): NgRequest {
  if (body.length === 0) fail('ng: nothing after the cookie', NG_REASONS.noPayload);
  if (body[0] === 0x7b)
    fail('ng: JSON bodies are not supported, only bencode', `${NG_REASONS.badFormat} (JSON is not supported)`);
  if (body[0] !== 0x64) fail('ng: the body is not a bencoded dictionary', NG_REASONS.badFormat);
  let decoded: BValue;
  try {
    decoded = decode(body, { ...DECODE_LIMITS, maxBytes: body.length });
  } catch (err) {
    const detail = (err as Error).message.replace(/^bencode: /, '');
    throw new ControlProtocolError(
      `ng: ${(err as Error).message}`,
      'ERR_RMS_BENCODE',
      `${NG_REASONS.notBencode}: ${detail}`,
    );
  }
  let d = normalizeKeys(decoded as BDict);
  const warnings: string[] = [];
  const cmd = d.command;
  if (cmd === undefined) fail('ng: the dictionary has no command', NG_REASONS.noCommand);
  if (typeof cmd !== 'string') fail(`ng: command must be a string, got ${typeName(cmd)}`, NG_REASONS.noCommand);
  const rtpp = d['rtpp-flags'];
  if (typeof rtpp === 'string' && rtpp.length <= 8192) d = mergeRtppFlags(d, rtpp);
  const a = new Args(d, warnings);
  const base = { cookie, args: d, warnings };
  const callId = () => a.str('call-id', { required: true })!;
  switch (cmd) {
    case 'ping':
      return { ...base, command: 'ping' };
    case 'statistics':
      return { ...base, command: 'statistics' };
    case 'offer':
    case 'answer': {
      const r = {
        ...base,
        callId: callId(),
        fromTag: a.str('from-tag', { required: true })!,
        toTag: a.str('to-tag', { required: cmd === 'answer' }),
        viaBranch: a.str('via-branch'),
        sdp: a.str('sdp', { required: true, max: NG_MAX_SDP_BYTES })!,
        options: readSdpOptions(a),
      };
      if (Buffer.byteLength(r.sdp) > NG_MAX_SDP_BYTES)
        fail(`ng: sdp is larger than ${NG_MAX_SDP_BYTES} bytes`, 'sdp too long');
      return cmd === 'offer' ? { ...r, command: 'offer' } : { ...r, command: 'answer', toTag: r.toTag! };
    }
    case 'delete': {
      const options = readSdpOptions(a);
      return {
        ...base,
        command: 'delete',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        fatal: options.flags.includes('fatal'),
        deleteDelay: a.int('delete-delay', 0, 86_400),
        options,
      };
    }
    case 'query':
      return {
        ...base,
        command: 'query',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
      };
    case 'list':
      return { ...base, command: 'list', limit: a.int('limit', 1, 100_000) ?? 32 };
    case 'play media': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      const sources: NgPlayMedia['source'][] = [];
      const file = a.str('file', { max: 4096, nonEmpty: true });
      if (file !== undefined) sources.push({ file });
      const blob = a.get('blob');
      if (blob !== undefined) {
        if (typeof blob !== 'string' && !Buffer.isBuffer(blob))
          fail('ng: blob must be a byte string', 'blob must be a string');
        sources.push({ blob: Buffer.isBuffer(blob) ? blob : Buffer.from(blob, 'utf8') });
      }
      const dbId = a.int('db-id', 0, Number.MAX_SAFE_INTEGER);
      if (dbId !== undefined) sources.push({ dbId });
      if (sources.length !== 1)
        fail('ng: play media needs exactly one of file, blob and db-id', 'No media source given');
      return {
        ...base,
        command: 'play media',
        callId: id,
        participant,
        source: sources[0],
        repeatTimes: a.int('repeat-times', 1, 1_000_000) ?? 1,
        startPos: a.int('start-pos', 0, Number.MAX_SAFE_INTEGER),
      };
    }
    case 'stop media': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      return { ...base, command: 'stop media', callId: id, participant };
    }
    case 'play DTMF': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      const { event, digit } = dtmfEvent(a);
      const volume = a.int('volume', -1000, 1000) ?? -8;
      return {
        ...base,
        command: 'play DTMF',
        callId: id,
        participant,
        event,
        digit,
        durationMs: clamp(a.int('duration', 0, 1_000_000) ?? 250, 100, 5000),
        volume: clamp(-Math.abs(volume), -63, 0),
        pauseMs: clamp(a.int('pause', 0, 1_000_000) ?? 100, 100, 5000),
      };
    }
    case 'block DTMF':
    case 'unblock DTMF': {
      const id = callId();
      return {
        ...base,
        command: cmd,
        callId: id,
        participant: readParticipant(a, flagsOf(a)),
        mode: a.str('DTMF-security', { max: 32 }),
      };
    }
    case 'block media':
    case 'unblock media':
    case 'silence media':
    case 'unsilence media':
      return { ...base, command: cmd, callId: callId(), participant: readParticipant(a, flagsOf(a)) };
    case 'start recording':
      return {
        ...base,
        command: 'start recording',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        outputDestination: a.str('output-destination', { max: 4096 }),
      };
    case 'stop recording':
      return {
        ...base,
        command: 'stop recording',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        pause: flagsOf(a).includes('pause') || a.bool('pause') === true,
      };
  }
  if ((NG_UNSUPPORTED_COMMANDS as readonly string[]).includes(cmd))
    fail(`ng: command ${JSON.stringify(cmd)} is not supported`, `${NG_REASONS.unsupportedCommand}: ${cmd}`);
  return fail(`ng: unknown command ${JSON.stringify(cmd.slice(0, 64))}`, NG_REASONS.unknownCommand);
}

// ---------------------------------------------------------------------------
// Replies

/** `{result: 'ok', ...fields}`; undefined fields are left out. */
export function okReply(fields: Record<string, BValue | undefined> = {}): BDict {
  return dict({ ...fields, result: 'ok' });
}

/** The reply to ping. */
export function pongReply(): BDict {
  return dict({ result: 'pong' });
}

/** `{result: 'error', 'error-reason': reason}`: nothing else, as the protocol asks. */
export function errorReply(reason: string): BDict {
  return dict({ result: 'error', 'error-reason': oneLine(reason) });
}

/**
 * `{result: 'load limit', message}`: only for a proxy that listed `load limit`
 * in `supports` (Kamailio always does); it then tries the next node.
 */
export function loadLimitReply(message: string = NG_REASONS.sessionLimit): BDict {
  return dict({ result: 'load limit', message: oneLine(message) });
}

function oneLine(s: string): string {
  const t = String(s).replace(/[\r\n\t]+/g, ' ');
  return t.length > 512 ? t.slice(0, 509) + '...' : t;
}

/**
 * The error reply for a failure: a ControlProtocolError's reason, an
 * RmsError's message (the ports-exhausted one as "Ran out of ports", which
 * makes Kamailio try its next node), anything else as "Internal error" (its
 * text stays in our logs, not in the reply).
 */
export function errorReplyFor(err: unknown): BDict {
  if (err instanceof ControlProtocolError) return errorReply(err.reason);
  if (err instanceof RmsError) {
    if (err.code === 'ERR_RMS_PORTS_EXHAUSTED') return errorReply(NG_REASONS.outOfPorts);
    // a node at its limits: Kamailio tries the next one on this exact reason
    if (err.code === 'ERR_RMS_ADMISSION') return errorReply(NG_REASONS.sessionLimit);
    return errorReply(err.message);
  }
  return errorReply(NG_REASONS.internal);
}

/**
 * The reply message: the request's cookie, a space, the bencoded reply. A
 * reply larger than maxBytes (default: one UDP datagram) is replaced by an
 * error reply saying so.
 */
export function formatReply(cookie: string, reply: BDict, maxBytes: number = NG_MAX_UDP_REPLY_BYTES): Buffer {
  if (typeof cookie !== 'string' || cookie.length === 0 || cookie.length > NG_MAX_COOKIE_BYTES || cookie.includes(' '))
    throw new ControlProtocolError('ng: formatReply needs the request cookie');
  if (!isDict(reply) || typeof reply.result !== 'string')
    throw new ControlProtocolError('ng: a reply is a dictionary with a result string');
  const head = Buffer.from(cookie + ' ', 'latin1');
  let body: Buffer;
  try {
    body = encode(reply, { maxBytes: Math.max(1, maxBytes - head.length) });
  } catch (err) {
    if (!(err instanceof ControlProtocolError) || !/larger than/.test(err.message)) throw err;
    body = encode(errorReply(NG_REASONS.replyTooLarge));
  }
  return Buffer.concat([head, body]);
}

/** The reply bytes for a request that could not be read, or undefined when it had no cookie. */
export function formatErrorReply(err: unknown, maxBytes?: number): Buffer | undefined {
  const cookie = err instanceof ControlProtocolError ? err.cookie : undefined;
  return cookie === undefined ? undefined : formatReply(cookie, errorReplyFor(err), maxBytes);
}

// ---------------------------------------------------------------------------
// Retransmissions

/** Size and lifetime of the reply cache. */
export interface ReplyCacheOptions {
  /** Most cookies remembered (oldest go first). Default 10000. */
  maxEntries?: number;
  /** How long a finished reply is kept, from when it was made. Default 60 s (rtpengine keeps 30-60 s). */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface CacheEntry {
  promise: Promise<Buffer>;
  reply?: Buffer;
  doneAt?: number;
}

/**
 * Replies by cookie. Kamailio resends a request with the same cookie when no
 * reply came within rtpengine_tout_ms (default 1 s), up to rtpengine_retr
 * times (default 5); rtpengine answers a known cookie from its cache without
 * running the command again, and makes a duplicate of a request still being
 * worked on wait for that one. reply() does the same: the first call for a
 * cookie runs `produce`; later ones get the very same bytes, or the same
 * pending promise. The body of a duplicate is not looked at.
 */
export class NgReplyCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  hits = 0;

  constructor(opts: ReplyCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 10_000;
    this.#ttl = opts.ttlMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1)
      throw new ControlProtocolError('NgReplyCache: maxEntries must be a positive integer');
    if (!Number.isFinite(this.#ttl) || this.#ttl < 0)
      throw new ControlProtocolError('NgReplyCache: ttlMs must be >= 0');
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The reply for `cookie`: `cached` is true when it was not produced by this
   * call. If `produce` throws or rejects, the cookie is forgotten and every
   * caller waiting on it gets that error.
   */
  async reply(cookie: string, produce: () => Buffer | Promise<Buffer>): Promise<{ reply: Buffer; cached: boolean }> {
    this.#sweep();
    const hit = this.#entries.get(cookie);
    if (hit && !this.#expired(hit)) {
      this.hits++;
      return { reply: hit.reply ?? (await hit.promise), cached: true };
    }
    if (hit) this.#entries.delete(cookie);
    while (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
    const entry: CacheEntry = { promise: undefined as unknown as Promise<Buffer> };
    entry.promise = (async () => produce())().then(
      (reply) => {
        if (!Buffer.isBuffer(reply)) throw new ControlProtocolError('NgReplyCache: produce() must return a Buffer');
        entry.reply = reply;
        entry.doneAt = this.#now();
        // finished entries sit in finishing order, which the sweep relies on
        if (this.#entries.get(cookie) === entry) {
          this.#entries.delete(cookie);
          this.#entries.set(cookie, entry);
        }
        return reply;
      },
      (err) => {
        if (this.#entries.get(cookie) === entry) this.#entries.delete(cookie);
        throw err;
      },
    );
    this.#entries.set(cookie, entry);
    return { reply: await entry.promise, cached: false };
  }

  /** The finished reply for a cookie, if still kept. */
  peek(cookie: string): Buffer | undefined {
    const e = this.#entries.get(cookie);
    return e && !this.#expired(e) ? e.reply : undefined;
  }

  clear(): void {
    this.#entries.clear();
  }

  #expired(e: CacheEntry): boolean {
    return e.doneAt !== undefined && this.#now() - e.doneAt >= this.#ttl;
  }

  #sweep(): void {
    for (const [k, e] of this.#entries) {
      if (e.doneAt === undefined) continue; // still running
      if (!this.#expired(e)) break;
      this.#entries.delete(k);
    }
  }
}

// ---------------------------------------------------------------------------
// TCP

/** Limits of the TCP stream decoder. */
export interface StreamDecoderOptions {
  /** Largest message, cookie included. Default NG_MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
}

/**
 * Splits an ng byte stream (rtpengine's --listen-tcp-ng) into messages.
 * There is no extra framing on TCP: messages are `cookie SP dictionary`
 * back to back, and a message ends where its bencoded dictionary ends.
 * Replies go back the same way (formatReply). CR/LF between messages is
 * skipped. push() returns the complete messages so far; a ControlProtocolError
 * from it means the stream cannot be followed any more: close it.
 */
export class NgStreamDecoder {
  #buf: Buffer = Buffer.alloc(0);
  readonly #max: number;
  #failed = false;

  constructor(opts: StreamDecoderOptions = {}) {
    this.#max = opts.maxMessageBytes ?? NG_MAX_MESSAGE_BYTES;
  }

  /** Bytes held that are not yet a whole message. */
  get buffered(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.#failed) fail('ng stream: already failed; close the connection');
    try {
      return this.#push(chunk);
    } catch (err) {
      this.#failed = true;
      if (err instanceof ControlProtocolError) throw err;
      throw new ControlProtocolError(`ng stream: ${String((err as Error)?.message ?? err)}`);
    }
  }

  #push(chunk: Uint8Array): Buffer[] {
    if (!(chunk instanceof Uint8Array)) fail('ng stream: a chunk must be bytes');
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      let start = 0;
      while (start < this.#buf.length && (this.#buf[start] === 0x0d || this.#buf[start] === 0x0a)) start++;
      if (start > 0) this.#buf = this.#buf.subarray(start);
      const buf = this.#buf;
      if (buf.length === 0) break;
      const sp = buf.subarray(0, NG_MAX_COOKIE_BYTES + 1).indexOf(0x20);
      if (sp < 0) {
        if (buf.length > NG_MAX_COOKIE_BYTES) fail(`ng stream: no cookie within ${NG_MAX_COOKIE_BYTES + 1} bytes`);
        break;
      }
      if (sp === 0) fail('ng stream: a message starts with a space (no cookie)');
      if (buf.length === sp + 1) break;
      if (buf[sp + 1] !== 0x64) fail('ng stream: a cookie is not followed by a bencoded dictionary');
      let end: number;
      try {
        end = decodePrefix(buf, sp + 1, { ...DECODE_LIMITS, maxBytes: Math.max(1, this.#max - sp - 1) }).end;
      } catch (err) {
        const e = err as ControlProtocolError & { incomplete?: boolean };
        if (e.incomplete) break;
        fail(`ng stream: ${e.message}`);
      }
      out.push(Buffer.from(buf.subarray(0, end)));
      this.#buf = buf.subarray(end);
    }
    if (this.#buf.length > 0 && this.#buf.byteOffset > 0 && this.#buf.length < 4096) this.#buf = Buffer.from(this.#buf);
    return out;
  }
}
