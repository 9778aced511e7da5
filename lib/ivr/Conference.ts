/**
 * An audio conference: N call legs, each with its own codec, mixed by
 * mediastreamer2's MSAudioMixer in conference mode (every output pin carries
 * the sum of all inputs but its own, so nobody hears themself).
 *
 *   leg i:  rtprecv -> decoder -> [resampler] -> mixer pin p (in)
 *           mixer pin p (out) -> [resampler] -> encoder -> rtpsend
 *
 * One mixer has a fixed number of pins; beyond it, mixers are cascaded in a
 * chain: the last pin of mixer k is linked both ways to pin 0 of mixer k+1.
 * In conference mode what crosses a link is the sum of that side's legs, and
 * it never comes back (a pin's output excludes its own input), so every leg
 * hears every other leg exactly once.
 *
 * join() and leave() edit the graph detached (a tick of silence for all) and
 * re-attach; a leg that leaves goes back to IVR.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import { Ticker } from '../graph/Ticker';
import type { RtpReceiver, RtpSender } from '../graph/filters';
import { addDecoder, addEncoder } from '../media/chain';
import { lossFromStats, type LegLossMetrics } from '../media/meters';
import { pcmRateOf } from '../media/resolve';
import type { LegStreams } from '../streams/LegStreams';
import type { LegHost } from '../leg/host';
import type { MediaLeg } from '../leg/MediaLeg';
import { SafeEmitter } from '../util/SafeEmitter';

export interface ConferenceOptions {
  /** Mixing rate (default 16000: wideband legs keep their band). */
  rate?: 8000 | 16000 | 32000 | 48000;
  ticker?: Ticker;
  factory?: Factory;
  /** Pins used per mixer before cascading (default: the mixer's pin count). For tests of the cascade. */
  pinsPerMixer?: number;
  name?: string;
}

export interface ConferenceEvents {
  join: (leg: MediaLeg) => void;
  leave: (leg: MediaLeg) => void;
  close: () => void;
  error: (err: unknown) => void;
}

interface Member {
  leg: MediaLeg;
  recv: RtpReceiver;
  send: RtpSender;
  /** The mixer pin the leg is on (its input can be made inactive: mute). */
  pin?: { mixer: Filter<any>; pin: number };
  /** Last filter before the mixer input. */
  inTail: Filter<any>;
  /** First filter after the mixer output. */
  outHead: Filter<any>;
  filters: Filter<any>[];
}

export class Conference extends SafeEmitter<ConferenceEvents> {
  readonly name: string;
  readonly rate: number;
  readonly ticker: Ticker;
  readonly #factory: Factory;
  readonly #ownsTicker: boolean;
  readonly #pins: number;
  #graph = new Graph();
  #members: Member[] = [];
  #mixers: Filter<any>[] = [];
  #closed = false;

