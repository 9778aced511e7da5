import { isIP } from 'node:net';
import { CODEC2_MODES, type Codec2Mode } from '../codecs/fmtp';
import type { CodecName } from '../codecs/table';
import {
  DuplicateOfferError,
  InvalidArgumentError,
  InvalidStateError,
  SdpError,
  UnknownCallError,
  type RmsError,
} from '../errors';
import { Factory } from '../graph/Factory';
import { ForwardPlane } from '../forward/ForwardPlane';
import type { TickerPriority } from '../graph/Ticker';
import type { OpusSettings } from '../graph/filters';
import type { JitterBufferOptions, LatchMode } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';

import type { MediaLeg } from '../leg/MediaLeg';
import { MediaRoots } from '../media/mediaRoots';
import type { QualityOptions } from '../quality/QualityMonitor';
import {
  admissionCheck,
  checkLimits,
  currentLoad,
  LoadSampler,
  type AdmissionLimits,
  type AdmissionState,
  type ServerLoad,
} from './admission';
import type { SessionContext } from './context';
import type { AnswerOptions, LegDialog, SessionInfo, SessionState, SessionSummary } from './info';
import { MediaSession } from './MediaSession';
import { TRANSCODABLE, unknownTranscodeCodecs, type CodecPolicy } from './negotiation';
import { PortPool } from './PortPool';
import { restoreSession } from './restore';
import { checkSnapshot, type SessionSnapshot } from './snapshot';
import { TickerPool } from './TickerPool';
import { routeNativeLog, type NativeLogRoute } from '../util/log';
import { silentLogger, type Logger } from '../util/logger';

export type { AdmissionLimits, ServerLoad } from './admission';
export type { SessionSnapshot } from './snapshot';

/** What MediaServer.restore() brought back, and what it could not (with why). */
export interface RestoreResult {
  restored: MediaSession[];
  failed: { callId?: string; error: Error }[];
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
   * the decoder's own where it has one, else our RmsPlc (the frames the
   * sequence numbers say are lost; it replaced MSGenericPLC). Default true.
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
  /**
   * The Codec2 mode assumed when a peer's SDP names none (default 2400, what
   * baresip and FreeSWITCH assume): what we send it until its first packets
   * show the mode it really sends, which we then decode and send
   * (docs/codecs.md).
   */
  codec2Mode?: Codec2Mode;
  /**
   * Same-codec bridges relay through the native forwarding plane (default
   * true): packets leave as they came (SSRC, sequence numbers, payload), with
   * no graph on the path; `threads` worker threads (default one per core).
   * false: relayed calls run ms2 relay graphs on the tickers.
   */
  forwarding?: boolean | { threads?: number };
  /** Folders legs may play prompts from and record into (each call may give its own for ivr()). */
  mediaRoots?: MediaRoots | string[];
  factory?: Factory;
  /**
   * Where refusals and the native libraries' log lines go (a pino logger or
   * anything with its error/warn/info/debug methods). Given, it takes the
   * process' native log (routeNativeLog) until close(). Default: silent.
   */
  logger?: Logger;
}

