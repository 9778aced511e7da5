/**
 * Shapes of the forwarding plane's API (ForwardPlane, Relay).
 */
import type { LatchMode } from '../rtp/RtpEndpoint';
import type { NativeRelayDirectionStats, NativeRelayRtcpSide, NativeRelayStats } from '../native';

/** aToB: what endpoint A received, sent on by endpoint B; bToA the other way. */
export type RelayDirection = 'aToB' | 'bToA';

export interface ForwardPlaneOptions {
  /** Worker threads, each with its own epoll set. Default: one per CPU this process may run on. */
  threads?: number;
}

export interface RelayOptions {
  /**
   * A's payload type -> B's, for codecs the two sides number differently
   * (B -> A uses the inverse). Without it, a payload type keeps its number
   * when B has the same encoding under it, else takes B's number for the
   * same encoding name and clock rate (telephone-event included).
   */
  ptMap?: Record<number, number>;
  /**
   * Who may send to each side's sockets while relayed, as RtpEndpointOptions.latch.
   * Default: each endpoint's own mode.
   */
  latch?: LatchMode | { a?: LatchMode; b?: LatchMode };
  /** After latching, a new source takes the stream over (rtpengine's media handover). Default false. */
  handover?: boolean;
}

export type RelayDirectionStats = NativeRelayDirectionStats;
export type RelayStats = NativeRelayStats;

/** What each side sent last: the latest RTCP compound holding an SR, RR, XR, parsed. */
export interface RelayRtcp {
  a: NativeRelayRtcpSide;
  b: NativeRelayRtcpSide;
}

/** An RFC 4733 event seen in a relayed stream (reported once, however many packets carry it). */
export interface RelayDtmfEvent {
  direction: RelayDirection;
  /** start: its first packet; end: its first end packet; endLost: a new event began before its end arrived. */
  phase: 'start' | 'end' | 'endLost';
  event: number;
  /** The DTMF character for events 0-15. */
  digit?: string;
  /** Power level, -dBm0 (0..63). */
  volume: number;
  /** The duration field so far (at start) or at the end, in ms. */
  durationMs: number;
  /** The RTP timestamp of the event. */
  timestamp: number;
}

export interface RelayEvents {
  dtmf: (e: RelayDtmfEvent) => void;
  error: (err: unknown) => void;
}