  constructor(opts: ConferenceOptions = {}) {
    super();
    this.name = opts.name ?? 'conference';
    this.rate = opts.rate ?? 16000;
    if (![8000, 16000, 32000, 48000].includes(this.rate))
      throw new InvalidArgumentError(`Conference rate ${this.rate}: use 8000, 16000, 32000 or 48000`);
    this.#factory = opts.factory ?? Factory.shared();
    const maxPins = this.#factory.filters().find((d) => d.name === 'MSAudioMixer')?.inputs ?? 20;
    this.#pins = opts.pinsPerMixer ?? maxPins;
    if (!Number.isInteger(this.#pins) || this.#pins < 3 || this.#pins > maxPins)
      throw new InvalidArgumentError(`pinsPerMixer must be an integer from 3 to ${maxPins}`);
    this.ticker = opts.ticker ?? new Ticker({ name: `rms-${this.name}` });
    this.#ownsTicker = !opts.ticker;
  }

  get size(): number {
    return this.#members.length;
  }

  get legs(): MediaLeg[] {
    return this.#members.map((m) => m.leg);
  }

  /** Mixers in the cascade (1 up to pinsPerMixer legs, then one more per pinsPerMixer - 2). */
  get mixerCount(): number {
    return this.#mixers.length;
  }

  /** Adds a leg (it leaves IVR, a bridge or another conference first). */
  join(leg: MediaLeg): void {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    if (leg.closed) throw new InvalidStateError(`${leg.name} is closed`);
    if (this.#members.some((m) => m.leg === leg)) return;
    if (leg.streaming)
      throw new InvalidStateError(
        `${leg.name}: stop its forks, injection and voice detection before it joins a conference`,
      );
    const m = this.#buildMember(leg);
    try {
      leg.enterConference(this);
    } catch (err) {
      for (const x of m.filters) this.#graph.remove(x);
      throw err;
    }
    this.#members.push(m);
    this.#relayout();
    this.safeEmit('join', leg);
  }

  /** Removes a leg; it goes back to IVR. */
  leave(leg: MediaLeg): void {
    const i = this.#members.findIndex((m) => m.leg === leg);
    if (i < 0) return;
    const [m] = this.#members.splice(i, 1);
    this.#graph.detach();
    for (const f of m.filters) this.#graph.remove(f);
    this.#relayout();
    leg.leftConference();
    this.safeEmit('leave', leg);
  }

  /** @internal The host of a member's operations (ConferenceSeat). */
  host(leg: MediaLeg): LegHost {
    return new ConferenceSide(this, leg, () => this.#members.find((m) => m.leg === leg));
  }

  /** @internal A member's input on or off in the mix (mute). */
  setInputActive(leg: MediaLeg, active: boolean): void {
    const m = this.#members.find((x) => x.leg === leg);
    if (!m?.pin) return;
    const b = Buffer.alloc(8); // MSAudioMixerCtl { int pin; union { float gain; int active; } }
    b.writeInt32LE(m.pin.pin, 0);
    b.writeInt32LE(active ? 1 : 0, 4);
    m.pin.mixer.call('MS_AUDIO_MIXER_SET_ACTIVE', b);
  }

  #buildMember(leg: MediaLeg): Member {
    const f = this.#factory;
    const g = this.#graph;
    const media = leg.resolvedMedia;
    if (!media) throw new InvalidStateError(`${leg.name} has no negotiated media yet`);
    const codec = media.codec;
    const filters: Filter<any>[] = [];
    const add = <T extends Filter<any>>(x: T): T => {
      filters.push(x);
      return x;
    };
    const legRate = codec.rates.includes(this.rate) ? this.rate : pcmRateOf(media);
    const recv = add(g.add(f.rtpReceiver()));
    recv.setEndpoint(leg.endpoint);
    let inTail: Filter<any> = recv.link(add(addDecoder(g, f, media, legRate)));
    if (legRate !== this.rate) {
      const rs = add(g.add(f.resampler()));
      rs.setRates(legRate, this.rate);
      inTail = inTail.link(rs);
    }
    const enc = add(addEncoder(g, f, media, legRate));
    const send = add(g.add(f.rtpSender()));
    send.setEndpoint(leg.endpoint);
    enc.link(send);
    let outHead: Filter<any> = enc;
    if (legRate !== this.rate) {
      const rs = add(g.add(f.resampler()));
      rs.setRates(this.rate, legRate);
      rs.link(enc);
      outHead = rs;
    }
    return { leg, recv, send, inTail, outHead, filters };
  }

  /** Rebuilds the mixer cascade for the current members (graph detached), then re-attaches. */
  #relayout(): void {
    const g = this.#graph;
    g.detach();
    for (const mx of this.#mixers) g.remove(mx);
    this.#mixers = [];
    const n = this.#members.length;
    if (n === 0) return;
    // how many legs each mixer takes: the first and last give one pin to a
    // link, the middle ones two
    const P = this.#pins;
    const slots: number[] = [];
    let left = n;
    while (left > 0) {
      const first = slots.length === 0;
      const capIfLast = first ? P : P - 1;
      if (left <= capIfLast) {
        slots.push(left);
        left = 0;
      } else {
        const cap = first ? P - 1 : P - 2;
        slots.push(cap);
        left -= cap;
      }
    }
    let k = 0;
    for (let mi = 0; mi < slots.length; mi++) {
      const mx = g.add(this.#factory.createFilter('MSAudioMixer'));
      mx.setSampleRate(this.rate);
      mx.call('MS_FILTER_SET_NCHANNELS', 1);
      mx.call('MS_AUDIO_MIXER_ENABLE_CONFERENCE_MODE', 1);
      this.#mixers.push(mx);
      // pin 0 of a mixer after the first is the link to the previous one
      let pin = mi === 0 ? 0 : 1;
      for (let j = 0; j < slots[mi]; j++, k++, pin++) {
        const m = this.#members[k];
        m.inTail.link(mx, { to: pin });
        mx.link(m.outHead, { from: pin });
        m.pin = { mixer: mx, pin };
      }
      if (mi > 0) {
        const prev = this.#mixers[mi - 1];
        const prevPin = P - 1;
        prev.link(mx, { from: prevPin, to: 0 });
        mx.link(prev, { from: 0, to: prevPin });
      }
    }
    g.attach(this.ticker, this.#members.map((m) => m.recv).slice(0, 1));
    for (const m of this.#members) if (m.leg.muted) this.setInputActive(m.leg, false);
  }

  /** Closes the conference; its legs go back to IVR. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const legs = this.#members.map((m) => m.leg);
    this.#graph.close();
    this.#members = [];
    this.#mixers = [];
    for (const l of legs) l.leftConference();
    if (this.#ownsTicker) this.ticker.close();
    this.safeEmit('close');
  }
}

/** A member's operations while in the conference: DTMF and mute; prompts and recordings need the leg alone or bridged. */
class ConferenceSide implements LegHost {
  readonly mode = 'conference' as const;
  readonly #conf: Conference;
  readonly #leg: MediaLeg;
  readonly #member: () => Member | undefined;
  #streams?: LegStreams;

  constructor(conf: Conference, leg: MediaLeg, member: () => Member | undefined) {
    this.#conf = conf;
    this.#leg = leg;
    this.#member = member;
  }

  #unsupported(what: string): never {
    throw new InvalidStateError(`${this.#leg.name}: ${what} is not available in a conference; take the leg out first`);
  }

  startFile(): void {
    this.#unsupported('playing a file');
  }
  stopFile(): undefined {
    return undefined;
  }
  startRecording(): void {
    this.#unsupported('recording');
  }
  stopRecording(): void {}
  recordingRate(): number {
    return 8000;
  }
  inputLevel(): undefined {
    return undefined;
  }
  sendDigit(digit: string, durationMs: number, rfc4733: boolean): void {
    const m = this.#member();
    if (!m || !rfc4733) this.#unsupported('an in-band tone');
    const media = this.#leg.resolvedMedia!;
    m.send.setDtmfDuration((durationMs * media.codec.clockRate) / 1000);
    m.send.sendDtmf(digit);
  }
  canSendInband(): boolean {
    return false;
  }
  setMuted(on: boolean): void {
    this.#conf.setInputActive(this.#leg, !on);
  }
  setSending(on: boolean): void {
    const s = this.#member()?.send;
    if (!s || s.closed) return;
    if (on) s.unmute();
    else s.mute();
  }
  lossMetrics(): LegLossMetrics {
    return lossFromStats(this.#leg.endpoint.stats(), this.#leg.resolvedMedia?.ptime ?? 20);
  }
  plc(): 'none' {
    return 'none';
  }
  speechLevel(): undefined {
    return undefined;
  }
  setStreams(s: LegStreams): void {
    if (s.active) this.#unsupported('an audio fork or injection');
    this.#streams = s;
    s.bind(this.#relink);
  }
  readonly #relink = () => {
    if (this.#streams?.active) this.#unsupported('an audio fork or injection');
  };
  release(): void {
    this.#streams?.unbind(this.#relink);
    this.#conf.leave(this.#leg);
  }
}
