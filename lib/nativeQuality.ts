/** The addon's receive-quality and XR-fill shapes (native/rtp_session_quality.cc), apart from lib/native.ts. */

/** How the receive side counts (native/core/rx_quality.h). */
export interface NativeRxQualityConfig {
  /** RTP clock of the audio payload type (jitter); 0: no jitter. */
  clockRate: number;
  /** Only this payload type enters the jitter (telephone-event does not); -1: any. */
  audioPt: number;
  /** RFC 3611 Gmin, default 16. */
  gmin?: number;
  /** Frame duration x frames per packet, ms: the unit of A.2's burst and gap durations. */
  packetMs?: number;
  /** Kernel arrival times for the jitter (one MSG_PEEK per packet); default true. */
  arrivalTimes?: boolean;
  /** Complete our outgoing XR blocks with these figures (default true). */
  fillXr?: boolean;
}

/** What arrived on a session, counted before any jitter buffer. */
export interface NativeRxQuality {
  received: number;
  expected: number;
  lost: number;
  duplicates: number;
  reordered: number;
  tooLate: number;
  /** RFC 3611 Appendix A.2 transition counters. */
  a2: { c11: number; c13: number; c14: number; c22: number; c23: number; c33: number };
  /** Transitions of the received (r) / lost (l) sequence. */
  transitions: { rr: number; rl: number; lr: number; ll: number };
  gmin: number;
  /** RFC 3550 interarrival jitter from kernel arrival times, ms. */
  jitterMs: number;
  jitterPackets: number;
  lastArrivalMs: number;
  ssrc?: number;
  /** Dropped by the jitter buffer (late or overflow). */
  discarded: number;
  jitterBuffer: { enabled: boolean; adaptive: boolean; nominalMs: number; maxMs: number; absMaxMs: number };
}

/** Figures of our XR VoIP metrics that the quality layer computes. */
export interface NativeXrFill {
  /** G.107 R (conversational), 0..120; absent: unavailable. */
  rFactor?: number;
  endSystemDelayMs?: number;
  /** RFC 3611 4.7.6 PLC code: 0 unspecified, 1 disabled, 2 enhanced, 3 standard. */
  plc?: number;
}
