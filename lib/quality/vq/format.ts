/**
 * The RFC 6035 serializer: a VqReport model to its application/vq-rtcpxr
 * body. Conventions are in model.ts.
 */
import { isIP } from 'node:net';
import {
  DIRECTIONS,
  KNOWN_LINE_NAMES,
  MAC_RE,
  METRIC_LINES,
  REPORT_KINDS,
  SEVERITIES,
  SIP_IDENTITY_RE,
  TOKEN_RE,
  VQ_ALERT_METRIC_TYPES,
  WORD_PLUS_RE,
  WORD_RE,
  fail,
  isCallIdParm,
  isNum,
  lineName,
  type Kind,
  type LineSpec,
  type ParamSpec,
  type VqAlertDirection,
  type VqAlertSeverity,
  type VqReport,
} from './model';

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
