/**
 * SDP parsing and validation (RFC 4566 / RFC 3264) on sdp-transform: turns
 * text into our model, or throws SdpError saying what is wrong.
 */
import * as transform from 'sdp-transform';
import { isIP } from 'node:net';
import { findCodec, CODECS } from '../codecs/table';
import { SdpError } from '../errors';
import type { Direction, RtcpXrAttribute, SdpFormat, SdpMedia, SdpSession } from './model';
import { bundleGroups, parseSecurity } from './secure';

const MAX_SDP_BYTES = 64 * 1024;
const STATIC_PT = new Map(
  Object.values(CODECS)
    .filter((c) => c.staticPt !== undefined)
    .map((c) => [c.staticPt!, c]),
);
const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function ipVersionOf(address: string, where: string): 4 | 6 {
  const v = isIP(address);
  if (v === 0) throw new SdpError(`SDP: ${where} address "${address}" is not an IP address (FQDNs are not supported)`);
  return v as 4 | 6;
}

function int(v: unknown, what: string, lo: number, hi: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw new SdpError(`SDP: ${what} ${String(v)} is not an integer ${lo}..${hi}`);
  return n;
}

/**
 * RFC 3611 5.1: `a=rtcp-xr:[xr-format *(SP xr-format)]`. Tolerant: an
 * unknown or malformed format is kept in `other`, never an error (the
 * attribute only says what the peer would like to receive).
 */
export function parseRtcpXr(value: string): RtcpXrAttribute {
  const out: RtcpXrAttribute = { voipMetrics: false, other: [] };
  const size = (v: string | undefined) => (v !== undefined && /^[0-9]{1,9}$/.test(v) ? Number(v) : true);
  for (const tok of value.trim().split(/\s+/).filter(Boolean)) {
    const [name, arg] = tok.split('=', 2);
    const lname = name.toLowerCase();
    if (lname === 'voip-metrics' && arg === undefined) out.voipMetrics = true;
    else if (lname === 'rcvr-rtt' && arg) {
      const [mode, max] = arg.split(':', 2);
      if (mode === 'all' || mode === 'sender') {
        out.rcvrRtt = { mode };
        if (max !== undefined && /^[0-9]{1,9}$/.test(max)) out.rcvrRtt.maxSize = Number(max);
      } else out.other.push(tok);
    } else if (lname === 'stat-summary') out.statSummary = arg ? arg.split(',').filter(Boolean) : [];
    else if (lname === 'pkt-loss-rle') out.lossRle = size(arg);
    else if (lname === 'pkt-dup-rle') out.dupRle = size(arg);
    else if (lname === 'pkt-rcpt-times') out.rcptTimes = size(arg);
    else out.other.push(tok);
  }
  return out;
}

/** The value of the first `a=rtcp-xr` among sdp-transform's unparsed attributes. */
function rtcpXrOf(invalid: { value: string }[] | undefined): RtcpXrAttribute | undefined {
  const v = invalid?.find((i) => /^rtcp-xr(?::|$)/i.test(String(i.value)))?.value;
  return v === undefined ? undefined : parseRtcpXr(String(v).replace(/^rtcp-xr:?/i, ''));
}

