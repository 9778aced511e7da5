import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { ptimeOptions } from '../codecs/table';
import { InvalidStateError, RmsError } from '../errors';
import { Gateway, type LegMedia } from '../gateway/Gateway';
import type { Factory } from '../graph/Factory';
import type { OpusSettings } from '../graph/filters';
import type { Ticker } from '../graph/Ticker';
import type { RtpEndpoint, RtpStats } from '../rtp/RtpEndpoint';
import { gatewayQualitySources } from '../gateway/qualitySources';
import { QualityMonitor, type QualityOptions, type QualitySample } from '../quality/QualityMonitor';
import type { LegDialog } from '../quality/source';
import type { VqAlertReport, VqIntervalReport, VqSessionReport } from '../quality/vqreport';
import { answerDirection, buildSdp, wantsToReceive, type SdpFormatSpec } from '../sdp/build';
import type { Direction, SdpFormat, SdpMedia } from '../sdp/model';
import { parseSdp, SdpError } from '../sdp/parse';
import { SafeEmitter } from '../util/SafeEmitter';
import {
  callCost,
  chosenByAnswer,
  codecForA,
  type CodecPolicy,
  isTelephoneEvent,
  offerForB,
  sameFormat,
  toSpec,
  usableFormats,
} from './negotiation';
import type { PortPool } from './PortPool';
import type { TickerPool } from './TickerPool';

export type SessionState = 'offered' | 'answered' | 'stopped';
export type LegName = 'a' | 'b';

/** A second, different offer for a call that is still waiting for its answer. */
export class DuplicateOfferError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_DUPLICATE_OFFER') {
    super(message, code);
  }
}

export interface LegInfo {
  localPort: number;
  localRtcpPort: number;
  remote?: { address: string; port: number; rtcpPort: number };
  codec?: string;
  payloadType?: number;
  telephoneEvent?: number;
  /** Direction the peer asked for, from its own point of view. */
  direction?: Direction;
}

export interface SessionInfo {
  callId: string;
  fromTag?: string;
  toTag?: string;
  state: SessionState;
  createdAt: Date;
  /** Both legs use one codec and packets are relayed without decoding. */
  relay: boolean;
  legs: { a: LegInfo; b: LegInfo };
}

export interface SessionSummary extends SessionInfo {
  durationMs: number;
  stats?: { a: RtpStats; b: RtpStats };
  /**
   * RFC 6035 VQSessionReport: CallTerm per leg (what we measured on what the
   * leg sent us, and what its peer reported in RTCP XR), once media ran.
   */
  reports?: { a: VqSessionReport; b: VqSessionReport };
}

export interface SessionEvents {
  state: (state: SessionState) => void;
  /** A VQIntervalReport for a leg (MediaServerOptions.quality.intervalMs). */
  interval: (report: VqIntervalReport) => void;
  /** A VQAlertReport when a leg's MOS, loss, jitter or delay crosses a threshold, or clears. */
  alert: (report: VqAlertReport) => void;
  error: (err: unknown) => void;
}

/** @internal What MediaServer lends a session. */
export interface SessionContext {
  factory: Factory;
  ports: PortPool;
  tickers: TickerPool;
  bindAddress: string;
  advertisedAddress: string;
  /** The local address of that IP version (throws SdpError when the server has none). */
  bindAddressFor(ipVersion: 4 | 6): string;
  /** The address to write into SDP for a local address. */
  advertise(local: string): string;
  codecs: import('../codecs/table').CodecName[];
  transcode: boolean;
  prefer: 'offerer' | 'cost';
  /** Quality monitoring of answered calls; undefined: off. */
  quality?: QualityOptions;
  endpointOptions: {
    rtcp?: boolean;
    jitterBuffer?: Partial<import('../rtp/RtpEndpoint').JitterBufferOptions> | false;
    latch?: import('../rtp/RtpEndpoint').LatchMode;
  };
  /** Opus encoder settings for legs that send Opus. */
  opus?: OpusSettings;
  /** Packet loss concealment on transcoded directions (GatewayOptions.plc); default true. */
  plc?: boolean;
}

