/**
 * DTMF between two bridged legs: a digit one leg sends reaches the other as
 * an RFC 4733 event where it negotiated telephone-event (re-sent by its
 * MSRtpSend with its own payload type), else as an in-band tone mixed into
 * the audio we encode for it; in-band digits heard in a leg's decoded audio
 * go on as RFC 4733 to a leg that has telephone-event (one without it hears
 * the tone itself). The event crosses the main thread, which costs a few ms
 * on a 40 ms+ event.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors';
import type { DtmfGenerator, RtpSender } from '../graph/filters';

export interface DtmfSide {
  telephoneEvent?: number;
  clockRate: number;
  /** The sender towards this side, and the tone generator before its encoder (transcoded). */
  sender?: RtpSender;
  generator?: DtmfGenerator;
  /** Whether we send to this side at all (not on hold). */
  sending: boolean;
}

export interface DigitInfo {
  digit: string;
  source: 'rfc4733' | 'inband';
  /** Known for in-band digits (reported at their end); RFC 4733 ones are reported at their start. */
  durationMs?: number;
}

export class DtmfInterwork<L extends string> {
  readonly #side: (leg: L) => DtmfSide;
  readonly #other: (leg: L) => L;
  readonly #emit: (from: L, digit: string, info: DigitInfo) => void;
  /** DTMF from these legs is not passed on (ng "block DTMF"). */
  readonly #blocked = new Set<L>();

  constructor(side: (leg: L) => DtmfSide, other: (leg: L) => L, emit: (from: L, d: string, i: DigitInfo) => void) {
    this.#side = side;
    this.#other = other;
    this.#emit = emit;
  }

  block(leg: L, on: boolean): void {
    if (on) this.#blocked.add(leg);
    else this.#blocked.delete(leg);
  }

  /** An RFC 4733 event started on `from`. */
  telephoneEvent(from: L, digit: string): void {
    if (!this.#blocked.has(from)) this.#forward(this.#other(from), digit);
    this.#emit(from, digit, { digit, source: 'rfc4733' });
  }

  /** A digit heard in the audio decoded from `from`. */
  inbandDigit(from: L, digit: string, durationMs: number): void {
    const to = this.#other(from);
    if (this.#side(to).telephoneEvent !== undefined && !this.#blocked.has(from)) this.#forward(to, digit);
    this.#emit(from, digit, { digit, source: 'inband', durationMs });
  }

  #forward(to: L, digit: string): void {
    const s = this.#side(to);
    if (!s.sending) return;
    if (s.telephoneEvent !== undefined) {
      if (s.sender && !s.sender.closed) s.sender.sendDtmf(digit);
    } else if (s.generator && !s.generator.closed) s.generator.play(digit);
  }

  /**
   * One digit to `to`, as if the other leg had sent it: RFC 4733 where it
   * negotiated telephone-event, else an in-band tone (impossible on a relayed
   * leg: InvalidStateError). Returns which one was sent.
   */
  send(to: L, digit: string, durationMs = 100): 'rfc4733' | 'inband' {
    if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit))
      throw new InvalidArgumentError(`Expected one DTMF digit (0-9 * # A-D) but received ${JSON.stringify(digit)}`);
    if (!(durationMs >= 40 && durationMs <= 5000)) throw new InvalidArgumentError('durationMs must be 40..5000');
    const s = this.#side(to);
    if (s.telephoneEvent !== undefined) {
      if (!s.sender) throw new InvalidStateError('no sender towards that leg');
      // ms2 counts the event length in RTP timestamp units of the leg's clock
      s.sender.setDtmfDuration((durationMs * s.clockRate) / 1000);
      s.sender.sendDtmf(digit);
      return 'rfc4733';
    }
    const gen = s.generator;
    if (!gen)
      throw new InvalidStateError(
        `leg ${to} negotiated no telephone-event and its media is relayed undecoded: no in-band tone can be added`,
      );
    gen.call('MS_DTMF_GEN_START', digit);
    setTimeout(() => {
      if (!gen.closed) gen.call('MS_DTMF_GEN_STOP');
    }, durationMs).unref();
    return 'inband';
  }
}
