/**
 * RFC 6035 voice quality report bodies (media type application/vq-rtcpxr):
 * the typed model, the parameter tables the serializer and the parser share,
 * VqReportError, and unit conversions into the model's units.
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
 * The serializer is in format.ts, the parser in parse.ts; lib/quality/vqreport.ts
 * re-exports the public part of all three. See docs/quality.md for units and
 * for what is left to the native side.
 */
import { InvalidArgumentError } from '../../errors';

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

export interface VqReportCommon {
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

export type Kind =
  | { t: 'int'; digits: number; min: number; max: number }
  | { t: 'signed'; digits: number; min: number; max: number }
  | { t: 'percent' }
  | { t: 'mos' }
  | { t: 'code'; values: readonly number[] }
  | { t: 'onoff' }
  | { t: 'word' }
  | { t: 'wordOrQuoted' }
  | { t: 'quoted' };

export interface ParamSpec {
  key: string;
  prop: string;
  kind: Kind;
}

export interface LineSpec {
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

export const METRIC_LINES: readonly LineSpec[] = [
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

export const SESSION_LINES = [
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
export type SessionLine = (typeof SESSION_LINES)[number];

export const REPORT_KINDS: readonly VqReportKind[] = ['VQSessionReport', 'VQIntervalReport', 'VQAlertReport'];
export const SEVERITIES: readonly VqAlertSeverity[] = ['Warning', 'Critical', 'Clear'];
export const DIRECTIONS: readonly VqAlertDirection[] = ['local', 'remote'];

/** Every line name the parser gives a meaning to, lower-cased. */
export const KNOWN_LINE_NAMES = new Set(
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
export const TOKEN_RE = /^[A-Za-z0-9.!%*_+`'~-]+$/;
/** RFC 3261 word, less DQUOTE (a bare value with a quote in it could not be told from a quoted one). */
export const WORD_RE = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\/[\]?{}]+$/;
/** RFC 6035 word-plus: the word characters (no DQUOTE) plus "=" and space. */
export const WORD_PLUS_RE = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\/[\]?{}= ]+$/;
export const MAC_RE = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;
/** A URI with a scheme, bare (addr-spec) or in angle brackets after an optional display name (name-addr). */
export const SIP_IDENTITY_RE =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+|(?:"(?:[^"\\\r\n]|\\[^\r\n])*"[ \t]*|[^<>"\r\n]*)<[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+>)$/;

export const isCallIdParm = (s: string): boolean => {
  const at = s.indexOf('@');
  if (at < 0) return WORD_RE.test(s);
  return WORD_RE.test(s.slice(0, at)) && WORD_RE.test(s.slice(at + 1));
};

// ---------------------------------------------------------------------------
// Helpers shared by the serializer and the parser
// ---------------------------------------------------------------------------

export const fail = (message: string): never => {
  throw new VqReportError(message);
};

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The name a parser reads off a logical line: before the first colon (or the whole line). */
export const lineName = (line: string): string => {
  const colon = line.indexOf(':');
  return (colon < 0 ? line : line.slice(0, colon)).trim();
};

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
