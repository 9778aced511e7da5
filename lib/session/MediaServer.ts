import { isIP } from 'node:net';
import * as os from 'node:os';
import type { CodecName } from '../codecs/table';
import { InvalidArgumentError, InvalidStateError, RmsError } from '../errors';
import { Factory } from '../graph/Factory';
import type { TickerPriority } from '../graph/Ticker';
import type { OpusSettings } from '../graph/filters';
import type { JitterBufferOptions, LatchMode } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';
import { SdpError } from '../sdp/parse';
import {
  DuplicateOfferError,
  MediaSession,
  type SessionInfo,
  type SessionState,
  type SessionSummary,
} from './MediaSession';
import { TRANSCODABLE, unknownTranscodeCodecs, type CodecPolicy } from './negotiation';
import { PortPool } from './PortPool';
import { TickerPool } from './TickerPool';
import type { QualityOptions } from '../quality/QualityMonitor';
import type { CallLeg } from '../ivr/CallLeg';
import type { MediaRoots } from '../ivr/mediaRoots';
import { answerWithIvr, type IvrAnswer } from '../ivr/answer';
import { routeNativeLog, type NativeLogRoute } from '../util/log';
import { silentLogger, type Logger } from '../util/logger';

/** An operation named a Call-ID the server does not know. */
export class UnknownCallError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_UNKNOWN_CALL') {
    super(message, code);
  }
}

/** A new call refused because the server is at a configured limit; calls already admitted go on. */
export class AdmissionError extends RmsError {
  readonly reason: 'calls' | 'ticker-load' | 'cpu' | 'ports';
  constructor(message: string, reason: AdmissionError['reason']) {
    super(message, 'ERR_RMS_ADMISSION');
    this.reason = reason;
  }
}

/** Limits past which offer() and ivr() refuse new calls with AdmissionError. */
export interface AdmissionLimits {
  /** Most concurrent calls (sessions and IVR legs). Default: no limit. */
  maxCalls?: number;
  /** Refuse while the mean load of the tickers (ms2's, % of each 10 ms tick) is above this. Default: no limit. */
  maxTickerLoad?: number;
  /** Refuse while this process used more than this % of the machine's CPU (all cores) over the last second. Default: no limit. */
  maxCpu?: number;
  /**
   * Refuse while fewer port pairs than this are free (a call takes two).
   * Default: none; an empty pool refuses with PortsExhaustedError anyway.
   */
  minFreePorts?: number;
}

/** What admission control looks at, now. */
export interface ServerLoad {
  calls: number;
  /** Mean ticker load, %. */
  tickerLoad: number;
  /** CPU this process used over the last second, % of all cores. */
  cpu: number;
  freePorts: number;
}

function checkLimits(l: AdmissionLimits): AdmissionLimits {
  for (const [k, v] of Object.entries(l))
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      throw new InvalidArgumentError(`admission.${k} must be a non-negative number`);
  return l;
}