/** A call answered by an IVR leg of ours. */
export interface IvrAnswer {
  session: MediaSession;
  leg: MediaLeg;
  /** The SDP answer for the caller. */
  answerSdp: string;
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
  readonly #admission: AdmissionState;
  readonly #ctx: SessionContext;
  #forwarder?: ForwardPlane;
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
    if (opts.codec2Mode !== undefined && !CODEC2_MODES.includes(opts.codec2Mode))
      throw new InvalidArgumentError(
        `Expected codec2Mode to be one of ${CODEC2_MODES.join(', ')} but received ${String(opts.codec2Mode)}`,
      );
    const limits = checkLimits({ ...opts.admission });
    this.logger = opts.logger ?? silentLogger;
    const alt = opts.address6;
    if (alt !== undefined && (isIP(alt) === 0 || isIP(alt) === isIP(opts.address)))
      throw new InvalidArgumentError(
        `Expected address6 to be an address of the other IP version than ${opts.address}, got ${alt}`,
      );
    const roots =
      opts.mediaRoots === undefined || opts.mediaRoots instanceof MediaRoots
        ? opts.mediaRoots
        : new MediaRoots(opts.mediaRoots);
    this.address = opts.address;
    this.advertisedAddress = adv;
    this.ports = new PortPool(opts.ports ?? [30000, 40000]);
    this.#factory = opts.factory ?? new Factory();
    this.#ownFactory = !opts.factory;
    this.tickers = new TickerPool(opts.tickers, opts.tickerPriority ?? 'high', opts.tickIntervalMs ?? 10);
    this.#admission = {
      limits,
      sampler: new LoadSampler(),
      ports: this.ports,
      tickers: this.tickers,
      calls: 0,
      recent: [],
    };
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
      codec2Mode: opts.codec2Mode,
      plc: opts.plc,
      mediaRoots: roots,
      forwarder:
        opts.forwarding === false
          ? undefined
          : () =>
              (this.#forwarder ??= new ForwardPlane({
                threads: typeof opts.forwarding === 'object' ? opts.forwarding.threads : undefined,
              })),
    };
    if (opts.logger) this.#nativeLog = routeNativeLog(opts.logger);
  }

  /** Same as the constructor; async for symmetry with servers that must bind first. */
  static async create(opts: MediaServerOptions): Promise<MediaServer> {
    return new MediaServer(opts);
  }

  /** What admission control looks at. CPU is measured over the time since it was last measured (at least 250 ms). */
  load(): ServerLoad {
    return currentLoad({ ...this.#admission, calls: this.#sessions.size });
  }

  /** Changes the admission limits live (e.g. tighten them before maintenance); admitted calls are not touched. */
  setAdmission(limits: AdmissionLimits): void {
    this.#admission.limits = checkLimits({ ...limits });
  }

  /**
   * An offer (INVITE) for `callId`, the seed's rms_media_offer(). A new call
   * binds a port pair towards each side and returns the session, whose
   * `offerSdp` goes to the callee. The same offer again (an INVITE
   * retransmission) returns the same session untouched; the same offer with a
   * new `branch` (a forking proxy offering per branch) gets a port pair of its
   * own (session.offerBranch()). A different offer while the first waits for
   * its answer is a DuplicateOfferError; a re-INVITE on an answered call is
   * refused (use session.reoffer()). `codecs` shapes what this call offers to
   * the callee (strip, mask, transcode...; see CodecPolicy); `latch`, who
   * may send the caller's leg media (default the server's `latch`); `ptime`
   * and `ptimeReverse`, packet times imposed towards the callee and the
   * caller (our SDPs say them; a relayed call is repacketised).
   */
  offer(
    callId: string,
    sdp: string,
    opts: {
      fromTag?: string;
      codecs?: CodecPolicy;
      branch?: string;
      dialog?: LegDialog;
      latch?: LatchMode;
      ptime?: number;
      ptimeReverse?: number;
    } = {},
  ): MediaSession {
    this.#checkOpen();
    checkCallId(callId);
    const existing = this.#sessions.get(callId);
    if (existing) {
      if (existing.kind !== 'bridged')
        throw new DuplicateOfferError(`Call ${callId} is an ${existing.kind} call: it takes no offer`);
      if (existing.state === 'offered' || existing.state === 'early') {
        if (existing.initialOffer === sdp) {
          if (opts.branch !== undefined) existing.offerBranch(opts.branch);
          return existing;
        }
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
    const s = new MediaSession(this.#ctx, callId, 'bridged', sdp, {
      fromTag: opts.fromTag,
      policy: opts.codecs,
      dialog: opts.dialog,
      branch: opts.branch,
      latch: opts.latch,
      ptime: opts.ptime,
      ptimeReverse: opts.ptimeReverse,
    });
    return this.#register(s);
  }

  /** The callee's answer for `callId` (18x with `provisional`, or 200 OK); returns the SDP for the caller. */
  answer(callId: string, sdp: string, opts: AnswerOptions = {}): string {
    return this.get(callId).answer(sdp, opts);
  }

  /**
   * Answers an offer with an IVR leg of ours (no callee): the caller's first
   * codec we run, telephone-event if offered. The call is a session like any
   * other (sessions(), stop()); its one leg plays, records, collects,
   * bridges and joins conferences.
   */
  ivr(
    callId: string,
    sdp: string,
    opts: { mediaRoots?: MediaRoots | string[]; codecs?: CodecName[]; fromTag?: string; dialog?: LegDialog } = {},
  ): IvrAnswer {
    this.#checkOpen();
    checkCallId(callId);
    if (this.#sessions.has(callId)) throw new DuplicateOfferError(`Call ${callId} already exists`);
    const roots =
      opts.mediaRoots === undefined || opts.mediaRoots instanceof MediaRoots
        ? opts.mediaRoots
        : new MediaRoots(opts.mediaRoots);
    this.#admit(callId);
    const s = new MediaSession(this.#ctx, callId, 'ivr', sdp, {
      fromTag: opts.fromTag,
      dialog: opts.dialog,
      mediaRoots: roots,
    });
    let answerSdp: string;
    try {
      answerSdp = s.answerAsIvr(opts.codecs ?? this.#ctx.codecs);
    } catch (err) {
      s.stop();
      throw err;
    }
    this.#register(s);
    return { session: s, leg: s.a, answerSdp };
  }

  /**
   * A call we start (an IVR calling out, a B2BUA answering an INVITE without
   * SDP): leg `a` makes the offer, `session.offerSdp`; the peer's answer goes
   * to session.answer(). Further outbound legs: session.offerLeg().
   */
  outbound(callId: string, opts: { codecs?: CodecPolicy; dialog?: LegDialog } = {}): MediaSession {
    this.#checkOpen();
    checkCallId(callId);
    if (this.#sessions.has(callId)) throw new DuplicateOfferError(`Call ${callId} already exists`);
    this.#admit(callId);
    return this.#register(
      new MediaSession(this.#ctx, callId, 'outbound', '', { policy: opts.codecs, dialog: opts.dialog }),
    );
  }

  /**
   * Brings calls back from their snapshots (session.snapshot(); the daemon
   * keeps them in Redis): each binds the port pairs it had, its streams go on
   * (same SSRC, sequence and timestamps moved on by the time elapsed) and it
   * is a session like any other. Not subject to admission: they were
   * admitted once. One that cannot come back (malformed, a port someone else
   * holds, a Call-ID already here) is in `failed`; the others are restored.
   */
  restore(snapshots: readonly unknown[]): RestoreResult {
    this.#checkOpen();
    const out: RestoreResult = { restored: [], failed: [] };
    const valid: SessionSnapshot[] = [];
    for (const x of snapshots) {
      try {
        valid.push(checkSnapshot(x));
      } catch (error) {
        out.failed.push({ callId: (x as { callId?: unknown })?.callId as string | undefined, error: error as Error });
      }
    }
    const reserved = new Set(valid.flatMap((v) => v.binds.filter((b) => !b.released).map((b) => b.port)));
    for (const snap of valid) {
      try {
        if (this.#sessions.has(snap.callId)) throw new DuplicateOfferError(`Call ${snap.callId} already exists`);
        out.restored.push(this.#register(restoreSession(this.#ctx, snap, reserved)));
      } catch (error) {
        this.logger.warn({ callId: snap.callId, err: error }, 'call not restored');
        out.failed.push({ callId: snap.callId, error: error as Error });
      }
    }
    return out;
  }

  #register(s: MediaSession): MediaSession {
    this.#sessions.set(s.callId, s);
    s.on('state', (state) => {
      if (state === 'stopped' && this.#sessions.get(s.callId) === s) this.#sessions.delete(s.callId);
      this.safeEmit('state', s, state);
    });
    s.on('error', (e) => this.safeEmit('error', e));
    this.safeEmit('session', s);
    return s;
  }

  /** BYE (the seed's rms_media_stop): stops the call and frees everything it held; its final summary. */
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

  /** Every call (the seed's rms_sessions_dump): Call-ID, kind, tags, state, legs with ports, remotes and codecs. */
  sessions(): SessionInfo[] {
    return [...this.#sessions.values()].map((s) => s.info());
  }

  #admit(callId: string): void {
    this.#admission.calls = this.#sessions.size;
    try {
      admissionCheck(callId, this.#admission);
    } catch (err) {
      this.logger.warn({ callId, code: (err as RmsError).code }, (err as Error).message);
      throw err;
    }
  }

  /** Stops every call, then the tickers and the factory. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.stop();
    this.#forwarder?.close();
    this.tickers.close();
    if (this.#ownFactory) this.#factory.close();
    this.#nativeLog?.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidStateError('MediaServer is closed');
  }
}

function checkCallId(callId: unknown): asserts callId is string {
  if (typeof callId !== 'string' || callId.length === 0 || callId.length > 256)
    throw new InvalidArgumentError('Expected a Call-ID (1..256 characters)');
}
