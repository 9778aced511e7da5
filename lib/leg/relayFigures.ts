/**
 * A leg's figures while its bridge relays through the forwarding plane:
 * oRTP does not read the leg's sockets then, so its counters stand still;
 * what the relay counted is added to them, and kept when the relay ends (a
 * play or a recording moves the bridge to a graph and back).
 */
import type { LossCounters } from '../graph/filters';
import type { RelayDirectionStats } from '../forward/types';
import type { RtpStats } from '../rtp/RtpEndpoint';

/** What one leg accumulated over the relays it was in. */
export interface RelayTotals {
  packetsReceived: number;
  bytesReceived: number;
  packetsSent: number;
  bytesSent: number;
  lost: number;
  duplicatesReceived: number;
  rtcpReceived: number;
  rtcpBytesReceived: number;
  rtcpSent: number;
  /** RTCP the relay refused (malformed, or from a source its latch refuses). */
  rtcpInvalid: number;
  loss: LossCounters;
}

export function emptyTotals(): RelayTotals {
  return {
    packetsReceived: 0,
    bytesReceived: 0,
    packetsSent: 0,
    bytesSent: 0,
    lost: 0,
    duplicatesReceived: 0,
    rtcpReceived: 0,
    rtcpBytesReceived: 0,
    rtcpSent: 0,
    rtcpInvalid: 0,
    loss: { packets: 0, lost: 0, burstPackets: 0, burstLost: 0, bursts: 0, gmin: 16 },
  };
}

/** A relay's figures for one leg: `from` is the direction out of the leg, `to` the one into it. */
export function relayTotals(from: RelayDirectionStats, to: RelayDirectionStats): RelayTotals {
  return {
    packetsReceived: from.packets,
    bytesReceived: from.bytes,
    packetsSent: to.forwarded,
    // forwarded bytes are counted at the source
    bytesSent: to.packets ? Math.round((to.bytes * to.forwarded) / to.packets) : 0,
    lost: from.lost,
    duplicatesReceived: from.duplicates,
    rtcpReceived: from.rtcp.packets,
    rtcpBytesReceived: from.rtcp.bytes,
    rtcpSent: to.rtcp.forwarded,
    rtcpInvalid: from.rtcp.refused,
    loss: { ...from.burst },
  };
}

export function addTotals(x: RelayTotals, y: RelayTotals): RelayTotals {
  return {
    packetsReceived: x.packetsReceived + y.packetsReceived,
    bytesReceived: x.bytesReceived + y.bytesReceived,
    packetsSent: x.packetsSent + y.packetsSent,
    bytesSent: x.bytesSent + y.bytesSent,
    lost: x.lost + y.lost,
    duplicatesReceived: x.duplicatesReceived + y.duplicatesReceived,
    rtcpReceived: x.rtcpReceived + y.rtcpReceived,
    rtcpBytesReceived: x.rtcpBytesReceived + y.rtcpBytesReceived,
    rtcpSent: x.rtcpSent + y.rtcpSent,
    rtcpInvalid: x.rtcpInvalid + y.rtcpInvalid,
    loss: {
      packets: x.loss.packets + y.loss.packets,
      lost: x.loss.lost + y.loss.lost,
      burstPackets: x.loss.burstPackets + y.loss.burstPackets,
      burstLost: x.loss.burstLost + y.loss.burstLost,
      bursts: x.loss.bursts + y.loss.bursts,
      gmin: x.loss.gmin,
    },
  };
}

/** oRTP's figures of the graph periods plus the relays'; jitter from the live relay when there is one. */
export function withRelay(base: RtpStats, t: RelayTotals, live?: RelayDirectionStats): RtpStats {
  return {
    ...base,
    packetsReceived: base.packetsReceived + t.packetsReceived,
    bytesReceived: base.bytesReceived + t.bytesReceived,
    bytesDelivered: base.bytesDelivered + t.bytesReceived,
    packetsSent: base.packetsSent + t.packetsSent,
    bytesSent: base.bytesSent + t.bytesSent,
    lost: base.lost + t.lost,
    duplicatesReceived: base.duplicatesReceived + t.duplicatesReceived,
    rtcpReceived: base.rtcpReceived + t.rtcpReceived,
    rtcpBytesReceived: base.rtcpBytesReceived + t.rtcpBytesReceived,
    rtcpSent: base.rtcpSent + t.rtcpSent,
    rtcpInvalid: base.rtcpInvalid + t.rtcpInvalid,
    jitterMs: live ? live.jitterMs : base.jitterMs,
    maxJitterMs: live ? Math.max(base.maxJitterMs, live.jitterMs) : base.maxJitterMs,
    // relayed packets wait in no buffer of ours
    jitterBufferMs: live ? 0 : base.jitterBufferMs,
  };
}
