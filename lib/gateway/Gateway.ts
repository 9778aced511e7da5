/**
 * The transcoding gateway of the original module: two legs with their own
 * codecs, bridged by `rtprecv → decoder → [resampler] → encoder → rtpsend`
 * in each direction, running on one ticker; or, when both legs share a codec,
 * `rtprecv → rtpsend` (a relay, no decoding). The chains are built by
 * media/direction.ts; recordings, playback and DTMF interworking hook into
 * them here. Every change of the graph happens with it detached.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { Factory } from '../graph/Factory';
import { Graph } from '../graph/Graph';
import type { Filter } from '../graph/Filter';
import { Ticker, type TickerStats } from '../graph/Ticker';
import type { DtmfGenerator, RtpSender } from '../graph/filters';
import { buildDirection, type BuiltDirection, type DirectionInfo } from '../media/direction';
import { DirectionMeters, lossFromStats, lossMetrics, type LegLossMetrics, type PlcKind } from '../media/meters';
import { Playback, type PlaybackEndReason, type PlaybackResult } from '../media/playback';
import { Recordings, type RecordingTap } from '../media/recording';
import type { LegMedia } from '../media/resolve';
import type { MonitoredCall, MonitoredLeg } from '../quality/QualityMonitor';
import type { RtpStats } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';
import { GatewayLeg, type GatewayLegOptions } from './GatewayLeg';

export { GatewayLeg, type GatewayLegOptions } from './GatewayLeg';
export type { LegMedia } from '../media/resolve';
export type { LegLossMetrics, PlcKind } from '../media/meters';
export { lossMetrics } from '../media/meters';
export type GatewayPlayEndReason = PlaybackEndReason;
export type GatewayPlayResult = PlaybackResult;
/** One direction's filter chain, for inspection (and tests). */
export type GatewayDirection = DirectionInfo & { from: LegName; to: LegName };

type LegName = 'a' | 'b';

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
   * own where it has one (Opus, G.729), else mediastreamer2's generic PLC.
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
export interface GatewayDigit {
  digit: string;
  source: 'rfc4733' | 'inband';
  /** Known for in-band digits (reported at their end); RFC 4733 ones are reported at their start. */
  durationMs?: number;
}

export interface GatewayEvents {
  /** A DTMF digit arrived on `leg`; it is passed on to the other leg unless blocked. */
  dtmf: (leg: LegName, digit: string, info: GatewayDigit) => void;
  close: () => void;
  error: (err: unknown) => void;
}

const other = (l: LegName): LegName => (l === 'a' ? 'b' : 'a');

export class Gateway extends SafeEmitter<GatewayEvents> implements MonitoredCall {
  readonly a: GatewayLeg;
  readonly b: GatewayLeg;
  #graph = new Graph();
  readonly #factory: Factory;
  readonly #ticker: Ticker;
  readonly #ownTicker: boolean;
  readonly #relayMode: 'auto' | 'never';
  readonly #relayJitterBuffer: boolean;
  readonly #plc: boolean;
  readonly #withMeters: boolean;
  readonly #inband: Record<LegName, boolean>;
  #dirs = new Map<LegName, BuiltDirection>(); // by the leg the direction goes to
  #roots: Filter<any>[] = [];
  readonly #plays = new Map<LegName, Playback>();
  readonly #meters = new DirectionMeters<LegName>();
  readonly #recordings = new Recordings<LegName>();
  /** Whether we send to a leg (false: it is on hold, recvonly or inactive). */
  readonly #sending = { a: true, b: true };
  /** What a leg sends is not passed on (ng block media). */
  readonly #blocked = { a: false, b: false };
  /** What a leg sends is replaced by silence (mute, ng silence media). */
  readonly #silenced = { a: false, b: false };
  /** DTMF from a leg is not passed on (ng block DTMF). */
  readonly #dtmfBlocked = { a: false, b: false };
  #running = false;
  #closed = false;

