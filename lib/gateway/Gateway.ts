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
import { buildDirection, type BuiltDirection } from '../media/direction';
import { DtmfInterwork } from '../media/dtmfInterwork';
import { DirectionMeters, lossFromStats, lossMetrics, type LegLossMetrics, type PlcKind } from '../media/meters';
import { Playbacks } from '../media/playback';
import { Recordings, type RecordingTap } from '../media/recording';
import type { LegMedia } from '../media/resolve';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { LegStreams } from '../streams/LegStreams';
import { SafeEmitter } from '../util/SafeEmitter';
import { GatewayLeg } from './GatewayLeg';
import { gatewayQualitySources, type GatewayQualityInfo } from './qualitySources';
import type { QualityLegSource } from '../quality/source';
import type {
  GatewayDirection,
  GatewayEvents,
  GatewayOptions,
  GatewayPlayEndReason,
  GatewayPlayResult,
  LegName,
} from './types';

export { GatewayLeg, type GatewayLegOptions } from './GatewayLeg';
export type { LegMedia } from '../media/resolve';
export type { LegLossMetrics, PlcKind } from '../media/meters';
export { lossMetrics } from '../media/meters';
export type * from './types';

const other = (l: LegName): LegName => (l === 'a' ? 'b' : 'a');

export class Gateway extends SafeEmitter<GatewayEvents> {
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
  readonly #plays = new Playbacks<LegName>({
    parts: (to) => {
      const d = this.#dirs.get(to)!;
      return { graph: this.#graph, factory: this.#factory, media: this.#leg(to).media, sender: d.send, feed: d.feed };
    },
    edit: (change) => this.#editGraph(change),
    addRoot: (f) => this.#roots.push(f),
    removeRoot: (f) => (this.#roots = this.#roots.filter((r) => r !== f)),
    onError: (err) => this.safeEmit('error', err),
  });
  readonly #meters = new DirectionMeters<LegName>();
  readonly #recordings = new Recordings<LegName>((err) => this.safeEmit('error', err));
  /** Whether we send to a leg (false: it is on hold, recvonly or inactive). */
  readonly #sending = { a: true, b: true };
  /** What a leg sends is not passed on (ng block media). */
  readonly #blocked = { a: false, b: false };
  /** What a leg sends is replaced by silence (mute, ng silence media). */
  readonly #silenced = { a: false, b: false };
  /** Each leg's audio streams (forks, injection, voice detection), linked into every build. */
  readonly #streams: Partial<Record<LegName, LegStreams>> = {};
  readonly #dtmf = new DtmfInterwork<LegName>(
    (n) => {
      const leg = this.#leg(n);
      const d = this.#dirs.get(n);
      return {
        telephoneEvent: leg.telephoneEvent,
        clockRate: leg.codec.clockRate,
        sender: d?.send,
        generator: d?.generator,
        sending: this.#sending[n],
      };
    },
    other,
    (from, digit, info) => {
      if (!this.#closed) this.safeEmit('dtmf', from, digit, info);
    },
  );
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
      leg.endpoint.on('telephoneEvent', (e) => {
        if (e.digit !== undefined && !this.#closed) this.#dtmf.telephoneEvent(leg.name, e.digit);
      });
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
   * @internal A leg's audio streams (forks, injection, voice detection), linked into this graph and every
   * rebuild; call again when they change. A direction towards a leg with an injection is decoded.
   */
  setStreams(leg: LegName, streams: LegStreams | undefined): void {
    this.#checkOpen();
    const wasRunning = this.#running;
    this.stop();
    this.#streams[leg]?.unlink(this.#graph);
    this.#streams[leg] = streams;
    this.#rebuild({}, wasRunning);
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
    this.#dtmf.block(leg, blocked);
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

  /** Both legs as the quality layer reads them (lib/quality/source.ts). */
  qualitySources(info: GatewayQualityInfo = {}): { a: QualityLegSource; b: QualityLegSource } {
    return gatewayQualitySources(this, info);
  }

  stats(): { a: RtpStats; b: RtpStats; ticker: TickerStats } {
    this.#checkOpen();
    return { a: this.a.stats(), b: this.b.stats(), ticker: this.#ticker.stats() };
  }

  /** Stops media and frees filters, its own sockets and (if its own) the ticker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#graph.detach();
    for (const s of Object.values(this.#streams)) s.unlink(this.#graph);
    this.#meters.release();
    this.#closed = true;
    this.#plays.drop('closed');
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

  /**
   * Sends one DTMF digit to `to`, as if the other leg had sent it: an RFC 4733
   * event when `to` negotiated telephone-event, else an in-band tone mixed
   * into the transcoded audio (a relayed leg without telephone-event cannot
   * get one: InvalidStateError). Returns which one was sent.
   */
  sendDtmf(to: LegName, digit: string, opts: { durationMs?: number } = {}): 'rfc4733' | 'inband' {
    this.#checkOpen();
    return this.#dtmf.send(to, digit, opts.durationMs ?? 100);
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
    return this.#plays.start(to, file, info, repeat);
  }

  /** Whether a file plays to `to`. */
  playing(to: LegName): boolean {
    return this.#plays.playing(to);
  }

  /** Ends the play on `to` (its promise resolves with `reason`); returns the position it reached, ms. */
  stopPlay(to: LegName, reason: GatewayPlayEndReason = 'stopped'): number | undefined {
    return this.#plays.stop(to, reason);
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
    const relayable =
      this.#relayMode === 'auto' &&
      this.a.sameFormatAs(this.b) &&
      (this.a.telephoneEvent === undefined) === (this.b.telephoneEvent === undefined);
    // audio injected towards a leg needs the direction decoded (and so its jitter buffer: decoding and
    // concealment need packets at their pace)
    const relayTo = (to: LegName) => relayable && !this.#streams[to]?.needsMix;
    for (const leg of [this.a, this.b]) leg.useJitterBuffer(!relayTo(other(leg.name)) || this.#relayJitterBuffer);
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
        relay: relayTo(to.name),
        meters: this.#withMeters,
        plc: this.#plc,
        inband: this.#inband[from.name],
        silenced: this.#silenced[from.name],
        tap: this.#recordings.taps(from.name),
        sending: true,
        streams: {
          from: !!this.#streams[from.name]?.needsIn,
          to: !!this.#streams[to.name]?.needsOut,
          mix: !!this.#streams[to.name]?.needsMix,
        },
        onInbandDigit: (digit, ms) => {
          if (!this.#closed) this.#dtmf.inbandDigit(from.name, digit, ms);
        },
      });
      this.#dirs.set(to.name, d);
      if (d.meter) this.#meters.setLoss(from.name, d.meter);
      if (d.level) this.#meters.setLevel(from.name, d.level);
      if (d.tap) taps.set(from.name, { ...d.tap, media: from.media });
    }
    if (this.#recordings.size) this.#recordings.build(this.#graph, this.#factory, taps);
    for (const leg of [this.a, this.b]) {
      const from = this.#dirs.get(other(leg.name))!;
      const to = this.#dirs.get(leg.name)!;
      const sender = this.#leg(other(leg.name)).media;
      this.#streams[leg.name]?.link(this.#graph, this.#factory, {
        in: from.streamFrom && { ...from.streamFrom, media: leg.media },
        out: to.streamTo && { ...to.streamTo, media: sender },
        mix: to.mix,
      });
    }
    // a recording or a fork of both directions makes the two chains one graph: one root
    this.#roots = Graph.distinctRoots([this.#dirs.get('b')!.recv, this.#dirs.get('a')!.recv]);
    this.#applyMutes();
  }

  #rebuild(changes: { a?: LegMedia; b?: LegMedia }, resume = this.#running): void {
    this.stop();
    // plays go on, on the new graph, where they were
    const resumePlays = this.#plays.suspend();
    // complete the WAVs so far; the next graph appends to them
    this.#recordings.suspend();
    // forks and injections keep their native state: taken off this graph, put on the next
    for (const s of Object.values(this.#streams)) s.unlink(this.#graph);
    this.#meters.release();
    this.#graph.close();
    this.#graph = new Graph();
    this.#roots = [];
    this.#dirs = new Map();
    if (changes.a) this.a.setMedia(changes.a);
    if (changes.b) this.b.setMedia(changes.b);
    this.#build();
    resumePlays();
    if (resume) this.start();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
  }
}
