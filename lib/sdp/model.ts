import type { CodecInfo } from '../codecs/table';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** One payload format of an m-line, resolved against our codec table. */
export interface SdpFormat {
  pt: number;
  /** Encoding name as written (or implied by a static payload type). */
  name: string;
  clockRate: number;
  channels: number;
  fmtp?: string;
  /** Our codec for it, when we support it. */
  codec?: CodecInfo;
}

export interface SdpMedia {
  /** Position of the m-line (answers keep every m-line, in order). */
  index: number;
  type: string;
  port: number;
  protocol: string;
  /** The fmt list as written, for echoing rejected m-lines. */
  payloads: string;
  /** Effective connection address (media c= or session c=). */
  address: string;
  ipVersion: 4 | 6;
  formats: SdpFormat[];
  /** Direction as offered; c=0.0.0.0 (RFC 2543 hold) reads as sendonly. */
  direction: Direction;
  /** true when held with the old c=0.0.0.0 form. */
  zeroAddressHold: boolean;
  ptime?: number;
  maxptime?: number;
  rtcpPort: number;
  rtcpAddress: string;
  rtcpMux: boolean;
  /** RFC 3611 5.1 a=rtcp-xr (media level, else session level): the XR blocks the peer wants. */
  rtcpXr?: RtcpXrAttribute;
}

/** A parsed a=rtcp-xr. Unknown formats are kept in `other`. */
export interface RtcpXrAttribute {
  rcvrRtt?: { mode: 'all' | 'sender'; maxSize?: number };
  /** stat-summary flags (loss, dup, jitt, TTL, HL); [] for a bare stat-summary. */
  statSummary?: string[];
  voipMetrics: boolean;
  lossRle?: number | true;
  dupRle?: number | true;
  rcptTimes?: number | true;
  other: string[];
}

export interface SdpSession {
  origin: { username: string; sessionId: string; sessionVersion: string; address: string; ipVersion: 4 | 6 };
  media: SdpMedia[];
  /** The first audio m-line with a non-zero port, if any. */
  audio?: SdpMedia;
}
