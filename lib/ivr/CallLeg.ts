/**
 * One call leg the media server terminates: its RTP endpoint and codec, and
 * what runs on it. A leg is in one of three places at a time:
 *
 * - `ivr` (the start): one graph per leg plays prompts to it, records it,
 *   detects and sends DTMF:
 *
 *       rtprecv -> decoder -> [DTMF detector] -> level -> mixer.0 -> recorder
 *       player -> resampler -> tee.0 -> DTMF generator -> encoder -> rtpsend
 *                                 tee.1 -> mixer.1   (only heard when recording both ways)
 *
 * - `bridged`: in a Gateway with another leg (bridge(), transfer);
 * - `conference`: in a Conference.
 *
 * Moving between them detaches one graph and attaches the next on the same
 * RTP session: sockets, SSRC and sequence numbers stay, the gap on the wire
 * is the rebuild time (measured in the tests, a few ms).
 *
 * Every operation is promise-based and resolves with why it ended; bad input
 * (files outside the media roots, missing or non-WAV files, bad options) is
 * refused with a typed error before anything is touched.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, InvalidStateError, MediaFileError } from '../errors';
import { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import { Ticker } from '../graph/Ticker';
import type { Decoder, DtmfGenerator, FilePlayer, FileRecorder, RtpSender } from '../graph/filters';
import { OpusEncoder } from '../graph/filters';
import { Gateway } from '../gateway/Gateway';
import { profileOf, resolveMedia, type LegMedia, type ResolvedMedia } from '../media/resolve';
import { RtpEndpoint, type JitterBufferOptions, type RtpAddress } from '../rtp/RtpEndpoint';
import { SafeEmitter } from '../util/SafeEmitter';
import { MediaRoots, type WavInfo } from './mediaRoots';

export type DtmfSource = 'rfc4733' | 'inband';

export interface DtmfDigit {
  digit: string;
  /** How long the key was held, ms (for RFC 4733 the end packet's duration). */
  durationMs: number;
  source: DtmfSource;
}

export interface CallLegOptions extends LegMedia {
  /** A bound endpoint (not closed with the leg), or `local` to bind one. */
  endpoint?: RtpEndpoint;
  local?: { address: string; port?: number; rtcpPort?: number };
  remote?: RtpAddress;
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  rtcp?: boolean;
  /** Ticker the leg's graphs run on (default: one of its own, closed with it). */
  ticker?: Ticker;
  factory?: Factory;
  /** Folders prompts and recordings must be in. Without roots, play and record refuse every path. */
  mediaRoots?: MediaRoots | string[];
  /**
   * In-band DTMF detection on the decoded audio: 'auto' (default) when the
   * leg did not negotiate telephone-event, or always / never.
   */
  inbandDtmf?: 'auto' | boolean;
  /** Digits kept for collect() when nobody is collecting (default 32). */
  digitBuffer?: number;
  /** Name in errors and logs. */
  name?: string;
}

export type PlayEndReason = 'eof' | 'stopped' | 'dtmf' | 'max-duration' | 'replaced' | 'moved' | 'closed';

export interface PlayOptions {
  /** Repeat the list until stopped (or maxDurationMs). */
  loop?: boolean;
  /** Stop playing at the first DTMF digit (it stays buffered for collect()). */
  bargeIn?: boolean;
  maxDurationMs?: number;
}

export interface PlayResult {
  reason: PlayEndReason;
  /** How long audio was played, ms. */
  durationMs: number;
  /** Files started (a looped file counts once per start). */
  filesPlayed: number;
  /** The digit that barged in. */
  digit?: string;
}

export type RecordEndReason = 'max-duration' | 'silence' | 'dtmf' | 'stopped' | 'moved' | 'closed';

