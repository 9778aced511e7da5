/** What a bridge and its two sides know of each other (kept apart so that neither file imports the other). */
import type { Gateway } from '../gateway/Gateway';
import type { Relay } from '../forward/Relay';
import type { ResolvedMedia } from '../media/resolve';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { RelayTotals } from './relayFigures';
import type { LegStreams } from '../streams/LegStreams';

/** @internal */
export type Side = 'a' | 'b';

/** A leg in a bridge (a MediaLeg). */
export interface BridgedLeg {
  readonly name: string;
  readonly endpoint: RtpEndpoint;
  /** @internal */
  readonly resolvedMedia: ResolvedMedia | undefined;
  /** @internal */
  readonly inbandOn: boolean;
  /** @internal */
  inbandDigit(digit: string, durationMs: number): void;
  /** @internal An RFC 4733 digit the forwarding plane saw (the endpoint does not read its socket then). */
  relayedDigit(digit: string, durationMs: number): void;
  /** @internal */
  bridgeClosed(b: BridgeControl): void;
}

/** @internal What a bridge side (its leg's host) uses of its bridge. */
export interface BridgeControl {
  readonly a: BridgedLeg;
  readonly b: BridgedLeg;
  readonly closed: boolean;
  readonly relayed: boolean;
  readonly flags: {
    sending: Record<Side, boolean>;
    blocked: Record<Side, boolean>;
    silenced: Record<Side, boolean>;
    dtmfBlocked: Record<Side, boolean>;
  };
  readonly currentGateway: Gateway | undefined;
  readonly currentRelay: Relay | undefined;
  need(reason: string, on: boolean): void;
  setStreams(s: Side, streams: LegStreams): void;
  gateway(): Gateway;
  applyFlags(): void;
  relayTotals(s: Side): RelayTotals;
  speechLevel(s: Side): number | undefined;
  close(): void;
}