interface LegState {
  endpoint: RtpEndpoint;
  /** The peer's current SDP m-line. */
  media?: SdpMedia;
  /** What we put in our last SDP to this leg. */
  ourFormats: SdpFormatSpec[];
  format?: SdpFormat;
  telephoneEvent?: SdpFormat;
  version: number;
  /** Every m-line of the peer's last offer (an answer mirrors them all). */
  offeredMedia?: SdpMedia[];
}

const other = (l: LegName): LegName => (l === 'a' ? 'b' : 'a');

/**
 * One call through the media server: leg a faces the caller (who sent the
 * first offer), leg b the callee. Created by MediaServer.offer().
 */
export class MediaSession extends SafeEmitter<SessionEvents> {
  readonly callId: string;
  readonly fromTag?: string;
  toTag?: string;
  readonly createdAt = new Date();
  /** The SDP we sent to B (our offer), updated by re-offers. */
  offerSdp: string;
  /** The SDP we sent to A (our answer). */
  answerSdp?: string;
  #state: SessionState = 'offered';
  readonly #ctx: SessionContext;
  readonly #legs: Record<LegName, LegState>;
  readonly #sessionId = String(randomInt(1, 2 ** 47));
  readonly #rawOffer: string;
  #gateway?: Gateway;
  #ticker?: Ticker;
  #pendingReoffer?: LegName;
  /** The expected cost the call counts for on its ticker (TickerPool). */
  #placedCost = 0;
  #answeredAt?: Date;
  #monitor?: QualityMonitor;
  readonly #dialogs: Partial<Record<LegName, LegDialog>> = {};
  readonly #policy?: CodecPolicy;

  /** @internal */
  constructor(ctx: SessionContext, callId: string, sdp: string, fromTag?: string, policy?: CodecPolicy) {
    super();
    this.#ctx = ctx;
    this.callId = callId;
    this.fromTag = fromTag;
    this.#rawOffer = sdp;
    this.#policy = policy;
    const offer = parseSdp(sdp);
    if (!offer.audio) throw new SdpError('SDP: no usable audio m-line (RTP/AVP or RTP/AVPF with a non-zero port)');
    const formatsForB = offerForB(offer.audio, ctx.codecs, ctx.transcode, policy);
    const bindA = ctx.bindAddressFor(offer.audio.ipVersion);
    const bound: RtpEndpoint[] = [];
    try {
      const a = ctx.ports.bind({ address: bindA, ...ctx.endpointOptions });
      bound.push(a);
      const b = ctx.ports.bind({ address: ctx.bindAddress, ...ctx.endpointOptions });
      bound.push(b);
      this.#legs = {
        a: { endpoint: a, media: offer.audio, ourFormats: [], version: 0, offeredMedia: offer.media },
        b: { endpoint: b, ourFormats: formatsForB, version: 0 },
      };
      // RTCP (SR/RR/XR) of both legs is kept for the quality reports; the
      // queues must exist before the graphs run
      a.collectRtcp();
      b.collectRtcp();
      this.#setRemote('a', offer.audio);
      this.offerSdp = this.#sdpFor('b', { direction: offer.audio.direction, ptime: offer.audio.ptime });
    } catch (err) {
      for (const ep of bound) ctx.ports.release(ep);
      throw err;
    }
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The raw offer this session was created from (to recognise retransmissions). */
  get initialOffer(): string {
    return this.#rawOffer;
  }

  get relay(): boolean {
    return this.#gateway?.directions.every((d) => d.relay) ?? false;
  }

  /**
   * The quality monitor's samples so far, both legs interleaved, oldest
   * first (one per leg per sampling period): empty before the answer or with
   * quality monitoring off.
   */
  get qualitySamples(): readonly QualitySample[] {
    return this.#monitor?.timeline ?? [];
  }

  /**
   * The SIP dialog of a leg (Call-ID, tags, identities), for its RFC 6035
   * reports: leg a's dialog is the caller's with us, leg b's ours with the
   * callee. Without it the reports carry this session's Call-ID and tags.
   */
  setDialog(leg: LegName, dialog: LegDialog): void {
    this.#dialogs[leg] = { ...dialog };
  }

