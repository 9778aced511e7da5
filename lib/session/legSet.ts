/**
 * The legs of a session and our offers towards the callee side, with the
 * ports they hold: leg `a` and outbound legs bind a port pair of their own;
 * callee legs (answers, fork branches) share the port pair of the offer they
 * answered (a slot: what the callee side was sent).
 */
import { InvalidArgumentError, InvalidStateError, SdpError } from '../errors';
import type { Ticker } from '../graph/Ticker';
import { MediaLeg } from '../leg/MediaLeg';
import type { DtmfDigit } from '../leg/types';
import type { MediaRoots } from '../media/mediaRoots';
import type { LatchMode, RtpEndpoint } from '../rtp/RtpEndpoint';
import { wantsToReceive } from '../sdp/build';
import { parseSdp } from '../sdp/parse';
import type { SdpFormat, SdpMedia } from '../sdp/model';
import type { SessionContext } from './context';
import type { LegDialog, SessionKind } from './info';
import { LegSdp } from './legSdp';
import { offerForB, offerPtime, ourOffer, type CodecPolicy } from './negotiation';
import { resumeStream, sentStream, type BoundPair, type Replay, type SdpState, type SessionOptions } from './snapshot';

/** One of our offers towards the callee side: a port pair and what we offered on it. */
export interface Slot {
  branch: string;
  endpoint: RtpEndpoint;
  sdp: LegSdp;
  offerSdp: string;
}

/** A leg and its SDP state. */
export interface Entry {
  leg: MediaLeg;
  sdp: LegSdp;
  /** The callee-side offer it answered (callee legs). */
  slot?: Slot;
  tag?: string;
  state: 'offered' | 'early' | 'answered';
  dialog?: LegDialog;
}

export interface LegSetHooks {
  onDtmf(leg: MediaLeg, d: DtmfDigit): void;
  onError(err: unknown): void;
  /** Leg `a` closed by someone: the call is over. */
  onCallerGone(): void;
}

export class LegSet {
  readonly #ctx: SessionContext;
  readonly #ticker: Ticker;
  readonly #hooks: LegSetHooks;
  readonly #entries = new Map<string, Entry>();
  /** ng `ptime` of the offer: imposed on every callee leg. */
  #ptimeToCallee?: number;
  readonly slots = new Map<string, Slot>();
  readonly #replay?: Replay;
  /** Every port pair bound and every SDP state made, in order (for snapshots). */
  readonly #bound: RtpEndpoint[] = [];
  readonly #sdps: LegSdp[] = [];
  /** A replay's SDPs and the state they get back once it is done. */
  readonly #restoring: [LegSdp, SdpState][] = [];

  constructor(ctx: SessionContext, ticker: Ticker, hooks: LegSetHooks, replay?: Replay) {
    this.#ctx = ctx;
    this.#ticker = ticker;
    this.#hooks = hooks;
    this.#replay = replay;
  }

  /** The SDP state of a new leg or slot (its o= session id kept when restored). */
  newSdp(): LegSdp {
    const was = this.#replay?.nextSdp();
    const sdp = new LegSdp(was?.id);
    if (was) this.#restoring.push([sdp, was]);
    this.#sdps.push(sdp);
    return sdp;
  }

