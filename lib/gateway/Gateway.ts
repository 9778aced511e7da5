import { InvalidArgumentError, InvalidStateError, UnknownNameError } from '../errors';
import { CODECS, defaultPayloadType, findCodec, ptimeOptions, validateFmtp, type CodecInfo } from '../codecs/table';
import { parseCodec2Fmtp } from '../codecs/fmtp';
import { Factory } from '../graph/Factory';
import { constants } from '../native';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import { Ticker, type TickerStats } from '../graph/Ticker';
import {
  OpusEncoder,
  type Decoder,
  type Encoder,
  type LossCounters,
  type LevelMeter,
  powerToDbm0,
  type LossMeter,
  type DtmfGenerator,
  type FileRecorder,
  type OpusSettings,
  type RtpSender,
} from '../graph/filters';
import { RtpEndpoint, type JitterBufferOptions, type RtpAddress, type RtpStats } from '../rtp/RtpEndpoint';
import type { PayloadTypeSpec } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';
import { Playback, type GatewayPlayEndReason, type GatewayPlayResult } from './playback';
import type { LegLossMetrics, PlcKind } from '../quality/source';

export type { GatewayPlayEndReason, GatewayPlayResult } from './playback';

/** The media format of one leg: what it sends and receives. */
export interface LegMedia {
  /** SDP encoding name: PCMU, PCMA, G722, G729, opus, CODEC2. */
  codec: string;
  /** RTP payload type (default: the codec's static or usual dynamic type). */
  payloadType?: number;
  /** Packet time in ms for what we send on this leg (default: the codec's). */
  ptime?: number;
  /** Codec parameters as negotiated (a=fmtp value), given to encoder and decoder. */
  fmtp?: string;
  /** Encoder bit rate in bit/s where the codec has one. */
  bitrate?: number;
  /** Opus encoder settings for what we send on this leg (when its codec is opus). */
  opus?: OpusSettings;
  /** Payload type of RFC 4733 telephone-event on this leg, if negotiated. */
  telephoneEvent?: number;
}

export interface GatewayLegOptions extends LegMedia {
  /** Local address to bind, and optional fixed ports (0/absent: a free even/odd pair). */
  local?: { address: string; port?: number; rtcpPort?: number };
  /** An endpoint bound beforehand (e.g. from a port pool); the gateway then does not close it. */
  endpoint?: RtpEndpoint;
  /** Where to send this leg's RTP. May be set later with leg.setRemote(). */
  remote?: RtpAddress;
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  /** RTCP on this leg (default true). */
  rtcp?: boolean;
}

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
   * they are forwarded as they come, like rtpengine does, ~5 ms instead of
   * the buffer's 60 ms nominal and less CPU; the peers buffer them anyway).
   * Transcoded legs always use their jitter buffer.
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
   * counter (no burst/gap) and the levels are unknown; two filters fewer per
   * direction, for the highest density (MediaServer quality: false).
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

export interface ResolvedMedia {
  codec: CodecInfo;
  payloadType: number;
  ptime: number;
  fmtp?: string;
  bitrate?: number;
  opus?: OpusSettings;
  telephoneEvent?: number;
}

/** @internal Validates a leg's media and fills in defaults. */
export function resolveMedia(name: string, m: LegMedia): ResolvedMedia {
  const codec = findCodec(String(m.codec));
  if (!codec || codec.kind !== 'audio' || !codec.mime) {
    const names = Object.values(CODECS)
      .filter((c) => c.kind === 'audio')
      .map((c) => c.name)
      .join(', ');
    throw new UnknownNameError(`Unknown codec ${String(m.codec)} for gateway leg ${name}; supported: ${names}`);
  }
  validateFmtp(codec, m.fmtp);
  const ptimes = ptimeOptions(codec, m.fmtp);
  const ptime = m.ptime ?? ptimes.default;
  if (!ptimes.allowed.includes(ptime))
    throw new InvalidArgumentError(
      `ptime ${ptime} is not allowed for ${codec.name}${m.fmtp ? ` (${m.fmtp})` : ''} on leg ${name}; allowed: ${ptimes.allowed.join(', ')}`,
    );
  if (m.opus && codec.name !== 'opus')
    throw new InvalidArgumentError(`opus settings given for leg ${name}, whose codec is ${codec.name}`);
  const payloadType = m.payloadType ?? defaultPayloadType(codec);
  if (m.telephoneEvent !== undefined && m.telephoneEvent === payloadType)
    throw new InvalidArgumentError(
      `leg ${name}: telephone-event and ${codec.name} cannot share payload type ${payloadType}`,
    );
  return {
    codec,
    payloadType,
    ptime,
    fmtp: m.fmtp,
    bitrate: m.bitrate,
    opus: m.opus,
    telephoneEvent: m.telephoneEvent,
  };
}

