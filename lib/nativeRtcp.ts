/** The addon's RTCP packet shapes (native/rtp_session_rtcp.cc), apart from lib/native.ts. */

/** An RR/SR report block (RFC 3550 6.4.1); jitter in RTP clock units, dlsr in 1/65536 s. */
export interface NativeReportBlock {
  ssrc: number;
  fractionLost: number;
  cumulativeLost: number;
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

/** One RTCP packet of a compound oRTP received or emitted. XR fields are RFC 3611's raw encodings. */
export type NativeRtcpPacket = { direction: 'received' | 'emitted'; atMs: number } & (
  | { type: 'SR' | 'RR'; ssrc: number; sender?: { packets: number; octets: number }; reports: NativeReportBlock[] }
  | { type: 'XR'; xr: { ssrc: number; block: string | number; [field: string]: number | bigint | string } }
);