  /** The call's quality monitor once answered (samples, intervals, alerts, events; mark() adds events). */
  get quality(): QualityMonitor | undefined {
    return this.#monitor;
  }

  /** @internal The gateway, once answered. */
  get gateway(): Gateway | undefined {
    return this.#gateway;
  }

  /**
   * B's answer (200 OK): picks each leg's codec, builds the graphs and starts
   * media. Returns the SDP answer for A.
   */
  answer(sdp: string, opts: { toTag?: string } = {}): string {
    if (this.#state === 'stopped') throw new InvalidStateError(`Call ${this.callId} is stopped`);
    if (this.#pendingReoffer) return this.#reanswer(sdp);
    if (this.#state === 'answered') throw new InvalidStateError(`Call ${this.callId} is already answered`);
    const ans = parseSdp(sdp);
    if (!ans.audio) throw new SdpError('SDP answer: the callee rejected audio (no m=audio with a non-zero port)');
    const b = this.#legs.b;
    const a = this.#legs.a;
    if (isIP(b.endpoint.address) !== ans.audio.ipVersion)
      throw new SdpError(
        `SDP answer: the callee is at an IPv${ans.audio.ipVersion} address, but leg b is bound to ${b.endpoint.address}`,
      );
    b.media = ans.audio;
    b.format = chosenByAnswer(ans.audio, b.ourFormats);
    b.telephoneEvent = ans.audio.formats.find(isTelephoneEvent);
    const forA = codecForA(a.media!, b.format, this.#ctx.prefer, this.#policy);
    a.format = forA.format;
    a.telephoneEvent = a.media!.formats.find(isTelephoneEvent);
    this.#setRemote('b', ans.audio);
    this.#placedCost = this.#expectedCost();
    this.#ticker = this.#ctx.tickers.acquire(this.#placedCost);
    this.#gateway = new Gateway({
      factory: this.#ctx.factory,
      ticker: this.#ticker,
      start: false,
      plc: this.#ctx.plc,
      // no quality monitoring: no loss/level meters either (two filters fewer per direction)
      meters: this.#ctx.quality !== undefined,
      a: { endpoint: a.endpoint, ...this.#legMedia('a') },
      b: { endpoint: b.endpoint, ...this.#legMedia('b') },
    });
    this.#applyDirections();
    this.#reweigh();
    this.#gateway.start();
    this.#answeredAt = new Date();
    this.#startQuality();
    if (opts.toTag) this.toTag = opts.toTag;
    // what A gets: its own codec (and telephone-event if it offered it)
    a.ourFormats = [toSpec(a.format), ...(a.telephoneEvent ? [toSpec(a.telephoneEvent)] : [])];
    this.answerSdp = this.#sdpFor('a', {
      direction: answerDirection(a.media!.direction, ans.audio.direction),
      ptime: a.media!.ptime,
      answering: a.media,
    });
    this.#setState('answered');
    return this.answerSdp;
  }

  /**
   * A re-INVITE from one side (hold, resume, new address, new codec list):
   * applied to that leg at once, and returns the SDP to forward to the other
   * side, whose answer goes to answer().
   */
  reoffer(sdp: string, from: LegName): string {
    if (this.#state !== 'answered') throw new InvalidStateError(`Call ${this.callId} is ${this.#state}, not answered`);
    const offer = parseSdp(sdp);
    if (!offer.audio) throw new SdpError('SDP re-offer: no usable audio m-line');
    const leg = this.#legs[from];
    const usable = usableFormats(offer.audio);
    if (usable.length === 0) throw new SdpError('SDP re-offer: no codec we support');
    leg.media = offer.audio;
    leg.offeredMedia = offer.media;
    this.#setRemote(from, offer.audio);
    // keep the current codec when still offered, else the first usable one
    const keep = usable.find((f) => sameFormat(f, leg.format!));
    const next = keep ?? usable[0];
    if (!keep || next.pt !== leg.format!.pt) {
      leg.format = next;
      leg.telephoneEvent = offer.audio.formats.find(isTelephoneEvent);
      this.#gateway!.reconfigure({ [from]: this.#legMedia(from) });
      this.#reweigh();
    }
    this.#pendingReoffer = from;
    const to = other(from);
    const hold = !wantsToReceive(offer.audio.direction) || offer.audio.zeroAddressHold;
    this.#monitor?.mark(hold ? 'hold' : 're-INVITE', `re-INVITE from ${from}: ${offer.audio.direction}`, from);
    return this.#sdpFor(to, { direction: offer.audio.direction, ptime: this.#legs[to].media?.ptime });
  }

  #reanswer(sdp: string): string {
    const from = this.#pendingReoffer!;
    const to = other(from);
    const ans = parseSdp(sdp);
    if (!ans.audio) throw new SdpError('SDP answer to a re-offer: audio rejected');
    const leg = this.#legs[to];
    leg.media = ans.audio;
    this.#setRemote(to, ans.audio);
    const chosen = chosenByAnswer(ans.audio, leg.ourFormats);
    if (!sameFormat(chosen, leg.format!) || chosen.pt !== leg.format!.pt) {
      leg.format = chosen;
      this.#gateway!.reconfigure({ [to]: this.#legMedia(to) });
      this.#reweigh();
    }
    this.#pendingReoffer = undefined;
    this.#applyDirections();
    const offerer = this.#legs[from];
    offerer.ourFormats = [toSpec(offerer.format!), ...(offerer.telephoneEvent ? [toSpec(offerer.telephoneEvent)] : [])];
    const answerSdp = this.#sdpFor(from, {
      direction: answerDirection(offerer.media!.direction, ans.audio.direction),
      ptime: offerer.media!.ptime,
      answering: offerer.media,
    });
    if (from === 'a') this.answerSdp = answerSdp;
    return answerSdp;
  }

