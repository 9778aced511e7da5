/**
 * A checker of RFC 6035 4.6.1 bodies, written from the ABNF (and RFC 3261
 * for HCOLON, EQUAL, word, token, callid; RFC 3339 for date-time),
 * independent of the serializer: one regular expression per line and per
 * parameter, with the ranges the RFC's comments give. Returns the
 * violations (none: the body conforms).
 */
import { isIP } from 'node:net';

const HCOLON = '[ \\t]*:[ \\t]*';
const WORD = "[A-Za-z0-9\\-.!%*_+`'~()<>:\\\\/\\[\\]?{}]+";
const WORD_PLUS = "[A-Za-z0-9\\-.!%*_+`'~()<>:\\\\/\\[\\]?{}= ]+";
const TOKEN = "[A-Za-z0-9.!%*_+`'~\\-]+";
const CALLID = `${WORD}(?:@${WORD})?`;
const DATE_TIME = '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})';
const URI = '[A-Za-z][A-Za-z0-9+.\\-]*:[^\\s<>"]+';
const SIP_ID = `(?:${URI}|(?:"[^"]*"[ \\t]*|[^<>"]*)<${URI}>)`;

type Check = (v: string) => boolean;
const digits =
  (max: number, lo: number, hi: number): Check =>
  (v) =>
    new RegExp(`^[0-9]{1,${max}}$`).test(v) && +v >= lo && +v <= hi;
const PERCENT: Check = (v) => /^[0-9]{1,3}(?:\.[0-9]{1,2})?$/.test(v) && +v <= 100;
const MOS: Check = (v) => /^[0-9]\.[0-9]$/.test(v) && +v >= 1 && +v <= 5;
const ALG: Check = (v) => new RegExp(`^${WORD}$`).test(v);
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    values.includes(v);
const SIGNED2: Check = (v) => /^-?[0-9]{1,2}$/.test(v);

const ABNF_LINES: [string, [string, Check][]][] = [
  [
    'SessionDesc',
    [
      ['PT', digits(3, 0, 127)],
      ['PD', (v) => new RegExp(`^(?:${WORD}|"${WORD_PLUS}")$`).test(v)],
      ['SR', digits(6, 0, 999999)],
      ['FD', digits(4, 0, 9999)],
      ['FO', digits(5, 0, 99999)],
      ['FPP', digits(2, 0, 99)],
      ['PPS', digits(5, 0, 99999)],
      ['FMTP', (v) => new RegExp(`^"${WORD_PLUS}"$`).test(v)],
      ['PLC', oneOf('0', '1', '2', '3')],
      ['SSUP', oneOf('on', 'off')],
    ],
  ],
  [
    'JitterBuffer',
    [
      ['JBA', oneOf('0', '1', '2', '3')],
      ['JBR', digits(2, 0, 15)],
      ['JBN', digits(5, 0, 65535)],
      ['JBM', digits(5, 0, 65535)],
      ['JBX', digits(5, 0, 65535)],
    ],
  ],
  [
    'PacketLoss',
    [
      ['NLR', PERCENT],
      ['JDR', PERCENT],
    ],
  ],
  [
    'BurstGapLoss',
    [
      ['BLD', PERCENT],
      ['BD', digits(7, 0, 3600000)],
      ['GLD', PERCENT],
      ['GD', digits(7, 0, 3600000)],
      ['GMIN', digits(3, 1, 255)],
    ],
  ],
  ['Delay', ['RTD', 'ESD', 'OWD', 'SOWD', 'IAJ', 'MAJ'].map((k) => [k, digits(5, 0, 65535)] as [string, Check])],
  [
    'Signal',
    [
      ['SL', SIGNED2],
      ['NL', SIGNED2],
      ['RERL', digits(3, 0, 127)],
    ],
  ],
  [
    'QualityEst',
    [
      ['RLQ', digits(3, 0, 120)],
      ['RLQEstAlg', ALG],
      ['RCQ', digits(3, 0, 120)],
      ['RCQEstAlg', ALG],
      ['EXTRI', digits(3, 0, 120)],
      ['ExtRIEstAlg', ALG],
      ['EXTRO', digits(3, 0, 120)],
      ['ExtROEstAlg', ALG],
      ['MOSLQ', MOS],
      ['MOSLQEstAlg', ALG],
      ['MOSCQ', MOS],
      ['MOSCQEstAlg', ALG],
      ['QoEEstAlg', ALG],
    ],
  ],
];