/** @internal The payload types an endpoint of this media receives and sends. */
export function profileOf(m: ResolvedMedia): PayloadTypeSpec[] {
  const list: PayloadTypeSpec[] = [
    {
      pt: m.payloadType,
      mime: m.codec.name,
      clockRate: m.codec.clockRate,
      channels: m.codec.sdpChannels,
      fmtp: m.fmtp,
    },
  ];
  if (m.telephoneEvent !== undefined) list.push({ pt: m.telephoneEvent, mime: 'telephone-event', clockRate: 8000 });
  return list;
}

/** One side of the gateway: its RTP endpoint and codec. */
export class GatewayLeg {
  readonly name: 'a' | 'b';
  readonly endpoint: RtpEndpoint;
  /** @internal */
  readonly ownsEndpoint: boolean;
  #media: ResolvedMedia;
  /** The endpoint's own jitter buffer, put back when the leg stops being relayed. */
  readonly #jitterBuffer: JitterBufferOptions | false;

  /** @internal */
  constructor(name: 'a' | 'b', opts: GatewayLegOptions) {
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError(`Expected options for gateway leg ${name}`);
    this.name = name;
    this.#media = resolveMedia(name, opts);
    if (opts.endpoint) {
      this.endpoint = opts.endpoint;
      this.ownsEndpoint = false;
      this.endpoint.setPayloadTypes(profileOf(this.#media), this.#media.payloadType);
      if (opts.remote) this.endpoint.setRemote(opts.remote);
    } else {
      if (!opts.local) throw new InvalidArgumentError(`gateway leg ${name}: give local { address } or an endpoint`);
      this.endpoint = new RtpEndpoint({
        address: opts.local.address,
        port: opts.local.port,
        rtcpPort: opts.local.rtcpPort,
        remote: opts.remote,
        payloadTypes: profileOf(this.#media),
        payloadType: this.#media.payloadType,
        jitterBuffer: opts.jitterBuffer,
        rtcp: opts.rtcp,
      });
      this.ownsEndpoint = true;
    }
    this.#jitterBuffer = this.endpoint.jitterBuffer;
  }

  /** @internal Relayed packets skip the jitter buffer (the peers have theirs); decoded ones use the leg's own. */
  useJitterBuffer(on: boolean): void {
    const want = on ? this.#jitterBuffer : false;
    if (want !== this.endpoint.jitterBuffer) this.endpoint.setJitterBuffer(want);
  }

  get codec(): CodecInfo {
    return this.#media.codec;
  }
  get payloadType(): number {
    return this.#media.payloadType;
  }
  get ptime(): number {
    return this.#media.ptime;
  }
  get fmtp(): string | undefined {
    return this.#media.fmtp;
  }
  get bitrate(): number | undefined {
    return this.#media.bitrate;
  }
  get opus(): OpusSettings | undefined {
    return this.#media.opus;
  }
  get telephoneEvent(): number | undefined {
    return this.#media.telephoneEvent;
  }
  get localPort(): number {
    return this.endpoint.port;
  }
  get localRtcpPort(): number {
    return this.endpoint.rtcpPort;
  }

  setRemote(remote: RtpAddress): void {
    this.endpoint.setRemote(remote);
  }

  stats(): RtpStats {
    return this.endpoint.stats();
  }

  /** @internal Validates and applies new media (graph detached). */
  setMedia(m: LegMedia): void {
    const next = resolveMedia(this.name, m);
    this.endpoint.setPayloadTypes(profileOf(next), next.payloadType);
    this.#media = next;
  }

  /** @internal */
  sameFormatAs(other: GatewayLeg): boolean {
    if (this.codec.name !== other.codec.name) return false;
    if (this.codec.name === 'CODEC2') return parseCodec2Fmtp(this.fmtp).mode === parseCodec2Fmtp(other.fmtp).mode;
    return true;
  }
}

export function lossMetrics(c: LossCounters, ptimeMs: number): LegLossMetrics {
  const gapPackets = c.packets - c.burstPackets;
  const gapLost = c.lost - c.burstLost;
  return {
    ...c,
    lossRate: c.packets ? c.lost / c.packets : 0,
    burstDensity: c.burstPackets ? c.burstLost / c.burstPackets : 0,
    gapDensity: gapPackets ? gapLost / gapPackets : 0,
    burstDurationMs: c.bursts ? (c.burstPackets / c.bursts) * ptimeMs : 0,
    gapDurationMs: (gapPackets / (c.bursts + 1)) * ptimeMs,
  };
}

export interface GatewayEvents {
  /** A DTMF digit (RFC 4733) arrived on `leg`; it is forwarded to the other leg when that one negotiated telephone-event. */
  dtmf: (leg: 'a' | 'b', digit: string, info: GatewayDigit) => void;
  close: () => void;
  error: (err: unknown) => void;
}

/** The PCM rate both ends of a direction can run at without a resampler, if any. */
function commonRate(from: CodecInfo, to: CodecInfo): number | undefined {
  const shared = from.rates.filter((r) => to.rates.includes(r));
  return shared.length ? Math.max(...shared) : undefined;
}

/** One direction's filter chain, for inspection (and tests). */
export interface GatewayDirection {
  from: 'a' | 'b';
  to: 'a' | 'b';
  /** Filter names in order, e.g. ['MSRtpRecv', 'MSUlawDec', 'RmsOpusEnc', 'MSRtpSend']. */
  chain: string[];
  /** True when packets are relayed without decoding. */
  relay: boolean;
  /** PCM rate out of the decoder and into the encoder (0 when relaying). */
  decodeRate: number;
  encodeRate: number;
}

/**
 * The transcoding gateway of the original module: two legs with their own
 * codecs, bridged by `rtprecv → decoder → [resampler] → encoder → rtpsend`
 * in each direction, running on one ticker; or, when both legs share a codec,
 * `rtprecv → rtpsend` (a relay, no decoding).
 */
export class Gateway extends SafeEmitter<GatewayEvents> {
  readonly a: GatewayLeg;
  readonly b: GatewayLeg;
  #directions: GatewayDirection[] = [];
  #graph = new Graph();
  readonly #factory: Factory;
  readonly #ticker: Ticker;
  readonly #ownTicker: boolean;
  readonly #relay: 'auto' | 'never';
  readonly #relayJitterBuffer: boolean;
  readonly #plc: boolean;
  readonly #inband: { a: boolean; b: boolean };
  #generators = new Map<'a' | 'b', DtmfGenerator>();
  /** DTMF from these legs is not passed on (ng "block DTMF"). */
  #dtmfBlocked = { a: false, b: false };
  /** Call recording: both directions, decoded, mixed into one WAV. */
  #recording?: { file: string; rate: number; started: number; recorder?: FileRecorder; mixer?: Filter };
  #plcKinds = new Map<'a' | 'b', PlcKind>();
  #roots: Filter<any>[] = [];
  #senders = new Map<'a' | 'b', RtpSender>();
  /** The filter that feeds each leg's sender (the encoder, or the loss meter of a relay). */
  #feeds = new Map<'a' | 'b', Filter>();
  #plays = new Map<'a' | 'b', Playback>();
  #meters = new Map<'a' | 'b', LossMeter>();
  readonly #withMeters: boolean;
  #levels = new Map<'a' | 'b', LevelMeter>();
  #sending = { a: true, b: true };
  // active-speech level per leg: sum of linear power and count of samples above -50 dBm0
  /** Speech power of meters already gone (a graph rebuilt by a re-INVITE, or closed). */
  #speech = { a: { power: 0, n: 0 }, b: { power: 0, n: 0 } };
  #running = false;
  #closed = false;

  constructor(opts: GatewayOptions) {
    super();
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('Expected gateway options { a, b }');
    this.#factory = opts.factory ?? Factory.shared();
    this.#relay = opts.relay ?? 'auto';
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

  get directions(): readonly GatewayDirection[] {
    return this.#directions;
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
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
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
  setSending(leg: 'a' | 'b', on: boolean): void {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    this.#sending[leg] = on;
    const s = this.#senders.get(leg);
    if (s) {
      if (on) s.unmute();
      else s.mute();
    }
  }

  /**
   * Changes codecs, payload types or ptime of one or both legs on a live call
   * (a re-INVITE): the graph is detached, rebuilt and re-attached; the RTP
   * sockets, SSRCs and sequence numbers stay.
   */
  reconfigure(changes: { a?: LegMedia; b?: LegMedia }): void {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    this.#rebuild(changes);
  }

  /**
   * Starts recording the call: what each leg sends, decoded and mixed, into
   * one WAV (16 kHz when a leg is wideband, else 8 kHz). The graph is rebuilt
   * detached (a tick of silence; a file playing ends with 'reconfigured').
   * The path must already be checked by the caller (media roots).
   */
  startRecording(file: string): void {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    if (this.#recording) throw new InvalidStateError(`The call is already being recorded to ${this.#recording.file}`);
    const wide = [this.a, this.b].some((l) => l.codec.audioRate >= 16000);
    this.#recording = { file, rate: wide ? 16000 : 8000, started: Date.now() };
    try {
      this.#rebuild({});
    } catch (err) {
      this.#recording = undefined;
      this.#rebuild({});
      throw err;
    }
  }

  /** Stops the recording (the WAV is complete when this returns); undefined when not recording. */
  stopRecording(): { file: string; durationMs: number } | undefined {
    const r = this.#recording;
    if (!r) return undefined;
    this.#finishRecording();
    if (!this.#closed) this.#rebuild({});
    return { file: r.file, durationMs: Date.now() - r.started };
  }

  get recording(): string | undefined {
    return this.#recording?.file;
  }

  #finishRecording(): void {
    const rec = this.#recording?.recorder;
    this.#recording = undefined;
    if (rec && !rec.closed) {
      rec.stop();
      rec.closeFile();
    }
  }

  /** Stops (or resumes) passing DTMF from `leg` to the other leg (RFC 4733 events; in-band tones stay in the audio). */
  blockDtmf(leg: 'a' | 'b', blocked = true): void {
    this.#dtmfBlocked[leg] = blocked;
  }

  #rebuild(changes: { a?: LegMedia; b?: LegMedia }): void {
    const wasRunning = this.#running;
    this.stop();
    this.#dropPlays('reconfigured');
    // complete the WAV so far; the next graph appends to it
    const oldRec = this.#recording?.recorder;
    if (oldRec && !oldRec.closed) {
      oldRec.stop();
      oldRec.closeFile();
    }
    this.#keepSpeech();
    this.#graph.close();
    this.#graph = new Graph();
    this.#roots = [];
    this.#senders.clear();
    this.#feeds.clear();
    this.#meters.clear();
    this.#plcKinds.clear();
    this.#generators.clear();
    this.#directions = [];
    if (changes.a) this.a.setMedia(changes.a);
    if (changes.b) this.b.setMedia(changes.b);
    this.#build();
    if (wasRunning) this.start();
  }

  /**
   * Loss, burst and gap metrics of what `leg` received and played out (late
   * packets count as lost), since the graph last started.
   */
  lossMetrics(leg: 'a' | 'b'): LegLossMetrics {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    const l = leg === 'a' ? this.a : this.b;
    const meter = this.#meters.get(leg);
    if (meter) return lossMetrics(meter.counters(), l.ptime);
    // no meter: oRTP's counters, every loss counted as gap (no burst seen)
    const st = l.endpoint.stats();
    const lost = Math.max(0, st.lost);
    return lossMetrics(
      { packets: st.packetsReceived + lost, lost, burstPackets: 0, burstLost: 0, bursts: 0, gmin: 16 },
      l.ptime,
    );
  }

  /** The concealment applied to what `leg` receives ('none' when it is relayed). */
  plc(leg: 'a' | 'b'): PlcKind {
    return this.#plcKinds.get(leg) ?? 'none';
  }

  /**
   * Level of the audio decoded from `leg` over the last 200 ms, in dBm0 (a
   * full-scale sine is +3.17 dBm0), or undefined when the leg is relayed
   * without decoding or before 200 ms of audio were decoded.
   */
  audioLevel(leg: 'a' | 'b'): number | undefined {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    const v = this.#levels.get(leg);
    if (!v) return undefined;
    return v.reading().levelDbm0;
  }

  /**
   * RFC 3611 signal level of `leg`: the mean power of its decoded audio over
   * the 200 ms blocks that held speech (above -50 dBm0), measured natively on
   * every block, in dBm0; undefined when relayed or when nothing loud enough
   * was heard. Survives re-INVITEs and close().
   */
  speechLevel(leg: 'a' | 'b'): number | undefined {
    const r = this.#closed ? undefined : this.#levels.get(leg)?.reading();
    const power = this.#speech[leg].power + (r?.speechPowerSum ?? 0);
    const n = this.#speech[leg].n + (r?.speechBlocks ?? 0);
    return n ? powerToDbm0(power / n) : undefined;
  }

  /** Folds the live meters' speech power into #speech before they are freed. */
  #keepSpeech(): void {
    for (const [leg, m] of this.#levels) {
      if (m.closed) continue;
      const r = m.reading();
      this.#speech[leg].power += r.speechPowerSum;
      this.#speech[leg].n += r.speechBlocks;
    }
    this.#levels.clear();
  }

  stats(): { a: RtpStats; b: RtpStats; ticker: TickerStats } {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    return { a: this.a.stats(), b: this.b.stats(), ticker: this.#ticker.stats() };
  }

  /** Stops media and frees filters, its own sockets and (if its own) the ticker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#graph.detach();
    this.#keepSpeech();
    this.#closed = true;
    this.#dropPlays('closed');
    this.#finishRecording();
    this.#graph.close();
    for (const leg of [this.a, this.b]) {
      if (leg.ownsEndpoint) leg.endpoint.close();
      // a lent endpoint (a CallLeg's, back to its IVR graph) gets its own jitter buffer back
      else if (!leg.endpoint.closed) leg.useJitterBuffer(true);
    }
    if (this.#ownTicker) this.#ticker.close();
    this.safeEmit('close');
  }

  // Each leg has its own telephone-event payload type (or none): the event is
  // re-sent by the other leg's MSRtpSend with that leg's type. It crosses the
  // main thread, which costs a few ms on a 40 ms+ event.
  #onTelephoneEvent(from: 'a' | 'b', digit: string | undefined): void {
    if (digit === undefined || this.#closed) return;
    const to = from === 'a' ? this.b : this.a;
    if (!this.#dtmfBlocked[from]) this.#forwardDigit(to, digit);
    this.safeEmit('dtmf', from, digit, { digit, source: 'rfc4733' });
  }

  // RFC 4733 where the leg has telephone-event, else an in-band tone mixed
  // into what we send it (DTMF interworking).
  #forwardDigit(to: GatewayLeg, digit: string): void {
    if (!this.#sending[to.name]) return;
    if (to.telephoneEvent !== undefined) {
      const sender = this.#senders.get(to.name);
      if (sender && !sender.closed) sender.sendDtmf(digit);
    } else {
      const gen = this.#generators.get(to.name);
      if (gen && !gen.closed) gen.play(digit);
    }
  }

  #onInbandDigit(from: 'a' | 'b', digit: string, durationMs: number): void {
    if (this.#closed) return;
    const to = from === 'a' ? this.b : this.a;
    // the tone itself reaches a leg without telephone-event in the audio
    if (to.telephoneEvent !== undefined && !this.#dtmfBlocked[from]) this.#forwardDigit(to, digit);
    this.safeEmit('dtmf', from, digit, { digit, source: 'inband', durationMs });
  }

  /**
   * Sends one DTMF digit to `to`, as if the other leg had sent it: an RFC 4733
   * event when `to` negotiated telephone-event, else an in-band tone mixed
   * into the transcoded audio (a relayed leg without telephone-event cannot
   * get one: InvalidStateError). Returns which one was sent.
   */
  sendDtmf(to: 'a' | 'b', digit: string, opts: { durationMs?: number } = {}): 'rfc4733' | 'inband' {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit))
      throw new InvalidArgumentError(`Expected one DTMF digit (0-9 * # A-D) but received ${JSON.stringify(digit)}`);
    const durationMs = opts.durationMs ?? 100;
    if (!(durationMs >= 40 && durationMs <= 5000)) throw new InvalidArgumentError('durationMs must be 40..5000');
    const leg = to === 'a' ? this.a : this.b;
    if (leg.telephoneEvent !== undefined) {
      const sender = this.senderTo(to);
      // ms2 counts the event length in RTP timestamp units of the leg's clock
      sender.setDtmfDuration((durationMs * leg.codec.clockRate) / 1000);
      sender.sendDtmf(digit);
      return 'rfc4733';
    }
    const gen = this.#generators.get(to);
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

  /**
   * Plays a WAV (8-48 kHz, any channel count, already checked by the
   * caller, e.g. with MediaRoots.wav()) to `to` instead of what the other leg
   * sends, `repeat` times (default 1); the other leg's audio comes back when
   * it ends. A play on a leg that is playing replaces it. Resolves when it
   * ends (end of file, stopPlay(), replaced, reconfigure or close).
   */
  play(
    to: 'a' | 'b',
    file: string,
    info: { rate: number; channels: number },
    opts: { repeat?: number } = {},
  ): Promise<GatewayPlayResult> {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    const repeat = opts.repeat ?? 1;
    if (!Number.isInteger(repeat) || repeat < 1) throw new InvalidArgumentError('repeat must be a positive integer');
    this.stopPlay(to, 'replaced');
    const parts = {
      graph: this.#graph,
      factory: this.#factory,
      leg: to === 'a' ? this.a : this.b,
      sender: this.senderTo(to),
      feed: this.#feeds.get(to)!,
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
  playing(to: 'a' | 'b'): boolean {
    return this.#plays.has(to);
  }

  /** Ends the play on `to` (its promise resolves with `reason`); returns the position it reached, ms. */
  stopPlay(to: 'a' | 'b', reason: GatewayPlayEndReason = 'stopped'): number | undefined {
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

  #endPlay(to: 'a' | 'b', p: Playback, reason: GatewayPlayEndReason, positionMs = 0): void {
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

  /** @internal The MSRtpSend towards `leg` (for DTMF sent by a CallLeg). */
  senderTo(leg: 'a' | 'b'): RtpSender {
    const s = this.#senders.get(leg);
    if (!s) throw new InvalidStateError('Gateway has no sender');
    return s;
  }

  /** @internal The in-band DTMF generator before the encoder towards `leg`, when it is transcoded. */
  generatorTo(leg: 'a' | 'b'): DtmfGenerator | undefined {
    return this.#generators.get(leg);
  }

  #build(): void {
    // a relay cannot turn RFC 4733 into tones, so legs that differ in
    // telephone-event are decoded (DTMF interworking)
    const relay =
      this.#relay === 'auto' &&
      this.a.sameFormatAs(this.b) &&
      (this.a.telephoneEvent === undefined) === (this.b.telephoneEvent === undefined);
    for (const leg of [this.a, this.b]) leg.useJitterBuffer(!relay || this.#relayJitterBuffer);
    const rec = this.#recording;
    if (rec) {
      const mixer = this.#graph.add(this.#factory.createFilter('MSAudioMixer'));
      mixer.setSampleRate(rec.rate);
      mixer.call('MS_FILTER_SET_NCHANNELS', 1);
      const recorder = this.#graph.add(this.#factory.fileRecorder());
      recorder.setSampleRate(rec.rate);
      mixer.link(recorder);
      // a rebuild while recording (re-INVITE) appends to the same file
      if (rec.recorder) recorder.call('MS_FILE_REC_OPEN', rec.file);
      else recorder.open(rec.file);
      recorder.start();
      rec.recorder = recorder;
      rec.mixer = mixer;
    }
    this.#buildDirection(this.a, this.b, relay);
    this.#buildDirection(this.b, this.a, relay);
  }

  /**
   * The recording tap of one direction: a tee after `at` in the chain, its
   * second output decoded (when relayed) and resampled into the mixer.
   */
  #tap(chain: Filter<any>[], at: Filter<any>, from: GatewayLeg, decodedRate: number): () => void {
    const rec = this.#recording!;
    const g = this.#graph;
    const f = this.#factory;
    const tee = g.add(f.createFilter('MSTee'));
    chain.splice(chain.indexOf(at) + 1, 0, tee);
    return () => {
      let head: Filter<any> = tee;
      let rate = decodedRate;
      let first = true;
      const next = <T extends Filter<any>>(x: T): T => {
        if (first) tee.link(x, { from: 1 });
        else head.link(x);
        first = false;
        head = x;
        return x;
      };
      if (!rate) {
        const dec = next(g.add(f.createDecoder(from.codec.mime!)));
        dec.addFmtpIfSupported(from.fmtp);
        rate = from.codec.rates.includes(rec.rate) ? rec.rate : from.codec.audioRate;
        if (from.codec.rates.length > 1) dec.setSampleRate(rate);
        if (from.codec.name === 'opus') dec.setChannels(1);
      }
      if (rate !== rec.rate) next(g.add(f.resampler())).setRates(rate, rec.rate);
      const pin = from.name === 'a' ? 0 : 1;
      if (first) tee.link(rec.mixer!, { from: 1, to: pin });
      else head.link(rec.mixer!, { to: pin });
    };
  }

  #buildDirection(from: GatewayLeg, to: GatewayLeg, relay: boolean): void {
    const factory = this.#factory;
    const g = this.#graph;
    const recv = g.add(factory.rtpReceiver());
    recv.setEndpoint(from.endpoint);
    const meter = this.#withMeters ? g.add(factory.lossMeter()) : undefined;
    if (meter) this.#meters.set(from.name, meter);
    const chain: Filter<any>[] = meter ? [recv, meter] : [recv];
    let decodeRate = 0;
    let encodeRate = 0;
    if (!relay) {
      const dec: Decoder = g.add(factory.createDecoder(from.codec.mime!));
      dec.addFmtpIfSupported(from.fmtp);
      const enc: Encoder = g.add(factory.encoderFor(to.codec));
      if (to.fmtp) enc.addFmtp(to.fmtp);
      if (to.opus && enc instanceof OpusEncoder) enc.configure(to.opus);
      const shared = commonRate(from.codec, to.codec);
      decodeRate = shared ?? from.codec.audioRate;
      encodeRate = shared ?? to.codec.audioRate;
      if (from.codec.rates.length > 1) dec.setSampleRate(decodeRate);
      if (to.codec.rates.length > 1) enc.setSampleRate(encodeRate);
      if (from.codec.name === 'opus') dec.setChannels(1);
      if (to.bitrate !== undefined) enc.setBitrate(to.bitrate);
      enc.setPacketTime(to.ptime);
      // a level meter on the decoded audio, for RTCP XR signal/noise levels
      const level = this.#withMeters ? g.add(factory.levelMeter(decodeRate)) : undefined;
      if (level) this.#levels.set(from.name, level);
      chain.push(dec);
      this.#plcKinds.set(from.name, 'none');
      if (this.#plc) {
        if (dec.hasPlc()) {
          if (dec.hasMethod('MS_DECODER_ENABLE_PLC')) dec.call('MS_DECODER_ENABLE_PLC', 1);
          this.#plcKinds.set(from.name, 'decoder');
        } else {
          const plc = g.add(factory.createFilter(constants().filterIds.MS_GENERIC_PLC_ID));
          plc.setSampleRate(decodeRate);
          if (plc.hasMethod('MS_FILTER_SET_NCHANNELS')) plc.call('MS_FILTER_SET_NCHANNELS', 1);
          chain.push(plc);
          this.#plcKinds.set(from.name, 'generic');
        }
      }
      if (level) chain.push(level);
      if (this.#inband[from.name] && (decodeRate === 8000 || decodeRate === 16000)) {
        const det = g.add(factory.dtmfDetector(decodeRate));
        const name = from.name;
        det.on('digit', (d) => this.#onInbandDigit(name, d.digit, d.durationMs));
        chain.push(det);
      }
      if (decodeRate !== encodeRate) {
        const rs = g.add(factory.resampler());
        rs.setRates(decodeRate, encodeRate);
        chain.push(rs);
      }
      if (to.telephoneEvent === undefined) {
        const gen = g.add(factory.dtmfGenerator());
        gen.setSampleRate(encodeRate);
        this.#generators.set(to.name, gen);
        chain.push(gen);
      }
      chain.push(enc);
    }
    const send = g.add(factory.rtpSender());
    send.setEndpoint(to.endpoint);
    if (!this.#sending[to.name]) send.mute();
    chain.push(send);
    const linkTap = this.#recording
      ? this.#tap(chain, relay ? (meter ?? recv) : chain[meter ? 2 : 1], from, relay ? 0 : decodeRate)
      : undefined;
    for (let i = 0; i + 1 < chain.length; i++) chain[i].link(chain[i + 1]);
    linkTap?.();
    // with a recording both directions meet in its mixer: one graph, one root
    if (!this.#recording || this.#roots.length === 0) this.#roots.push(recv);
    this.#senders.set(to.name, send);
    this.#feeds.set(to.name, chain[chain.length - 2]);
    this.#directions.push({
      from: from.name,
      to: to.name,
      chain: chain.map((f) => f.name),
      relay,
      decodeRate,
      encodeRate,
    });
  }
}
