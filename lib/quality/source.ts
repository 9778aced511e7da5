/**
 * What the quality layer reads from one call leg, and nothing else: the
 * media format, the RTP endpoint's counters and RTCP, the audio levels of
 * what the leg sends us once decoded, the concealment applied to it, and the
 * SIP dialog the leg belongs to. Whoever owns legs (today's Gateway through
 * lib/gateway/qualitySources.ts, the leg model's MediaLeg) implements it;
 * lib/quality imports nothing above lib/rtp.
 */
import type { CodecInfo } from '../codecs/table';
import type {
  NativeQualityIndicator,
  NativeRtcpPacket,
  NativeRxQuality,
  NativeRxQualityConfig,
  NativeXrFill,
  NativeXrMedia,
} from '../native';
import type { RtpStats } from '../rtp/RtpEndpoint';

import type { PlcKind as DecodedPlc } from '../media/meters';

export type { LegLossMetrics } from '../media/meters';

/**
 * How the audio of what a leg sends us is concealed when packets are lost:
 * the decoder's own PLC, mediastreamer2's generic PLC, none, or 'relayed':
 * not decoded here at all (the listener's phone conceals; see
 * QualityOptions.relayedPlc).
 */
export type PlcKind = DecodedPlc | 'relayed';

/** The RTP endpoint calls the quality layer makes (RtpEndpoint has them all). */
export interface QualityEndpoint {
  stats(): RtpStats;
  /** Counters of what arrived (before any jitter buffer). */
  rxQuality(): NativeRxQuality;
  configureRxQuality(c: Partial<NativeRxQualityConfig>): void;
  info(): { sendSsrc: number; recvSsrc: number };
  /** Values our next RTCP XR VoIP metrics carry: PLC, levels, MOS. */
  setXrMedia(v: NativeXrMedia): void;
  /** ... and R factor, end system delay, PLC code. */
  setXrFill(v: NativeXrFill): void;
  /** mediastreamer2's own rating, beside our estimate. */
  qualityIndicator(): NativeQualityIndicator;
  /** RTCP received and emitted since the last call (the peer's XR among it). */
  pollRtcp(): NativeRtcpPacket[];
  /** false: pollRtcp() is not available (nobody asked the endpoint to keep RTCP); no remote metrics then. */
  readonly collectingRtcp?: boolean;
}

/**
 * One SIP dialog, as the leg's side of the B2BUA sees it (RFC 3261 12):
 * `local` is us on this dialog, `remote` the peer. RFC 6035 reports of the
 * leg carry its Call-ID, tags and identities.
 */
export interface LegDialog {
  callId: string;
  localTag?: string;
  remoteTag?: string;
  local: { uri: string; displayName?: string };
  remote: { uri: string; displayName?: string };
  /** Who sent the INVITE that made the dialog: 'remote' (the peer called us) or 'local'. */
  initiator: 'local' | 'remote';
}

export interface LegMediaFormat {
  codec: CodecInfo;
  payloadType: number;
  ptimeMs: number;
  fmtp?: string;
}

/** One leg as the quality layer sees it. Methods are read at every sample: return what holds now. */
export interface QualityLegSource {
  /** Codec, payload type, packet time, fmtp the leg uses now (a re-INVITE may change them); undefined: no media yet. */
  media(): LegMediaFormat | undefined;
  endpoint: QualityEndpoint;
  plc(): PlcKind;
  /** dBm0 of the last 200 ms of decoded audio; undefined when relayed or silent. */
  audioLevel(): number | undefined;
  /** RFC 3611 signal level over the whole call so far (speech only). */
  speechLevel(): number | undefined;
  /** Our address on the leg as written in SDP, and the peer's (from its SDP). */
  addresses(): { local: { ip: string; port: number }; remote?: { ip: string; port: number } };
  /** The leg's SIP dialog, once the application has told it; undefined: not known. */
  dialog(): LegDialog | undefined;
  /**
   * Whether the peer said it sends us media (its SDP direction sendrecv or
   * sendonly). False on hold: silence is then no "no media" alert. Default
   * true.
   */
  receiving?(): boolean;
}
