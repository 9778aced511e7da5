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
}

export interface SdpSession {
  origin: { username: string; sessionId: string; sessionVersion: string; address: string; ipVersion: 4 | 6 };
  media: SdpMedia[];
  /** The first audio m-line with a non-zero port, if any. */
  audio?: SdpMedia;
}
