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

/** a=crypto (RFC 4568 9.1), as written. */
export interface SdpCrypto {
  tag: number;
  suite: string;
  /** "inline:<base64 key||salt>[|lifetime][|MKI:length]" (one or more, ';'-separated). */
  keyParams: string;
  sessionParams?: string;
}

/** a=fingerprint (RFC 8122). */
export interface SdpFingerprint {
  /** Lower case: sha-1, sha-256, ... */
  algorithm: string;
  /** Colon-separated hex pairs, upper case. */
  value: string;
}

/** a=setup (RFC 4145 4). */
export type SdpSetup = 'actpass' | 'active' | 'passive' | 'holdconn';

/** a=candidate (RFC 8839 5.1). */
export interface SdpCandidate {
  foundation: string;
  component: number;
  /** Lower case: udp, tcp. */
  transport: string;
  priority: number;
  address: string;
  port: number;
  /** host, srflx, prflx, relay */
  type: string;
}

export interface SdpIce {
  ufrag: string;
  pwd: string;
  /** The peer is an ICE-lite agent (a=ice-lite). */
  lite: boolean;
  options: string[];
  candidates: SdpCandidate[];
}

/** What an m-line says about SRTP, DTLS, ICE and its RTP transport (lib/sdp/secure.ts reads it). */
export interface SdpSecurity {
  /** The profile is SRTP: RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP, UDP/TLS/RTP/SAVPF. */
  srtpProfile: boolean;
  /** The profile is AVPF (RFC 4585): ...F. */
  avpf: boolean;
  /** UDP/TLS/...: DTLS carries the keys (RFC 5764 8). */
  dtlsProfile: boolean;
  crypto: SdpCrypto[];
  /** Media level, else session level. */
  fingerprint?: SdpFingerprint;
  setup?: SdpSetup;
  /** ICE credentials and candidates (media level, else session level). */
  ice?: SdpIce;
  mid?: string;
  rtcpRsize: boolean;
  rtcpFb: { payload: string; type: string; subtype?: string }[];
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
  security: SdpSecurity;
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
  /** The first plain (RTP/AVP, RTP/AVPF) audio m-line with a non-zero port, if any. */
  audio?: SdpMedia;
  /** The first SRTP-profile audio m-line (SAVP, SAVPF, UDP/TLS/...) with a non-zero port, if any. */
  secureAudio?: SdpMedia;
  /** a=group:BUNDLE mid lists (RFC 8843). */
  bundle: string[][];
}
