/** SDP generation for what we send to each leg. */
import { isIP } from 'node:net';
import type { Direction, SdpMedia } from './model';

export interface SdpFormatSpec {
  pt: number;
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export interface AudioSpec {
  address: string;
  port: number;
  rtcpPort: number;
  formats: SdpFormatSpec[];
  direction: Direction;
  ptime?: number;
  maxptime?: number;
  /** The m-line profile (default RTP/AVP); lib/sdp/secure.ts says which for a secured leg. */
  protocol?: string;
  /** More media-level lines ("a=..."), e.g. SecureSdp.mediaAttributes. */
  attributes?: string[];
  /**
   * RFC 3611 5.1 a=rtcp-xr: the XR blocks we send and want to receive.
   * Default RTCP_XR_ATTRIBUTE (what our endpoints send); false: none.
   */
  rtcpXr?: string | false;
}

/**
 * The XR blocks every RtpEndpoint sends by default, as RFC 3611 5.1 writes
 * them: VoIP metrics, statistics summary with loss, duplicates, jitter and
 * TTL, receiver reference time (all, up to 10000 entries). Peers such as
 * liblinphone send XR only to a peer whose SDP asks for it. voip-metrics
 * comes first: liblinphone 5.1 reads only the first format of the line
 * (measured: with its own order it sends nothing but the receiver reference
 * time block, to us and to another liblinphone alike).
 */
export const RTCP_XR_ATTRIBUTE = 'voip-metrics stat-summary=loss,dup,jitt,TTL rcvr-rtt=all:10000';

export interface BuildOptions {
  sessionId: string;
  version: number;
  /** Origin and connection address. */
  address: string;
  audio: AudioSpec;
  /**
   * The peer's m-lines, when answering: every other m-line is answered with
   * port 0 (RFC 3264 6), in the offer's order, and the audio one at its index.
   */
  offerMedia?: SdpMedia[];
  audioIndex?: number;
  /** Session-level lines ("a=..."), e.g. SecureSdp.sessionAttributes (a=ice-lite, a=group:BUNDLE). */
  sessionAttributes?: string[];
}

const ipTag = (a: string) => (isIP(a) === 6 ? 'IP6' : 'IP4');

export function buildSdp(o: BuildOptions): string {
  const lines = [
    'v=0',
    `o=rtp-media-server ${o.sessionId} ${o.version} IN ${ipTag(o.address)} ${o.address}`,
    's=rtp-media-server',
    `c=IN ${ipTag(o.address)} ${o.address}`,
    't=0 0',
    ...(o.sessionAttributes ?? []),
  ];
  const audioLines = (): string[] => {
    const a = o.audio;
    const out = [`m=audio ${a.port} ${a.protocol ?? 'RTP/AVP'} ${a.formats.map((f) => f.pt).join(' ')}`];
    if (a.address !== o.address) out.push(`c=IN ${ipTag(a.address)} ${a.address}`);
    for (const f of a.formats) {
      out.push(`a=rtpmap:${f.pt} ${f.name}/${f.clockRate}${f.channels && f.channels > 1 ? `/${f.channels}` : ''}`);
      if (f.fmtp) out.push(`a=fmtp:${f.pt} ${f.fmtp}`);
    }
    if (a.ptime) out.push(`a=ptime:${a.ptime}`);
    if (a.maxptime) out.push(`a=maxptime:${a.maxptime}`);
    if (a.rtcpPort !== a.port + 1 && !a.attributes?.includes('a=rtcp-mux')) out.push(`a=rtcp:${a.rtcpPort}`);
    if (a.rtcpXr !== false) out.push(`a=rtcp-xr:${a.rtcpXr ?? RTCP_XR_ATTRIBUTE}`);
    out.push(...(a.attributes ?? []));
    out.push(`a=${a.direction}`);
    return out;
  };
  if (o.offerMedia) {
    for (const m of o.offerMedia) {
      if (m.index === o.audioIndex) lines.push(...audioLines());
      else lines.push(`m=${m.type} 0 ${m.protocol} ${m.payloads || '0'}`);
    }
  } else {
    lines.push(...audioLines());
  }
  return lines.join('\r\n') + '\r\n';
}

/** The direction an answerer uses for an offered one (RFC 3264 6.1), limited by what it wants itself. */
export function answerDirection(offered: Direction, wanted: Direction = 'sendrecv'): Direction {
  const offerSends = offered === 'sendrecv' || offered === 'sendonly';
  const offerRecvs = offered === 'sendrecv' || offered === 'recvonly';
  const weSend = offerRecvs && (wanted === 'sendrecv' || wanted === 'sendonly');
  const weRecv = offerSends && (wanted === 'sendrecv' || wanted === 'recvonly');
  return weSend && weRecv ? 'sendrecv' : weSend ? 'sendonly' : weRecv ? 'recvonly' : 'inactive';
}

/** Whether the side that wrote `direction` wants to receive media. */
export function wantsToReceive(direction: Direction): boolean {
  return direction === 'sendrecv' || direction === 'recvonly';
}