export interface MediaServerOptions {
  /** Local address to bind RTP sockets on. */
  address: string;
  /** Address written into SDP (e.g. a public address in front of NAT). Default: address. */
  advertisedAddress?: string;
  /** An address of the other IP version, for peers that offer it (e.g. '::1' beside '127.0.0.1'). */
  address6?: string;
  /** Advertised form of address6. Default: address6. */
  advertisedAddress6?: string;
  /** RTP port range, inclusive. Default [30000, 40000]. */
  ports?: [number, number];
  /** Number of tickers (media threads). Default: one per core. */
  tickers?: number;
  /**
   * Scheduling of the tickers. 'high' (the default) asks for SCHED_RR, so
   * that ticks are not delayed by the application's threads or other
   * processes; without the privilege (root or CAP_SYS_NICE) it falls back to
   * nice -20, then to normal. Under load this is what keeps media on time:
   * docs/benchmarks.md measured ~1000 late ticks in 10 s at 220 Opus calls
   * with 'normal' and none with 'high', at the same CPU. Linux still leaves
   * other threads 5 % of each CPU (sched_rt_runtime_us) if a ticker is
   * overloaded. 'normal': plain SCHED_OTHER threads.
   */
  tickerPriority?: TickerPriority;
  /**
   * Tick interval of the tickers, 10 (default) or 20 ms. See
   * TickerOptions.intervalMs and docs/benchmarks.md for what 20 saves.
   */
  tickIntervalMs?: 10 | 20;
  /**
   * Codecs we offer to the callee besides the caller's own, in preference
   * order, so that a callee without the caller's codecs can still be reached
   * through transcoding. Default: PCMU, PCMA, G722, opus, G729, CODEC2.
   */
  codecs?: CodecName[];
  /** Offer codecs the caller did not (transcoding). Default true. */
  transcode?: boolean;
  /**
   * When the callee picks a codec the caller did not offer, the caller's leg
   * uses the caller's first usable codec ('offerer', the default, as RFC 3264
   * expects) or the one cheapest to transcode ('cost').
   */
  prefer?: 'offerer' | 'cost';
  /**
   * Quality monitoring of every answered call (default: on, sampling every 1 s): samples
   * feed RTCP XR signal/noise/MOS and raise VQAlertReport on thresholds, and
   * VQIntervalReport when intervalMs is set; false turns it off, and with
   * it the per-direction loss and level meters (GatewayOptions.meters): the
   * end-of-call report then has loss from oRTP's counter only, no burst/gap
   * or signal level.
   */
  quality?: QualityOptions | false;
  /** RTCP on every leg. Default true. */
  rtcp?: boolean;
  /**
   * Packet loss concealment on transcoded directions (GatewayOptions.plc):
   * the decoder's own where it has one, else MSGenericPLC (~4 µs per 20 ms
   * frame, docs/benchmarks.md). Default true.
   */
  plc?: boolean;
  /** Jitter buffer of every leg (default DEFAULT_JITTER_BUFFER: adaptive, 60 ms nominal); false: none. */
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  /**
   * Who may send media to a leg (RtpEndpointOptions.latch): 'strict'
   * (default: only the address in the peer's SDP), 'once' (the first source,
   * for peers behind NAT), 'always' (follow any source; unsafe).
   */
  latch?: LatchMode;
  /** Admission control (see AdmissionLimits). */
  admission?: AdmissionLimits;
  /**
   * Settings of the Opus encoder of every leg that sends Opus (complexity,
   * bit rate, ...); what the peer's fmtp asks for is applied first, these
   * override it. Default: the encoder's defaults (complexity 5).
   */
  opus?: OpusSettings;
  factory?: Factory;
  /**
   * Where refusals and the native libraries' log lines go (a pino logger or
   * anything with its error/warn/info/debug methods). Given, it takes the
   * process' native log (routeNativeLog) until close(). Default: silent.
   */
  logger?: Logger;
}

export interface MediaServerEvents {
  session: (s: MediaSession) => void;
  state: (s: MediaSession, state: SessionState) => void;
  error: (err: unknown) => void;
}

const DEFAULT_CODECS: CodecName[] = ['PCMU', 'PCMA', 'G722', 'opus', 'G729', 'CODEC2'];

/**
 * The media server of a B2BUA, with the calls of the original module's
 * routing script: offer() on INVITE, answer() on 200 OK, stop() on BYE,
 * sessions() to list them. Calls are keyed by Call-ID.
 */
export class MediaServer extends SafeEmitter<MediaServerEvents> {
  readonly address: string;
  readonly logger: Logger;
  #nativeLog?: NativeLogRoute;
  readonly advertisedAddress: string;
  readonly ports: PortPool;
  readonly tickers: TickerPool;
  readonly #factory: Factory;
  readonly #ownFactory: boolean;
  readonly #sessions = new Map<string, MediaSession>();
  readonly #ivrLegs = new Map<string, CallLeg>();
  #admission: AdmissionLimits;
  #recentAdmits: number[] = [];
  #cpuSample = { at: process.hrtime.bigint(), usage: process.cpuUsage(), percent: 0 };
  readonly #ctx: ConstructorParameters<typeof MediaSession>[0];
  #closed = false;

