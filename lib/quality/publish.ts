/**
 * The SIP PUBLISH request that carries a voice quality report to a collector
 * (RFC 6035 3.2, event package vq-rtcpxr; PUBLISH itself is RFC 3903).
 *
 * Every PUBLISH is a new request outside any dialog: a new Call-ID, a new
 * From tag and a new Via branch each time. Expires is left out unless asked
 * for: RFC 3903 makes it optional and a report is not state to refresh.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../errors';
import { formatVqReport, type VqReport } from './vqreport';

export const VQ_EVENT_PACKAGE = 'vq-rtcpxr';
export const VQ_CONTENT_TYPE = 'application/vq-rtcpxr';

export type SipTransport = 'UDP' | 'TCP' | 'TLS' | 'SCTP' | 'WS' | 'WSS';
const TRANSPORTS: readonly SipTransport[] = ['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'];

export interface VqPublishOptions {
  /** The collector: Request-URI and, unless `toUri` is set, the To URI. */
  collectorUri: string;
  /** The reporter's address of record (From). */
  fromUri: string;
  /** Host (name or IP) for Via and the default Contact. */
  viaHost: string;
  /** Port for Via and the default Contact; left out when undefined. */
  viaPort?: number;
  /** Via transport, default UDP. */
  transport?: SipTransport | Lowercase<SipTransport>;
  /** Display name for From. */
  fromDisplayName?: string;
  /** To URI, default the collector. */
  toUri?: string;
  /** Contact URI, default sip:<user of fromUri>@viaHost[:viaPort][;transport=...]. */
  contactUri?: string;
  /** CSeq number, default 1. */
  cseq?: number;
  /** Default 70. */
  maxForwards?: number;
  /** Expires seconds; no Expires header when undefined. */
  expires?: number;
  /** User-Agent header, when set. */
  userAgent?: string;
  /** Use this Call-ID instead of a new random one (tests, retransmission). */
  callId?: string;
}

export interface VqPublishRequest {
  /** The whole request: start line, headers, blank line, body. */
  text: string;
  body: string;
  callId: string;
  fromTag: string;
  branch: string;
  cseq: number;
}

const bad = (what: string, v: unknown): never => {
  throw new InvalidArgumentError(`PUBLISH ${what}, got ${JSON.stringify(v)}`);
};

const SIP_URI_RE = /^sips?:[^\s<>"]+$/i;
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/** RFC 3261 callid: word ["@" word]. */
const WORD = `[A-Za-z0-9\\-.!%*_+\`'~()<>:\\\\"/[\\]?{}]+`;
const CALL_ID_RE = new RegExp(`^${WORD}(?:@${WORD})?$`);

const random = (bytes: number): string => randomBytes(bytes).toString('hex');

function checkUri(name: string, v: unknown): string {
  if (typeof v !== 'string' || !SIP_URI_RE.test(v)) bad(`${name}: expected a sip: or sips: URI without spaces`, v);
  return v as string;
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(`${name}: expected an integer ${min} to ${max}`, v);
  return v as number;
}

/** The user part of a sip: URI, if it has one. */
function userOf(uri: string): string | undefined {
  const m = /^sips?:([^@;?]+)@/i.exec(uri);
  return m?.[1];
}

/**
 * Builds the PUBLISH request for a report (or an already formatted body).
 * Content-Length is the body's length in bytes (UTF-8).
 */
export function buildVqPublish(report: VqReport | string, options: VqPublishOptions): VqPublishRequest {
  if (typeof options !== 'object' || options === null) bad('options: expected an object', options);
  const collector = checkUri('collectorUri', options.collectorUri);
  const from = checkUri('fromUri', options.fromUri);
  const to = options.toUri === undefined ? collector : checkUri('toUri', options.toUri);
  const host = options.viaHost;
  if (typeof host !== 'string' || (isIP(host) === 0 && !HOST_RE.test(host)))
    bad('viaHost: expected a host name or an IP address', host);
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  const port = options.viaPort === undefined ? undefined : checkInt('viaPort', options.viaPort, 1, 65535);
  const transport = (options.transport ?? 'UDP').toUpperCase() as SipTransport;
  if (!TRANSPORTS.includes(transport)) bad(`transport: expected one of ${TRANSPORTS.join(', ')}`, options.transport);
  const cseq = options.cseq === undefined ? 1 : checkInt('cseq', options.cseq, 0, 2 ** 31 - 1);
  const maxForwards = options.maxForwards === undefined ? 70 : checkInt('maxForwards', options.maxForwards, 0, 255);
  const expires = options.expires === undefined ? undefined : checkInt('expires', options.expires, 0, 2 ** 32 - 1);
  if (options.userAgent !== undefined && (typeof options.userAgent !== 'string' || /[\r\n]/.test(options.userAgent)))
    bad('userAgent: expected one line of text', options.userAgent);
  const display = options.fromDisplayName;
  if (display !== undefined && (typeof display !== 'string' || /[\r\n]/.test(display)))
    bad('fromDisplayName: expected one line of text', display);
  let callId: string;
  if (options.callId !== undefined) {
    if (typeof options.callId !== 'string' || !CALL_ID_RE.test(options.callId))
      bad('callId: expected a Call-ID (word ["@" word])', options.callId);
    callId = options.callId;
  } else {
    callId = `${random(12)}@${hostPart}`;
  }
  const contact =
    options.contactUri === undefined
      ? `sip:${userOf(from) ? userOf(from) + '@' : ''}${hostPart}${port ? `:${port}` : ''}` +
        (transport === 'UDP' ? '' : `;transport=${transport.toLowerCase()}`)
      : checkUri('contactUri', options.contactUri);

  if (typeof report === 'string' && report.length === 0) bad('body: expected a non-empty report', report);
  const body = typeof report === 'string' ? report : formatVqReport(report);

  const fromTag = random(6);
  const branch = `z9hG4bK${random(10)}`;
  const quotedDisplay = display === undefined ? '' : `"${display.replace(/(["\\])/g, '\\$1')}" `;
  const headers = [
    `PUBLISH ${collector} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${hostPart}${port ? `:${port}` : ''};branch=${branch};rport`,
    `Max-Forwards: ${maxForwards}`,
    `From: ${quotedDisplay}<${from}>;tag=${fromTag}`,
    `To: <${to}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} PUBLISH`,
    `Contact: <${contact}>`,
    `Event: ${VQ_EVENT_PACKAGE}`,
    ...(expires === undefined ? [] : [`Expires: ${expires}`]),
    ...(options.userAgent === undefined ? [] : [`User-Agent: ${options.userAgent}`]),
    `Content-Type: ${VQ_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body, 'utf8')}`,
  ];
  return { text: headers.join('\r\n') + '\r\n\r\n' + body, body, callId, fromTag, branch, cseq };
}
