/**
 * One call through the media server, by Call-ID: its legs, and at most one
 * bridge between two of them.
 * - A bridged call (MediaServer.offer): leg `a` faces the side that sent the
 *   first offer; our offer goes to the other side, and every answer to it is
 *   a callee leg (`b`, then `b2`, `b3` ... for further to-tags): an answer
 *   marked provisional (183 with SDP) starts early media, the final one picks
 *   the winner and frees the other branches. Media follows the latest answer,
 *   on the same port pair towards the caller.
 * - An IVR call (MediaServer.ivr): leg `a` only, answered by us.
 * - An outbound call (MediaServer.outbound): leg `a` is ours to offer, the
 *   peer's answer completes it; offerLeg() adds further outbound legs (a
 *   B2BUA that received an INVITE without SDP), bridged to `a` once
 *   answered.
 */
import type { CodecName } from '../codecs/table';
import { InvalidArgumentError, InvalidStateError, SdpError } from '../errors';
import type { Bridge } from '../leg/Bridge';
import type { MediaLeg } from '../leg/MediaLeg';
import type { QualityMonitor, QualitySample } from '../quality/QualityMonitor';
import type { VqAlertReport } from '../quality/vqreport';
import { parseSdp } from '../sdp/parse';
import { SafeEmitter } from '../util/SafeEmitter';
import type { SessionContext } from './context';
import {
  legsInfo,
  type AnswerOptions,
  type LegDialog,
  type SessionEvents,
  type SessionInfo,
  type SessionKind,
  type SessionState,
  type SessionSummary,
} from './info';
import type { LegSdp } from './legSdp';
import { LegSet, type Entry } from './legSet';
import { chosenByAnswer, codecForA, isTelephoneEvent, sameFormat, type CodecPolicy } from './negotiation';
import { Placement } from './placement';
import { SessionQuality } from './quality';
import { answerTo, applyOutboundAnswer, applyReanswer, applyReoffer, chooseOwnCodec } from './answers';
import { SessionLog, type SessionOptions, type SessionSnapshot } from './snapshot';

const CALLEE = 'b';
export class MediaSession extends SafeEmitter<SessionEvents> {
  readonly callId: string;
  readonly kind: SessionKind;
  readonly fromTag?: string;
  readonly createdAt: Date;
  /** The SDP we sent to the callee (our offer), updated by re-offers. */
  offerSdp: string;
  /** The SDP we sent to the caller (our answer). */
  answerSdp?: string;
  #state: SessionState = 'offered';
  readonly #ctx: SessionContext;
  readonly #policy?: CodecPolicy;
  readonly #legs: LegSet;
  /** The callee leg media follows (the latest answer); the winner once answered. */
  #active?: Entry;
  #pendingReoffer?: { from: Entry; to: Entry };
  readonly #placement: Placement;
  #answeredAt?: Date;
  #lastAnswerRaw?: string;
  readonly #quality: SessionQuality;
  #summary?: SessionSummary;
  readonly #log: SessionLog;

  /** @internal Use MediaServer.offer(), ivr() or outbound(). */
  constructor(ctx: SessionContext, callId: string, kind: SessionKind, sdp: string, opts: SessionOptions = {}) {
    super();
    this.#ctx = ctx;
    this.createdAt = opts.createdAt ?? new Date();
    const { replay: _r, createdAt: _c, mediaRoots, ...create } = opts;
    this.#log = new SessionLog({ sdp, ...create, mediaRoots: mediaRoots?.roots.slice() }, this.createdAt.getTime());
    this.callId = callId;
    this.kind = kind;
    this.fromTag = opts.fromTag;
    this.#policy = opts.policy;
    this.#placement = new Placement(ctx.tickers);
    this.#quality = new SessionQuality(ctx, this, (e, r) => this.safeEmit(e as 'alert', r as VqAlertReport));
    this.#legs = new LegSet(
      ctx,
      this.#placement.ticker,
      {
        onDtmf: (leg, d) => this.safeEmit('dtmf', leg, d),
        onError: (err) => this.safeEmit('error', err),
        onCallerGone: () => this.stop(),
      },
      opts.replay,
    );
    try {
      this.offerSdp = this.#legs.open(kind, sdp, opts);
    } catch (err) {
      this.#legs.free();
      this.#placement.release();
      throw err;
    }
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The raw offer this session was created from (to recognise retransmissions). */
  get initialOffer(): string {
    return this.#log.create.sdp;
  }

