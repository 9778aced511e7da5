/** The addon's forwarding-plane shapes (native/forward/plane_wrap.cc), apart from lib/native.ts. */
import type { NativeRtcpPacket } from './nativeRtcp';

/** One direction of a relay (native/forward/): what came from one side and what went to the other. */
export interface NativeRelayDirectionStats {
  /** RTP packets accepted from the source (duplicates included) and their bytes, headers included. */
  packets: number;
  bytes: number;
  /** Sent on to the other side. */
  forwarded: number;
  /** Forwarded with their G.711 payload replaced by silence. */
  silencedPackets: number;
  /** The stream's SSRC (null before the first packet). */
  ssrc: number | null;
  ssrcChanges: number;
  /** RFC 3550: highest - first extended sequence number + 1, summed over SSRC changes. */
  expected: number;
  /** expected - unique packets received; duplicates and reordered packets are not loss. */
  lost: number;
  duplicates: number;
  reordered: number;
  /** Reordered beyond the reorder window (16 packets): the burst meter counted them lost. */
  late: number;
  highestSeq: number;
  /** RFC 3550 interarrival jitter in RTP clock units of the packets' payload type, and in ms. */
  jitter: number;
  jitterMs: number;
  clockRate: number;
  /** Date.now() time of the last packet, null if none. */
  lastArrivalMs: number | null;
  /** The source the RTP / RTCP socket latched to or follows ("ip:port"), null if none. */
  source: string | null;
  rtcpSource: string | null;
  sourceMoves: number;
  /**
   * The RTP socket is connect()ed to its locked source (strict, or once
   * latched, without handover, on an explicitly bound port): the kernel then
   * drops other sources before we see them, so dropped.refused no longer
   * counts them.
   */
  sourceConnected: boolean;
  /** The flags. */
  blocked: boolean;
  silenced: boolean;
  dropped: {
    blocked: number;
    /** From a source the latch refuses (in userspace; see sourceConnected). */
    refused: number;
    malformed: number;
    /** The other side has no remote yet. */
    noDestination: number;
    sendErrors: number;
    /** Silenced, but the payload type has no silence we can write. */
    silenceUnsupported: number;
  };
  /** RFC 3611 4.7.2 burst/gap counters (Gmin 16) over the packets that left the reorder window. */
  burst: { packets: number; lost: number; burstPackets: number; burstLost: number; bursts: number; gmin: number };
  rtcp: {
    packets: number;
    bytes: number;
    forwarded: number;
    refused: number;
    /** Compounds holding an SR, RR, XR; other packets (SDES, BYE, APP). */
    sr: number;
    rr: number;
    xr: number;
    other: number;
  };
}

export interface NativeRelayStats {
  aToB: NativeRelayDirectionStats;
  bToA: NativeRelayDirectionStats;
  /** RFC 4733 events queued for JS, and refused because the relay's bounded channel (32) was full. */
  events: { queued: number; dropped: number };
}

/** The latest RTCP compound a side sent that held an SR, an RR, an XR (null: none yet). */
export interface NativeRelayRtcpSide {
  sr: NativeRtcpPacket[] | null;
  rr: NativeRtcpPacket[] | null;
  xr: NativeRtcpPacket[] | null;
}

export interface NativeRelayEvent {
  direction: 'aToB' | 'bToA';
  phase: 'start' | 'end' | 'endLost';
  event: number;
  volume: number;
  /** In units of clockRate. */
  duration: number;
  clockRate: number;
  timestamp: number;
}

export interface NativeRelayOptions {
  /** Side A's payload type -> side B's. */
  ptMap?: [number, number][];
  latchA?: 'strict' | 'once' | 'always';
  latchB?: 'strict' | 'once' | 'always';
  handover?: boolean;
}

export interface NativeRelay {
  stats(): NativeRelayStats;
  rtcp(): { a: NativeRelayRtcpSide; b: NativeRelayRtcpSide };
  setBlocked(dir: 'aToB' | 'bToA', on: boolean): void;
  setSilenced(dir: 'aToB' | 'bToA', on: boolean): void;
  /** Each event as the bounded channel delivers it; droppedBefore: refused (channel full) since the previous one. */
  onEvents(cb: (event: NativeRelayEvent, droppedBefore: number) => void): void;
  isClosed(): boolean;
  close(): void;
}

export interface NativeForwardPlaneStats {
  relays: number;
  /** busy: share of a core the thread used over its last second. */
  threads: { relays: number; received: number; sent: number; wakeups: number; busy: number }[];
}

export interface NativeForwardPlane {
  stats(): NativeForwardPlaneStats;
  close(): void;
}
