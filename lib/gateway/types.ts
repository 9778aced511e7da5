/** The options, events and result shapes of a Gateway. */
import type { Factory } from '../graph/Factory';
import type { Ticker } from '../graph/Ticker';
import type { DirectionInfo } from '../media/direction';
import type { DigitInfo } from '../media/dtmfInterwork';
import type { PlaybackEndReason, PlaybackResult } from '../media/playback';
import type { GatewayLegOptions } from './GatewayLeg';

export type LegName = 'a' | 'b';
export type GatewayPlayEndReason = PlaybackEndReason;
export type GatewayPlayResult = PlaybackResult;
/** One direction's filter chain, for inspection (and tests). */
export type GatewayDirection = DirectionInfo & { from: LegName; to: LegName };

export interface GatewayOptions {
  a: GatewayLegOptions;
  b: GatewayLegOptions;
  /** Default: Factory.shared(). */
  factory?: Factory;
  /** Ticker to run on. Default: a ticker of the gateway's own, closed with it. */
  ticker?: Ticker;
  /** Start at once (default true). */
  start?: boolean;
  /**
   * 'auto' (default): when both legs use the same codec, packets are relayed
   * without decoding; 'never': always decode and encode.
   */
  relay?: 'auto' | 'never';
  /**
   * Relayed packets go through the legs' jitter buffers too (default false:
   * they are forwarded as they come, like rtpengine does; the peers buffer
   * them anyway). Transcoded legs always use their jitter buffer.
   */
  relayJitterBuffer?: boolean;
  /**
   * Packet loss concealment on decoded audio (default true): the decoder's
   * own where it has one (Opus, G.729), else ours (RmsPlc: the lost packets'
   * frames, from the sequence numbers; nothing for a late tick).
   */
  plc?: boolean;
  /**
   * Per-direction meters for quality reports (default true): loss, burst and
   * gap from the sequence numbers played out (RFC 3611), and the level of the
   * decoded audio. Without them lossMetrics() falls back to oRTP's loss
   * counter (no burst/gap) and the levels are unknown.
   */
  meters?: boolean;
  /**
   * Detect in-band DTMF in the audio decoded from each leg (default: for a
   * leg without telephone-event). A digit detected there is reported with
   * source 'inband' and sent on as RFC 4733 to the other leg if it has
   * telephone-event (it also reaches it in the audio).
   */
  inbandDtmf?: { a?: boolean; b?: boolean };
}

/** A digit the gateway saw. */
export type GatewayDigit = DigitInfo;

export interface GatewayEvents {
  /** A DTMF digit arrived on `leg`; it is passed on to the other leg unless blocked. */
  dtmf: (leg: LegName, digit: string, info: GatewayDigit) => void;
  close: () => void;
  error: (err: unknown) => void;
}
