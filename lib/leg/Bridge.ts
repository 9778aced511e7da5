/**
 * A bridge between two legs, both ways, on the legs' own RTP sessions:
 *
 * - relayed through the forwarding plane when their codecs match (packets
 *   leave exactly as they came: same SSRC, sequence numbers, timestamps,
 *   payload; no graph, no JS on the path);
 * - through ms2 graphs (a Gateway) when they do not - or while something
 *   needs decoded audio or a sender of ours: a prompt played to a leg, a
 *   recording, a digit we send, DTMF blocking. When that ends, the bridge
 *   goes back to the relay. Each move is a few ms; the peers see our SSRC
 *   while a graph sends and their own again after.
 *
 * Each leg's media operations (play, record, DTMF, mute) keep working while
 * bridged: the bridge is the leg's host (bridgeSide.ts). Created by
 * MediaLeg.bridgeWith() or a MediaSession; close() sends both legs back to
 * their own graphs.
 */
import { InvalidStateError, MediaFileError } from '../errors';
import type { Factory } from '../graph/Factory';
import type { Ticker, TickerStats } from '../graph/Ticker';
import type { ForwardPlane } from '../forward/ForwardPlane';
import type { Relay } from '../forward/Relay';
import type { RelayDirection } from '../forward/types';
import { Gateway, type GatewayDirection } from '../gateway/Gateway';
import { legMediaOf, profileOf, sameCoding, type ResolvedMedia } from '../media/resolve';
import type { LegStreams } from '../streams/LegStreams';
import { SafeEmitter } from '../util/SafeEmitter';
import { BridgeSide } from './bridgeSide';
import type { BridgedLeg, Side } from './bridgeTypes';
import type { LegHost } from './host';
import { addTotals, emptyTotals, relayTotals, type RelayTotals } from './relayFigures';

export interface BridgeOptions {
  /** 'auto' (default): relay undecoded when both legs share a codec; 'never': always transcode. */
  relay?: 'auto' | 'never';
  /** Packet loss concealment on transcoded directions (default true). */
  plc?: boolean;
  /** Loss and level meters per direction for the quality reports (default true). */
  meters?: boolean;
  /** Ticker to run graphs on (default: the first leg's). */
  ticker?: Ticker;
  factory?: Factory;
  /**
   * The forwarding plane that relays same-codec bridges (MediaServer gives
   * its own). Without one a relayed bridge runs an ms2 relay graph.
   */
  forwarder?: ForwardPlane;
}

export interface BridgeEvents {
  /** A digit one leg sent, passed on to the other unless DTMF from it is blocked. */
  dtmf: (from: BridgedLeg, digit: string) => void;
  /** The bridge moved between the forwarding plane ('relay') and ms2 graphs ('graph'). */
  engine: (engine: 'relay' | 'graph') => void;
  close: () => void;
  error: (err: unknown) => void;
}

const other = (s: Side): Side => (s === 'a' ? 'b' : 'a');
/** The relay direction out of a side. */
const outOf = (s: Side): RelayDirection => (s === 'a' ? 'aToB' : 'bToA');

export type { BridgedLeg } from './bridgeTypes';

export class Bridge extends SafeEmitter<BridgeEvents> {
  readonly a: BridgedLeg;
  readonly b: BridgedLeg;
  readonly #opts: BridgeOptions & { ticker: Ticker };
  #gateway?: Gateway;
  #relay?: Relay;
  /** What relays counted for each leg so far (added to oRTP's figures). */
  readonly #totals: Record<Side, RelayTotals> = { a: emptyTotals(), b: emptyTotals() };
  /** Why the bridge must run graphs now (plays, recordings, digits we send, DTMF blocking). */
  readonly #needs = new Set<string>();
  readonly #streams: Partial<Record<Side, LegStreams>> = {};
  /** @internal Flags each engine applies: we send to a leg, what a leg sends is dropped / silenced, DTMF from it held back. */
  readonly flags = {
    sending: { a: true, b: true },
    blocked: { a: false, b: false },
    silenced: { a: false, b: false },
    dtmfBlocked: { a: false, b: false },
  };
  /** Speech levels of the last graph (they survive its close). */
  readonly #speech: Record<Side, number | undefined> = { a: undefined, b: undefined };
  #closed = false;