  info(): SessionInfo {
    const leg = (n: LegName): LegInfo => {
      const l = this.#legs[n];
      return {
        localPort: l.endpoint.port,
        localRtcpPort: l.endpoint.rtcpPort,
        remote: l.media ? { address: l.media.address, port: l.media.port, rtcpPort: l.media.rtcpPort } : undefined,
        codec: l.format?.name,
        payloadType: l.format?.pt,
        telephoneEvent: l.telephoneEvent?.pt,
        direction: l.media?.direction,
      };
    };
    return {
      callId: this.callId,
      fromTag: this.fromTag,
      toTag: this.toTag,
      state: this.#state,
      createdAt: this.createdAt,
      relay: this.relay,
      legs: { a: leg('a'), b: leg('b') },
    };
  }

  /** BYE: stops media and frees ports and graphs. Idempotent; returns the final figures. */
  stop(): SessionSummary {
    const info = this.info();
    let stats: SessionSummary['stats'];
    let reports: SessionSummary['reports'];
    if (this.#state !== 'stopped') {
      if (this.#gateway && !this.#gateway.closed) {
        const s = this.#gateway.stats();
        stats = { a: s.a, b: s.b };
        this.#monitor?.stop();
        try {
          if (this.#monitor) reports = { a: this.#monitor.report('a'), b: this.#monitor.report('b') };
        } catch (err) {
          this.safeEmit('error', err); // a report must never keep a call from ending
        }
        this.#gateway.close();
      }
      if (this.#ticker) this.#ctx.tickers.release(this.#ticker, this.#placedCost);
      this.#ctx.ports.release(this.#legs.a.endpoint);
      this.#ctx.ports.release(this.#legs.b.endpoint);
      this.#setState('stopped');
    }
    return { ...info, state: 'stopped', durationMs: Date.now() - this.createdAt.getTime(), stats, reports };
  }

  #startQuality(): void {
    if (this.#monitor) return;
    const gw = this.#gateway!;
    const q = this.#ctx.quality;
    // without quality monitoring: no sampling, but the CallTerm reports still
    const m = new QualityMonitor(
      gatewayQualitySources(gw, {
        dialog: (n) => this.#dialogs[n] ?? this.#defaultDialog(n),
        addresses: (n) => {
          const l = this.#legs[n];
          return {
            local: { ip: this.#ctx.advertise(l.endpoint.address), port: l.endpoint.port },
            remote: l.media ? { ip: l.media.address, port: l.media.port } : undefined,
          };
        },
        // the peer sends unless its SDP says sendonly-from-us or inactive
        receiving: (n) => {
          const d = this.#legs[n].media?.direction;
          return d === undefined || d === 'sendrecv' || d === 'sendonly';
        },
      }),
      q ?? { sampleMs: 0 },
      { closed: () => gw.closed, callId: this.callId, start: this.#answeredAt },
    );
    m.on('interval', (leg, _metrics, iv) => this.safeEmit('interval', m.legs[leg].intervalReport(iv)));
    m.on('alert', (a) => this.safeEmit('alert', m.legs[a.leg].alertReport(a)));
    m.on('error', (e) => this.safeEmit('error', e));
    gw.on('dtmf', (leg, digit, i) => m.mark('dtmf', `DTMF ${digit} (${i.source}) from ${leg}`, leg));
    this.#monitor = m;
  }

  /**
   * Without a dialog from the application: the one dialog a proxy in the
   * middle sees (the daemon's case), one Call-ID and its tags on both legs;
   * towards leg a we stand for the callee, towards leg b for the caller.
   */
  #defaultDialog(n: LegName): LegDialog {
    const host = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
    const l = this.#legs[n];
    return {
      callId: this.callId,
      localTag: n === 'a' ? this.toTag : this.fromTag,
      remoteTag: n === 'a' ? this.fromTag : this.toTag,
      local: { uri: `sip:${host(this.#ctx.advertise(l.endpoint.address))}` },
      remote: { uri: `sip:${host(l.media?.address ?? '0.0.0.0')}` },
      initiator: n === 'a' ? 'remote' : 'local',
    };
  }

  #legMedia(n: LegName): LegMedia {
    const l = this.#legs[n];
    const f = l.format!;
    const allowed = ptimeOptions(f.codec!, f.fmtp).allowed;
    const ptime = l.media?.ptime && allowed.includes(l.media.ptime) ? l.media.ptime : undefined;
    const opus = f.codec!.name === 'opus' ? this.#ctx.opus : undefined;
    return { codec: f.codec!.name, payloadType: f.pt, fmtp: f.fmtp, ptime, telephoneEvent: l.telephoneEvent?.pt, opus };
  }

  /** What the call weighs on its ticker: relayed or transcoded, and between which codecs. */
  #expectedCost(): number {
    const a = this.#legs.a;
    const b = this.#legs.b;
    const relay = this.#gateway
      ? this.relay
      : sameFormat(a.format!, b.format!) && (a.telephoneEvent === undefined) === (b.telephoneEvent === undefined);
    return callCost(a.format!.codec!, b.format!.codec!, relay);
  }

  #reweigh(): void {
    const cost = this.#expectedCost();
    if (this.#ticker && cost !== this.#placedCost) {
      this.#ctx.tickers.reweigh(this.#ticker, this.#placedCost, cost);
      this.#placedCost = cost;
    }
  }

  #setRemote(n: LegName, m: SdpMedia): void {
    if (m.zeroAddressHold) return; // keep the old address; nothing is sent there anyway
    this.#legs[n].endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
  }

  #applyDirections(): void {
    for (const n of ['a', 'b'] as const) {
      const m = this.#legs[n].media;
      if (m) this.#gateway!.setSending(n, wantsToReceive(m.direction));
    }
  }

  #sdpFor(n: LegName, o: { direction: Direction; ptime?: number; answering?: SdpMedia }): string {
    const l = this.#legs[n];
    l.version++;
    return buildSdp({
      sessionId: this.#sessionId + (n === 'a' ? '1' : '2'),
      version: l.version,
      address: this.#ctx.advertise(l.endpoint.address),
      audio: {
        address: this.#ctx.advertise(l.endpoint.address),
        port: l.endpoint.port,
        rtcpPort: l.endpoint.rtcpPort,
        formats: l.ourFormats,
        direction: o.direction,
        ptime: o.ptime,
      },
      offerMedia: o.answering ? l.offeredMedia : undefined,
      audioIndex: o.answering?.index,
    });
  }

  #setState(s: SessionState): void {
    this.#state = s;
    this.safeEmit('state', s);
  }
}
