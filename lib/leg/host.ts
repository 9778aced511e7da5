/**
 * What runs a leg's media - its own graph, a bridge, a conference - offers
 * the leg's operations. MediaLeg keeps the policy (play lists, barge-in,
 * silence and digit stops, digit buffers, timers); a host only knows how to
 * do one thing at a time in its graph.
 */
import type { LegLossMetrics, PlcKind } from '../media/meters';
import type { NativeRtcpPacket } from '../native';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { LegStreams } from '../streams/LegStreams';
import type { LegMode } from './types';

/** The format of a WAV to play. */
export interface WavFormat {
  rate: number;
  channels: number;
}

export interface LegHost {
  readonly mode: LegMode;
  /** Plays one WAV to the leg in place of what it would hear; `onEof` when it ends by itself. */
  startFile(path: string, info: WavFormat, onEof: () => void): void;
  /** Stops the file playing; returns how far it got, ms. */
  stopFile(): number | undefined;
  /** Records what the leg sends (`both`: mixed with what it hears) into a new WAV. */
  startRecording(path: string, both: boolean): void;
  stopRecording(): void;
  /** The PCM rate of what startRecording() writes. */
  recordingRate(both: boolean): number;
  /** Level of what the leg sends over the last 200 ms, dBm0; undefined when not measured. */
  inputLevel(): number | undefined;
  /** Sends one digit to the leg (RFC 4733 event or in-band tone), lasting `durationMs`. */
  sendDigit(digit: string, durationMs: number, rfc4733: boolean): void;
  /** Whether an in-band tone can be sent to the leg right now. */
  canSendInband(): boolean;
  /** What the leg sends is replaced by silence for whoever hears it. */
  setMuted(on: boolean): void;
  /** Whether we send to the leg (false while it holds us or is recvonly/inactive). */
  setSending(on: boolean): void;
  /** Loss/burst metrics of what the leg sent us, and how losses were concealed. */
  lossMetrics(): LegLossMetrics;
  plc(): PlcKind | 'relayed';
  /** RFC 3611 signal level of the leg's audio so far, dBm0. */
  speechLevel(): number | undefined;
  /** The leg's RTP figures, when the host counts them itself (a relay: oRTP does not read the sockets then). */
  stats?(): RtpStats;
  /** RTCP the leg's peer sent that the endpoint did not see (a relay reads it). */
  rtcp?(): NativeRtcpPacket[];
  /**
   * The leg's audio streams (forks, injection, voice detection): linked into
   * the host's graph now and whenever they change (the host binds itself to
   * them), taken off it (kept alive) on release. A host that cannot run them
   * throws InvalidStateError.
   */
  setStreams(streams: LegStreams): void;
  /** The leg leaves this host: anything it runs for the leg stops (graph edits detached). */
  release(): void;
}

/** What a Conference needs from a leg it takes in (a host of its own for the leg). */
export interface ConferenceSeat {
  leave(leg: SeatedLeg): void;
  host(leg: SeatedLeg): LegHost;
}

/** The leg a conference seat is for (a MediaLeg; the seat's owner knows it by identity). */
export type SeatedLeg = object;