  constructor(opts: GatewayOptions) {
    super();
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('Expected gateway options { a, b }');
    this.#factory = opts.factory ?? Factory.shared();
    this.#relayMode = opts.relay ?? 'auto';
    this.#relayJitterBuffer = opts.relayJitterBuffer ?? false;
    this.#plc = opts.plc ?? true;
    this.#withMeters = opts.meters ?? true;
    this.#inband = {
      a: opts.inbandDtmf?.a ?? opts.a?.telephoneEvent === undefined,
      b: opts.inbandDtmf?.b ?? opts.b?.telephoneEvent === undefined,
    };
    let a: GatewayLeg | undefined;
    let b: GatewayLeg | undefined;
    try {
      a = new GatewayLeg('a', opts.a);
      b = new GatewayLeg('b', opts.b);
      this.a = a;
      this.b = b;
      this.#build();
    } catch (err) {
      this.#graph.close();
      if (a?.ownsEndpoint) a.endpoint.close();
      if (b?.ownsEndpoint) b.endpoint.close();
      throw err;
    }
    this.#ticker = opts.ticker ?? new Ticker({ name: 'rms-gateway' });
    this.#ownTicker = !opts.ticker;
    for (const leg of [this.a, this.b])
      leg.endpoint.on('telephoneEvent', (e) => this.#onTelephoneEvent(leg.name, e.digit));
    if (opts.start ?? true) this.start();
  }

