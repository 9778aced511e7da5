/**
 * RFC 6035 voice quality report bodies (media type application/vq-rtcpxr):
 * a typed model, a serializer and a parser.
 *
 * Conventions, all from RFC 6035 section 4.6.1 unless noted:
 * - A metric that is unknown is `undefined` in the model and is left out of
 *   the body; nothing is ever written as a stand-in 0. Every parameter of the
 *   metric lines is optional in the ABNF, and a metric line whose parameters
 *   are all unknown is not written at all.
 * - Numbers are written with the digits and decimals the ABNF allows:
 *   percentages (NLR JDR BLD GLD) `1*3DIGIT ["." 1*2DIGIT]`, rounded to 2
 *   decimals; MOS values rounded to 1 decimal (RFC 3611's resolution); every
 *   other number is an integer and must be given as one. A value outside the
 *   range RFC 6035 gives a parameter throws VqReportError; so does a bad value
 *   while parsing.
 * - Lines end in CRLF, none is folded, none is empty. Names are matched
 *   case-insensitively when parsing (ABNF string literals are), written in the
 *   RFC's spelling.
 *
 * See docs/quality.md for units and for what is left to the native side.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors';

/** A body that cannot be parsed, or a model that cannot be written as RFC 6035 allows. */
export class VqReportError extends InvalidArgumentError {
  constructor(message: string) {
    super(message, 'ERR_RMS_VQ_REPORT');
  }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

export type VqReportKind = 'VQSessionReport' | 'VQIntervalReport' | 'VQAlertReport';
export type VqAlertSeverity = 'Warning' | 'Critical' | 'Clear';
export type VqAlertDirection = 'local' | 'remote';

/**
 * The metric names an alert names in `Type=` (the parameters of the metric
 * lines that a threshold can be put on). The parser keeps whatever word a
 * reporter wrote (some write `MOSQ`); this list is what we suggest.
 */
export const VQ_ALERT_METRIC_TYPES = [
  'MOSLQ',
  'MOSCQ',
  'RLQ',
  'RCQ',
  'NLR',
  'JDR',
  'BLD',
  'GLD',
  'RTD',
  'ESD',
  'OWD',
  'SOWD',
  'IAJ',
  'MAJ',
] as const;

export interface VqAlert {
  /** `Type=`: the metric whose threshold was crossed. */
  type: string;
  /** `Severity=` */
  severity: VqAlertSeverity;
  /** `Dir=`: whether the local or the remote metrics crossed it. */
  direction: VqAlertDirection;
}

/** `LocalAddr` / `RemoteAddr`: an RTP transport address and the SSRC sent from it. */
export interface VqMediaAddress {
  /** IPv4 or IPv6 address, IPv6 without brackets. */
  ip: string;
  port: number;
  /** 32-bit SSRC, written as `0x` and 8 hex digits. */
  ssrc: number;
}

export interface VqDialogId {
  /** The dialog's Call-ID (`word ["@" word]`). */
  callId: string;
  toTag?: string;
  fromTag?: string;
  /** Other `;name=value` parameters, in order (a value of '' writes the bare name). */
  params?: Record<string, string>;
}

/** Parameters of a metric line that RFC 6035 does not define, by name (value without quotes). */
export type VqExtensions = Record<string, string>;

/** `SessionDesc` */
export interface VqSessionDesc {
  /** PT: RTP payload type, 0-127. */
  payloadType?: number;
  /** PD: payload description, e.g. `G729`. */
  payloadDesc?: string;
  /** SR: sample rate, Hz. */
  sampleRate?: number;
  /** FD: frame duration, ms. */
  frameDuration?: number;
  /** FO: octets per frame. */
  frameOctets?: number;
  /** FPP: frames per packet. */
  framesPerPacket?: number;
  /** PPS: packets per second. */
  packetsPerSecond?: number;
  /** FMTP: the SDP fmtp parameters (written quoted). */
  fmtp?: string;
  /** PLC: RFC 3611 4.7.6 code: 0 unspecified, 1 disabled, 2 enhanced, 3 standard. */
  plc?: 0 | 1 | 2 | 3;
  /** SSUP: silence suppression on / off. */
  silenceSuppression?: boolean;
  extensions?: VqExtensions;
}

/** `JitterBuffer` (RFC 3611 4.7.7 semantics). */
export interface VqJitterBuffer {
  /** JBA: 0 unknown, 1 reserved, 2 non-adaptive, 3 adaptive. */
  adaptive?: 0 | 1 | 2 | 3;
  /** JBR: adjustment rate, 0-15. */
  rate?: number;
  /** JBN: nominal delay, ms. */
  nominalMs?: number;
  /** JBM: maximum delay, ms. */
  maxMs?: number;
  /** JBX: absolute maximum delay, ms. */
  absMaxMs?: number;
  extensions?: VqExtensions;
}

/** `PacketLoss`: percentages 0-100 (not RFC 3611's 1/256 units, not a 0-1 fraction). */
export interface VqPacketLoss {
  /** NLR: network packet loss rate, %. */
  networkLossPercent?: number;
  /** JDR: jitter buffer discard rate, %. */
  discardPercent?: number;
  extensions?: VqExtensions;
}

/** `BurstGapLoss` */
export interface VqBurstGapLoss {
  /** BLD: loss density within bursts, %. */
  burstLossDensityPercent?: number;
  /** BD: mean burst duration, ms (0-3,600,000). */
  burstDurationMs?: number;
  /** GLD: loss density within gaps, %. */
  gapLossDensityPercent?: number;
  /** GD: mean gap duration, ms (0-3,600,000). */
  gapDurationMs?: number;
  /** GMIN: minimum gap threshold, packets, 1-255. */
  gmin?: number;
  extensions?: VqExtensions;
}

/** `Delay`, all in ms, 0-65535. */
export interface VqDelay {
  /** RTD: round-trip delay (RFC 3550). */
  roundTripMs?: number;
  /** ESD: end system delay (RFC 3611). */
  endSystemMs?: number;
  /** OWD: one-way delay. */
  oneWayMs?: number;
  /** SOWD: symmetric one-way delay. */
  symmOneWayMs?: number;
  /** IAJ: interarrival jitter (RFC 3550), in ms. */
  interarrivalJitterMs?: number;
  /** MAJ: mean absolute jitter (G.1020 MAPDV). */
  meanAbsJitterMs?: number;
  extensions?: VqExtensions;
}

/** `Signal` */
export interface VqSignal {
  /** SL: signal level, dBm0, -99..99 (normally negative). */
  signalLevel?: number;
  /** NL: noise level, dBm0, -99..99. */
  noiseLevel?: number;
  /** RERL: residual echo return loss, dB, 0-127. */
  rerl?: number;
  extensions?: VqExtensions;
}

/** `QualityEst`: R factors 0-120, MOS 1.0-5.0; algorithm names are `word`s. */
export interface VqQualityEst {
  /** RLQ: listening quality R. */
  rlq?: number;
  rlqEstAlg?: string;
  /** RCQ: conversational quality R. */
  rcq?: number;
  rcqEstAlg?: string;
  /** EXTRI: external R in. */
  extri?: number;
  extriEstAlg?: string;
  /** EXTRO: external R out. */
  extro?: number;
  extroEstAlg?: string;
  /** MOSLQ: MOS, listening quality. */
  moslq?: number;
  moslqEstAlg?: string;
  /** MOSCQ: MOS, conversational quality. */
  moscq?: number;
  moscqEstAlg?: string;
  /** QoEEstAlg: the one algorithm behind all the estimates. */
  qoeEstAlg?: string;
  extensions?: VqExtensions;
}

/** A `LocalMetrics:` or `RemoteMetrics:` block. */
export interface VqMetrics {
  /** Timestamps START (written in UTC). */
  start: Date;
  /** Timestamps STOP (written in UTC). */
  stop: Date;
  sessionDesc?: VqSessionDesc;
  jitterBuffer?: VqJitterBuffer;
  packetLoss?: VqPacketLoss;
  burstGapLoss?: VqBurstGapLoss;
  delay?: VqDelay;
  signal?: VqSignal;
  qualityEst?: VqQualityEst;
  /** Lines of the block that RFC 6035 does not define, kept verbatim (unfolded). */
  extraLines?: string[];
}

interface VqReportCommon {
  callId: string;
  /** SIP name-addr or addr-spec of the reporting side. */
  localId: string;
  remoteId: string;
  /** The originator of the session. */
  origId: string;
  localGroup?: string;
  remoteGroup?: string;
  localAddr: VqMediaAddress;
  /** `xx:xx:xx:xx:xx:xx` */
  localMac?: string;
  remoteAddr: VqMediaAddress;
  remoteMac?: string;
  localMetrics: VqMetrics;
  remoteMetrics?: VqMetrics;
  dialogId?: VqDialogId;
  /** Lines before `LocalMetrics:` that RFC 6035 does not define (e.g. `x-UserAgent: ...`), verbatim. */
  extraLines?: string[];
}

export interface VqSessionReport extends VqReportCommon {
  kind: 'VQSessionReport';
  /** `VQSessionReport: CallTerm`: the final report of the session. */
  callTerm: boolean;
}

export interface VqIntervalReport extends VqReportCommon {
  kind: 'VQIntervalReport';
}

export interface VqAlertReport extends VqReportCommon {
  kind: 'VQAlertReport';
  alert: VqAlert;
}

export type VqReport = VqSessionReport | VqIntervalReport | VqAlertReport;

// ---------------------------------------------------------------------------
// Parameter tables: one row per ABNF parameter, in the ABNF's order
// ---------------------------------------------------------------------------

type Kind =
  | { t: 'int'; digits: number; min: number; max: number }
  | { t: 'signed'; digits: number; min: number; max: number }
  | { t: 'percent' }
  | { t: 'mos' }
  | { t: 'code'; values: readonly number[] }
  | { t: 'onoff' }
  | { t: 'word' }
  | { t: 'wordOrQuoted' }
  | { t: 'quoted' };

interface ParamSpec {
  key: string;
  prop: string;
  kind: Kind;
}

interface LineSpec {
  name: string;
  prop: Exclude<keyof VqMetrics, 'start' | 'stop' | 'extraLines'>;
  params: readonly ParamSpec[];
}

const u = (digits: number, min: number, max: number): Kind => ({ t: 'int', digits, min, max });
const U16 = u(5, 0, 65535);
const R_FACTOR = u(3, 0, 120);
const PERCENT: Kind = { t: 'percent' };
const MOS: Kind = { t: 'mos' };
const WORD: Kind = { t: 'word' };

const METRIC_LINES: readonly LineSpec[] = [
  {
    name: 'SessionDesc',
    prop: 'sessionDesc',
    params: [
      { key: 'PT', prop: 'payloadType', kind: u(3, 0, 127) },
      { key: 'PD', prop: 'payloadDesc', kind: { t: 'wordOrQuoted' } },
      { key: 'SR', prop: 'sampleRate', kind: u(6, 0, 999999) },
      { key: 'FD', prop: 'frameDuration', kind: u(4, 0, 9999) },
      { key: 'FO', prop: 'frameOctets', kind: u(5, 0, 99999) },
      { key: 'FPP', prop: 'framesPerPacket', kind: u(2, 0, 99) },
      { key: 'PPS', prop: 'packetsPerSecond', kind: u(5, 0, 99999) },
      { key: 'FMTP', prop: 'fmtp', kind: { t: 'quoted' } },
      { key: 'PLC', prop: 'plc', kind: { t: 'code', values: [0, 1, 2, 3] } },
      { key: 'SSUP', prop: 'silenceSuppression', kind: { t: 'onoff' } },
    ],
  },
  {
    name: 'JitterBuffer',
    prop: 'jitterBuffer',
    params: [
      { key: 'JBA', prop: 'adaptive', kind: { t: 'code', values: [0, 1, 2, 3] } },
      { key: 'JBR', prop: 'rate', kind: u(2, 0, 15) },
      { key: 'JBN', prop: 'nominalMs', kind: U16 },
      { key: 'JBM', prop: 'maxMs', kind: U16 },
      { key: 'JBX', prop: 'absMaxMs', kind: U16 },
    ],
  },
  {
    name: 'PacketLoss',
    prop: 'packetLoss',
    params: [
      { key: 'NLR', prop: 'networkLossPercent', kind: PERCENT },
      { key: 'JDR', prop: 'discardPercent', kind: PERCENT },
    ],
  },
  {
    name: 'BurstGapLoss',
    prop: 'burstGapLoss',
    params: [
      { key: 'BLD', prop: 'burstLossDensityPercent', kind: PERCENT },
      { key: 'BD', prop: 'burstDurationMs', kind: u(7, 0, 3600000) },
      { key: 'GLD', prop: 'gapLossDensityPercent', kind: PERCENT },
      { key: 'GD', prop: 'gapDurationMs', kind: u(7, 0, 3600000) },
      { key: 'GMIN', prop: 'gmin', kind: u(3, 1, 255) },
    ],
  },
  {
    name: 'Delay',
    prop: 'delay',
    params: [
      { key: 'RTD', prop: 'roundTripMs', kind: U16 },
      { key: 'ESD', prop: 'endSystemMs', kind: U16 },
      { key: 'OWD', prop: 'oneWayMs', kind: U16 },
      { key: 'SOWD', prop: 'symmOneWayMs', kind: U16 },
      { key: 'IAJ', prop: 'interarrivalJitterMs', kind: U16 },
      { key: 'MAJ', prop: 'meanAbsJitterMs', kind: U16 },
    ],
  },
  {
    name: 'Signal',
    prop: 'signal',
    params: [
      { key: 'SL', prop: 'signalLevel', kind: { t: 'signed', digits: 2, min: -99, max: 99 } },
      { key: 'NL', prop: 'noiseLevel', kind: { t: 'signed', digits: 2, min: -99, max: 99 } },
      { key: 'RERL', prop: 'rerl', kind: u(3, 0, 127) },
    ],
  },
  {
    name: 'QualityEst',
    prop: 'qualityEst',
    params: [
      { key: 'RLQ', prop: 'rlq', kind: R_FACTOR },
      { key: 'RLQEstAlg', prop: 'rlqEstAlg', kind: WORD },
      { key: 'RCQ', prop: 'rcq', kind: R_FACTOR },
      { key: 'RCQEstAlg', prop: 'rcqEstAlg', kind: WORD },
      { key: 'EXTRI', prop: 'extri', kind: R_FACTOR },
      { key: 'ExtRIEstAlg', prop: 'extriEstAlg', kind: WORD },
      { key: 'EXTRO', prop: 'extro', kind: R_FACTOR },
      { key: 'ExtROEstAlg', prop: 'extroEstAlg', kind: WORD },
      { key: 'MOSLQ', prop: 'moslq', kind: MOS },
      { key: 'MOSLQEstAlg', prop: 'moslqEstAlg', kind: WORD },
      { key: 'MOSCQ', prop: 'moscq', kind: MOS },
      { key: 'MOSCQEstAlg', prop: 'moscqEstAlg', kind: WORD },
      { key: 'QoEEstAlg', prop: 'qoeEstAlg', kind: WORD },
    ],
  },
];

const SESSION_LINES = [
  'CallID',
  'LocalID',
  'RemoteID',
  'OrigID',
  'LocalGroup',
  'RemoteGroup',
  'LocalAddr',
  'LocalMAC',
  'RemoteAddr',
  'RemoteMAC',
] as const;
type SessionLine = (typeof SESSION_LINES)[number];

const REPORT_KINDS: readonly VqReportKind[] = ['VQSessionReport', 'VQIntervalReport', 'VQAlertReport'];
const SEVERITIES: readonly VqAlertSeverity[] = ['Warning', 'Critical', 'Clear'];
const DIRECTIONS: readonly VqAlertDirection[] = ['local', 'remote'];

/** Every line name the parser gives a meaning to, lower-cased. */
const KNOWN_LINE_NAMES = new Set(
  [
    ...REPORT_KINDS,
    ...SESSION_LINES,
    'LocalMetrics',
    'RemoteMetrics',
    'Metrics',
    'Timestamps',
    'DialogID',
    ...METRIC_LINES.map((l) => l.name),
  ].map((n) => n.toLowerCase()),
);

// ---------------------------------------------------------------------------
// Character classes (RFC 3261 25.1 and RFC 6035 4.6.1)
// ---------------------------------------------------------------------------

/** RFC 3261 token. */
const TOKEN_RE = /^[A-Za-z0-9.!%*_+`'~-]+$/;
/** RFC 3261 word, less DQUOTE (a bare value with a quote in it could not be told from a quoted one). */
const WORD_RE = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\/[\]?{}]+$/;
/** RFC 6035 word-plus: the word characters (no DQUOTE) plus "=" and space. */
const WORD_PLUS_RE = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\/[\]?{}= ]+$/;
const MAC_RE = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;
/** A URI with a scheme, bare (addr-spec) or in angle brackets after an optional display name (name-addr). */
const SIP_IDENTITY_RE =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+|(?:"(?:[^"\\\r\n]|\\[^\r\n])*"[ \t]*|[^<>"\r\n]*)<[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+>)$/;

const isCallIdParm = (s: string): boolean => {
  const at = s.indexOf('@');
  if (at < 0) return WORD_RE.test(s);
  return WORD_RE.test(s.slice(0, at)) && WORD_RE.test(s.slice(at + 1));
};

// ---------------------------------------------------------------------------
// Serializer
// ---------------------------------------------------------------------------

const fail = (message: string): never => {
  throw new VqReportError(message);
};

const rangeText = (k: Kind): string => {
  switch (k.t) {
    case 'int':
    case 'signed':
      return `an integer ${k.min} to ${k.max}`;
    case 'percent':
      return 'a percentage 0 to 100';
    case 'mos':
      return 'a MOS 1.0 to 5.0';
    case 'code':
      return `one of ${k.values.join(', ')}`;
    case 'onoff':
      return 'a boolean (on/off)';
    case 'word':
      return "a non-empty word (letters, digits and -.!%*_+`'~()<>:\\/[]?{}, no spaces)";
    case 'wordOrQuoted':
    case 'quoted':
      return "non-empty RFC 6035 word-plus text: letters, digits, spaces and -.!%*_+`'~()<>:\\/[]?{}= (no quotes, ';' or ',')";
  }
};

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The decimal text of a percentage: 2 decimals at most, 1 at least ("5.0", "2.5", "1.25"). */
const percentText = (v: number): string => {
  const s = (Math.round(v * 100) / 100).toFixed(2);
  return s.endsWith('0') ? s.slice(0, -1) : s;
};