export interface RecordOptions {
  /** Stop after this long (default 1 hour). */
  maxDurationMs?: number;
  /** Stop after this much continuous silence (default: never). */
  silenceTimeoutMs?: number;
  /** Level under which audio counts as silence, dBm0 (default -45). */
  silenceThresholdDbm0?: number;
  /** Digits that stop the recording (default none); the digit is not kept for collect(). */
  stopDigits?: string;
  /** Record both directions mixed (what the leg says and what it hears from us). Default false. */
  bothDirections?: boolean;
}

export interface RecordResult {
  reason: RecordEndReason;
  /** The real path written. */
  path: string;
  /** Audio in the file, ms. */
  durationMs: number;
  digit?: string;
}

export interface CollectOptions {
  /** Fewest digits accepted (default 1). */
  min?: number;
  /** Most digits: collection ends when reached (default 128). */
  max?: number;
  /** Time for the first digit, ms (default 5000). */
  timeoutMs?: number;
  /** Time between digits, ms (default: timeoutMs). */
  interDigitTimeoutMs?: number;
  /** Digits that end the collection (not included in the result), e.g. '#'. */
  terminators?: string;
  /** Played first, with barge-in; digits typed during it count. */
  prompt?: string | string[];
}

export type CollectEndReason = 'max' | 'terminator' | 'timeout' | 'inter-digit-timeout' | 'moved' | 'closed';

export interface CollectResult {
  digits: string;
  reason: CollectEndReason;
  terminator?: string;
  /** True when fewer than `min` digits came. */
  tooFew: boolean;
}

export interface SendDtmfOptions {
  /** 'auto' (default): RFC 4733 when the leg negotiated telephone-event, else in-band. */
  mode?: 'auto' | DtmfSource;
  /** Tone length, ms (default 100). */
  durationMs?: number;
  /** Pause between digits, ms (default 80). */
  gapMs?: number;
}

export interface CallLegEvents {
  /** A digit, reported once when it ends. */
  dtmf: (d: DtmfDigit) => void;
  playStart: (file: string, info: WavInfo) => void;
  playEnd: (r: PlayResult) => void;
  /** The leg moved: 'ivr' | 'bridged' | 'conference'. */
  mode: (mode: CallLegMode) => void;
  close: () => void;
  error: (err: unknown) => void;
}

export type CallLegMode = 'ivr' | 'bridged' | 'conference';

const DTMF_CHARS = /^[0-9*#A-D]+$/;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface IvrGraph {
  graph: Graph;
  player: FilePlayer;
  resampler: Filter;
  tee: Filter;
  generator: DtmfGenerator;
  sender: RtpSender;
  recorder: FileRecorder;
  mixer: Filter;
  level: Filter;
  /** The file format the resampler is set for. */
  format: { rate: number; channels: number };
}

interface ActivePlay {
  finish: (reason: PlayEndReason, digit?: string) => void;
  bargeIn: boolean;
}

interface ActiveRecord {
  finish: (reason: RecordEndReason, digit?: string) => void;
  stopDigits: string;
}

/** A call leg with IVR media: play, record, DTMF in and out, bridge, conference. */
export class CallLeg extends SafeEmitter<CallLegEvents> {
  readonly name: string;
  readonly endpoint: RtpEndpoint;
  readonly factory: Factory;
  readonly ticker: Ticker;
  readonly mediaRoots: MediaRoots;
  readonly #ownsEndpoint: boolean;
  readonly #ownsTicker: boolean;
  #media: ResolvedMedia;
  readonly #inband: 'auto' | boolean;
  readonly #bufferLimit: number;
  #ivr?: IvrGraph;
  #mode: CallLegMode = 'ivr';
  #bridge?: { gateway: Gateway; peer: CallLeg };
  /** @internal set by Conference */
  conference?: { leave(leg: CallLeg): void };
  #digits: DtmfDigit[] = [];
  #play?: ActivePlay;
  #record?: ActiveRecord;
  #digitWaiters = new Set<(d: DtmfDigit) => void>();
  #closed = false;