  /** After a replay: our SDPs are back at the version and body the peers saw last. */
  finishReplay(): void {
    for (const [sdp, was] of this.#restoring.splice(0)) sdp.restore(was.version, was.last);
  }

  /** The port pairs bound, in order, with the stream each sends now (SessionSnapshot.binds). */
  boundPairs(): BoundPair[] {
    return this.#bound.map((ep) => {
      if (ep.closed) return { port: ep.port, address: ep.address, released: true };
      if (ep.secured) throw new InvalidStateError('A secured leg cannot be kept: its keys live in this process only');
      const m = this.values().find((e) => e.leg.endpoint === ep && e.leg.resolvedMedia)?.leg.resolvedMedia;
      return { port: ep.port, address: ep.address, stream: sentStream(ep, m?.codec.clockRate ?? 8000, m?.ptime ?? 20) };
    });
  }

  sdpStates(): SdpState[] {
    return this.#sdps.map((s) => ({ id: s.sessionId, version: s.version, last: s.last }));
  }

  get a(): Entry {
    return this.#entries.get('a')!;
  }

  get(name: string): Entry | undefined {
    return this.#entries.get(name);
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  values(): Entry[] {
    return [...this.#entries.values()];
  }

  /** Callee legs: the answers to our offers, in the order they came. */
  callees(): Entry[] {
    return this.values().filter((e) => e.slot);
  }

  of(leg: MediaLeg): Entry | undefined {
    for (const e of this.#entries.values()) if (e.leg === leg) return e;
    return undefined;
  }

  byTag(tag: string): Entry | undefined {
    for (const e of this.#entries.values()) if (e.tag === tag) return e;
    return undefined;
  }

  /** Binds a port pair whose RTCP (SR/RR/XR) is kept for the reports: the queue must exist before graphs run. */
  bind(address: string): RtpEndpoint {
    const was = this.#replay?.nextBind();
    const opts = { address: was?.address ?? address, ...this.#ctx.endpointOptions };
    const live = was && !was.released;
    const ep = live ? this.#ctx.ports.bindExact(was.port, opts) : this.#ctx.ports.bind(opts, this.#replay?.reserved);
    ep.collectRtcp();
    if (live && was.stream) resumeStream(ep, was.stream);
    this.#bound.push(ep);
    return ep;
  }

  /** A new leg: on the slot's port pair (a callee), or on a pair of its own bound at `bindAddress`. */
  add(
    name: string,
    o: { bindAddress?: string; slot?: Slot; tag?: string; dialog?: LegDialog; mediaRoots?: MediaRoots },
  ): Entry {
    const endpoint = o.slot ? o.slot.endpoint : this.bind(o.bindAddress ?? this.#ctx.bindAddress);
    let leg: MediaLeg;
    try {
      leg = new MediaLeg({
        name,
        endpoint,
        factory: this.#ctx.factory,
        ticker: this.#ticker,
        mediaRoots: o.mediaRoots ?? this.#ctx.mediaRoots,
      });
    } catch (err) {
      if (!o.slot) this.#ctx.ports.release(endpoint);
      throw err;
    }
    leg.on('dtmf', (d) => this.#hooks.onDtmf(leg, d));
    leg.on('error', (err) => this.#hooks.onError(err));
    // the caller (or our own leg) gone is the call gone
    if (name === 'a') leg.on('close', () => this.#hooks.onCallerGone());
    const e: Entry = { leg, sdp: this.newSdp(), slot: o.slot, tag: o.tag, state: 'offered', dialog: o.dialog };
    e.sdp.ptime = o.slot?.sdp.ptime;
    this.#entries.set(name, e);
    return e;
  }

  /**
   * The legs a session starts with: leg `a` (on the caller's offer, or ours
   * for an outbound call) and, for a bridged call, our offer to the callee
   * side. Returns our offer ('' for an IVR call: we answer it).
   */
  open(kind: SessionKind, sdp: string, o: SessionOptions): string {
    const ctx = this.#ctx;
    if (kind === 'outbound') {
      const e = this.add('a', { dialog: o.dialog });
      return this.ourOffer(e, o.policy);
    }
    const offer = parseSdp(sdp);
    if (!offer.audio) throw new SdpError('SDP: no usable audio m-line (RTP/AVP or RTP/AVPF with a non-zero port)');
    const a = this.add('a', {
      bindAddress: ctx.bindAddressFor(offer.audio.ipVersion),
      tag: o.fromTag,
      dialog: o.dialog,
      mediaRoots: o.mediaRoots,
    });
    if (o.latch) a.leg.endpoint.setLatch(o.latch);
    a.sdp.ptime = o.ptimeReverse;
    this.#ptimeToCallee = o.ptime;
    a.sdp.media = offer.audio;
    a.sdp.offeredMedia = offer.media;
    this.setRemote(a, offer.audio);
    return kind === 'ivr' ? '' : this.offerSlot(o.branch ?? '', offer.audio, o.policy).offerSdp;
  }

  /** Our own offer on leg `e` (an outbound leg): `first` (the other leg's format) leads. */
  ourOffer(e: Entry, policy: CodecPolicy | undefined, first: SdpFormat[] = []): string {
    const ctx = this.#ctx;
    e.sdp.ourFormats = ourOffer(ctx.codecs, policy, first, ctx.codec2Mode);
    return e.sdp.build(ctx, e.leg.endpoint, { direction: 'sendrecv', ptime: offerPtime(e.sdp.ourFormats) });
  }

  /** What an answer says of its leg `e` (latch) and of the caller's (ptime), before media runs. */
  answered(e: Entry, o: { latch?: LatchMode; ptime?: number }): void {
    if (o.latch) e.leg.endpoint.setLatch(o.latch); // a relay made later takes it over
    if (o.ptime !== undefined) this.a.sdp.ptime = o.ptime;
  }

  /** Our offer to the callee side on a new port pair, for the caller's offer `offer`. */
  offerSlot(branch: string, offer: SdpMedia, policy: CodecPolicy | undefined): Slot {
    const ctx = this.#ctx;
    const formats = offerForB(offer, ctx.codecs, ctx.transcode, policy, ctx.codec2Mode);
    const endpoint = this.bind(ctx.bindAddress);
    const sdp = this.newSdp();
    sdp.ptime = this.#ptimeToCallee;
    try {
      sdp.ourFormats = formats;
      const offerSdp = sdp.build(ctx, endpoint, {
        direction: offer.direction,
        ptime: offerPtime(formats, offer.ptime),
      });
      const slot: Slot = { branch, endpoint, sdp, offerSdp };
      this.slots.set(branch, slot);
      return slot;
    } catch (err) {
      ctx.ports.release(endpoint);
      throw err;
    }
  }

  /** The offer an answer is for: the branch named, else the one its to-tag answered before, else the followed one, else the first. */
  slotFor(branch: string | undefined, toTag: string | undefined, followed: Slot | undefined): Slot {
    if (branch !== undefined) {
      const s = this.slots.get(branch);
      if (!s) throw new InvalidArgumentError(`There is no offer for branch ${branch}`);
      return s;
    }
    const tagged = toTag !== undefined ? this.byTag(toTag) : undefined;
    return tagged?.slot ?? followed ?? this.slots.values().next().value!;
  }

  /** Closes a callee leg; its slot's ports go back to the pool when no other leg answered on it. */
  remove(e: Entry): void {
    this.#entries.delete(e.leg.name);
    e.leg.close();
    if (e.slot && !this.callees().some((x) => x.slot === e.slot)) this.releaseSlot(e.slot);
  }

  releaseSlot(s: Slot): void {
    if (this.slots.get(s.branch) !== s) return;
    this.slots.delete(s.branch);
    this.#ctx.ports.release(s.endpoint);
  }

  setRemote(e: Entry, m: SdpMedia): void {
    if (m.zeroAddressHold) return; // keep the old address; nothing is sent there anyway
    e.leg.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
  }

  /** Whether we send to each leg follows the direction in its peer's SDP (hold, recvonly, inactive). */
  applyDirections(): void {
    for (const e of this.#entries.values()) if (e.sdp.media) e.leg.setSending(wantsToReceive(e.sdp.media.direction));
  }

  /** Closes every leg and frees every port pair; the closed legs stay readable. */
  free(): void {
    for (const e of this.#entries.values()) {
      e.leg.close();
      if (!e.slot) this.#ctx.ports.release(e.leg.endpoint);
    }
    for (const s of [...this.slots.values()]) this.releaseSlot(s);
  }
}