export function parseSdp(text: unknown): SdpSession {
  if (typeof text !== 'string') throw new SdpError(`SDP: expected a string but received ${typeof text}`);
  if (text.length > MAX_SDP_BYTES)
    throw new SdpError(`SDP: ${text.length} bytes is larger than the ${MAX_SDP_BYTES} we accept`);
  if (!/^v=0\s*$/m.test(text.split(/\r?\n/, 1)[0] ?? '')) throw new SdpError('SDP: must start with v=0');
  let raw: transform.SessionDescription;
  try {
    raw = transform.parse(text);
  } catch (err) {
    throw new SdpError(`SDP: cannot parse: ${(err as Error).message}`);
  }
  if (!raw.origin) throw new SdpError('SDP: no o= line');
  const originAddress = String(raw.origin.address ?? '');
  const origin = {
    username: String(raw.origin.username ?? '-'),
    // kept as text: session ids are often larger than 2^53
    sessionId: /^o=\S+\s+(\d+)/m.exec(text)?.[1] ?? String(raw.origin.sessionId),
    sessionVersion: /^o=\S+\s+\d+\s+(\d+)/m.exec(text)?.[1] ?? String(raw.origin.sessionVersion),
    address: originAddress,
    ipVersion: (isIP(originAddress) === 6 ? 6 : 4) as 4 | 6,
  };
  if (!raw.media || raw.media.length === 0) throw new SdpError('SDP: no m= line');
  const sessionDirection = (raw as { direction?: string }).direction;
  const sessionXr = rtcpXrOf((raw as { invalid?: { value: string }[] }).invalid);
  const media = raw.media.map((m, index): SdpMedia => {
    const type = String(m.type ?? '');
    const port = int(m.port, `m=${type} port`, 0, 65535);
    const protocol = String(m.protocol ?? '');
    const payloads = String(m.payloads ?? '');
    const conn = m.connection?.ip ?? raw.connection?.ip;
    if (!conn && port !== 0) throw new SdpError(`SDP: m=${type} has no c= line (neither media nor session level)`);
    const address = conn ? String(conn).split('/')[0] : '0.0.0.0';
    const ipVersion = port === 0 && !conn ? 4 : ipVersionOf(address, `m=${type} connection`);
    const formats: SdpFormat[] = [];
    // RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, ...
    if (type === 'audio' && /(^|\/)RTP\//.test(protocol)) {
      const seen = new Set<number>();
      for (const tok of payloads.split(/\s+/).filter(Boolean)) {
        const pt = int(tok, `m=audio payload type`, 0, 127);
        // a payload type listed twice on the m= line is one format (every
        // layer below keys formats by payload type)
        if (seen.has(pt)) continue;
        seen.add(pt);
        const maps = m.rtp?.filter((r) => r.payload === pt) ?? [];
        const spelled = new Set(maps.map((r) => `${r.codec}/${r.rate ?? ''}/${r.encoding ?? ''}`.toLowerCase()));
        if (spelled.size > 1)
          throw new SdpError(
            `SDP: payload type ${pt} has ${maps.length} different a=rtpmap lines (${maps.map((r) => `${r.codec}/${r.rate}`).join(', ')})`,
          );
        const rtp = maps[0];
        const fmtp = m.fmtp?.find((f) => f.payload === pt)?.config;
        if (rtp) {
          const name = String(rtp.codec);
          const clockRate = int(rtp.rate ?? 8000, `rtpmap ${pt} clock rate`, 1, 1_000_000);
          const channels = rtp.encoding ? int(rtp.encoding, `rtpmap ${pt} channels`, 1, 8) : 1;
          const codec = findCodec(name);
          const matches = codec && codec.clockRate === clockRate;
          formats.push({ pt, name, clockRate, channels, fmtp, codec: matches ? codec : undefined });
        } else if (STATIC_PT.has(pt)) {
          const codec = STATIC_PT.get(pt)!;
          formats.push({ pt, name: codec.name, clockRate: codec.clockRate, channels: 1, fmtp, codec });
        } else {
          // a dynamic payload type without rtpmap cannot be used (RFC 4566 6)
          formats.push({ pt, name: '', clockRate: 0, channels: 0, fmtp });
        }
      }
    }
    const dirAttr = (m.direction ?? sessionDirection ?? 'sendrecv') as string;
    let direction: Direction = DIRECTIONS.has(dirAttr) ? (dirAttr as Direction) : 'sendrecv';
    const security = parseSecurity(m, raw, protocol);
    // with ICE, c=0.0.0.0 (port 9) only says "see the candidates" (RFC 8839 4.2.1.2), it is no hold
    const zeroAddressHold = address === '0.0.0.0' && port !== 0 && !security.ice;
    // RFC 3264 8.4 / RFC 2543 hold: "do not send to me"
    if (zeroAddressHold && direction === 'sendrecv') direction = 'sendonly';
    if (zeroAddressHold && direction === 'recvonly') direction = 'inactive';
    // RTCP on the next port (RFC 3550 11), on the RTP port with rtcp-mux
    // (RFC 5761), or where a=rtcp says (RFC 3605)
    let rtcpPort: number;
    if (m.rtcp?.port !== undefined) rtcpPort = int(m.rtcp.port, 'a=rtcp port', 0, 65535);
    else if (port < 65535) rtcpPort = port + 1;
    else if (m.rtcpMux !== undefined) rtcpPort = port;
    else if (type === 'audio' && /^RTP\//.test(protocol))
      throw new SdpError(
        `SDP: m=${type} port 65535 leaves no port for RTCP (it would be 65536); give a=rtcp or a=rtcp-mux, or another port`,
      );
    else rtcpPort = 0; // a line we do not use
    const rtcpAddress = m.rtcp?.address ? String(m.rtcp.address) : address;
    if (m.rtcp?.address) ipVersionOf(rtcpAddress, 'a=rtcp');
    return {
      index,
      type,
      port,
      protocol,
      payloads,
      address,
      ipVersion,
      formats,
      direction,
      zeroAddressHold,
      ptime: m.ptime !== undefined ? int(m.ptime, 'a=ptime', 1, 1000) : undefined,
      maxptime: m.maxptime !== undefined ? int(m.maxptime, 'a=maxptime', 1, 1000) : undefined,
      rtcpPort,
      rtcpAddress,
      rtcpMux: m.rtcpMux !== undefined,
      security,
      rtcpXr: rtcpXrOf((m as { invalid?: { value: string }[] }).invalid) ?? sessionXr,
    };
  });
  const audio = media.find((m) => m.type === 'audio' && m.port !== 0 && /^RTP\/AVPF?$/.test(m.protocol));
  const secureAudio = media.find((m) => m.type === 'audio' && m.port !== 0 && m.security.srtpProfile);
  return { origin, media, audio, secureAudio, bundle: bundleGroups(raw) };
}
