/**
 * One leg's operations while it is bridged (the LegHost of a bridged leg):
 * prompts, recordings and digits we send run on the bridge's graphs, which
 * the bridge makes for as long as they need them; figures come from the
 * graphs and from the relays the bridge went through.
 */
import { InvalidStateError } from '../errors';
import type { NativeRtcpPacket } from '../native';
import { lossMetrics, type LegLossMetrics, type PlcKind } from '../media/meters';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { LegStreams } from '../streams/LegStreams';
import type { BridgeControl, BridgedLeg, Side } from './bridgeTypes';
import type { LegHost, WavFormat } from './host';
import { addTotals, emptyTotals, withRelay } from './relayFigures';

/** After a digit we sent, the graphs stay this long past its end before the bridge may relay again. */
const DIGIT_TAIL_MS = 200;

export class BridgeSide implements LegHost {
  readonly mode = 'bridged' as const;
  readonly #bridge: BridgeControl;
  readonly #side: Side;
  readonly #leg: BridgedLeg;
  #recording?: number;
  #play?: Promise<unknown>;
  #digitTimer?: NodeJS.Timeout;
  #streams?: LegStreams;
  readonly #relink = () => {
    if (!this.#bridge.closed && this.#streams) this.#bridge.setStreams(this.#side, this.#streams);
  };

  constructor(bridge: BridgeControl, side: Side, leg: BridgedLeg) {
    this.#bridge = bridge;
    this.#side = side;
    this.#leg = leg;
  }

  get #key(): string {
    return this.#side;
  }

  startFile(path: string, info: WavFormat, onEof: () => void): void {
    this.#bridge.need(`play:${this.#key}`, true);
    const p = this.#bridge.gateway().play(this.#side, path, info);
    this.#play = p;
    p.then((r) => {
      if (this.#play === p && r.reason === 'eof') onEof();
      // the next file of a list started meanwhile keeps the graphs
      if (this.#play === p) {
        this.#play = undefined;
        this.#bridge.need(`play:${this.#key}`, false);
      }
    });
  }

  stopFile(): number | undefined {
    const gw = this.#bridge.currentGateway;
    const pos = gw && !gw.closed ? gw.stopPlay(this.#side) : undefined;
    this.#play = undefined;
    if (!this.#bridge.closed) this.#bridge.need(`play:${this.#key}`, false);
    return pos;
  }

  startRecording(path: string, both: boolean): void {
    this.#bridge.need(`record:${this.#key}`, true);
    try {
      this.#recording = this.#bridge.gateway().startRecording(path, { legs: both ? ['a', 'b'] : [this.#side] });
    } catch (err) {
      this.#bridge.need(`record:${this.#key}`, false);
      throw err;
    }
  }

  stopRecording(): void {
    const id = this.#recording;
    this.#recording = undefined;
    const gw = this.#bridge.currentGateway;
    if (id !== undefined && gw && !gw.closed) gw.stopRecording(id);
    if (!this.#bridge.closed) this.#bridge.need(`record:${this.#key}`, false);
  }

  recordingRate(both: boolean): number {
    const legs = both ? [this.#bridge.a, this.#bridge.b] : [this.#leg];
    return legs.some((l) => l.resolvedMedia!.codec.audioRate >= 16000) ? 16000 : 8000;
  }

  inputLevel(): number | undefined {
    const gw = this.#bridge.currentGateway;
    return gw && !gw.closed ? gw.audioLevel(this.#side) : undefined;
  }

  sendDigit(digit: string, durationMs: number, rfc4733: boolean): void {
    if (!rfc4733 && !this.canSendInband())
      throw new InvalidStateError('no in-band tone can be added towards this leg while bridged');
    // our sender is a graph's: the bridge keeps graphs until the digit is over
    clearTimeout(this.#digitTimer);
    this.#bridge.need(`dtmf:${this.#key}`, true);
    this.#bridge.gateway().sendDtmf(this.#side, digit, { durationMs });
    this.#digitTimer = setTimeout(() => {
      if (!this.#bridge.closed) this.#bridge.need(`dtmf:${this.#key}`, false);
    }, durationMs + DIGIT_TAIL_MS);
    this.#digitTimer.unref();
  }

  canSendInband(): boolean {
    const gw = this.#bridge.currentGateway;
    // a relayed bridge has no encoder to mix a tone in; a transcoded one has a generator
    return !!gw && !gw.closed && gw.generatorTo(this.#side) !== undefined;
  }

  setMuted(on: boolean): void {
    this.#bridge.flags.silenced[this.#side] = on;
    if (!this.#bridge.closed) this.#bridge.applyFlags();
  }

  setSending(on: boolean): void {
    this.#bridge.flags.sending[this.#side] = on;
    if (!this.#bridge.closed) this.#bridge.applyFlags();
  }

  lossMetrics(): LegLossMetrics {
    const ptime = this.#leg.resolvedMedia!.ptime;
    const relayed = this.#bridge.relayTotals(this.#side).loss;
    const gw = this.#bridge.currentGateway;
    const graph = gw && !gw.closed ? gw.lossMetrics(this.#side) : undefined;
    const c = graph ? addTotals({ ...emptyTotals(), loss: relayed }, { ...emptyTotals(), loss: graph }).loss : relayed;
    return lossMetrics(c, ptime);
  }

  plc(): PlcKind | 'relayed' {
    const gw = this.#bridge.currentGateway;
    return this.#bridge.relayed || !gw ? 'relayed' : gw.plc(this.#side);
  }

  speechLevel(): number | undefined {
    return this.#bridge.speechLevel(this.#side);
  }

  stats(): RtpStats {
    const r = this.#bridge.currentRelay;
    const live = r && !r.closed ? r.stats()[this.#side === 'a' ? 'aToB' : 'bToA'] : undefined;
    return withRelay(this.#leg.endpoint.stats(), this.#bridge.relayTotals(this.#side), live);
  }

  rtcp(): NativeRtcpPacket[] {
    const r = this.#bridge.currentRelay;
    if (!r || r.closed) return [];
    const mine = r.rtcp()[this.#side];
    return [...(mine.sr ?? []), ...(mine.rr ?? []), ...(mine.xr ?? [])].map((p) => ({ ...p, direction: 'received' }));
  }

  setStreams(s: LegStreams): void {
    this.#streams = s;
    s.bind(this.#relink);
    this.#relink();
  }

  release(): void {
    clearTimeout(this.#digitTimer);
    this.#streams?.unbind(this.#relink);
    this.#bridge.close();
  }
}
