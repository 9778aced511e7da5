/** The options, events and result shapes of a leg and its media operations (play, record, collect, DTMF). */
import type { Factory } from '../graph/Factory';
import type { VoiceActivity } from '../graph/streamFilters';
import type { Ticker } from '../graph/Ticker';
import type { MediaRoots, WavInfo } from '../media/mediaRoots';
import type { LegMedia } from '../media/resolve';
import type { JitterBufferOptions, RtpAddress, RtpEndpoint } from '../rtp/RtpEndpoint';

export type DtmfSource = 'rfc4733' | 'inband';

export interface DtmfDigit {
  digit: string;
  /** How long the key was held, ms (for RFC 4733 the end packet's duration). */
  durationMs: number;
  source: DtmfSource;
}

export type PlayEndReason = 'eof' | 'stopped' | 'dtmf' | 'max-duration' | 'replaced' | 'moved' | 'closed';

export interface PlayOptions {
  /** Repeat the list until stopped (or maxDurationMs). */
  loop?: boolean;
  /** Stop playing at the first DTMF digit (it stays buffered for collect()). */
  bargeIn?: boolean;
  maxDurationMs?: number;
}

export interface PlayResult {
  reason: PlayEndReason;
  /** How long audio was played, ms. */
  durationMs: number;
  /** Files started (a looped file counts once per start). */
  filesPlayed: number;
  /** The digit that barged in. */
  digit?: string;
}

export type RecordEndReason = 'max-duration' | 'silence' | 'dtmf' | 'stopped' | 'moved' | 'closed' | 'failed';

export interface RecordOptions {
  /** Stop after this long (default 1 hour). */
  maxDurationMs?: number;
  /** Stop after this much continuous silence (default: never). */
  silenceTimeoutMs?: number;
  /** Level under which audio counts as silence, dBm0 (default -45). */
  silenceThresholdDbm0?: number;
  /** Digits that stop the recording (default none); the digit is not kept for collect(). */
  stopDigits?: string;
  /** Record both directions mixed (what the leg says and what it hears). Default false. */
  bothDirections?: boolean;
}

export interface RecordResult {
  reason: RecordEndReason;
  /** The real path written. */
  path: string;
  /** Audio in the file, ms. */
  durationMs: number;
  digit?: string;
}

export interface CollectOptions {
  /** Fewest digits accepted (default 1). */
  min?: number;
  /** Most digits: collection ends when reached (default 128). */
  max?: number;
  /** Time for the first digit, ms (default 5000). */
  timeoutMs?: number;
  /** Time between digits, ms (default: timeoutMs). */
  interDigitTimeoutMs?: number;
  /** Digits that end the collection (not included in the result), e.g. '#'. */
  terminators?: string;
  /** Played first, with barge-in; digits typed during it count. */
  prompt?: string | string[];
}

export type CollectEndReason = 'max' | 'terminator' | 'timeout' | 'inter-digit-timeout' | 'moved' | 'closed';

export interface CollectResult {
  digits: string;
  reason: CollectEndReason;
  terminator?: string;
  /** True when fewer than `min` digits came. */
  tooFew: boolean;
}

export interface SendDtmfOptions {
  /** 'auto' (default): RFC 4733 when the leg negotiated telephone-event, else in-band. */
  mode?: 'auto' | DtmfSource;
  /** Tone length, ms (default 100). */
  durationMs?: number;
  /** Pause between digits, ms (default 80). */
  gapMs?: number;
}

/** Where a leg's media runs: its own graph, a bridge with another leg, or a conference. */
export type LegMode = 'alone' | 'bridged' | 'conference';

export const DTMF_CHARS = /^[0-9*#A-D]+$/;

export interface MediaLegOptions extends Partial<LegMedia> {
  /** A bound endpoint (not closed with the leg), or `local` to bind one. */
  endpoint?: RtpEndpoint;
  local?: { address: string; port?: number; rtcpPort?: number };
  remote?: RtpAddress;
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  rtcp?: boolean;
  /** Ticker the leg's graphs run on (default: one of its own, closed with it). */
  ticker?: Ticker;
  factory?: Factory;
  /** Folders prompts and recordings must be in. Without roots, play and record refuse every path. */
  mediaRoots?: MediaRoots | string[];
  /**
   * In-band DTMF detection on the decoded audio: 'auto' (default) when the
   * leg did not negotiate telephone-event, or always / never.
   */
  inbandDtmf?: 'auto' | boolean;
  /** Digits kept for collect() when nobody is collecting (default 32). */
  digitBuffer?: number;
  /** Name in errors, logs and reports. */
  name?: string;
}

export interface MediaLegEvents {
  /** A digit the leg sent, reported once when it ends. */
  dtmf: (d: DtmfDigit) => void;
  playStart: (file: string, info: WavInfo) => void;
  playEnd: (r: PlayResult) => void;
  /** The leg moved: 'alone' | 'bridged' | 'conference'. */
  mode: (mode: LegMode) => void;
  /** Speech started or ended in what the leg sends (while detectVoice() or a WebSocket fork runs). */
  voice: (v: VoiceActivity) => void;
  close: () => void;
  error: (err: unknown) => void;
}
