/**
 * A bridge between two legs: media relayed packet for packet when their
 * codecs match, transcoded otherwise, both ways, on the legs' own RTP
 * sessions. Each leg's media operations (play, record, DTMF, mute) keep
 * working while bridged: the bridge is the leg's host. Created by
 * MediaLeg.bridgeWith() or MediaSession; close() sends both legs back to
 * their own graphs.
 */
import { InvalidStateError } from '../errors';
import type { Factory } from '../graph/Factory';
import type { Ticker, TickerStats } from '../graph/Ticker';
import { Gateway, type GatewayDirection } from '../gateway/Gateway';
import type { LegLossMetrics, PlcKind } from '../media/meters';
import { legMediaOf, type ResolvedMedia } from '../media/resolve';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { LegStreams } from '../streams/LegStreams';
import { SafeEmitter } from '../util/SafeEmitter';
import type { LegHost, WavFormat } from './host';

export interface BridgeOptions {
  /** 'auto' (default): relay undecoded when both legs share a codec; 'never': always transcode. */
  relay?: 'auto' | 'never';
  /** Packet loss concealment on transcoded directions (default true). */
  plc?: boolean;
  /** Loss and level meters per direction for the quality reports (default true). */
  meters?: boolean;
  /** Ticker to run on (default: the first leg's). */
  ticker?: Ticker;
  factory?: Factory;
}

export interface BridgeEvents {
  /** A digit one leg sent, passed on to the other unless DTMF from it is blocked. */
  dtmf: (from: BridgedLeg, digit: string) => void;
  close: () => void;
  error: (err: unknown) => void;
}

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
  /** @internal */
  bridgeClosed(b: Bridge): void;
}

type Side = 'a' | 'b';

export class Bridge extends SafeEmitter<BridgeEvents> {
  readonly a: BridgedLeg;
  readonly b: BridgedLeg;
  readonly #gateway: Gateway;
  #closed = false;