  constructor(opts: MediaServerOptions) {
    super();
    if (!opts || typeof opts.address !== 'string' || isIP(opts.address) === 0)
      throw new InvalidArgumentError(
        `Expected an IP address for MediaServer address but received ${String(opts?.address)}`,
      );
    const adv = opts.advertisedAddress ?? opts.address;
    if (isIP(adv) === 0)
      throw new InvalidArgumentError(`Expected an IP address for advertisedAddress but received ${adv}`);
    const codecs = opts.codecs ?? DEFAULT_CODECS;
    for (const c of codecs)
      if (!TRANSCODABLE.includes(c))
        throw new InvalidArgumentError(`Unknown codec ${c} in codecs; supported: ${TRANSCODABLE.join(', ')}`);
    this.#admission = checkLimits({ ...opts.admission });
    this.logger = opts.logger ?? silentLogger;
    this.address = opts.address;
    this.advertisedAddress = adv;
    this.ports = new PortPool(opts.ports ?? [30000, 40000]);
    this.#factory = opts.factory ?? new Factory();
    this.#ownFactory = !opts.factory;
    this.tickers = new TickerPool(opts.tickers, opts.tickerPriority ?? 'high', opts.tickIntervalMs ?? 10);
    const alt = opts.address6;
    if (alt !== undefined && (isIP(alt) === 0 || isIP(alt) === isIP(opts.address)))
      throw new InvalidArgumentError(
        `Expected address6 to be an address of the other IP version than ${opts.address}, got ${alt}`,
      );
    const advAlt = opts.advertisedAddress6 ?? alt;
    this.#ctx = {
      factory: this.#factory,
      ports: this.ports,
      tickers: this.tickers,
      bindAddress: opts.address,
      advertisedAddress: adv,
      bindAddressFor: (v: 4 | 6) => {
        if (isIP(opts.address) === v) return opts.address;
        if (alt !== undefined) return alt;
        throw new SdpError(
          `SDP: the peer is at an IPv${v} address, and this media server has no IPv${v} address (see address6)`,
        );
      },
      advertise: (local: string) => (local === alt && advAlt ? advAlt : adv),
      codecs,
      transcode: opts.transcode ?? true,
      prefer: opts.prefer ?? 'offerer',
      quality: opts.quality === false ? undefined : { sampleMs: 1000, ...opts.quality },
      endpointOptions: { rtcp: opts.rtcp, jitterBuffer: opts.jitterBuffer, latch: opts.latch },
      opus: opts.opus,
      plc: opts.plc,
    };
    if (opts.logger) this.#nativeLog = routeNativeLog(opts.logger);
  }

  /** Same as the constructor; async for symmetry with servers that must bind first. */
  static async create(opts: MediaServerOptions): Promise<MediaServer> {
    return new MediaServer(opts);
  }

  /**
   * An offer (INVITE) for `callId`. A new call: binds two port pairs and
   * returns the session, whose `offerSdp` goes to the callee. A re-INVITE on
   * an answered call is refused (use session.reoffer()). The same offer
   * again (an INVITE retransmission) returns the same session untouched.
   * `codecs` shapes what this call offers to the callee (strip, mask,
   * transcode...; see CodecPolicy); a transcode codec we cannot handle is an
   * InvalidArgumentError.
   */
  /** What admission control looks at. CPU is measured over the time since the last call of load() or offer() (at least 250 ms). */
  load(): ServerLoad {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.#cpuSample.at) / 1000;
    if (elapsedUs >= 250_000) {
      const u = process.cpuUsage(this.#cpuSample.usage);
      const cores = os.availableParallelism?.() ?? os.cpus().length;
      this.#cpuSample = {
        at: now,
        usage: process.cpuUsage(),
        percent: (100 * (u.user + u.system)) / elapsedUs / cores,
      };
    }
    const t = this.tickers.tickers;
    return {
      calls: this.#sessions.size + this.#ivrLegs.size,
      tickerLoad: t.length ? t.reduce((n, x) => n + x.stats().load, 0) / t.length : 0,
      cpu: this.#cpuSample.percent,
      freePorts: this.ports.free,
    };
  }

  /** Changes the admission limits live (e.g. tighten them before maintenance); admitted calls are not touched. */
  setAdmission(limits: AdmissionLimits): void {
    this.#admission = checkLimits({ ...limits });
  }

  #admit(callId: string): void {
    const a = this.#admission;
    const l = this.load();
    const refuse = (why: string, reason: AdmissionError['reason']) => {
      this.logger.warn({ callId, reason }, `call ${callId} refused: ${why}`);
      throw new AdmissionError(`Call ${callId} refused: ${why}`, reason);
    };
    if (a.maxCalls !== undefined && l.calls >= a.maxCalls) refuse(`${l.calls} calls, the maximum`, 'calls');
    if (a.maxTickerLoad !== undefined) {
      // ms2's load is smoothed and a new call's cost shows up only after it
      // runs a while: count the calls admitted in the last 2 s at the mean
      // per-call load, or a burst of offers overshoots the limit
      const now = Date.now();
      this.#recentAdmits = this.#recentAdmits.filter((t) => now - t < 2000);
      const perCall = l.calls ? l.tickerLoad / l.calls : 0;
      const projected = l.tickerLoad + this.#recentAdmits.length * perCall;
      if (projected > a.maxTickerLoad)
        refuse(
          `ticker load ${projected.toFixed(0)} % (with the calls just admitted) is above ${a.maxTickerLoad} %`,
          'ticker-load',
        );
    }
    if (a.maxCpu !== undefined && l.cpu > a.maxCpu) refuse(`CPU ${l.cpu.toFixed(0)} % is above ${a.maxCpu} %`, 'cpu');
    if (a.minFreePorts !== undefined && l.freePorts < a.minFreePorts)
      refuse(`${l.freePorts} free port pairs, fewer than ${a.minFreePorts}`, 'ports');
    this.#recentAdmits.push(Date.now());
  }

  offer(callId: string, sdp: string, opts: { fromTag?: string; codecs?: CodecPolicy } = {}): MediaSession {
    this.#checkOpen();
    if (typeof callId !== 'string' || callId.length === 0 || callId.length > 256)
      throw new InvalidArgumentError('Expected a Call-ID (1..256 characters)');
    const existing = this.#sessions.get(callId);
    if (existing) {
      if (existing.state === 'offered') {
        if (existing.initialOffer === sdp) return existing;
        throw new DuplicateOfferError(`Call ${callId} already has a pending offer; answer or stop it first`);
      }
      throw new InvalidStateError(`Call ${callId} is ${existing.state}: use session.reoffer() for a re-INVITE`);
    }
    const unknown = unknownTranscodeCodecs(opts.codecs);
    if (unknown.length)
      throw new InvalidArgumentError(
        `Cannot transcode to ${unknown.join(', ')}; supported: ${TRANSCODABLE.join(', ')}`,
      );
    this.#admit(callId);
    const s = new MediaSession(this.#ctx, callId, sdp, opts.fromTag, opts.codecs);
    this.#sessions.set(callId, s);
    s.on('state', (state) => {
      if (state === 'stopped') this.#sessions.delete(callId);
      this.safeEmit('state', s, state);
    });
    s.on('error', (e) => this.safeEmit('error', e));
    this.safeEmit('session', s);
    return s;
  }

  /** The callee's answer (200 OK) for `callId`; returns the SDP for the caller. */
  answer(callId: string, sdp: string, opts: { toTag?: string } = {}): string {
    return this.get(callId).answer(sdp, opts);
  }

  /** BYE: stops the call and frees everything it held. */
  stop(callId: string): SessionSummary {
    return this.get(callId).stop();
  }

  get(callId: string): MediaSession {
    this.#checkOpen();
    const s = this.#sessions.get(callId);
    if (!s) throw new UnknownCallError(`No call with Call-ID ${JSON.stringify(callId)}`);
    return s;
  }

  has(callId: string): boolean {
    return this.#sessions.has(callId);
  }

  /** Every call: Call-ID, tags, state, legs with ports, remotes and codecs. */
  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info());
  }

  /**
   * Answers an offer with an IVR leg of our own (no callee): the caller's
   * first codec we run, telephone-event if offered. Returns the leg (play,
   * record, collect, bridge, conference) and the SDP answer. Close the leg on
   * BYE; its port pair and its share of a ticker go back to the pools.
   */
  ivr(callId: string, sdp: string, opts: { mediaRoots?: MediaRoots | string[]; codecs?: CodecName[] } = {}): IvrAnswer {
    this.#checkOpen();
    if (typeof callId !== 'string' || callId.length === 0 || callId.length > 256)
      throw new InvalidArgumentError('Expected a Call-ID (1..256 characters)');
    if (this.#ivrLegs.has(callId) || this.#sessions.has(callId))
      throw new InvalidStateError(`Call ${callId} already exists`);
    this.#admit(callId);
    const r = answerWithIvr(this.#ctx, sdp, opts);
    this.#ivrLegs.set(callId, r.leg);
    r.leg.on('close', () => this.#ivrLegs.delete(callId));
    return r;
  }

  /** The IVR leg of a call answered by ivr(). */
  ivrLeg(callId: string): CallLeg | undefined {
    return this.#ivrLegs.get(callId);
  }

  /** Call-IDs of the calls answered by ivr() and not closed. */
  ivrCalls(): string[] {
    return [...this.#ivrLegs.keys()];
  }

  /** Stops every call, then the tickers and the factory. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.stop();
    for (const l of [...this.#ivrLegs.values()]) l.close();
    this.tickers.close();
    if (this.#ownFactory) this.#factory.close();
    this.#nativeLog?.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('MediaServer is closed');
  }
}