/** `[A WSP] [B WSP] ... *(WSP Extension)`: defined parameters in ABNF order, then extensions. */
function checkParams(line: string, name: string, rest: string, params: [string, Check][], errors: string[]) {
  const re = new RegExp(`(${TOKEN})=("${WORD_PLUS}"|[^\\s"]+)`, 'y');
  let i = 0;
  let last = -1;
  let inExtensions = false;
  while (i < rest.length) {
    if (i > 0) {
      if (rest[i] !== ' ' && rest[i] !== '\t') return void errors.push(`${name}: no WSP at ${i}: ${line}`);
      i++;
    }
    re.lastIndex = i;
    const m = re.exec(rest);
    if (!m) return void errors.push(`${name}: not a parameter at ${i}: ${line}`);
    i = re.lastIndex;
    const idx = params.findIndex(([k]) => k === m[1]);
    if (idx >= 0) {
      if (inExtensions || idx <= last) errors.push(`${name}: ${m[1]} out of ABNF order: ${line}`);
      if (!params[idx][1](m[2])) errors.push(`${name}: ${m[1]}=${m[2]} violates its rule`);
      last = idx;
    } else {
      inExtensions = true;
      if (params.some(([k]) => k.toLowerCase() === m[1].toLowerCase()))
        errors.push(`${name}: ${m[1]} is a defined name in the wrong case`);
      if (!new RegExp(`^(?:${WORD}|"${WORD_PLUS}")$`).test(m[2])) errors.push(`${name}: extension value ${m[2]}`);
    }
  }
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;

export function checkAbnf(body: string): string[] {
  const errors: string[] = [];
  if (!body.endsWith('\r\n')) errors.push('body does not end in CRLF');
  const lines = body.slice(0, -2).split('\r\n');
  for (const l of lines) {
    if (l === '') errors.push('empty line');
    if (/[\r\n]/.test(l)) errors.push(`bare CR or LF in ${JSON.stringify(l)}`);
    if (/^[ \t]/.test(l)) errors.push(`folded line ${JSON.stringify(l)}`);
  }
  let i = 0;
  const next = () => lines[i];
  const take = (re: RegExp, what: string, optional = false): RegExpExecArray | undefined => {
    const m = i < lines.length ? re.exec(lines[i]) : null;
    if (m) {
      i++;
      return m;
    }
    if (!optional) errors.push(`expected ${what} at line ${i + 1}, got ${JSON.stringify(next())}`);
    return undefined;
  };
  // SessionReport / IntervalReport / AlertReport
  take(
    new RegExp(
      `^(?:VQSessionReport(?:${HCOLON}CallTerm)?|VQIntervalReport|VQAlertReport${HCOLON}Type=${WORD}[ \\t]Severity=(?:Warning|Critical|Clear)[ \\t]Dir=(?:local|remote))$`,
    ),
    'the report type line',
  );
  // SessionInfo
  take(new RegExp(`^CallID${HCOLON}${CALLID}$`), 'CallID');
  for (const n of ['LocalID', 'RemoteID', 'OrigID']) take(new RegExp(`^${n}${HCOLON}${SIP_ID}$`), n);
  for (const n of ['LocalGroup', 'RemoteGroup']) take(new RegExp(`^${n}${HCOLON}${WORD_PLUS}$`), n, true);
  for (const side of ['Local', 'Remote']) {
    const m = take(
      new RegExp(`^${side}Addr${HCOLON}IP=(\\S+)[ \\t]PORT=([0-9]{1,5})[ \\t]SSRC=0x[0-9A-Fa-f]{1,8}$`),
      `${side}Addr`,
    );
    if (m && !(IPV4.test(m[1]) || isIP(m[1]) === 6)) errors.push(`${side}Addr IP ${m[1]}`);
    if (m && +m[2] > 65535) errors.push(`${side}Addr PORT ${m[2]}`);
    take(new RegExp(`^${side}MAC${HCOLON}[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$`), `${side}MAC`, true);
  }
  // LocalMetrics [RemoteMetrics]
  for (const block of ['LocalMetrics', 'RemoteMetrics']) {
    if (!take(new RegExp(`^${block}${HCOLON}$`), block, block === 'RemoteMetrics')) continue;
    take(new RegExp(`^Timestamps${HCOLON}START=${DATE_TIME}[ \\t]STOP=${DATE_TIME}$`), 'Timestamps');
    for (const [name, params] of ABNF_LINES) {
      const m = take(new RegExp(`^${name}${HCOLON}(.*)$`), name, true);
      if (m) checkParams(lines[i - 1], name, m[1], params, errors);
    }
  }
  // [DialogID]
  take(
    new RegExp(
      `^DialogID${HCOLON}${CALLID}(?:[ \\t]*;[ \\t]*(?:to-tag=${TOKEN}|from-tag=${TOKEN}|${TOKEN}(?:=[A-Za-z0-9.!%*_+\`'~\\-:\\[\\]]+)?))*$`,
    ),
    'DialogID',
    true,
  );
  if (i < lines.length) errors.push(`unexpected line ${i + 1}: ${JSON.stringify(lines[i])}`);
  return errors;
}
