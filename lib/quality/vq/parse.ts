/**
 * The RFC 6035 parser: an application/vq-rtcpxr body to its VqReport model.
 * Conventions are in model.ts.
 */
import { isIP } from 'node:net';
import {
  DIRECTIONS,
  MAC_RE,
  METRIC_LINES,
  REPORT_KINDS,
  SESSION_LINES,
  SEVERITIES,
  SIP_IDENTITY_RE,
  TOKEN_RE,
  WORD_PLUS_RE,
  WORD_RE,
  fail,
  isCallIdParm,
  lineName,
  type Kind,
  type LineSpec,
  type SessionLine,
  type VqAlert,
  type VqAlertDirection,
  type VqAlertSeverity,
  type VqDialogId,
  type VqMediaAddress,
  type VqMetrics,
  type VqReport,
  type VqReportCommon,
} from './model';

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
      // The ABNF writes "0x" 1*8HEXDIG; the RFC's own example leaves the "0x"
      // off once. liblinphone writes the SSRC in decimal: 9 or 10 digits
      // cannot be hex without "0x", so they are read as decimal (a decimal
      // SSRC of 8 digits or fewer is indistinguishable and read as hex).
      const m = /^(?:0[xX])?([0-9A-Fa-f]{1,8})$/.exec(v);
      if (m) ssrc = parseInt(m[1], 16);
      else if (/^[0-9]{9,10}$/.test(v) && Number(v) <= 0xffffffff) ssrc = Number(v);
      else fail(`${where} SSRC: expected "0x" and 1 to 8 hex digits, got ${snippet(v)}`);
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
    // the ABNF's word-plus, or what deployed reporters write (liblinphone:
    // its dialog id with ";" in it); kept as text, never control characters
    const printable = l.text.length > 0 && ![...l.text].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
    if (!WORD_PLUS_RE.test(l.text) && !printable)
      fail(`line ${l.no}, ${n}: expected a non-empty word-plus, got ${snippet(l.text)}`);
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
