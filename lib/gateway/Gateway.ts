import { InvalidArgumentError, InvalidStateError, UnknownNameError } from '../errors';
import { CODECS, defaultPayloadType, findCodec, ptimeOptions, validateFmtp, type CodecInfo } from '../codecs/table';
import { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import { Ticker, type TickerStats } from '../graph/Ticker';
import { OpusEncoder, type Decoder, type Encoder, type OpusSettings, type RtpReceiver } from '../graph/filters';
import { RtpEndpoint, type JitterBufferOptions, type RtpAddress, type RtpStats } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';

export interface GatewayLegOptions {
  /** Local address to bind, and optional fixed ports (0/absent: system's choice). */
  local: { address: string; port?: number; rtcpPort?: number };
  /** Where to send this leg's RTP. May be set later with leg.setRemote(). */
  remote?: RtpAddress;
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
}

/** One side of the gateway: its RTP endpoint and codec. */
export class GatewayLeg {
  readonly name: 'a' | 'b';
  readonly codec: CodecInfo;
  readonly payloadType: number;
  readonly ptime: number;
  readonly fmtp?: string;
  readonly bitrate?: number;
  readonly opus?: OpusSettings;
  readonly endpoint: RtpEndpoint;

  /** @internal */
  constructor(name: 'a' | 'b', opts: GatewayLegOptions) {
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError(`Expected options for gateway leg ${name}`);
    const codec = findCodec(String(opts.codec));
    if (!codec || codec.kind !== 'audio' || !codec.mime) {
      const names = Object.values(CODECS)
        .filter((c) => c.kind === 'audio')
        .map((c) => c.name)
        .join(', ');
      throw new UnknownNameError(`Unknown codec ${String(opts.codec)} for gateway leg ${name}; supported: ${names}`);
    }
    validateFmtp(codec, opts.fmtp);
    const ptimes = ptimeOptions(codec, opts.fmtp);
    const ptime = opts.ptime ?? ptimes.default;
    if (!ptimes.allowed.includes(ptime))
      throw new InvalidArgumentError(
        `ptime ${ptime} is not allowed for ${codec.name}${opts.fmtp ? ` (${opts.fmtp})` : ''} on leg ${name}; allowed: ${ptimes.allowed.join(', ')}`,
      );
    this.name = name;
    this.codec = codec;
    this.payloadType = opts.payloadType ?? defaultPayloadType(codec);
    this.ptime = ptime;
    this.fmtp = opts.fmtp;
    this.bitrate = opts.bitrate;
    this.opus = opts.opus;
    this.endpoint = new RtpEndpoint({
      address: opts.local.address,
      port: opts.local.port,
      rtcpPort: opts.local.rtcpPort,
      remote: opts.remote,
      payloadTypes: [
        {
          pt: this.payloadType,
          mime: codec.name,
          clockRate: codec.clockRate,
          channels: codec.sdpChannels,
          fmtp: opts.fmtp,
        },
      ],
      jitterBuffer: opts.jitterBuffer,
      rtcp: opts.rtcp,
    });
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
}

export interface GatewayEvents {
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
  /** Filter names in order, e.g. ['MSRtpRecv', 'MSUlawDec', 'MSOpusEnc', 'MSRtpSend']. */
  chain: string[];
  /** PCM rate out of the decoder and into the encoder. */
  decodeRate: number;
  encodeRate: number;
}

/**
 * The transcoding gateway of the original module: two legs with their own
 * codecs, bridged by `rtprecv → decoder → [resampler] → encoder → rtpsend`
 * in each direction, running on one ticker.
 */
export class Gateway extends SafeEmitter<GatewayEvents> {
  readonly a: GatewayLeg;
  readonly b: GatewayLeg;
  readonly directions: GatewayDirection[] = [];
  readonly #graph = new Graph();
  readonly #ticker: Ticker;
  readonly #ownTicker: boolean;
  readonly #roots: RtpReceiver[] = [];
  #closed = false;

  constructor(opts: GatewayOptions) {
    super();
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('Expected gateway options { a, b }');
    const factory = opts.factory ?? Factory.shared();
    let a: GatewayLeg | undefined;
    let b: GatewayLeg | undefined;
    let ticker: Ticker | undefined;
    try {
      a = new GatewayLeg('a', opts.a);
      this.#graph.addEndpoint(a.endpoint);
      b = new GatewayLeg('b', opts.b);
      this.#graph.addEndpoint(b.endpoint);
      this.#buildDirection(factory, a, b);
      this.#buildDirection(factory, b, a);
      ticker = opts.ticker ?? new Ticker({ name: 'rms-gateway' });
    } catch (err) {
      this.#graph.close();
      if (!a) void 0;
      throw err;
    }
    this.a = a;
    this.b = b;
    this.#ticker = ticker;
    this.#ownTicker = !opts.ticker;
    if (opts.start ?? true) this.start();
  }

  get running(): boolean {
    return this.#graph.running;
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
  }

  /** Stops media (sockets stay open); start() resumes. */
  stop(): void {
    this.#graph.detach();
  }

  stats(): { a: RtpStats; b: RtpStats; ticker: TickerStats } {
    if (this.#closed) throw new InvalidStateError('Gateway is closed');
    return { a: this.a.stats(), b: this.b.stats(), ticker: this.#ticker.stats() };
  }

  /** Stops media and frees filters, sockets and (if its own) the ticker. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#graph.close();
    if (this.#ownTicker) this.#ticker.close();
    this.safeEmit('close');
  }

  #buildDirection(factory: Factory, from: GatewayLeg, to: GatewayLeg): void {
    const g = this.#graph;
    const recv = g.add(factory.rtpReceiver());
    recv.setEndpoint(from.endpoint);
    const dec: Decoder = g.add(factory.createDecoder(from.codec.mime!));
    if (from.fmtp && dec.hasMethod('MS_FILTER_ADD_FMTP')) dec.addFmtp(from.fmtp);
    const enc: Encoder = g.add(
      to.codec.encoderFilter
        ? (factory.createFilter(to.codec.encoderFilter) as Encoder)
        : factory.createEncoder(to.codec.mime!),
    );
    if (to.fmtp) enc.addFmtp(to.fmtp);
    if (to.opus) {
      if (!(enc instanceof OpusEncoder))
        throw new InvalidArgumentError(`opus settings given for leg ${to.name}, whose codec is ${to.codec.name}`);
      enc.configure(to.opus);
    }

    const shared = commonRate(from.codec, to.codec);
    const decodeRate = shared ?? from.codec.audioRate;
    const encodeRate = shared ?? to.codec.audioRate;
    if (from.codec.rates.length > 1) dec.setSampleRate(decodeRate);
    if (to.codec.rates.length > 1) enc.setSampleRate(encodeRate);
    if (to.codec.name === 'opus') enc.setChannels(1);
    if (from.codec.name === 'opus') dec.setChannels(1);
    if (to.bitrate !== undefined) enc.setBitrate(to.bitrate);
    if (enc.hasPtime()) enc.setPtime(to.ptime);
    else enc.addFmtp(`ptime=${to.ptime}`);

    const chain: Filter<any>[] = [recv, dec];
    if (decodeRate !== encodeRate) {
      const rs = g.add(factory.resampler());
      rs.setRates(decodeRate, encodeRate);
      chain.push(rs);
    }
    chain.push(enc);
    const send = g.add(factory.rtpSender());
    send.setEndpoint(to.endpoint);
    chain.push(send);
    for (let i = 0; i + 1 < chain.length; i++) chain[i].link(chain[i + 1]);
    this.#roots.push(recv);
    this.directions.push({ from: from.name, to: to.name, chain: chain.map((f) => f.name), decodeRate, encodeRate });
  }
}
