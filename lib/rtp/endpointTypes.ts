/** The option, event and figure types of RtpEndpoint (RtpEndpoint.ts re-exports them). */
import type { NativePayloadType, NativeRtpInfo, NativeRtpStats, NativeXrConfig } from '../native';
import type { DtlsSettings, DtlsStateEvent, IceSettings, IceStateEvent, SrtpSettings, ZrtpStateEvent } from './secure';

export interface RtpAddress {
  address: string;
  port: number;
  /** Default: port + 1. */
  rtcpPort?: number;
}

export type PayloadTypeSpec = NativePayloadType;

export interface JitterBufferOptions {
  /** Default true. */
  enabled: boolean;
  /** Adapt the delay to measured jitter. Default true. */
  adaptive: boolean;
  /** Starting delay in ms. Default 60. */
  nominalMs: number;
  /** Default 20. */
  minMs: number;
  /** Default 300. */
  maxMs: number;
  /** Default 100. */
  maxPackets: number;
}

export type LatchMode = 'strict' | 'once' | 'always';

export interface RtpEndpointOptions {
  /** Local IPv4 or IPv6 address to bind. */
  address: string;
  /** Local RTP port; 0 (default) picks a free even port with RTCP on the next. */
  port?: number;
  /** Local RTCP port; default port + 1. */
  rtcpPort?: number;
  remote?: RtpAddress;
  payloadTypes?: PayloadTypeSpec[];
  /** Payload type to send and expect (default: the first of payloadTypes). */
  payloadType?: number;
  /** false disables it. */
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  /**
   * Who may send us media (see docs/security.md):
   * - 'strict' (default): only the remote address we were given (SDP);
   *   anyone else's packets are dropped as they are read, before oRTP sees
   *   them. Until a remote is set, any source is read.
   * - 'once': the source of the first packet (NAT latching), then only it;
   *   a new remote (re-INVITE) latches again.
   * - 'always': any source, and we follow the latest (plain symmetric RTP:
   *   a third party can take the stream over; only for trusted networks).
   */
  latch?: LatchMode;
  /** @deprecated use latch: true is 'always', false is 'strict'. */
  symmetric?: boolean;
  /** Send and receive RTCP. Default true. */
  rtcp?: boolean;
  /** Mean interval between RTCP reports. Default 5000 ms. */
  rtcpIntervalMs?: number;
  /**
   * RTCP XR (RFC 3611) blocks sent with every report: receiver reference time,
   * statistics summary and VoIP metrics, all on by default; false turns XR off.
   */
  xr?: Partial<Omit<NativeXrConfig, 'enabled'>> | false;
  /** SDES-SRTP keys (RFC 4568): the leg is encrypted, plain packets are refused. See lib/sdp/secure.ts. */
  srtp?: SrtpSettings;
  /** DTLS-SRTP (RFC 5763/5764): handshake on the media socket, keys from it. */
  dtls?: DtlsSettings;
  /**
   * ICE-lite (RFC 8445): checks are answered, media and DTLS are accepted
   * only from sources that passed one and go to the selected pair. Latching
   * is then ICE's (the latch option is set aside while ICE is on).
   */
  ice?: IceSettings;
  /** RTCP on the RTP port (RFC 5761). */
  rtcpMux?: boolean;
}

export type RtpStats = NativeRtpStats;

/** RFC 4733 event codes 0-15 as DTMF characters. */
export const DTMF_EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  /** RFC 4733 event code. */
  event: number;
  /** The DTMF character for codes 0-15, else undefined. */
  digit?: string;
}

export interface TelephoneEventEnd extends TelephoneEvent {
  /** How long the event lasted (the duration field of its end packet). */
  durationMs: number;
  /** Volume field: power level in -dBm0 (0..63). */
  volume: number;
  /** True when no end packet arrived: the next event started first; durationMs is the last one seen. */
  endLost: boolean;
}

export interface RtpEndpointEvents {
  /** The DTLS-SRTP handshake moved on (connected: keys in use; failed: no media, ever, on this association). */
  dtlsState: (e: DtlsStateEvent) => void;
  /** ICE-lite: a pair was selected, or consent on it expired / came back. */
  iceState: (e: IceStateEvent) => void;
  /** ZRTP: started, SAS ready (compare it), secure. */
  zrtpState: (e: ZrtpStateEvent) => void;
  /** An RFC 4733 event started (reported once, however many packets carry it). */
  telephoneEvent: (e: TelephoneEvent) => void;
  /** It ended: reported once, retransmitted end packets are not counted again. */
  telephoneEventEnd: (e: TelephoneEventEnd) => void;
  error: (err: unknown) => void;
}
export type RtpInfo = NativeRtpInfo;

/** The jitter buffer an endpoint gets for the given option (false: none). */
export function effectiveJitterBuffer(
  jb: Partial<JitterBufferOptions> | false | undefined,
): JitterBufferOptions | false {
  return jb === false ? false : { ...DEFAULT_JITTER_BUFFER, ...jb };
}

export const DEFAULT_JITTER_BUFFER: JitterBufferOptions = {
  enabled: true,
  adaptive: true,
  nominalMs: 60,
  minMs: 20,
  maxMs: 300,
  maxPackets: 100,
};