  /** @internal Use MediaLeg.bridgeWith(). */
  constructor(a: BridgedLeg, b: BridgedLeg, opts: BridgeOptions & { ticker: Ticker }) {
    super();
    this.a = a;
    this.b = b;
    const side = (l: BridgedLeg) => {
      if (!l.resolvedMedia) throw new InvalidStateError(`${l.name} has no negotiated media yet`);
      return { endpoint: l.endpoint, ...legMediaOf(l.resolvedMedia) };
    };
    this.#gateway = new Gateway({
      factory: opts.factory,
      ticker: opts.ticker,
      relay: opts.relay,
      plc: opts.plc,
      meters: opts.meters,
      start: true,
      a: side(a),
      b: side(b),
      inbandDtmf: { a: a.inbandOn, b: b.inbandOn },
    });
    this.#gateway.on('dtmf', (s, digit, info) => {
      const from = s === 'a' ? a : b;
      // RFC 4733 digits reach each leg through its endpoint already
      if (info.source === 'inband') from.inbandDigit(digit, info.durationMs ?? 0);
      this.safeEmit('dtmf', from, digit);
    });
    this.#gateway.on('error', (e) => this.safeEmit('error', e));
  }

  #side(leg: BridgedLeg): Side {
    if (leg === this.a) return 'a';
    if (leg === this.b) return 'b';
    throw new InvalidStateError(`${leg.name} is not in this bridge`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Packets are relayed undecoded both ways. */
  get relayed(): boolean {
    return !this.#closed && this.#gateway.relayed;
  }

  /** Each direction's filter chain (from the first leg to the second, then back). */
  get directions(): readonly GatewayDirection[] {
    return this.#gateway.directions;
  }

  /** The other leg. */
  peerOf(leg: BridgedLeg): BridgedLeg {
    return this.#side(leg) === 'a' ? this.b : this.a;
  }

  /** Stops (or resumes) passing DTMF that `from` sends to the other leg. */
  blockDtmf(from: BridgedLeg, blocked = true): void {
    this.#gateway.blockDtmf(this.#side(from), blocked);
  }

  /** Stops (or resumes) passing the media `from` sends to the other leg (nothing is sent in its place). */
  blockMedia(from: BridgedLeg, blocked = true): void {
    this.#gateway.setBlocked(this.#side(from), blocked);
  }

  /** Starts recording both legs, mixed, into a new WAV; returns an id for stopRecording(). */
  startRecording(file: string): number {
    return this.#gateway.startRecording(file);
  }

  stopRecording(id?: number): { file: string; durationMs: number } | undefined {
    return this.#gateway.stopRecording(id);
  }

  /** The file the first recording writes to, if one runs. */
  get recordingFile(): string | undefined {
    return this.#closed ? undefined : this.#gateway.recording;
  }

  stats(): { ticker: TickerStats } {
    return { ticker: this.#gateway.stats().ticker };
  }

  /** @internal A leg's media changed (re-INVITE): the graphs are rebuilt on the same sessions. */
  mediaChanged(leg: BridgedLeg): void {
    const media = leg.resolvedMedia!;
    this.#gateway.reconfigure({ [this.#side(leg)]: legMediaOf(media) });
  }

  /** @internal The host a leg's operations run on while bridged. */
  host(leg: BridgedLeg): LegHost {
    return new BridgeSide(this, this.#gateway, this.#side(leg));
  }

  /** Ends the bridge: both legs go back to their own graphs. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gateway.close();
    this.a.bridgeClosed(this);
    this.b.bridgeClosed(this);
    this.safeEmit('close');
  }
}

class BridgeSide implements LegHost {
  readonly mode = 'bridged' as const;
  readonly #bridge: Bridge;
  readonly #gw: Gateway;
  readonly #side: Side;
  #recording?: number;
  #play?: Promise<unknown>;
  #streams?: LegStreams;

  constructor(bridge: Bridge, gw: Gateway, side: Side) {
    this.#bridge = bridge;
    this.#gw = gw;
    this.#side = side;
  }

  #leg() {
    return this.#side === 'a' ? this.#gw.a : this.#gw.b;
  }

  startFile(path: string, info: WavFormat, onEof: () => void): void {
    const p = this.#gw.play(this.#side, path, info);
    this.#play = p;
    p.then((r) => {
      if (this.#play === p && r.reason === 'eof') onEof();
    });
  }

  stopFile(): number | undefined {
    this.#play = undefined;
    return this.#gw.closed ? undefined : this.#gw.stopPlay(this.#side);
  }

  startRecording(path: string, both: boolean): void {
    this.#recording = this.#gw.startRecording(path, { legs: both ? ['a', 'b'] : [this.#side] });
  }

  stopRecording(): void {
    const id = this.#recording;
    this.#recording = undefined;
    if (id !== undefined && !this.#gw.closed) this.#gw.stopRecording(id);
  }

  recordingRate(both: boolean): number {
    const legs = both ? [this.#gw.a, this.#gw.b] : [this.#leg()];
    return legs.some((l) => l.codec.audioRate >= 16000) ? 16000 : 8000;
  }

  inputLevel(): number | undefined {
    return this.#gw.closed ? undefined : this.#gw.audioLevel(this.#side);
  }

  sendDigit(digit: string, durationMs: number, rfc4733: boolean): void {
    if (!rfc4733 && !this.canSendInband())
      throw new InvalidStateError('no in-band tone can be added towards this leg while bridged');
    this.#gw.sendDtmf(this.#side, digit, { durationMs });
  }

  canSendInband(): boolean {
    return !this.#gw.closed && this.#gw.generatorTo(this.#side) !== undefined;
  }

  setMuted(on: boolean): void {
    if (!this.#gw.closed) this.#gw.setSilenced(this.#side, on);
  }

  setSending(on: boolean): void {
    if (!this.#gw.closed) this.#gw.setSending(this.#side, on);
  }

  lossMetrics(): LegLossMetrics {
    return this.#gw.lossMetrics(this.#side);
  }

  plc(): PlcKind | 'relayed' {
    return this.#gw.relayed ? 'relayed' : this.#gw.plc(this.#side);
  }

  speechLevel(): number | undefined {
    return this.#gw.speechLevel(this.#side);
  }

  readonly #relink = () => {
    if (!this.#gw.closed && this.#streams) this.#gw.setStreams(this.#side, this.#streams);
  };

  setStreams(s: LegStreams): void {
    this.#streams = s;
    s.bind(this.#relink);
    this.#relink();
  }

  release(): void {
    this.#streams?.unbind(this.#relink);
    this.#bridge.close();
  }
}