  /** @internal Use MediaLeg.bridgeWith(). */
  constructor(a: BridgedLeg, b: BridgedLeg, opts: BridgeOptions & { ticker: Ticker }) {
    super();
    this.a = a;
    this.b = b;
    this.#opts = opts;
    for (const l of [a, b]) if (!l.resolvedMedia) throw new InvalidStateError(`${l.name} has no negotiated media yet`);
    this.#rebalance();
  }

  #leg(s: Side): BridgedLeg {
    return s === 'a' ? this.a : this.b;
  }

  #side(leg: BridgedLeg): Side {
    if (leg === this.a) return 'a';
    if (leg === this.b) return 'b';
    throw new InvalidStateError(`${leg.name} is not in this bridge`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Packets are relayed undecoded both ways (by the forwarding plane, or a relay graph). */
  get relayed(): boolean {
    if (this.#closed) return false;
    return this.#relay !== undefined || (this.#gateway?.relayed ?? false);
  }

  /** 'relay' while the forwarding plane carries the packets, else 'graph'. */
  get engine(): 'relay' | 'graph' {
    return this.#relay ? 'relay' : 'graph';
  }

  /** Each direction's path (from the first leg to the second, then back). */
  get directions(): readonly GatewayDirection[] {
    if (this.#gateway) return this.#gateway.directions;
    const d = (from: Side, to: Side): GatewayDirection => ({
      from,
      to,
      chain: ['RmsForwarder'],
      relay: true,
      decodeRate: 0,
      encodeRate: 0,
    });
    return [d('a', 'b'), d('b', 'a')];
  }

  /** The other leg. */
  peerOf(leg: BridgedLeg): BridgedLeg {
    return this.#side(leg) === 'a' ? this.b : this.a;
  }

  /** Stops (or resumes) passing DTMF that `from` sends to the other leg (the bridge runs graphs while any is held back). */
  blockDtmf(from: BridgedLeg, blocked = true): void {
    const s = this.#side(from);
    this.flags.dtmfBlocked[s] = blocked;
    this.need(`dtmf-block:${s}`, blocked);
    this.#gateway?.blockDtmf(s, blocked);
  }

  /** Stops (or resumes) passing the media `from` sends to the other leg (nothing is sent in its place). */
  blockMedia(from: BridgedLeg, blocked = true): void {
    this.flags.blocked[this.#side(from)] = blocked;
    this.applyFlags();
  }

  /** What the bridge holds back of what `from` sends: its media (blockMedia), its DTMF (blockDtmf). */
  heldBack(from: BridgedLeg): { media: boolean; dtmf: boolean } {
    const s = this.#side(from);
    return { media: this.flags.blocked[s], dtmf: this.flags.dtmfBlocked[s] };
  }

  /** Starts recording both legs, mixed, into a new WAV; returns an id for stopRecording(). */
  startRecording(file: string): number {
    this.need('record:call', true);
    try {
      return this.gateway().startRecording(file);
    } catch (err) {
      this.need('record:call', false);
      throw err;
    }
  }

  stopRecording(id?: number): { file: string; durationMs: number } | undefined {
    const r = this.#gateway?.stopRecording(id);
    if (!this.#gateway?.recording) this.need('record:call', false);
    return r;
  }

  /** The file the first recording writes to, if one runs. */
  get recordingFile(): string | undefined {
    return this.#closed ? undefined : this.#gateway?.recording;
  }

  stats(): { ticker: TickerStats; engine: 'relay' | 'graph' } {
    return { ticker: this.#opts.ticker.stats(), engine: this.engine };
  }

  /** @internal A leg's media changed (re-INVITE): the graphs are rebuilt, or the relay made again. */
  mediaChanged(leg: BridgedLeg): void {
    const s = this.#side(leg);
    if (this.#gateway && !this.#canRelay()) this.#gateway.reconfigure({ [s]: legMediaOf(leg.resolvedMedia!, true) });
    else {
      this.#stopRelay();
      this.#rebalance();
    }
  }

  /** @internal The host a leg's operations run on while bridged. */
  host(leg: BridgedLeg): LegHost {
    return new BridgeSide(this, this.#side(leg), leg);
  }

  /** @internal Something needs (or no longer needs) graphs: the bridge moves if it must. */
  need(reason: string, on: boolean): void {
    if (on) this.#needs.add(reason);
    else this.#needs.delete(reason);
    if (!this.#closed) this.#rebalance();
  }

  /**
   * @internal A leg's audio streams (forks, injection, voice detection):
   * while any runs the bridge keeps its graphs (the forwarding plane decodes
   * nothing), which link them; call again when they change.
   */
  setStreams(s: Side, streams: LegStreams): void {
    this.#streams[s] = streams;
    this.need(`streams:${s}`, streams.active);
    const gw = this.#gateway;
    if (gw && !gw.closed) gw.setStreams(s, streams);
  }

  /** @internal The bridge's graphs, made now if it was relaying (for an operation that needs them). */
  gateway(): Gateway {
    if (this.#closed) throw new InvalidStateError('The bridge is closed');
    if (!this.#gateway) {
      this.#stopRelay();
      this.#startGraph();
    }
    return this.#gateway!;
  }

  /** @internal The gateway if graphs run now, without making one. */
  get currentGateway(): Gateway | undefined {
    return this.#gateway;
  }

  /** @internal The relay if the forwarding plane carries the bridge now. */
  get currentRelay(): Relay | undefined {
    return this.#relay;
  }

  /** @internal What relays counted for a leg, the live one included. */
  relayTotals(s: Side): RelayTotals {
    const live = this.#relay ? this.#liveTotals(s) : undefined;
    return live ? addTotals(this.#totals[s], live) : this.#totals[s];
  }

  /** @internal The speech level of a leg's decoded audio (from the graphs, now or before). */
  speechLevel(s: Side): number | undefined {
    return this.#gateway?.speechLevel(s) ?? this.#speech[s];
  }

  #liveTotals(s: Side): RelayTotals {
    const st = this.#relay!.stats();
    return relayTotals(st[outOf(s)], st[outOf(other(s))]);
  }

  #canRelay(): boolean {
    const f = this.#opts.forwarder;
    if (!f || f.closed || (this.#opts.relay ?? 'auto') === 'never' || this.#needs.size) return false;
    // the forwarding plane reads the sockets below the security layer: secured legs run graphs
    if (this.a.endpoint.protection !== 'none' || this.b.endpoint.protection !== 'none') return false;
    const ma = this.a.resolvedMedia!;
    const mb = this.b.resolvedMedia!;
    // legs that differ in telephone-event need decoding (DTMF interworking)
    return sameCoding(ma, mb) && (ma.telephoneEvent === undefined) === (mb.telephoneEvent === undefined);
  }

  #rebalance(): void {
    const relay = this.#canRelay();
    if (relay && !this.#relay) {
      this.#stopGraph();
      this.#startRelay();
    } else if (!relay && !this.#gateway) {
      this.#stopRelay();
      this.#startGraph();
    }
  }

  #startGraph(): void {
    const side = (l: BridgedLeg) => ({ endpoint: l.endpoint, ...legMediaOf(l.resolvedMedia!, true) });
    const gw = new Gateway({
      factory: this.#opts.factory,
      ticker: this.#opts.ticker,
      relay: this.#opts.relay,
      plc: this.#opts.plc,
      meters: this.#opts.meters,
      start: false,
      a: side(this.a),
      b: side(this.b),
      inbandDtmf: { a: this.a.inbandOn, b: this.b.inbandOn },
    });
    gw.on('dtmf', (s, digit, info) => {
      const from = this.#leg(s);
      // RFC 4733 digits reach each leg through its endpoint already
      if (info.source === 'inband') from.inbandDigit(digit, info.durationMs ?? 0);
      this.safeEmit('dtmf', from, digit);
    });
    gw.on('error', (e) => {
      this.safeEmit('error', e);
      // a recording that failed (a full disk) no longer holds the call on graphs; not from inside the gateway's event
      if (e instanceof MediaFileError)
        setImmediate(() => {
          if (!this.#closed && this.#gateway === gw && !gw.recording) this.need('record:call', false);
        });
    });
    this.#gateway = gw;
    for (const s of ['a', 'b'] as const) if (this.flags.dtmfBlocked[s]) gw.blockDtmf(s, true);
    // the legs' forks and injections carry over onto every gateway the bridge makes
    for (const s of ['a', 'b'] as const) if (this.#streams[s]) gw.setStreams(s, this.#streams[s]!);
    this.applyFlags();
    gw.start();
    this.safeEmit('engine', 'graph');
  }

  #stopGraph(): void {
    const gw = this.#gateway;
    if (!gw) return;
    for (const s of ['a', 'b'] as const) this.#speech[s] = gw.speechLevel(s) ?? this.#speech[s];
    this.#gateway = undefined;
    gw.close();
  }

  #startRelay(): void {
    const f = this.#opts.forwarder!;
    // the payload types each side is mapped by: its own profile
    for (const l of [this.a, this.b])
      l.endpoint.setPayloadTypes(profileOf(l.resolvedMedia!), l.resolvedMedia!.payloadType);
    const r = f.relay(this.a.endpoint, this.b.endpoint);
    r.on('dtmf', (e) => {
      const s: Side = e.direction === 'aToB' ? 'a' : 'b';
      if (!e.digit) return;
      if (e.phase === 'start') this.safeEmit('dtmf', this.#leg(s), e.digit);
      else this.#leg(s).relayedDigit(e.digit, e.durationMs);
    });
    r.on('error', (e) => this.safeEmit('error', e));
    this.#relay = r;
    this.applyFlags();
    this.safeEmit('engine', 'relay');
  }

  #stopRelay(): void {
    const r = this.#relay;
    if (!r) return;
    for (const s of ['a', 'b'] as const) this.#totals[s] = addTotals(this.#totals[s], this.#liveTotals(s));
    this.#relay = undefined;
    r.close();
  }

  /** @internal Applies hold, block and silence to whichever engine runs. */
  applyFlags(): void {
    const f = this.flags;
    const gw = this.#gateway;
    if (gw && !gw.closed) {
      for (const s of ['a', 'b'] as const) {
        gw.setSending(s, f.sending[s]);
        gw.setBlocked(s, f.blocked[s]);
        gw.setSilenced(s, f.silenced[s]);
      }
    }
    const r = this.#relay;
    if (r && !r.closed) {
      for (const s of ['a', 'b'] as const) {
        const dir = outOf(s);
        const silence = f.silenced[s] && isG711(this.#leg(s).resolvedMedia!);
        // a silenced leg whose codec has no silence we can write is dropped instead
        r.setBlocked(dir, f.blocked[s] || !f.sending[other(s)] || (f.silenced[s] && !silence));
        r.setSilenced(dir, silence);
      }
    }
  }

  /** Ends the bridge: both legs go back to their own graphs. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopRelay();
    this.#stopGraph();
    this.a.bridgeClosed(this);
    this.b.bridgeClosed(this);
    this.safeEmit('close');
  }
}

function isG711(m: ResolvedMedia): boolean {
  return m.codec.name === 'PCMU' || m.codec.name === 'PCMA';
}
