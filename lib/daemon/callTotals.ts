/**
 * What the daemon counts of the calls that ended, for the statistics
 * command (rtpengine's `totalstatistics` and `mos`) and /metrics: how each
 * ended, how long it lasted, the packets its legs received, and the MOS
 * samples its quality monitor kept.
 */
import type { QualitySample } from '../quality/QualityMonitor';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { SessionSummary } from '../session/info';

/** Why a call ended: a delete; no media (or signalling) for the media timeout; never answered; closed by us. */
export type EndReason = 'regular' | 'timeout' | 'offer timeout' | 'forced';

/** Packets, bytes and errors received (RTP and RTCP together, as rtpengine's relayed counters). */
export interface PacketCounts {
  packets: number;
  bytes: number;
  errors: number;
}

/** MOS samples: their count, sum and sum of squares (MOS units, 1..5). */
export interface MosCounts {
  samples: number;
  sum: number;
  sum2: number;
}

export const zeroPackets = (): PacketCounts => ({ packets: 0, bytes: 0, errors: 0 });
export const zeroMos = (): MosCounts => ({ samples: 0, sum: 0, sum2: 0 });

/** Adds what one leg received. */
export function addPackets(t: PacketCounts, s: RtpStats): void {
  t.packets += s.packetsReceived + s.rtcpReceived;
  t.bytes += s.bytesReceived + s.rtcpBytesReceived;
  t.errors += s.bad + s.discarded + s.rtcpInvalid;
}

/** Adds the MOS-CQ of each sample that has one. */
export function addMos(t: MosCounts, samples: readonly QualitySample[]): void {
  for (const s of samples)
    if (s.mosCq !== undefined && Number.isFinite(s.mosCq)) {
      t.samples++;
      t.sum += s.mosCq;
      t.sum2 += s.mosCq * s.mosCq;
    }
}

export class CallTotals {
  /** Calls accepted (new offers). */
  calls = 0;
  /** Calls ended, however. */
  finished = 0;
  /** Ended calls that were transcoded. */
  transcodedFinished = 0;
  /** New offers refused for an error. */
  rejected = 0;
  /** New offers refused for load. */
  limited = 0;
  /** Calls ended by a timeout: no media, or never answered (offerTimedOut of them). */
  timedOut = 0;
  offerTimedOut = 0;
  /** Calls ended by a delete. */
  regular = 0;
  /** Calls we ended ourselves (shutdown, the media server closing them). */
  forced = 0;
  /** Ended calls in which no leg sent any RTP; in which only one of the two did. */
  zeroWay = 0;
  oneWay = 0;
  /** Ended calls whose duration is known, the sum of their durations (s) and of its squares (s²). */
  timed = 0;
  durationSec = 0;
  duration2Sec = 0;
  /** What the legs of ended calls received. */
  readonly packets = zeroPackets();
  /** The MOS samples of ended calls. */
  readonly mos = zeroMos();

  /** Counts one ended call; `summary` and `samples` when it was stopped through us. */
  ended(
    reason: EndReason,
    transcoded: boolean,
    summary?: SessionSummary,
    samples: readonly QualitySample[] = [],
  ): void {
    this.finished++;
    if (transcoded) this.transcodedFinished++;
    if (reason === 'regular') this.regular++;
    else if (reason === 'forced') this.forced++;
    else {
      this.timedOut++;
      if (reason === 'offer timeout') this.offerTimedOut++;
    }
    if (!summary) return;
    const sec = summary.durationMs / 1000;
    this.timed++;
    this.durationSec += sec;
    this.duration2Sec += sec * sec;
    const st = summary.stats;
    if (st) {
      addPackets(this.packets, st.a);
      if (st.b) addPackets(this.packets, st.b);
    }
    const sending = [st?.a, st?.b].filter((s) => s && s.packetsReceived > 0).length;
    if (sending === 0) this.zeroWay++;
    else if (sending === 1 && st?.b) this.oneWay++;
    addMos(this.mos, samples);
  }
}