  constructor(opts: CallLegOptions) {
    super();
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('Expected CallLeg options');
    this.name = opts.name ?? 'leg';
    this.#media = resolveMedia(this.name, opts);
    this.factory = opts.factory ?? Factory.shared();
    this.mediaRoots = opts.mediaRoots instanceof MediaRoots ? opts.mediaRoots : new MediaRoots(opts.mediaRoots ?? []);
    this.#inband = opts.inbandDtmf ?? 'auto';
    this.#bufferLimit = opts.digitBuffer ?? 32;
    if (opts.endpoint) {
      this.endpoint = opts.endpoint;
      this.#ownsEndpoint = false;
      this.endpoint.setPayloadTypes(profileOf(this.#media), this.#media.payloadType);
      if (opts.remote) this.endpoint.setRemote(opts.remote);
    } else {
      if (!opts.local) throw new InvalidArgumentError(`${this.name}: give local { address } or an endpoint`);
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
      this.#ownsEndpoint = true;
    }
    this.ticker = opts.ticker ?? new Ticker({ name: `rms-${this.name}` });
    this.#ownsTicker = !opts.ticker;
    // RFC 4733 digits arrive through the endpoint whatever graph reads it
    this.endpoint.on('telephoneEventEnd', (e) => {
      if (e.digit) this.#onDigit({ digit: e.digit, durationMs: e.durationMs, source: 'rfc4733' });
    });
    try {
      this.#buildIvr();
    } catch (err) {
      this.#release();
      throw err;
    }
  }

  get mode(): CallLegMode {
    return this.#mode;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get media(): LegMedia {
    const m = this.#media;
    return {
      codec: m.codec.name,
      payloadType: m.payloadType,
      ptime: m.ptime,
      fmtp: m.fmtp,
      bitrate: m.bitrate,
      opus: m.opus,
      telephoneEvent: m.telephoneEvent,
    };
  }
  get localPort(): number {
    return this.endpoint.port;
  }
  /** The leg this one is bridged with. */
  get peer(): CallLeg | undefined {
    return this.#bridge?.peer;
  }
  get gateway(): Gateway | undefined {
    return this.#bridge?.gateway;
  }
  /** True while a prompt plays. */
  get playing(): boolean {
    return this.#play !== undefined;
  }
  get recording(): boolean {
    return this.#record !== undefined;
  }

  setRemote(remote: RtpAddress): void {
    this.endpoint.setRemote(remote);
  }

  /** The PCM rate the leg's IVR audio runs at: 16 kHz for wideband codecs, else 8 kHz. */
  get pcmRate(): number {
    const c = this.#media.codec;
    return c.rates.includes(16000) ? 16000 : c.rates.includes(8000) ? 8000 : c.audioRate;
  }

  #inbandOn(): boolean {
    return this.#inband === 'auto' ? this.#media.telephoneEvent === undefined : this.#inband;
  }

  // -------------------------------------------------------------------------
  // the IVR graph

  #buildIvr(): void {
    const f = this.factory;
    const g = new Graph();
    const rate = this.pcmRate;
    const codec = this.#media.codec;
    try {
      const recv = g.add(f.rtpReceiver());
      recv.setEndpoint(this.endpoint);
      const dec: Decoder = g.add(f.createDecoder(codec.mime!));
      dec.addFmtpIfSupported(this.#media.fmtp);
      if (codec.rates.length > 1) dec.setSampleRate(rate);
      if (codec.name === 'opus') dec.setChannels(1);
      const rx: Filter<any>[] = [recv, dec];
      if (this.#inbandOn()) {
        const det = g.add(f.dtmfDetector(rate));
        det.on('digit', (d) => this.#onDigit({ digit: d.digit, durationMs: d.durationMs, source: 'inband' }));
        rx.push(det);
      }
      const level = g.add(f.createFilter('MSVolume'));
      rx.push(level);
      const mixer = g.add(f.createFilter('MSAudioMixer'));
      mixer.setSampleRate(rate);
      mixer.call('MS_FILTER_SET_NCHANNELS', 1);
      const recorder = g.add(f.fileRecorder());
      recorder.setSampleRate(rate);
      for (let i = 0; i + 1 < rx.length; i++) rx[i].link(rx[i + 1]);
      level.link(mixer, { from: 0, to: 0 });
      mixer.link(recorder);

      const player = g.add(f.filePlayer());
      player.on('eof', () => this.#onEof());
      const resampler = g.add(f.resampler());
      resampler.setRates(rate, rate);
      const tee = g.add(f.createFilter('MSTee'));
      const generator = g.add(f.dtmfGenerator());
      generator.setSampleRate(rate);
      const enc = g.add(f.encoderFor(codec));
      if (this.#media.fmtp) enc.addFmtp(this.#media.fmtp);
      if (this.#media.opus && enc instanceof OpusEncoder) enc.configure(this.#media.opus);
      if (codec.rates.length > 1) enc.setSampleRate(rate);
      if (this.#media.bitrate !== undefined) enc.setBitrate(this.#media.bitrate);
      enc.setPacketTime(this.#media.ptime);
      const sender = g.add(f.rtpSender());
      sender.setEndpoint(this.endpoint);
      player.link(resampler);
      resampler.link(tee);
      tee.link(generator, { from: 0, to: 0 });
      generator.link(enc);
      enc.link(sender);
      tee.link(mixer, { from: 1, to: 1 });
      this.#ivr = {
        graph: g,
        player,
        resampler,
        tee,
        generator,
        sender,
        recorder,
        mixer,
        level,
        format: { rate, channels: 1 },
      };
      this.#setMixerInput(1, false);
      // one connected graph (the tee feeds the mixer): one root attaches it all
      g.attach(this.ticker, [recv]);
    } catch (err) {
      g.close();
      this.#ivr = undefined;
      throw err;
    }
  }

  // MSAudioMixerCtl { int pin; union { float gain; int active; } }
  #setMixerInput(pin: number, active: boolean): void {
    const b = Buffer.alloc(8);
    b.writeInt32LE(pin, 0);
    b.writeInt32LE(active ? 1 : 0, 4);
    this.#ivr!.mixer.call('MS_AUDIO_MIXER_SET_ACTIVE', b);
  }

  #tearDownIvr(): void {
    this.#play?.finish('moved');
    this.#record?.finish('moved');
    this.#ivr?.graph.close();
    this.#ivr = undefined;
  }

  #requireIvr(what: string): IvrGraph {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    if (!this.#ivr) throw new InvalidStateError(`${this.name}: ${what} needs the leg in IVR mode; it is ${this.#mode}`);
    return this.#ivr;
  }

  // -------------------------------------------------------------------------
  // play

  /**
   * Plays one WAV or a list in order (any rate from 8 to 48 kHz, any channel
   * count, converted to the leg's codec). A play started while another runs
   * replaces it (the earlier promise resolves with 'replaced').
   */
  async play(files: string | string[], opts: PlayOptions = {}): Promise<PlayResult> {
    const list = Array.isArray(files) ? files : [files];
    if (!list.length) throw new InvalidArgumentError('play() needs at least one file');
    if (opts.maxDurationMs !== undefined && !(opts.maxDurationMs > 0))
      throw new InvalidArgumentError('maxDurationMs must be a positive number');
    this.#requireIvr('play()');
    // every file is checked before anything plays
    const wavs = list.map((f) => ({ name: f, ...this.mediaRoots.wav(f) }));
    this.#play?.finish('replaced');
    const started = Date.now();
    let filesPlayed = 0;
    let index = 0;
    let maxTimer: NodeJS.Timeout | undefined;
    return new Promise<PlayResult>((resolve) => {
      const active: ActivePlay = {
        bargeIn: opts.bargeIn ?? false,
        finish: (reason, digit) => {
          if (this.#play !== active) return;
          this.#play = undefined;
          clearTimeout(maxTimer);
          const ivr = this.#ivr;
          if (ivr && !ivr.player.closed) {
            try {
              ivr.player.stop();
              ivr.player.call('MS_FILE_PLAYER_CLOSE');
            } catch (err) {
              this.safeEmit('error', err);
            }
          }
          const r: PlayResult = { reason, durationMs: Date.now() - started, filesPlayed, digit };
          this.safeEmit('playEnd', r);
          resolve(r);
        },
      };
      this.#play = active;
      const next = (): void => {
        if (this.#play !== active) return;
        if (index >= wavs.length) {
          if (!opts.loop) return active.finish('eof');
          index = 0;
        }
        const w = wavs[index++];
        try {
          this.#startFile(w.path, w.info);
        } catch (err) {
          // the file vanished or changed since it was checked: end, typed
          active.finish('stopped');
          this.safeEmit('error', err);
          return;
        }
        filesPlayed++;
        this.safeEmit('playStart', w.name, w.info);
      };
      this.#nextFile = next;
      if (opts.maxDurationMs !== undefined)
        maxTimer = setTimeout(() => active.finish('max-duration'), opts.maxDurationMs);
      next();
    });
  }

  #nextFile?: () => void;

  #onEof(): void {
    // from the player's notification, on the main thread
    if (this.#play) this.#nextFile?.();
  }

  #startFile(file: string, info: WavInfo): void {
    const ivr = this.#ivr!;
    if (!fs.existsSync(file)) throw new MediaFileError(`Media file ${file} disappeared`, file, 'not-found');
    const same = ivr.format.rate === info.rate && ivr.format.channels === info.channels;
    const change = () => {
      if (!same) {
        // a new resampler for the new format (MSResample keeps its first setup)
        ivr.graph.remove(ivr.resampler);
        const rs = ivr.graph.add(this.factory.resampler());
        rs.setRates(info.rate, this.pcmRate);
        rs.call('MS_FILTER_SET_NCHANNELS', info.channels);
        rs.call('MS_FILTER_SET_OUTPUT_NCHANNELS', 1);
        ivr.player.link(rs);
        rs.link(ivr.tee);
        ivr.resampler = rs;
        ivr.format = { rate: info.rate, channels: info.channels };
      }
      ivr.player.call('MS_FILE_PLAYER_CLOSE');
      ivr.player.open(file);
      ivr.player.start();
    };
    if (same) change();
    else ivr.graph.edit(change);
  }

  /** Stops the prompt playing (its promise resolves with 'stopped'). */
  stopPlay(): void {
    this.#play?.finish('stopped');
  }

  // -------------------------------------------------------------------------
  // record

  /** Records what the leg sends us (or both directions) to a WAV inside the media roots. */
  async record(file: string, opts: RecordOptions = {}): Promise<RecordResult> {
    const ivr = this.#requireIvr('record()');
    if (this.#record) throw new InvalidStateError(`${this.name} is already recording`);
    const maxMs = opts.maxDurationMs ?? 3_600_000;
    if (!(maxMs > 0)) throw new InvalidArgumentError('maxDurationMs must be a positive number');
    if (opts.silenceTimeoutMs !== undefined && !(opts.silenceTimeoutMs > 0))
      throw new InvalidArgumentError('silenceTimeoutMs must be a positive number');
    const stopDigits = opts.stopDigits ?? '';
    if (stopDigits && !DTMF_CHARS.test(stopDigits))
      throw new InvalidArgumentError(`stopDigits ${JSON.stringify(stopDigits)}: use 0-9 * # A-D`);
    if (!/\.wav$/i.test(file)) throw new MediaFileError(`${file}: recordings are WAV files (.wav)`, file, 'not-wav');
    const target = this.mediaRoots.resolveForWrite(file);
    const threshold = opts.silenceThresholdDbm0 ?? -45;
    this.#setMixerInput(1, opts.bothDirections ?? false);
    ivr.recorder.open(target);
    ivr.recorder.start();
    let silentMs = 0;
    let lastReceived = -1;
    const rate = this.pcmRate;
    return new Promise<RecordResult>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const active: ActiveRecord = {
        stopDigits,
        finish: (reason, digit) => {
          if (this.#record !== active) return;
          this.#record = undefined;
          for (const t of timers) clearTimeout(t);
          if (!ivr.recorder.closed) {
            try {
              ivr.recorder.stop();
              ivr.recorder.closeFile();
            } catch (err) {
              this.safeEmit('error', err);
            }
          }
          let bytes = 0;
          try {
            bytes = Math.max(0, fs.statSync(target).size - 44);
          } catch {
            bytes = 0;
          }
          resolve({ reason, path: target, durationMs: Math.round((bytes / 2 / rate) * 1000), digit });
        },
      };
      this.#record = active;
      timers.push(setTimeout(() => active.finish('max-duration'), maxMs));
      if (opts.silenceTimeoutMs !== undefined) {
        const step = 100;
        const poll = setInterval(() => {
          if (this.#record !== active) return clearInterval(poll);
          // MSVolume keeps its last level when nothing arrives: no new packet is silence too
          const received = this.endpoint.stats().packetsReceived;
          const lin = ivr.level.call('MS_VOLUME_GET_LINEAR') as number;
          const dbm0 = received === lastReceived || lin <= 0 ? -120 : 20 * Math.log10(lin) + 0.16;
          lastReceived = received;
          silentMs = dbm0 < threshold ? silentMs + step : 0;
          if (silentMs >= opts.silenceTimeoutMs!) active.finish('silence');
        }, step);
        timers.push(poll);
      }
    });
  }

  stopRecord(): void {
    this.#record?.finish('stopped');
  }

  // -------------------------------------------------------------------------
  // DTMF

  #onDigit(d: DtmfDigit): void {
    if (this.#closed) return;
    this.safeEmit('dtmf', d);
    if (this.#record && this.#record.stopDigits.includes(d.digit)) {
      this.#record.finish('dtmf', d.digit);
      return;
    }
    if (this.#digitWaiters.size) {
      for (const w of [...this.#digitWaiters]) w(d);
    } else {
      this.#digits.push(d);
      if (this.#digits.length > this.#bufferLimit) this.#digits.shift();
    }
    if (this.#play?.bargeIn) this.#play.finish('dtmf', d.digit);
  }

  /** Digits typed ahead and not collected yet. */
  get bufferedDigits(): string {
    return this.#digits.map((d) => d.digit).join('');
  }

  flushDigits(): void {
    this.#digits = [];
  }

  /**
   * Collects digits: typed-ahead ones first, then as they come, until `max`
   * digits, a terminator, or a timeout. With `prompt`, the prompt plays first
   * and a digit stops it (and counts).
   */
  async collect(opts: CollectOptions = {}): Promise<CollectResult> {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    const min = opts.min ?? 1;
    const max = opts.max ?? 128;
    const timeoutMs = opts.timeoutMs ?? 5000;
    const interMs = opts.interDigitTimeoutMs ?? timeoutMs;
    const terminators = opts.terminators ?? '';
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max)
      throw new InvalidArgumentError(`collect(): need integers 0 <= min <= max, max >= 1 (got ${min}, ${max})`);
    if (!(timeoutMs > 0) || !(interMs > 0)) throw new InvalidArgumentError('collect(): timeouts must be positive');
    if (terminators && !DTMF_CHARS.test(terminators))
      throw new InvalidArgumentError(`terminators ${JSON.stringify(terminators)}: use 0-9 * # A-D`);
    let digits = '';
    let done: ((r: CollectResult) => void) | undefined;
    const result = new Promise<CollectResult>((resolve) => (done = resolve));
    let timer: NodeJS.Timeout | undefined;
    const finish = (reason: CollectEndReason, terminator?: string) => {
      if (!done) return;
      const d = done;
      done = undefined;
      clearTimeout(timer);
      this.#digitWaiters.delete(take);
      d({ digits, reason, terminator, tooFew: digits.length < min });
    };
    const arm = (ms: number, reason: CollectEndReason) => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(reason), ms);
    };
    const take = (d: DtmfDigit): void => {
      if (!done) return;
      if (terminators.includes(d.digit)) return finish('terminator', d.digit);
      digits += d.digit;
      if (digits.length >= max) return finish('max');
      arm(interMs, 'inter-digit-timeout');
    };
    this.#collectAbort = finish;
    this.#digitWaiters.add(take);
    // typed ahead
    while (this.#digits.length && done) take(this.#digits.shift()!);
    if (done && opts.prompt !== undefined) {
      if (!digits) {
        const r = await this.play(opts.prompt, { bargeIn: true });
        if (r.reason === 'moved' || r.reason === 'closed') finish(r.reason);
      }
    }
    if (done) arm(digits ? interMs : timeoutMs, digits ? 'inter-digit-timeout' : 'timeout');
    return result;
  }

  #collectAbort?: (reason: CollectEndReason) => void;

  /** Sends digits, one after the other, as RFC 4733 events or in-band tones. */
  async sendDtmf(digits: string, opts: SendDtmfOptions = {}): Promise<void> {
    if (typeof digits !== 'string' || !DTMF_CHARS.test(digits))
      throw new InvalidArgumentError(`sendDtmf(${JSON.stringify(digits)}): use 0-9 * # A-D`);
    const durationMs = opts.durationMs ?? 100;
    const gapMs = opts.gapMs ?? 80;
    if (!(durationMs >= 40 && durationMs <= 5000)) throw new InvalidArgumentError('durationMs must be 40..5000');
    const mode = opts.mode ?? 'auto';
    const rfc = mode === 'rfc4733' || (mode === 'auto' && this.#media.telephoneEvent !== undefined);
    if (rfc && this.#media.telephoneEvent === undefined)
      throw new InvalidStateError(`${this.name} did not negotiate telephone-event; send in-band`);
    for (const d of digits) {
      if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
      const sender = this.#currentSender();
      if (rfc) {
        sender.setDtmfDuration((durationMs * this.#media.codec.clockRate) / 1000);
        sender.sendDtmf(d);
      } else {
        const gen = this.#currentGenerator();
        gen.call('MS_DTMF_GEN_START', d);
        await sleep(durationMs);
        if (!gen.closed) gen.call('MS_DTMF_GEN_STOP');
        await sleep(gapMs);
        continue;
      }
      await sleep(durationMs + gapMs);
    }
  }

  #currentSender(): RtpSender {
    if (this.#ivr) return this.#ivr.sender;
    if (this.#bridge)
      return this.#bridge.gateway.senderTo(this.#bridge.gateway.a.endpoint === this.endpoint ? 'a' : 'b');
    throw new InvalidStateError(`${this.name}: cannot send DTMF in ${this.#mode} mode`);
  }

  #currentGenerator(): DtmfGenerator {
    if (this.#ivr) return this.#ivr.generator;
    if (this.#bridge) {
      const side = this.#bridge.gateway.a.endpoint === this.endpoint ? 'a' : 'b';
      const g = this.#bridge.gateway.generatorTo(side);
      if (g) return g;
    }
    throw new InvalidStateError(`${this.name}: no in-band DTMF generator in ${this.#mode} mode`);
  }

  // -------------------------------------------------------------------------
  // bridge, transfer

  /**
   * Bridges this leg with `other` (transcoding if their codecs differ). Each
   * leg leaves whatever it was in (IVR, another bridge, a conference); a leg
   * left behind by a transfer goes back to IVR. Returns the Gateway.
   */
  bridge(other: CallLeg, opts: { relay?: 'auto' | 'never'; plc?: boolean } = {}): Gateway {
    if (this.#closed || other.#closed) throw new InvalidStateError('Cannot bridge a closed leg');
    if (other === this) throw new InvalidArgumentError('Cannot bridge a leg with itself');
    if (this.#bridge?.peer === other) return this.#bridge.gateway;
    this.#leaveCurrent();
    other.#leaveCurrent();
    const gw = new Gateway({
      factory: this.factory,
      ticker: this.ticker,
      relay: opts.relay,
      plc: opts.plc,
      start: true,
      a: { endpoint: this.endpoint, ...this.media },
      b: { endpoint: other.endpoint, ...other.media },
      inbandDtmf: { a: this.#inbandOn(), b: other.#inbandOn() },
    });
    gw.on('dtmf', (leg, _digit, info) => {
      // RFC 4733 digits come through each leg's endpoint already
      if (info.source !== 'inband') return;
      const l = leg === 'a' ? this : other;
      l.#onDigit({ digit: info.digit, durationMs: info.durationMs ?? 0, source: 'inband' });
    });
    this.#bridge = { gateway: gw, peer: other };
    other.#bridge = { gateway: gw, peer: this };
    this.#setMode('bridged');
    other.#setMode('bridged');
    return gw;
  }

  /** Ends the bridge: both legs go back to IVR (silence until they play something). */
  unbridge(): void {
    if (this.#bridge) this.toIvr();
  }

  /** @internal Conference calls these. */
  enterConference(conf: { leave(leg: CallLeg): void }): void {
    this.#leaveCurrent();
    this.conference = conf;
    this.#setMode('conference');
  }

  /** @internal */
  leftConference(): void {
    this.conference = undefined;
    if (!this.#closed) {
      this.#buildIvr();
      this.#setMode('ivr');
    }
  }

  /** Leaves IVR, bridge or conference; a bridged peer returns to IVR. The leg is left with no graph. */
  #leaveCurrent(): void {
    if (this.#ivr) this.#tearDownIvr();
    this.#collectAbort?.('moved');
    const b = this.#bridge;
    if (b) {
      this.#bridge = undefined;
      b.peer.#bridge = undefined;
      b.gateway.close();
      if (!b.peer.#closed) {
        b.peer.#buildIvr();
        b.peer.#setMode('ivr');
      }
    }
    if (this.conference) {
      const c = this.conference;
      this.conference = undefined;
      c.leave(this);
      if (this.#ivr) this.#tearDownIvr();
    }
  }

  /** Back to IVR from a bridge or conference. */
  toIvr(): void {
    if (this.#mode === 'ivr') return;
    this.#leaveCurrent();
    if (!this.#ivr && !this.#closed) {
      this.#buildIvr();
      this.#setMode('ivr');
    }
  }

  #setMode(m: CallLegMode): void {
    if (this.#mode === m) return;
    this.#mode = m;
    this.safeEmit('mode', m);
  }

  /** @internal */
  get resolvedMedia(): ResolvedMedia {
    return this.#media;
  }

  /** Ends everything on the leg (pending promises resolve with 'closed') and frees it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#play?.finish('closed');
    this.#record?.finish('closed');
    this.#collectAbort?.('closed');
    const b = this.#bridge;
    if (b) {
      this.#bridge = undefined;
      b.peer.#bridge = undefined;
      b.gateway.close();
      if (!b.peer.#closed) {
        b.peer.#buildIvr();
        b.peer.#setMode('ivr');
      }
    }
    if (this.conference) {
      const c = this.conference;
      this.conference = undefined;
      c.leave(this);
    }
    this.#closed = true;
    this.#release();
    this.safeEmit('close');
  }

  #release(): void {
    this.#ivr?.graph.close();
    this.#ivr = undefined;
    if (this.#ownsEndpoint) this.endpoint.close();
    if (this.#ownsTicker) this.ticker.close();
  }
}