  /** Leg `a`: the caller (bridged and IVR calls) or our outbound leg. */
  get a(): MediaLeg {
    return this.#legs.a.leg;
  }

  /** The callee leg media follows: the latest answer, the winner once answered. */
  get b(): MediaLeg | undefined {
    return this.#active?.leg ?? (this.kind === 'outbound' ? this.#legs.get(CALLEE)?.leg : undefined);
  }

  /** Every leg, `a` first. */
  get legs(): MediaLeg[] {
    return this.#legs.values().map((e) => e.leg);
  }

  leg(name: string): MediaLeg | undefined {
    return this.#legs.get(name)?.leg;
  }

  /** The leg that answered with this to-tag (or offered with this from-tag). */
  legByTag(tag: string): MediaLeg | undefined {
    return this.#legs.byTag(tag)?.leg;
  }

  /** The tag a leg was given (from-tag of the offerer, to-tag of an answerer). */
  tagOf(leg: MediaLeg): string | undefined {
    return this.#legs.of(leg)?.tag;
  }

  /** To-tag of the callee leg media follows. */
  get toTag(): string | undefined {
    return this.#active?.tag;
  }

  get bridge(): Bridge | undefined {
    return this.a.bridge;
  }

  /** Both legs of the bridge use one codec and packets are relayed without decoding. */
  get relay(): boolean {
    return this.a.bridge?.relayed ?? false;
  }

  /** The quality monitor once media ran (intervals, alerts, events: mark() adds one); qualitySamples its samples. */
  get quality(): QualityMonitor | undefined {
    return this.#quality.monitor;
  }
  get qualitySamples(): readonly QualitySample[] {
    return this.#quality.samples;
  }
  /** A re-offer waits for its answer. */
  get reofferPending(): boolean {
    return this.#pendingReoffer !== undefined;
  }

  // ------------------------------------------------------------- offers