  #leg(n: LegName): GatewayLeg {
    return n === 'a' ? this.a : this.b;
  }

  get directions(): readonly GatewayDirection[] {
    return [this.#dirs.get('b'), this.#dirs.get('a')]
      .filter((d): d is BuiltDirection => d !== undefined)
      .map((d) => d.info as GatewayDirection);
  }

  /** Both directions relay packets undecoded. */
  get relayed(): boolean {
    return this.directions.every((d) => d.relay);
  }

  get running(): boolean {
    return this.#running;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get ticker(): Ticker {
    return this.#ticker;
  }

  /** Starts media in both directions. */
  start(): void {
    this.#checkOpen();
    if (!this.#graph.running) this.#graph.attach(this.#ticker, this.#roots);
    this.#running = true;
  }

  /** Stops media (sockets stay open); start() resumes. */
  stop(): void {
    this.#graph.detach();
    this.#running = false;
  }

  /**
   * Whether we send media to `leg` (false: the peer put us on hold or said
   * recvonly/inactive). Takes effect at once, on a running gateway too.
   */
  setSending(leg: LegName, on: boolean): void {
    this.#checkOpen();
    this.#sending[leg] = on;
    this.#applyMutes();
  }

  /** Stops (or resumes) passing what `leg` sends to the other leg: nothing is sent in its place. */
  setBlocked(leg: LegName, on: boolean): void {
    this.#checkOpen();
    this.#blocked[leg] = on;
    this.#applyMutes();
  }

  /**
   * Replaces what `leg` sends by silence towards the other leg (mute). A
   * transcoded direction sends encoded silence; a relayed one, which has no
   * encoder, sends nothing while silenced.
   */
  setSilenced(leg: LegName, on: boolean): void {
    this.#checkOpen();
    if (this.#silenced[leg] === on) return;
    this.#silenced[leg] = on;
    const d = this.#dirs.get(other(leg));
    if (d && !d.info.relay) this.#rebuild({});
    else this.#applyMutes();
  }

  #applyMutes(): void {
    for (const to of ['a', 'b'] as const) {
      const d = this.#dirs.get(to);
      if (!d || d.send.closed) continue;
      const from = other(to);
      const silent = this.#blocked[from] || (this.#silenced[from] && d.info.relay);
      if (!this.#sending[to] || silent) d.send.mute();
      else d.send.unmute();
    }
  }

  /**
   * Changes codecs, payload types or ptime of one or both legs on a live call
   * (a re-INVITE): the graph is detached, rebuilt and re-attached; the RTP
   * sockets, SSRCs and sequence numbers stay.
   */
  reconfigure(changes: { a?: LegMedia; b?: LegMedia }): void {
    this.#checkOpen();
    this.#rebuild(changes);
  }

  /**
   * Starts recording what `legs` send (default both: the call), decoded and
   * mixed, into a new WAV `file` (16 kHz when one of them is wideband, else
   * 8 kHz); an existing file is never replaced. The file is created before
   * the graph is touched: a path that cannot be written is refused with the
   * media untouched. Returns the recording's id for stopRecording().
   */
  startRecording(file: string, opts: { legs?: LegName[] } = {}): number {
    this.#checkOpen();
    const legs = opts.legs ?? ['a', 'b'];
    if (!legs.length || legs.some((l) => l !== 'a' && l !== 'b'))
      throw new InvalidArgumentError(`Expected legs 'a' and/or 'b' to record, got ${JSON.stringify(legs)}`);
    const wide = legs.some((l) => this.#leg(l).codec.audioRate >= 16000);
    const id = this.#recordings.add(file, [...new Set(legs)], wide);
    try {
      this.#rebuild({});
    } catch (err) {
      this.#recordings.discard(id);
      this.#rebuild({});
      throw err;
    }
    return id;
  }

  /** Stops a recording (all when no id); its WAV is complete when this returns. Undefined when there was none. */
  stopRecording(id?: number): { file: string; durationMs: number } | undefined {
    const ids = id === undefined ? this.#recordings.ids() : this.#recordings.has(id) ? [id] : [];
    if (!ids.length) return undefined;
    const wasRunning = this.#running;
    this.stop();
    let first: { file: string; durationMs: number } | undefined;
    for (const i of ids) first ??= this.#recordings.remove(i);
    if (!this.#closed) this.#rebuild({}, wasRunning);
    return first;
  }

  /** The file of the first recording running, if any. */
  get recording(): string | undefined {
    return this.#recordings.files()[0];
  }

  /** Stops (or resumes) passing DTMF from `leg` to the other leg (RFC 4733 events; in-band tones stay in the audio). */
  blockDtmf(leg: LegName, blocked = true): void {
    this.#dtmfBlocked[leg] = blocked;
  }

  /**
   * Loss, burst and gap metrics of what `leg` received and played out (late
   * packets count as lost), since the graph last started.
   */
  lossMetrics(leg: LegName): LegLossMetrics {
    this.#checkOpen();
    const l = this.#leg(leg);
    const meter = this.#meters.loss(leg);
    return meter ? lossMetrics(meter.counters(), l.ptime) : lossFromStats(l.endpoint.stats(), l.ptime);
  }

  /** The concealment applied to what `leg` sends us ('none' when it is relayed). */
  plc(leg: LegName): PlcKind {
    return this.#dirs.get(other(leg))?.plc ?? 'none';
  }

  /**
   * Level of the audio decoded from `leg` over the last 200 ms, in dBm0 (a
   * full-scale sine is +3.17 dBm0), or undefined when the leg is relayed
   * without decoding or before 200 ms of audio were decoded.
   */
  audioLevel(leg: LegName): number | undefined {
    this.#checkOpen();
    return this.#meters.level(leg);
  }

  /**
   * RFC 3611 signal level of `leg`: the mean power of its decoded audio over
   * the 200 ms blocks that held speech (above -50 dBm0), in dBm0; undefined
   * when relayed or when nothing loud enough was heard. Survives re-INVITEs
   * and close().
   */
  speechLevel(leg: LegName): number | undefined {
    return this.#meters.speechLevel(leg);
  }

  /** Both legs as a QualityMonitor samples them. */
  legs(): MonitoredLeg[] {
    return [this.a, this.b].map((l) => ({
      name: l.name,
      codec: l.codec,
      payloadType: l.payloadType,
      ptime: l.ptime,
      endpoint: l.endpoint,
      stats: () => l.stats(),
      audioLevel: () => this.audioLevel(l.name),
      lossMetrics: () => this.lossMetrics(l.name),
      plc: () => (this.relayed ? 'relayed' : this.plc(l.name)),
    }));
  }

  stats(): { a: RtpStats; b: RtpStats; ticker: TickerStats } {
    this.#checkOpen();
    return { a: this.a.stats(), b: this.b.stats(), ticker: this.#ticker.stats() };
  }

  /** Stops media and frees filters, its own sockets and (if its own) the ticker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#graph.detach();
    this.#meters.release();
    this.#closed = true;
    this.#dropPlays('closed');
    this.#recordings.finishAll();
    this.#graph.close();
    for (const leg of [this.a, this.b]) {
      if (leg.ownsEndpoint) leg.endpoint.close();
      // a lent endpoint (a leg's own, back to its own graph) gets its own jitter buffer back
      else if (!leg.endpoint.closed) leg.useJitterBuffer(true);
    }
    if (this.#ownTicker) this.#ticker.close();
    this.safeEmit('close');
  }

  // ------------------------------------------------------------------ DTMF

  // Each leg has its own telephone-event payload type (or none): the event is
  // re-sent by the other leg's MSRtpSend with that leg's type. It crosses the
  // main thread, which costs a few ms on a 40 ms+ event.
  #onTelephoneEvent(from: LegName, digit: string | undefined): void {
    if (digit === undefined || this.#closed) return;
    if (!this.#dtmfBlocked[from]) this.#forwardDigit(other(from), digit);
    this.safeEmit('dtmf', from, digit, { digit, source: 'rfc4733' });
  }

  // RFC 4733 where the leg has telephone-event, else an in-band tone mixed
  // into what we send it (DTMF interworking).
  #forwardDigit(to: LegName, digit: string): void {
    const d = this.#dirs.get(to);
    if (!this.#sending[to] || !d) return;
    if (this.#leg(to).telephoneEvent !== undefined) {
      if (!d.send.closed) d.send.sendDtmf(digit);
    } else if (d.generator && !d.generator.closed) d.generator.play(digit);
  }

  #onInbandDigit(from: LegName, digit: string, durationMs: number): void {
    if (this.#closed) return;
    // the tone itself reaches a leg without telephone-event in the audio
    const to = other(from);
    if (this.#leg(to).telephoneEvent !== undefined && !this.#dtmfBlocked[from]) this.#forwardDigit(to, digit);
    this.safeEmit('dtmf', from, digit, { digit, source: 'inband', durationMs });
  }

  /**
   * Sends one DTMF digit to `to`, as if the other leg had sent it: an RFC 4733
   * event when `to` negotiated telephone-event, else an in-band tone mixed
   * into the transcoded audio (a relayed leg without telephone-event cannot
   * get one: InvalidStateError). Returns which one was sent.
   */
  sendDtmf(to: LegName, digit: string, opts: { durationMs?: number } = {}): 'rfc4733' | 'inband' {
    this.#checkOpen();
    if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit))
      throw new InvalidArgumentError(`Expected one DTMF digit (0-9 * # A-D) but received ${JSON.stringify(digit)}`);
    const durationMs = opts.durationMs ?? 100;
    if (!(durationMs >= 40 && durationMs <= 5000)) throw new InvalidArgumentError('durationMs must be 40..5000');
    const leg = this.#leg(to);
    if (leg.telephoneEvent !== undefined) {
      const sender = this.senderTo(to);
      // ms2 counts the event length in RTP timestamp units of the leg's clock
      sender.setDtmfDuration((durationMs * leg.codec.clockRate) / 1000);
      sender.sendDtmf(digit);
      return 'rfc4733';
    }
    const gen = this.generatorTo(to);
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

  /** @internal The MSRtpSend towards `leg`. */
  senderTo(leg: LegName): RtpSender {
    const d = this.#dirs.get(leg);
    if (!d) throw new InvalidStateError('Gateway has no sender');
    return d.send;
  }

  /** @internal The in-band DTMF generator before the encoder towards `leg`, when it is transcoded. */
  generatorTo(leg: LegName): DtmfGenerator | undefined {
    return this.#dirs.get(leg)?.generator;
  }

  // -------------------------------------------------------------- playback

  /**
   * Plays a WAV (8-48 kHz, any channel count, already checked by the
   * caller, e.g. with MediaRoots.wav()) to `to` instead of what the other leg
   * sends, `repeat` times (default 1); the other leg's audio comes back when
   * it ends. A play on a leg that is playing replaces it. Resolves when it
   * ends (end of file, stopPlay(), replaced, reconfigure or close).
   */
  play(
    to: LegName,
    file: string,
    info: { rate: number; channels: number },
    opts: { repeat?: number } = {},
  ): Promise<GatewayPlayResult> {
    this.#checkOpen();
    const repeat = opts.repeat ?? 1;
    if (!Number.isInteger(repeat) || repeat < 1) throw new InvalidArgumentError('repeat must be a positive integer');
    this.stopPlay(to, 'replaced');
    const d = this.#dirs.get(to)!;
    const parts = {
      graph: this.#graph,
      factory: this.#factory,
      media: this.#leg(to).media,
      sender: d.send,
      feed: d.feed,
    };
    let p: Playback | undefined;
    this.#editGraph(() => {
      p = new Playback(parts, file, info, repeat, (x, reason) => this.#endPlay(to, x, reason));
      try {
        p.link();
      } catch (err) {
        try {
          p.unlink();
        } catch {
          /* partly linked: the filters go with the graph */
        }
        throw err;
      }
      this.#roots.push(p.player);
    });
    this.#plays.set(to, p!);
    return p!.done;
  }

  /** Whether a file plays to `to`. */
  playing(to: LegName): boolean {
    return this.#plays.has(to);
  }

  /** Ends the play on `to` (its promise resolves with `reason`); returns the position it reached, ms. */
  stopPlay(to: LegName, reason: GatewayPlayEndReason = 'stopped'): number | undefined {
    const p = this.#plays.get(to);
    if (!p) return undefined;
    let pos = 0;
    try {
      pos = p.player.positionMs();
    } catch {
      /* position unknown */
    }
    this.#endPlay(to, p, reason, pos);
    return pos;
  }

  #endPlay(to: LegName, p: Playback, reason: GatewayPlayEndReason, positionMs = 0): void {
    if (this.#plays.get(to) !== p) return;
    this.#plays.delete(to);
    try {
      this.#editGraph(() => {
        this.#roots = this.#roots.filter((r) => r !== p.player);
        p.unlink();
      });
    } catch (err) {
      this.safeEmit('error', err);
    }
    p.finish(reason, positionMs);
  }

  /** Plays end without graph work: the graph is about to be closed or rebuilt. */
  #dropPlays(reason: GatewayPlayEndReason): void {
    for (const [to, p] of this.#plays) {
      this.#plays.delete(to);
      this.#roots = this.#roots.filter((r) => r !== p.player);
      p.finish(reason, 0);
    }
  }

  // ---------------------------------------------------------------- graph

  /** Runs `change` with the graph detached, then re-attaches the current roots if it ran. */
  #editGraph(change: () => void): void {
    const wasAttached = this.#graph.running;
    this.#graph.detach();
    try {
      change();
    } finally {
      if (wasAttached && !this.#closed) this.#graph.attach(this.#ticker, this.#roots);
    }
  }

  #build(): void {
    // a relay cannot turn RFC 4733 into tones, so legs that differ in
    // telephone-event are decoded (DTMF interworking)
    const relay =
      this.#relayMode === 'auto' &&
      this.a.sameFormatAs(this.b) &&
      (this.a.telephoneEvent === undefined) === (this.b.telephoneEvent === undefined);
    for (const leg of [this.a, this.b]) leg.useJitterBuffer(!relay || this.#relayJitterBuffer);
    const taps = new Map<LegName, RecordingTap>();
    for (const [from, to] of [
      [this.a, this.b],
      [this.b, this.a],
    ]) {
      const d = buildDirection({
        graph: this.#graph,
        factory: this.#factory,
        from: { name: from.name, endpoint: from.endpoint, media: from.media },
        to: { name: to.name, endpoint: to.endpoint, media: to.media },
        relay,
        meters: this.#withMeters,
        plc: this.#plc,
        inband: this.#inband[from.name],
        silenced: this.#silenced[from.name],
        tap: this.#recordings.taps(from.name),
        sending: true,
        onInbandDigit: (digit, ms) => this.#onInbandDigit(from.name, digit, ms),
      });
      this.#dirs.set(to.name, d);
      if (d.meter) this.#meters.setLoss(from.name, d.meter);
      if (d.level) this.#meters.setLevel(from.name, d.level);
      if (d.tap) taps.set(from.name, { ...d.tap, media: from.media });
    }
    if (this.#recordings.size) this.#recordings.build(this.#graph, this.#factory, taps);
    // a recording mixing both directions makes the two chains one graph: one root
    const mixed = taps.size === 2 && this.#recordings.mixes(['a', 'b']);
    this.#roots = mixed ? [this.#dirs.get('b')!.recv] : [this.#dirs.get('b')!.recv, this.#dirs.get('a')!.recv];
    this.#applyMutes();
  }

  #rebuild(changes: { a?: LegMedia; b?: LegMedia }, resume = this.#running): void {
    this.stop();
    this.#dropPlays('reconfigured');
    // complete the WAVs so far; the next graph appends to them
    this.#recordings.suspend();
    this.#meters.release();
    this.#graph.close();
    this.#graph = new Graph();
    this.#roots = [];
    this.#dirs = new Map();
    if (changes.a) this.a.setMedia(changes.a);
    if (changes.b) this.b.setMedia(changes.b);
    this.#build();
    if (resume) this.start();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
  }
}