function formatValue(where: string, k: Kind, v: unknown): string {
  const bad = (): never => fail(`${where}: expected ${rangeText(k)}, got ${describe(v)}`);
  switch (k.t) {
    case 'int':
    case 'signed':
      if (!isNum(v) || !Number.isInteger(v) || v < k.min || v > k.max) bad();
      return String(v);
    case 'percent':
      if (!isNum(v) || v < 0 || v > 100) bad();
      return percentText(v as number);
    case 'mos':
      if (!isNum(v) || v < 1 || v > 5) bad();
      return (Math.round((v as number) * 10) / 10).toFixed(1);
    case 'code':
      if (!isNum(v) || !k.values.includes(v)) bad();
      return String(v);
    case 'onoff':
      if (typeof v !== 'boolean') bad();
      return v ? 'on' : 'off';
    case 'word':
      if (typeof v !== 'string' || !WORD_RE.test(v)) bad();
      return v as string;
    case 'wordOrQuoted':
      if (typeof v !== 'string') bad();
      if (WORD_RE.test(v as string)) return v as string;
      if (!WORD_PLUS_RE.test(v as string)) bad();
      return `"${v}"`;
    case 'quoted':
      if (typeof v !== 'string' || !WORD_PLUS_RE.test(v)) bad();
      return `"${v}"`;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (v instanceof Date) return isNaN(v.getTime()) ? 'an invalid Date' : v.toISOString();
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  return typeof v;
}

function formatExtensions(where: string, known: readonly ParamSpec[], ext: unknown): string[] {
  if (ext === undefined) return [];
  if (typeof ext !== 'object' || ext === null) return fail(`${where} extensions: expected an object of name → value`);
  const out: string[] = [];
  const taken = new Set(known.map((p) => p.key.toLowerCase()));
  for (const [name, value] of Object.entries(ext as Record<string, unknown>)) {
    if (!TOKEN_RE.test(name)) fail(`${where} extension ${describe(name)}: expected a token name`);
    if (taken.has(name.toLowerCase()))
      fail(`${where} extension ${name}: expected a name that RFC 6035 does not define`);
    out.push(`${name}=${formatValue(`${where} extension ${name}`, { t: 'wordOrQuoted' }, value)}`);
  }
  return out;
}

function formatParamLine(spec: LineSpec, where: string, group: unknown): string | undefined {
  if (group === undefined) return undefined;
  if (typeof group !== 'object' || group === null) return fail(`${where}.${spec.prop}: expected an object`);
  const g = group as Record<string, unknown>;
  const known = new Set(spec.params.map((p) => p.prop));
  for (const prop of Object.keys(g)) {
    if (prop !== 'extensions' && !known.has(prop) && g[prop] !== undefined)
      fail(`${where}.${spec.prop}: unexpected property ${prop}; expected one of ${[...known].join(', ')}, extensions`);
  }
  const parts: string[] = [];
  for (const p of spec.params) {
    const v = g[p.prop];
    if (v === undefined) continue;
    parts.push(`${p.key}=${formatValue(`${spec.name} ${p.key}`, p.kind, v)}`);
  }
  parts.push(...formatExtensions(spec.name, spec.params, g.extensions));
  return parts.length ? `${spec.name}:${parts.join(' ')}` : undefined;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function formatTimestamp(where: string, d: unknown): string {
  if (!(d instanceof Date) || isNaN(d.getTime())) return fail(`${where}: expected a valid Date, got ${describe(d)}`);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) fail(`${where}: expected a year 0000-9999, got ${y}`);
  const ms = d.getUTCMilliseconds();
  return (
    `${pad(y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}` +
    (ms ? `.${pad(ms, 3)}` : '') +
    'Z'
  );
}

function formatAddr(where: string, a: unknown): string {
  if (typeof a !== 'object' || a === null) return fail(`${where}: expected { ip, port, ssrc }`);
  const { ip, port, ssrc } = a as Record<string, unknown>;
  if (typeof ip !== 'string' || isIP(ip) === 0)
    fail(`${where} IP: expected an IPv4 or IPv6 address (no brackets), got ${describe(ip)}`);
  if (!isNum(port) || !Number.isInteger(port) || port < 0 || port > 65535)
    fail(`${where} PORT: expected an integer 0 to 65535, got ${describe(port)}`);
  if (!isNum(ssrc) || !Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff)
    fail(`${where} SSRC: expected an integer 0 to 0xFFFFFFFF, got ${describe(ssrc)}`);
  return `IP=${ip} PORT=${port} SSRC=0x${(ssrc as number).toString(16).padStart(8, '0')}`;
}

/** The name a parser reads off a logical line: before the first colon (or the whole line). */
const lineName = (line: string): string => {
  const colon = line.indexOf(':');
  return (colon < 0 ? line : line.slice(0, colon)).trim();
};

function checkExtraLines(where: string, lines: unknown): string[] {
  if (lines === undefined) return [];
  if (!Array.isArray(lines)) return fail(`${where}: expected an array of lines`);
  return lines.map((l: unknown) => {
    if (typeof l !== 'string' || l.trim() === '' || /[\r\n]/.test(l) || /^[ \t]/.test(l) || l !== l.trimEnd())
      fail(`${where}: expected a non-empty single line without leading or trailing white space, got ${describe(l)}`);
    const name = lineName(l as string);
    if (KNOWN_LINE_NAMES.has(name.toLowerCase()) || /^type\s*=/i.test(name))
      fail(`${where}: ${describe(name)} is a line RFC 6035 defines; set it in the model instead`);
    return l as string;
  });
}

function formatMetrics(where: string, m: unknown): string[] {
  if (typeof m !== 'object' || m === null) return fail(`${where}: expected a metrics object with start and stop`);
  const metrics = m as unknown as Record<string, unknown>;
  const lines = [
    `Timestamps:START=${formatTimestamp(`${where} START`, metrics.start)} STOP=${formatTimestamp(`${where} STOP`, metrics.stop)}`,
  ];
  for (const spec of METRIC_LINES) {
    const line = formatParamLine(spec, where, metrics[spec.prop]);
    if (line) lines.push(line);
  }
  lines.push(...checkExtraLines(`${where} extraLines`, metrics.extraLines));
  return lines;
}

function formatDialogId(d: unknown): string {
  if (typeof d !== 'object' || d === null) return fail('DialogID: expected { callId, toTag?, fromTag?, params? }');
  const { callId, toTag, fromTag, params } = d as Record<string, unknown>;
  if (typeof callId !== 'string' || !isCallIdParm(callId))
    fail(`DialogID: expected a Call-ID (word ["@" word]), got ${describe(callId)}`);
  let s = callId as string;
  for (const [name, v] of [
    ['to-tag', toTag],
    ['from-tag', fromTag],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'string' || !TOKEN_RE.test(v)) fail(`DialogID ${name}: expected a token, got ${describe(v)}`);
    s += `;${name}=${v}`;
  }
  if (params !== undefined) {
    if (typeof params !== 'object' || params === null) fail('DialogID params: expected an object of name → value');
    for (const [name, v] of Object.entries(params as Record<string, unknown>)) {
      if (!TOKEN_RE.test(name) || /^(to|from)-tag$/i.test(name))
        fail(`DialogID param ${describe(name)}: expected a token other than to-tag / from-tag`);
      if (typeof v !== 'string' || (v !== '' && !/^[A-Za-z0-9.!%*_+`'~\-:[\]]+$/.test(v)))
        fail(`DialogID param ${name}: expected a token or host value, got ${describe(v)}`);
      s += v === '' ? `;${name}` : `;${name}=${v}`;
    }
  }
  return `DialogID:${s}`;
}

/** The application/vq-rtcpxr body of a report: CRLF line ends, the RFC's line order. */
export function formatVqReport(report: VqReport): string {
  if (typeof report !== 'object' || report === null) return fail('expected a VqReport object');
  const r = report as VqReport;
  const lines: string[] = [];
  switch (r.kind) {
    case 'VQSessionReport':
      if (typeof r.callTerm !== 'boolean')
        fail(`VQSessionReport callTerm: expected a boolean, got ${describe(r.callTerm)}`);
      lines.push(r.callTerm ? 'VQSessionReport: CallTerm' : 'VQSessionReport');
      break;
    case 'VQIntervalReport':
      lines.push('VQIntervalReport');
      break;
    case 'VQAlertReport': {
      const a = r.alert as unknown;
      if (typeof a !== 'object' || a === null)
        return fail('VQAlertReport: expected alert { type, severity, direction }');
      const { type, severity, direction } = a as Record<string, unknown>;
      if (typeof type !== 'string' || !WORD_RE.test(type))
        fail(
          `VQAlertReport Type: expected a metric name such as ${VQ_ALERT_METRIC_TYPES.join('/')}, got ${describe(type)}`,
        );
      if (!SEVERITIES.includes(severity as VqAlertSeverity))
        fail(`VQAlertReport Severity: expected one of ${SEVERITIES.join(', ')}, got ${describe(severity)}`);
      if (!DIRECTIONS.includes(direction as VqAlertDirection))
        fail(`VQAlertReport Dir: expected one of ${DIRECTIONS.join(', ')}, got ${describe(direction)}`);
      lines.push(`VQAlertReport: Type=${type} Severity=${severity} Dir=${direction}`);
      break;
    }
    default:
      return fail(`kind: expected one of ${REPORT_KINDS.join(', ')}, got ${describe((r as { kind: unknown }).kind)}`);
  }

  if (typeof r.callId !== 'string' || !isCallIdParm(r.callId))
    fail(`CallID: expected a Call-ID (word ["@" word]), got ${describe(r.callId)}`);
  lines.push(`CallID: ${r.callId}`);
  for (const [name, v] of [
    ['LocalID', r.localId],
    ['RemoteID', r.remoteId],
    ['OrigID', r.origId],
  ] as const) {
    if (typeof v !== 'string' || !SIP_IDENTITY_RE.test(v) || v.trim() !== v)
      fail(
        `${name}: expected a SIP name-addr or addr-spec such as "Alice <sip:alice@example.org>", got ${describe(v)}`,
      );
    lines.push(`${name}: ${v}`);
  }
  for (const [name, v] of [
    ['LocalGroup', r.localGroup],
    ['RemoteGroup', r.remoteGroup],
  ] as const) {
    if (v === undefined) continue;
    if (typeof v !== 'string' || !WORD_PLUS_RE.test(v) || v.trim() !== v)
      fail(`${name}: expected a non-empty word-plus without surrounding spaces, got ${describe(v)}`);
    lines.push(`${name}: ${v}`);
  }
  for (const [side, addr, mac] of [
    ['Local', r.localAddr, r.localMac],
    ['Remote', r.remoteAddr, r.remoteMac],
  ] as const) {
    lines.push(`${side}Addr: ${formatAddr(`${side}Addr`, addr)}`);
    if (mac === undefined) continue;
    if (typeof mac !== 'string' || !MAC_RE.test(mac))
      fail(`${side}MAC: expected six hex pairs separated by ":", got ${describe(mac)}`);
    lines.push(`${side}MAC: ${mac}`);
  }
  lines.push(...checkExtraLines('extraLines', r.extraLines));
  lines.push('LocalMetrics:', ...formatMetrics('LocalMetrics', r.localMetrics));
  if (r.remoteMetrics !== undefined) lines.push('RemoteMetrics:', ...formatMetrics('RemoteMetrics', r.remoteMetrics));
  if (r.dialogId !== undefined) lines.push(formatDialogId(r.dialogId));
  return lines.map((l) => l + '\r\n').join('');
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

interface Logical {
  text: string;
  /** 1-based number of the physical line it starts on. */
  no: number;
}

const snippet = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);

/** Physical lines (CRLF, LF or CR) to logical ones: a line starting with SP or HTAB continues the previous one. */
function logicalLines(text: string): Logical[] {
  const out: Logical[] = [];
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (/^[ \t]/.test(raw) && out.length && raw.trim() !== '') {
      out[out.length - 1].text += ' ' + raw.trim();
      return;
    }
    if (raw.trim() !== '') out.push({ text: raw.trim(), no: i + 1 });
  });
  return out;
}

interface Param {
  name: string;
  value: string;
  quoted: boolean;
}

const isWs = (c: string | undefined): boolean => c === ' ' || c === '\t';

/** `NAME=value` parameters separated by white space (EQUAL = SWS "=" SWS); values bare or in double quotes. */
function tokenize(where: string, text: string): Param[] {
  const out: Param[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isWs(text[i])) i++;
    if (i >= n) return out;
    const start = i;
    while (i < n && !isWs(text[i]) && text[i] !== '=' && text[i] !== '"') i++;
    const name = text.slice(start, i);
    while (i < n && isWs(text[i])) i++;
    if (name === '' || text[i] !== '=')
      fail(`${where}: expected NAME=value parameters separated by spaces, got ${snippet(text.slice(start))}`);
    i++;
    while (i < n && isWs(text[i])) i++;
    let value: string;
    let quoted = false;
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) fail(`${where} ${name}: expected a closing double quote`);
      value = text.slice(i + 1, end);
      quoted = true;
      i = end + 1;
    } else {
      const vs = i;
      while (i < n && !isWs(text[i]) && text[i] !== '"') i++;
      value = text.slice(vs, i);
      if (text[i] === '"') fail(`${where} ${name}: expected a value either bare or wholly in double quotes`);
    }
    if (i < n && !isWs(text[i])) fail(`${where} ${name}: expected white space after the value`);
    out.push({ name, value, quoted });
  }
}

function parseValue(where: string, k: Kind, p: Param): unknown {
  const v = p.value;
  const bad = (): never => fail(`${where}: expected ${abnfText(k)}, got ${snippet(p.quoted ? `"${v}"` : v)}`);
  if (p.quoted && k.t !== 'quoted' && k.t !== 'wordOrQuoted') bad();
  switch (k.t) {
    case 'int': {
      if (!new RegExp(`^[0-9]{1,${k.digits}}$`).test(v)) bad();
      const n = Number(v);
      if (n < k.min || n > k.max) bad();
      return n;
    }
    case 'signed': {
      if (!new RegExp(`^-?[0-9]{1,${k.digits}}$`).test(v)) bad();
      const n = Number(v);
      if (n < k.min || n > k.max) bad();
      return n === 0 ? 0 : n; // no -0
    }
    case 'percent': {
      if (!/^[0-9]{1,3}(?:\.[0-9]{1,2})?$/.test(v)) bad();
      const n = Number(v);
      if (n > 100) bad();
      return n;
    }
    case 'mos': {
      if (!/^[0-9](?:\.[0-9]{1,3})?$/.test(v)) bad();
      const n = Number(v);
      if (n < 1 || n > 5) bad();
      return n;
    }
    case 'code': {
      if (!/^[0-9]$/.test(v) || !k.values.includes(Number(v))) bad();
      return Number(v);
    }
    case 'onoff': {
      const l = v.toLowerCase();
      if (l !== 'on' && l !== 'off') bad();
      return l === 'on';
    }
    case 'word':
      if (!WORD_RE.test(v)) bad();
      return v;
    case 'wordOrQuoted':
      if (!(p.quoted ? WORD_PLUS_RE.test(v) : WORD_RE.test(v))) bad();
      return v;
    case 'quoted':
      // RFC 6035 quotes FMTP; a bare word is accepted too.
      if (!(p.quoted ? WORD_PLUS_RE : WORD_RE).test(v)) bad();
      return v;
  }
}

function abnfText(k: Kind): string {
  switch (k.t) {
    case 'int':
      return `1 to ${k.digits} digits, ${k.min}-${k.max}`;
    case 'signed':
      return `an optional "-" and 1 to ${k.digits} digits, ${k.min}-${k.max}`;
    case 'percent':
      return 'a percentage 0-100 with at most 3 integer digits and 2 decimals (1*3DIGIT ["." 1*2DIGIT])';
    case 'mos':
      return 'a MOS 1.0-5.0 (DIGIT ["." 1*3DIGIT])';
    case 'code':
      return `one digit, one of ${k.values.join(', ')}`;
    case 'onoff':
      return '"on" or "off"';
    case 'word':
      return 'a word (no spaces or quotes)';
    case 'wordOrQuoted':
      return 'a word, or text in double quotes';
    case 'quoted':
      return 'text in double quotes';
  }
}

function parseParamLine(spec: LineSpec, text: string, no: number): Record<string, unknown> {
  const where = `line ${no}, ${spec.name}`;
  const byKey = new Map(spec.params.map((p) => [p.key.toLowerCase(), p]));
  const out: Record<string, unknown> = {};
  const ext: Record<string, string> = {};
  const seen = new Set<string>();
  for (const p of tokenize(where, text)) {
    const lower = p.name.toLowerCase();
    if (seen.has(lower)) fail(`${where}: expected ${p.name} once, got it twice`);
    seen.add(lower);
    const s = byKey.get(lower);
    if (s) {
      out[s.prop] = parseValue(`${where} ${s.key}`, s.kind, p);
    } else {
      if (!TOKEN_RE.test(p.name)) fail(`${where}: expected a parameter name (token), got ${snippet(p.name)}`);
      ext[p.name] = parseValue(`${where} ${p.name}`, { t: 'wordOrQuoted' }, p) as string;
    }
  }
  if (Object.keys(ext).length) out.extensions = ext;
  return out;
}

const DATE_TIME_RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$/;

/** RFC 3339 date-time (any offset accepted, stored as the instant). */
function parseDateTime(where: string, v: string): Date {
  const m = DATE_TIME_RE.exec(v);
  if (!m) return fail(`${where}: expected an RFC 3339 date-time such as 2004-10-10T18:23:43Z, got ${snippet(v)}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > dim || h > 23 || mi > 59 || s > 59)
    fail(`${where}: expected a real calendar date and time (seconds 00-59), got ${snippet(v)}`);
  const ms = m[7] ? Math.floor(Number('0' + m[7]) * 1000) : 0;
  let offset = 0;
  if (m[8] !== 'Z' && m[8] !== 'z') {
    const oh = Number(m[8].slice(1, 3));
    const om = Number(m[8].slice(4, 6));
    if (oh > 23 || om > 59) fail(`${where}: expected a UTC offset -23:59 to +23:59, got ${snippet(m[8])}`);
    offset = (m[8][0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = new Date(0);
  local.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which maps years 0-99 to 1900-1999
  local.setUTCHours(h, mi, s, ms);
  return new Date(local.getTime() - offset * 60000);
}

function parseTimestamps(text: string, no: number): { start: Date; stop: Date } {
  const where = `line ${no}, Timestamps`;
  let start: Date | undefined;
  let stop: Date | undefined;
  for (const p of tokenize(where, text)) {
    const k = p.name.toUpperCase();
    if (p.quoted) fail(`${where} ${p.name}: expected an unquoted date-time`);
    if (k === 'START' && !start) start = parseDateTime(`${where} START`, p.value);
    else if (k === 'STOP' && !stop) stop = parseDateTime(`${where} STOP`, p.value);
    else fail(`${where}: expected START= and STOP= once each, got ${snippet(p.name)}`);
  }
  if (!start || !stop) return fail(`${where}: expected both START= and STOP=`);
  return { start, stop };
}

function parseAddr(where: string, text: string): VqMediaAddress {
  let ip: string | undefined;
  let port: number | undefined;
  let ssrc: number | undefined;
  for (const p of tokenize(where, text)) {
    const k = p.name.toUpperCase();
    const v = p.value;
    if (p.quoted) fail(`${where} ${p.name}: expected an unquoted value`);
    if (k === 'IP' && ip === undefined) {
      const bare = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1) : v;
      if (isIP(bare) === 0 || (bare !== v && isIP(bare) !== 6))
        fail(`${where} IP: expected an IPv4 or IPv6 address, got ${snippet(v)}`);
      ip = bare;
    } else if (k === 'PORT' && port === undefined) {
      if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535)
        fail(`${where} PORT: expected a port 0-65535, got ${snippet(v)}`);
      port = Number(v);
    } else if (k === 'SSRC' && ssrc === undefined) {
      // The ABNF writes "0x" 1*8HEXDIG; the RFC's own example leaves the "0x" off once.
      const m = /^(?:0[xX])?([0-9A-Fa-f]{1,8})$/.exec(v);
      if (!m) fail(`${where} SSRC: expected "0x" and 1 to 8 hex digits, got ${snippet(v)}`);
      ssrc = parseInt(m![1], 16);
    } else {
      fail(`${where}: expected IP=, PORT= and SSRC= once each, got ${snippet(p.name)}`);
    }
  }
  if (ip === undefined || port === undefined || ssrc === undefined)
    return fail(`${where}: expected IP=, PORT= and SSRC=`);
  return { ip, port, ssrc };
}

function parseDialogId(where: string, text: string): VqDialogId {
  const parts = text.split(';').map((s) => s.trim());
  const callId = parts[0];
  if (!isCallIdParm(callId)) fail(`${where}: expected a Call-ID (word ["@" word]) first, got ${snippet(callId)}`);
  const out: VqDialogId = { callId };
  const params: Record<string, string> = {};
  const seen = new Set<string>();
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!TOKEN_RE.test(name)) fail(`${where}: expected ;name=value parameters, got ${snippet(part)}`);
    const lower = name.toLowerCase();
    if (seen.has(lower)) fail(`${where}: expected ${name} once, got it twice`);
    seen.add(lower);
    if (lower === 'to-tag' || lower === 'from-tag') {
      if (!TOKEN_RE.test(value)) fail(`${where} ${name}: expected a token, got ${snippet(value)}`);
      if (lower === 'to-tag') out.toTag = value;
      else out.fromTag = value;
    } else {
      if (value !== '' && !/^[A-Za-z0-9.!%*_+`'~\-:[\]]+$/.test(value))
        fail(`${where} ${name}: expected a token or host value, got ${snippet(value)}`);
      params[name] = value;
    }
  }
  if (Object.keys(params).length) out.params = params;
  return out;
}

function parseAlert(where: string, text: string): VqAlert {
  let type: string | undefined;
  let severity: VqAlertSeverity | undefined;
  let direction: VqAlertDirection | undefined;
  for (const p of tokenize(where, text)) {
    const k = p.name.toLowerCase();
    if (p.quoted) fail(`${where} ${p.name}: expected an unquoted value`);
    if (k === 'type' && type === undefined) {
      if (!WORD_RE.test(p.value)) fail(`${where} Type: expected a metric name such as MOSLQ, got ${snippet(p.value)}`);
      type = p.value;
    } else if (k === 'severity' && severity === undefined) {
      severity = SEVERITIES.find((s) => s.toLowerCase() === p.value.toLowerCase());
      if (!severity) fail(`${where} Severity: expected one of ${SEVERITIES.join(', ')}, got ${snippet(p.value)}`);
    } else if (k === 'dir' && direction === undefined) {
      direction = DIRECTIONS.find((s) => s === p.value.toLowerCase());
      if (!direction) fail(`${where} Dir: expected local or remote, got ${snippet(p.value)}`);
    } else {
      fail(`${where}: expected Type=, Severity= and Dir= once each, got ${snippet(p.name)}`);
    }
  }
  if (!type || !severity || !direction) return fail(`${where}: expected Type=, Severity= and Dir=`);
  return { type, severity, direction };
}

interface MetricsDraft {
  header: number;
  timestamps?: { start: Date; stop: Date };
  groups: Record<string, unknown>;
  extraLines: string[];
}

function finishMetrics(name: string, d: MetricsDraft): VqMetrics {
  if (!d.timestamps) return fail(`${name} (line ${d.header}): expected a Timestamps line in the block`);
  const m = { start: d.timestamps.start, stop: d.timestamps.stop, ...d.groups } as VqMetrics;
  if (d.extraLines.length) m.extraLines = d.extraLines;
  return m;
}

/**
 * Parses an application/vq-rtcpxr body. Tolerant where RFC 6035 is (optional
 * HCOLON after the report type, `Metrics:` for the local block as in the
 * RFC's alert example, folded lines, LF line ends, any order of the session
 * lines); strict on values. Unknown lines are kept in `extraLines`, unknown
 * parameters of metric lines in `extensions`.
 */
export function parseVqReport(text: string): VqReport {
  if (typeof text !== 'string') return fail(`expected the body as a string, got ${typeof text}`);
  const lines = logicalLines(text);
  if (!lines.length) return fail('expected a report, got an empty body');

  // The report type line.
  const first = lines[0];
  const m = /^(VQSessionReport|VQIntervalReport|VQAlertReport)\s*(?::\s*(.*))?$/i.exec(first.text);
  if (!m)
    return fail(
      `line ${first.no}: expected VQSessionReport, VQIntervalReport or VQAlertReport, got ${snippet(first.text)}`,
    );
  const kind = REPORT_KINDS.find((k) => k.toLowerCase() === m[1].toLowerCase())!;
  const rest = (m[2] ?? '').trim();
  let idx = 1;
  let callTerm = false;
  let alert: VqAlert | undefined;
  if (kind === 'VQSessionReport') {
    if (rest !== '' && rest.toLowerCase() !== 'callterm')
      fail(`line ${first.no}: expected "VQSessionReport" or "VQSessionReport: CallTerm", got ${snippet(first.text)}`);
    callTerm = rest !== '';
  } else if (kind === 'VQIntervalReport') {
    if (rest !== '')
      fail(`line ${first.no}: expected "VQIntervalReport" alone on its line, got ${snippet(first.text)}`);
  } else if (rest !== '') {
    alert = parseAlert(`line ${first.no}, VQAlertReport`, rest);
  } else if (lines.length > 1 && /^type\s*=/i.test(lines[1].text)) {
    // Some reporters put the alert parameters on the next line.
    alert = parseAlert(`line ${lines[1].no}, VQAlertReport`, lines[1].text);
    idx = 2;
  } else {
    fail(`line ${first.no}: expected "VQAlertReport: Type=... Severity=... Dir=..."`);
  }

  const session = new Map<SessionLine, { text: string; no: number }>();
  const sessionByLower = new Map(SESSION_LINES.map((n) => [n.toLowerCase(), n]));
  const specByLower = new Map(METRIC_LINES.map((s) => [s.name.toLowerCase(), s]));
  const reportExtra: string[] = [];
  let local: MetricsDraft | undefined;
  let remote: MetricsDraft | undefined;
  let current: MetricsDraft | undefined;
  let dialog: { text: string; no: number } | undefined;

  for (const line of lines.slice(idx)) {
    const colon = line.text.indexOf(':');
    const name = lineName(line.text);
    const value = colon < 0 ? '' : line.text.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    const where = `line ${line.no}, ${name}`;
    const sessionName = sessionByLower.get(lower);
    if (REPORT_KINDS.some((k) => k.toLowerCase() === lower)) {
      fail(`line ${line.no}: expected one report per body, got a second ${name}`);
    } else if (sessionName) {
      if (session.has(sessionName)) fail(`${where}: expected one ${sessionName} line, got a second`);
      session.set(sessionName, { text: value, no: line.no });
    } else if (lower === 'dialogid') {
      if (dialog) fail(`${where}: expected one DialogID line, got a second`);
      dialog = { text: value, no: line.no };
    } else if (lower === 'localmetrics' || lower === 'metrics' || lower === 'remotemetrics') {
      if (value !== '') fail(`${where}: expected nothing after "${name}:" (the metrics follow on their own lines)`);
      if (lower === 'remotemetrics') {
        if (!local) fail(`${where}: expected the LocalMetrics block before RemoteMetrics`);
        if (remote) fail(`${where}: expected one RemoteMetrics block, got a second`);
        current = remote = { header: line.no, groups: {}, extraLines: [] };
      } else {
        if (local) fail(`${where}: expected one LocalMetrics (or Metrics) block, got a second`);
        current = local = { header: line.no, groups: {}, extraLines: [] };
      }
    } else if (lower === 'timestamps' || specByLower.has(lower)) {
      if (!current) fail(`${where}: expected a LocalMetrics: line before the metric lines`);
      if (lower === 'timestamps') {
        if (current!.timestamps) fail(`${where}: expected one Timestamps line per block, got a second`);
        current!.timestamps = parseTimestamps(value, line.no);
      } else {
        const spec = specByLower.get(lower)!;
        if (spec.prop in current!.groups) fail(`${where}: expected one ${spec.name} line per block, got a second`);
        current!.groups[spec.prop] = parseParamLine(spec, value, line.no);
      }
    } else {
      (current ? current.extraLines : reportExtra).push(line.text);
    }
  }

  const need = (n: SessionLine): { text: string; no: number } => {
    const l = session.get(n);
    return l ?? fail(`expected a ${n} line`);
  };
  const callIdLine = need('CallID');
  if (!isCallIdParm(callIdLine.text))
    fail(`line ${callIdLine.no}, CallID: expected a Call-ID (word ["@" word]), got ${snippet(callIdLine.text)}`);
  const ident = (n: 'LocalID' | 'RemoteID' | 'OrigID'): string => {
    const l = need(n);
    if (!SIP_IDENTITY_RE.test(l.text))
      fail(`line ${l.no}, ${n}: expected a SIP name-addr or addr-spec, got ${snippet(l.text)}`);
    return l.text;
  };
  const base: VqReportCommon = {
    callId: callIdLine.text,
    localId: ident('LocalID'),
    remoteId: ident('RemoteID'),
    origId: ident('OrigID'),
    localAddr: (() => {
      const l = need('LocalAddr');
      return parseAddr(`line ${l.no}, LocalAddr`, l.text);
    })(),
    remoteAddr: (() => {
      const l = need('RemoteAddr');
      return parseAddr(`line ${l.no}, RemoteAddr`, l.text);
    })(),
    localMetrics: local ? finishMetrics('LocalMetrics', local) : fail('expected a LocalMetrics: block'),
  };
  for (const [n, prop] of [
    ['LocalGroup', 'localGroup'],
    ['RemoteGroup', 'remoteGroup'],
  ] as const) {
    const l = session.get(n);
    if (!l) continue;
    if (!WORD_PLUS_RE.test(l.text)) fail(`line ${l.no}, ${n}: expected a non-empty word-plus, got ${snippet(l.text)}`);
    base[prop] = l.text;
  }
  for (const [n, prop] of [
    ['LocalMAC', 'localMac'],
    ['RemoteMAC', 'remoteMac'],
  ] as const) {
    const l = session.get(n);
    if (!l) continue;
    if (!MAC_RE.test(l.text))
      fail(`line ${l.no}, ${n}: expected six hex pairs separated by ":", got ${snippet(l.text)}`);
    base[prop] = l.text;
  }
  if (remote) base.remoteMetrics = finishMetrics('RemoteMetrics', remote);
  if (dialog) base.dialogId = parseDialogId(`line ${dialog.no}, DialogID`, dialog.text);
  if (reportExtra.length) base.extraLines = reportExtra;

  if (kind === 'VQSessionReport') return { kind, callTerm, ...base };
  if (kind === 'VQIntervalReport') return { kind, ...base };
  return { kind, alert: alert!, ...base };
}

// ---------------------------------------------------------------------------
// Unit conversions for the native side
// ---------------------------------------------------------------------------

/** RFC 3611 4.7.1 loss / discard rate (fraction × 256, 0-255) to RFC 6035's percentage. */
export function percentFromRfc3611Rate(rate: number): number {
  if (!Number.isInteger(rate) || rate < 0 || rate > 255)
    throw new InvalidArgumentError(`RFC 3611 rate: expected an integer 0-255 (fraction × 256), got ${rate}`);
  return (rate / 256) * 100;
}

/** A 0-1 fraction (what liblinphone's reporting code holds) to RFC 6035's percentage. */
export function percentFromFraction(fraction: number): number {
  if (!isNum(fraction) || fraction < 0 || fraction > 1)
    throw new InvalidArgumentError(`loss fraction: expected a number 0 to 1, got ${fraction}`);
  return fraction * 100;
}

/**
 * An RFC 3611 4.7.5 R factor / MOS byte to the report's value: R as is
 * (0-100), MOS as value / 10 (10-50); 127 ("unavailable") and anything out of
 * range give undefined, so the parameter is left out rather than made up.
 */
export function fromRfc3611Quality(kind: 'R' | 'MOS', value: number): number | undefined {
  if (!Number.isInteger(value) || value === 127) return undefined;
  if (kind === 'R') return value >= 0 && value <= 100 ? value : undefined;
  return value >= 10 && value <= 50 ? value / 10 : undefined;
}