  /**
   * Another offer to the callee side, on a port pair of its own (a forking
   * proxy that offers per branch, ng `via-branch`): same formats as the
   * first. The same branch again returns the same SDP.
   */
  offerBranch(branch: string): string {
    this.#checkKind('bridged', 'offerBranch()');
    if (this.#state !== 'offered' && this.#state !== 'early')
      throw new InvalidStateError(`Call ${this.callId} is ${this.#state}: no new branch`);
    return this.#log.run(
      { op: 'offerBranch', branch },
      () =>
        (this.#legs.slots.get(branch) ?? this.#legs.offerSlot(branch, this.#legs.a.sdp.media!, this.#policy)).offerSdp,
    );
  }

  /**
   * An outbound leg of ours (a B2BUA calling the other side after an INVITE
   * without SDP): returns our offer for it; its answer goes to
   * answer(sdp, { leg: name }), which bridges it with `a`.
   */
  offerLeg(name = CALLEE, opts: { dialog?: LegDialog } = {}): string {
    this.#checkKind('outbound', 'offerLeg()');
    if (this.#legs.has(name)) throw new InvalidStateError(`Call ${this.callId} already has a leg ${name}`);
    return this.#log.run({ op: 'offerLeg', name, dialog: opts.dialog }, () => this.#offerLeg(name, opts.dialog));
  }

  #offerLeg(name: string, dialog: LegDialog | undefined): string {
    const e = this.#legs.add(name, { dialog });
    const a = this.#legs.a;
    // a's codec first, so that a callee that takes it is relayed undecoded
    const sdp = this.#legs.ourOffer(e, this.#policy, a.sdp.format ? [a.sdp.format] : []);
    this.safeEmit('leg', e.leg);
    return sdp;
  }

  // ------------------------------------------------------------ answers

  /**
   * An answer to our offer. For a bridged call: the callee's 18x (with
   * `provisional`) or 200; media flows from the first one on; returns the
   * SDP for the caller. For an outbound leg: its peer's answer (returns '').
   * With a re-offer pending: the other side's answer to it.
   */
  answer(sdp: string, opts: AnswerOptions = {}): string {
    return this.#log.run({ op: 'answer', sdp, opts }, () => this.#answer(sdp, opts));
  }

  #answer(sdp: string, opts: AnswerOptions): string {
    if (this.#state === 'stopped') throw new InvalidStateError(`Call ${this.callId} is stopped`);
    if (this.#pendingReoffer) return this.#reanswer(sdp);
    if (this.kind === 'ivr') throw new InvalidStateError(`Call ${this.callId} is answered by us: no answer expected`);
    if (this.kind === 'outbound') return this.#answerOutbound(sdp, opts);
    // the same answer seen again (a retransmitted 18x/200 through the proxy): the same SDP back
    if (sdp === this.#lastAnswerRaw && (opts.toTag ?? this.toTag) === this.toTag && this.answerSdp) {
      if (!opts.provisional && this.#state !== 'answered') this.#settle(this.#active!, opts.keepBranches);
      return this.answerSdp;
    }
    const ans = parseSdp(sdp);
    if (!ans.audio) throw new SdpError('SDP answer: the callee rejected audio (no m=audio with a non-zero port)');
    const slot = this.#legs.slotFor(opts.branch, opts.toTag, this.#active?.slot);
    if (ans.audio.ipVersion !== (slot.endpoint.address.includes(':') ? 6 : 4))
      throw new SdpError(
        `SDP answer: the callee is at an IPv${ans.audio.ipVersion} address, but our offer was on ${slot.endpoint.address}`,
      );
    const format = chosenByAnswer(ans.audio, slot.sdp.ourFormats);
    let e = this.#legs.callees().find((x) => x.slot === slot && x.tag === opts.toTag);
    if (!e) {
      const n = this.#legs.callees().length;
      e = this.#legs.add(n ? `${CALLEE}${n + 1}` : CALLEE, { slot, tag: opts.toTag, dialog: opts.dialog });
      e.sdp.ourFormats = slot.sdp.ourFormats;
      this.safeEmit('leg', e.leg);
    }
    if (opts.dialog) e.dialog = opts.dialog;
    this.#legs.answered(e, opts);
    e.sdp.media = ans.audio;
    e.sdp.format = format;
    e.sdp.telephoneEvent = ans.audio.formats.find(isTelephoneEvent);
    e.state = opts.provisional ? 'early' : 'answered';
    const a = this.#legs.a;
    if (e.state === 'answered' || a.state === 'offered') a.state = e.state;
    this.#follow(e);
    this.#lastAnswerRaw = sdp;
    if (!opts.provisional) this.#settle(e, opts.keepBranches);
    else if (this.#state !== 'answered') this.#setState('early');
    return this.answerSdp!;
  }

  /** Media follows `e` (bridged with a), the caller's answer is rebuilt for its codec. */
  #follow(e: Entry): void {
    const a = this.#legs.a;
    const prev = this.#active;
    const forA = codecForA(a.sdp.media!, e.sdp.format!, this.#ctx.prefer, this.#policy);
    const aChanged = !a.sdp.format || !sameFormat(a.sdp.format, forA.format) || a.sdp.format.pt !== forA.format.pt;
    a.sdp.format = forA.format;
    a.sdp.telephoneEvent = a.sdp.media!.formats.find(isTelephoneEvent);
    if (prev && prev !== e) prev.leg.standby();
    this.#active = e;
    this.#legs.setRemote(e, e.sdp.media!);
    e.leg.setMedia(e.sdp.legMedia(this.#ctx), { attach: false });
    if (aChanged || !a.leg.resolvedMedia) a.leg.setMedia(a.sdp.legMedia(this.#ctx), { attach: false });
    if (a.leg.bridge?.peerOf(a.leg) !== e.leg) this.#bridge(a.leg, e.leg);
    this.#mediaChanged();
    a.sdp.settle();
    this.answerSdp = answerTo(this.#ctx, a, e.sdp.media!.direction);
  }

  /**
   * The final answer: its branch wins; unless asked to keep them, the other
   * branches end (with their reports) and their ports are freed.
   */
  #settle(winner: Entry, keepBranches = false): void {
    if (!keepBranches) {
      for (const e of this.#legs.callees()) if (e !== winner) this.#endBranch(e);
      for (const s of [...this.#legs.slots.values()]) if (s !== winner.slot) this.#legs.releaseSlot(s);
    }
    this.#setState('answered');
  }

  #endBranch(e: Entry): void {
    const report = this.#quality.report(e, this.#answeredAt ?? this.createdAt);
    this.#legs.remove(e);
    this.safeEmit('legEnd', e.leg, report);
  }

  /**
   * Ends one callee branch (a fork that failed, ng delete with its to-tag),
   * with its report. Media follows the latest other branch if it was the one
   * followed. Returns false when it is the only callee leg left (end the
   * call instead).
   */
  endLeg(leg: MediaLeg): boolean {
    const e = this.#legs.of(leg);
    if (!e || !e.slot) return false;
    const others = this.#legs.callees().filter((x) => x !== e);
    if (!others.length) return false;
    this.#log.run({ op: 'endLeg', name: leg.name }, () => this.#endBranch(e));
    if (this.#active === e) {
      this.#active = undefined;
      this.#follow(others[others.length - 1]);
    }
    return true;
  }

  #answerOutbound(sdp: string, opts: AnswerOptions): string {
    const e = this.#legs.get(opts.leg ?? (this.#legs.a.state === 'offered' ? 'a' : CALLEE));
    if (!e || e.state === 'answered')
      throw new InvalidStateError(`Call ${this.callId} has no offer waiting for that answer`);
    applyOutboundAnswer(this.#legs, e, sdp, opts);
    const a = this.#legs.a;
    const bridged = e !== a && a.leg.resolvedMedia !== undefined;
    e.leg.setMedia(e.sdp.legMedia(this.#ctx), { attach: !bridged });
    if (bridged) {
      this.#active = e;
      this.#bridge(a.leg, e.leg);
    }
    this.#mediaChanged();
    if (this.#legs.values().every((x) => x.state === 'answered')) this.#setState('answered');
    else if (this.#state === 'offered') this.#setState('early');
    return '';
  }

  // --------------------------------------------------------- re-offers

  /**
   * A re-INVITE from one side (hold, resume, new address, new codec list),
   * applied to that leg at once. Returns the SDP to send next: for a bridged
   * leg the re-offer to forward to the other side (its answer goes to
   * answer()); for a leg on its own (IVR, outbound) our answer.
   */
  reoffer(sdp: string, from: string): string {
    return this.#log.run({ op: 'reoffer', sdp, from }, () => this.#reoffer(sdp, from));
  }

  #reoffer(sdp: string, from: string): string {
    if (this.#state !== 'answered' && this.#state !== 'early')
      throw new InvalidStateError(`Call ${this.callId} is ${this.#state}, not answered`);
    const e = from === CALLEE ? this.#active : this.#legs.get(from);
    if (!e || !e.sdp.format) throw new InvalidArgumentError(`Call ${this.callId} has no answered leg ${from}`);
    const offer = applyReoffer(this.#ctx, this.#legs, e, sdp);
    this.#quality.reoffered(e.leg, from, offer.direction);
    const peer = e.leg.peer ? this.#legs.of(e.leg.peer) : undefined;
    if (!peer) {
      // nobody to ask: we answer ourselves
      e.sdp.settle();
      this.#mediaChanged();
      const ours = answerTo(this.#ctx, e, 'sendrecv');
      if (e === this.#legs.a) this.answerSdp = ours;
      return ours;
    }
    this.#reweigh();
    this.#pendingReoffer = { from: e, to: peer };
    const out = peer.sdp.build(this.#ctx, peer.leg.endpoint, {
      direction: offer.direction,
      ptime: peer.sdp.media?.ptime,
    });
    if (peer === this.#active) this.offerSdp = out;
    return out;
  }

  #reanswer(sdp: string): string {
    const { from, to } = this.#pendingReoffer!;
    const direction = applyReanswer(this.#ctx, this.#legs, to, sdp);
    this.#pendingReoffer = undefined;
    this.#mediaChanged();
    from.sdp.settle();
    const out = answerTo(this.#ctx, from, direction);
    if (from === this.#legs.a) this.answerSdp = out;
    return out;
  }

  /** @internal For IVR calls: leg a answers the offer with our codec choice (MediaServer.ivr()). */
  answerAsIvr(codecs: CodecName[]): string {
    return this.#log.run({ op: 'ivr', codecs }, () => this.#answerAsIvr(codecs));
  }

  #answerAsIvr(codecs: CodecName[]): string {
    const a = this.#legs.a;
    chooseOwnCodec(a, codecs);
    a.leg.setMedia(a.sdp.legMedia(this.#ctx));
    this.#mediaChanged();
    a.sdp.settle();
    this.answerSdp = answerTo(this.#ctx, a, 'sendrecv');
    this.#setState('answered');
    return this.answerSdp;
  }

  // ------------------------------------------------------- information

  info(): SessionInfo {
    if (this.#summary) {
      const { durationMs: _d, stats: _s, reports: _r, ...info } = this.#summary;
      return info;
    }
    const a = this.#legs.a;
    const b = this.#active ?? this.#legs.values().find((e) => e !== a);
    return {
      callId: this.callId,
      kind: this.kind,
      fromTag: this.fromTag,
      toTag: this.toTag,
      state: this.#state,
      createdAt: this.createdAt,
      relay: this.relay,
      ...legsInfo(a, b, this.#legs.callees(), this.#legs.slots.values().next().value),
    };
  }

  /**
   * The call as data, for MediaServer.restore() in this process or another: how it was made,
   * what happened since, its ports, SDP versions and streams sent (not a play or recording running).
   */
  snapshot(): SessionSnapshot {
    if (this.#state === 'stopped') throw new InvalidStateError(`Call ${this.callId} is stopped`);
    return this.#log.snapshot(this.callId, this.kind, this.#legs.boundPairs(), this.#legs.sdpStates());
  }

  /** @internal MediaServer.restore(): the replay is done, our SDPs are back where the peers saw them. */
  replayed(): void {
    this.#legs.finishReplay();
  }

  /** @internal The leg's dialog and SDP, for the quality reports. */
  entryFacts(leg: MediaLeg): { dialog?: LegDialog; sdp: LegSdp; tag?: string } | undefined {
    const e = this.#legs.of(leg);
    return e && { dialog: e.dialog, sdp: e.sdp, tag: e.tag };
  }

  /** BYE (the seed's rms_media_stop): stops media, frees ports and graphs; the final figures. Idempotent. */
  stop(): SessionSummary {
    if (this.#summary) return this.#summary;
    const info = this.info();
    const a = this.#legs.a;
    const b = this.#active;
    const media = a.leg.resolvedMedia !== undefined;
    const reports = media ? this.#quality.finalReports(a, b, this.#answeredAt ?? this.createdAt) : undefined;
    this.#summary = {
      ...info,
      state: 'stopped',
      durationMs: Date.now() - this.createdAt.getTime(),
      stats: media && !a.leg.endpoint.closed ? { a: a.leg.stats(), b: b?.leg.stats() } : undefined,
      reports,
    };
    this.#quality.stop();
    this.#legs.free();
    this.#placement.release();
    this.#setState('stopped');
    return this.#summary;
  }

  /** Same as stop(): ends the call and returns its final summary. */
  close(): SessionSummary {
    return this.stop();
  }

  // ------------------------------------------------------------ helpers

  #checkKind(kind: SessionKind, what: string): void {
    if (this.kind !== kind)
      throw new InvalidStateError(`${what} is for ${kind} calls; call ${this.callId} is ${this.kind}`);
  }

  #bridge(x: MediaLeg, y: MediaLeg): void {
    x.bridgeWith(y, {
      plc: this.#ctx.plc,
      meters: this.#ctx.quality !== undefined,
      forwarder: this.#ctx.forwarder?.(),
    });
  }

  /** After any change of media: directions, ticker weight, quality sampling. */
  #mediaChanged(): void {
    this.#legs.applyDirections();
    this.#reweigh();
    this.#answeredAt ??= new Date();
    this.#quality.start();
  }

  /** What the call weighs on its ticker: relayed or transcoded, and between which codecs. */
  #reweigh(): void {
    const b = this.#active ?? this.#legs.get(CALLEE);
    this.#placement.weigh(
      this.#legs.a.sdp.format?.codec ?? null,
      b?.sdp.format?.codec ?? null,
      !!this.a.bridge,
      this.relay,
    );
  }

  #setState(s: SessionState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.safeEmit('state', s);
  }
}
