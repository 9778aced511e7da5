import { SafeEmitter } from '../util/SafeEmitter';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { DTMF_EVENTS, type RtpEndpoint } from '../rtp/RtpEndpoint';
import type { NativeRelay } from '../native';
import type { RelayDirection, RelayEvents, RelayRtcp, RelayStats } from './types';

function checkDirection(dir: unknown): asserts dir is RelayDirection {
  if (dir !== 'aToB' && dir !== 'bToA')
    throw new InvalidArgumentError(`Expected direction 'aToB' or 'bToA' but received ${String(dir)}`);
}

/**
 * Two endpoints' RTP and RTCP relayed by the forwarding plane: packets go out
 * of one endpoint exactly as they came in on the other (same SSRC, sequence
 * numbers, timestamps, payload; the payload type renumbered only where the
 * sides differ). While relayed no graph may run on the endpoints; close()
 * hands the sockets back untouched, ready for a graph. Made by
 * ForwardPlane.relay().
 */
export class Relay extends SafeEmitter<RelayEvents> {
  #native: NativeRelay | null;
  #listening = false;
  readonly #onClose: (r: Relay) => void;
  readonly a: RtpEndpoint;
  readonly b: RtpEndpoint;

  /** @internal */
  constructor(native: NativeRelay, a: RtpEndpoint, b: RtpEndpoint, onClose: (r: Relay) => void) {
    super();
    this.#native = native;
    this.a = a;
    this.b = b;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#native === null || this.#native.isClosed();
  }

  get #open(): NativeRelay {
    if (!this.#native || this.#native.isClosed()) throw new InvalidStateError('The relay is closed');
    return this.#native;
  }

  /** Per direction: RFC 3550 statistics, burst/gap counters, drops, RTCP counts. */
  stats(): RelayStats {
    return this.#open.stats();
  }

  /** The latest SR, RR and XR each side sent (they are forwarded too). */
  rtcp(): RelayRtcp {
    return this.#open.rtcp();
  }

  /** Drops the direction's RTP (its RTCP still flows); counted in stats().dropped.blocked. */
  setBlocked(dir: RelayDirection, on: boolean): void {
    checkDirection(dir);
    this.#open.setBlocked(dir, on);
  }

  /**
   * Replaces the direction's audio payload with silence (G.711 only:
   * UnsupportedError when the sending endpoint has another audio codec).
   * RFC 4733 events pass unchanged.
   */
  setSilenced(dir: RelayDirection, on: boolean): void {
    checkDirection(dir);
    this.#open.setSilenced(dir, on);
  }

  protected override listenerAdded(event: string): void {
    if (event !== 'dtmf' || this.#listening) return;
    this.#open.onEvents((e) => {
      const rate = e.clockRate || 8000;
      this.safeEmit('dtmf', {
        direction: e.direction,
        phase: e.phase,
        event: e.event,
        digit: DTMF_EVENTS[e.event],
        volume: e.volume,
        durationMs: Math.round((e.duration * 1000) / rate),
        timestamp: e.timestamp,
      });
    });
    this.#listening = true;
  }

  /** Stops relaying, synchronously: afterwards the endpoints are free for a graph. Idempotent. */
  close(): void {
    if (!this.#native) return;
    const n = this.#native;
    this.#native = null;
    n.close();
    this.#onClose(this);
  }
}
