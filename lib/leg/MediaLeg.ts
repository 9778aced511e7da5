/**
 * One call leg: one SDP side of a call (or one early dialog / fork branch),
 * its RTP endpoint and negotiated codec, and the media operations a SIP
 * application expects on any leg: play, record, collect digits, send DTMF,
 * mute. Where the leg's media runs decides nothing about what it can do:
 *
 * - `alone`: its own graph (an IVR leg, or a leg not bridged yet);
 * - `bridged`: a Bridge with another leg (relayed or transcoded);
 * - `conference`: a Conference.
 *
 * Moving between them detaches one graph and attaches the next on the same
 * RTP session: sockets, SSRC and sequence numbers stay. Operations running
 * when the leg moves end with 'moved'. Bad input (files outside the media
 * roots, missing or non-WAV files, bad options) is refused with a typed
 * error before anything is touched.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { Factory } from '../graph/Factory';
import { Ticker } from '../graph/Ticker';
import { MediaRoots } from '../media/mediaRoots';
import { lossFromStats, type LegLossMetrics, type PlcKind } from '../media/meters';
import { legMediaOf, pcmRateOf, profileOf, resolveMedia, sameMedia } from '../media/resolve';
import type { LegMedia, ResolvedMedia } from '../media/resolve';
import type { NativeRtcpPacket } from '../native';
import type { RtpAddress, RtpEndpoint, RtpStats } from '../rtp/RtpEndpoint';
import type { AudioFork, AudioInject, ForkOptions, InjectOptions, VoiceOptions } from '../streams';
import { LegStreamApi } from '../streams/legApi';
import { SafeEmitter } from '../util/SafeEmitter';
import { Bridge, type BridgeOptions } from './Bridge';
import type { ConferenceSeat, LegHost } from './host';
import { legEndpoint } from './endpoint';
import { LegGraph } from './LegGraph';
import { LegOperations, sendDigits, type OperationContext } from './operations';
import type { CollectOptions, CollectResult, DtmfDigit, LegMode, MediaLegEvents, MediaLegOptions } from './types';
import type { PlayOptions, PlayResult, RecordOptions, RecordResult, SendDtmfOptions } from './types';

export class MediaLeg extends SafeEmitter<MediaLegEvents> {
  readonly name: string;
  readonly endpoint: RtpEndpoint;
  readonly factory: Factory;
  readonly ticker: Ticker;
  readonly mediaRoots: MediaRoots;
  readonly #ownsEndpoint: boolean;
  readonly #ownsTicker: boolean;
  #media?: ResolvedMedia;
  readonly #inband: 'auto' | boolean;
  #host?: LegHost;
  #bridge?: { bridge: Bridge; peer: MediaLeg };
  #conference?: ConferenceSeat;
  #sending = true;
  #muted = false;
  #lastMode: LegMode = 'alone';
  #closed = false;
  readonly #ops: OperationContext;
  readonly #work: LegOperations;
  readonly #streams = new LegStreamApi(this, {
    requireHost: () => this.#requireHost(),
    attach: (s) => this.#host?.setStreams(s),
    onVoice: (v) => this.safeEmit('voice', v),
  });

  constructor(opts: MediaLegOptions = {}) {
    super();
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('Expected MediaLeg options');
    this.name = opts.name ?? 'leg';
    if (opts.codec !== undefined) this.#media = resolveMedia(this.name, opts as LegMedia);
    this.factory = opts.factory ?? Factory.shared();
    this.mediaRoots = opts.mediaRoots instanceof MediaRoots ? opts.mediaRoots : new MediaRoots(opts.mediaRoots ?? []);
    this.#inband = opts.inbandDtmf ?? 'auto';
    this.#ownsEndpoint = !opts.endpoint;
    this.endpoint = legEndpoint(this.name, opts, this.#media);
    this.ticker = opts.ticker ?? new Ticker({ name: `rms-${this.name}` });
    this.#ownsTicker = !opts.ticker;
    this.#ops = {
      name: this.name,
      roots: this.mediaRoots,
      host: () => this.#requireHost(),
      packetsReceived: () => (this.endpoint.closed ? 0 : this.endpoint.stats().packetsReceived),
      onPlayStart: (file, info) => this.safeEmit('playStart', file, info),
      onPlayEnd: (r) => this.safeEmit('playEnd', r),
      onError: (err) => this.safeEmit('error', err),
    };
    this.#work = new LegOperations(this.#ops, opts.digitBuffer ?? 32);
    // RFC 4733 digits arrive through the endpoint whatever graph reads it
    this.endpoint.on('telephoneEventEnd', (e) => {
      if (e.digit) this.#onDigit({ digit: e.digit, durationMs: e.durationMs, source: 'rfc4733' });
    });
    try {
      if (this.#media) this.#goAlone();
    } catch (err) {
      this.#release();
      throw err;
    }
  }

  get mode(): LegMode {
    return this.#host?.mode ?? 'alone';
  }
  get closed(): boolean {
    return this.#closed;
  }
  /** The negotiated media; undefined until the leg's codec is known. */
  get media(): LegMedia | undefined {
    return this.#media ? legMediaOf(this.#media) : undefined;
  }
  /** @internal */
  get resolvedMedia(): ResolvedMedia | undefined {
    return this.#media;
  }
  get localPort(): number {
    return this.endpoint.port;
  }
  get localRtcpPort(): number {
    return this.endpoint.rtcpPort;
  }
  /** The leg this one is bridged with. */
  get peer(): MediaLeg | undefined {
    return this.#bridge?.peer;
  }
  get bridge(): Bridge | undefined {
    return this.#bridge?.bridge;
  }
  /** True while a prompt plays. */
  get playing(): boolean {
    return this.#work.playing;
  }
  get recording(): boolean {
    return this.#work.recording;
  }
  get muted(): boolean {
    return this.#muted;
  }
  /** Whether we send media to the leg (false while it holds us, or said recvonly/inactive). */
  get sending(): boolean {
    return this.#sending;
  }

  setRemote(remote: RtpAddress): void {
    this.endpoint.setRemote(remote);
  }

  /** RTP and RTCP figures of the leg: what it sent us and what we sent it, whatever carried the packets. */
  stats(): RtpStats {
    return this.#host?.stats?.() ?? this.endpoint.stats();
  }

  /** The RTCP packets the leg's peer sent and we emitted since the last poll (the quality reports read them). */
  pollRtcp(): NativeRtcpPacket[] {
    const own = this.endpoint.closed ? [] : this.endpoint.pollRtcp();
    return [...own, ...(this.#host?.rtcp?.() ?? [])];
  }

  /** RFC 3611 loss, burst and gap figures of what the leg sent us (the current graph's). */
  lossMetrics(): LegLossMetrics {
    if (this.#host) return this.#host.lossMetrics();
    return lossFromStats(this.endpoint.stats(), this.#media?.ptime ?? 20);
  }

  /** How losses in what the leg sends are concealed: by its decoder, generically, not at all, or by the listener (relayed). */
  plc(): PlcKind | 'relayed' {
    return this.#host?.plc() ?? 'none';
  }

  /** RFC 3611 signal level of what the leg sent so far, dBm0 (undefined when it is relayed undecoded). */
  speechLevel(): number | undefined {
    return this.#host?.speechLevel();
  }

  /** Level of what the leg sends over the last 200 ms, dBm0 (undefined when not decoded). */
  audioLevel(): number | undefined {
    return this.#host?.inputLevel();
  }

  /** The PCM rate the leg's own audio runs at: 16 kHz for wideband codecs, else 8 kHz. */
  get pcmRate(): number {
    return pcmRateOf(this.#requireMedia());
  }

  /** @internal Whether in-band DTMF is detected in what the leg sends. */
  get inbandOn(): boolean {
    return this.#inband === 'auto' ? this.#media?.telephoneEvent === undefined : this.#inband;
  }

  #requireMedia(): ResolvedMedia {
    if (!this.#media) throw new InvalidStateError(`${this.name} has no negotiated media yet`);
    return this.#media;
  }

  #requireHost(): LegHost {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    if (!this.#host) throw new InvalidStateError(`${this.name} has no negotiated media yet`);
    return this.#host;
  }

  // ------------------------------------------------------------ operations

  /**
   * Plays one WAV or a list in order (any rate from 8 to 48 kHz, any channel
   * count, converted to the leg's codec) to the leg, in place of what it
   * would hear. A play started while another runs replaces it (the earlier
   * promise resolves with 'replaced').
   */
  async play(files: string | string[], opts: PlayOptions = {}): Promise<PlayResult> {
    this.#requireHost();
    return this.#work.play(files, opts);
  }

  /** Stops the prompt playing (its promise resolves with 'stopped'); returns how long it played, ms. */
  stopPlay(): number | undefined {
    return this.#work.stopPlay();
  }

  /** Records what the leg sends (or both directions) into a new WAV inside the media roots. */
  async record(file: string, opts: RecordOptions = {}): Promise<RecordResult> {
    this.#requireHost();
    return this.#work.record(file, opts);
  }

  stopRecord(): void {
    this.#work.stopRecord();
  }

  /** Digits typed ahead and not collected yet. */
  get bufferedDigits(): string {
    return this.#work.digits.buffered;
  }

  flushDigits(): void {
    this.#work.digits.flush();
  }

  /**
   * Collects digits: typed-ahead ones first, then as they come, until `max`
   * digits, a terminator, or a timeout. With `prompt`, the prompt plays first
   * and a digit stops it (and counts).
   */
  async collect(opts: CollectOptions = {}): Promise<CollectResult> {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    return this.#work.collect(opts, (files) => this.play(files, { bargeIn: true }));
  }

  /** Sends digits to the leg, one after the other, as RFC 4733 events or in-band tones. */
  async sendDtmf(digits: string, opts: SendDtmfOptions = {}): Promise<void> {
    const media = this.#requireMedia();
    return sendDigits(this.#ops, digits, opts, media.telephoneEvent !== undefined);
  }

  /**
   * How sendDtmf() would reach the leg now: an RFC 4733 event, an in-band
   * tone, or not at all (no telephone-event, and its media is relayed
   * undecoded or it is in a conference).
   */
  dtmfMode(): 'rfc4733' | 'inband' | undefined {
    if (this.#closed || !this.#media || !this.#host) return undefined;
    if (this.#media.telephoneEvent !== undefined) return 'rfc4733';
    return this.#host.canSendInband() ? 'inband' : undefined;
  }

  /** What the leg sends is replaced by silence for whoever hears it (the bridged peer, the conference). */
  mute(): void {
    this.#muted = true;
    this.#host?.setMuted(true);
  }

  unmute(): void {
    this.#muted = false;
    this.#host?.setMuted(false);
  }

  /**
   * Forks the leg's decoded audio ('in': what it sends, 'out': what it hears, 'both') as it flows, to a
   * WebSocket (`url`; with `inject`, what the peer sends back plays into the leg) or to `fork.readable`.
   */
  fork(opts: ForkOptions): AudioFork {
    return this.#streams.fork(opts);
  }
  /** Plays audio written to the returned AudioInject into the leg at real time (one injection per leg). */
  inject(opts: InjectOptions = {}): AudioInject {
    return this.#streams.inject(opts);
  }
  /** Voice activity detection on what the leg sends ('voice' events); false turns it off. */
  detectVoice(settings: VoiceOptions | boolean = true): void {
    this.#streams.detectVoice(settings);
  }

  /** @internal Whether we send to the leg (SDP direction: hold, recvonly, inactive). */
  setSending(on: boolean): void {
    this.#sending = on;
    this.#host?.setSending(on);
  }

  #onDigit(d: DtmfDigit): void {
    // a leg with no graph (a branch media does not follow) shares its socket: not its digits
    if (this.#closed || !this.#host) return;
    this.safeEmit('dtmf', d);
    this.#streams.event('dtmf', { digit: d.digit, durationMs: d.durationMs, source: d.source });
    this.#work.digit(d);
  }

  /** @internal An RFC 4733 digit the forwarding plane saw in what the leg sent. */
  relayedDigit(digit: string, durationMs: number): void {
    this.#onDigit({ digit, durationMs, source: 'rfc4733' });
  }

  /** @internal A digit heard in the audio by whatever graph runs the leg. */
  inbandDigit(digit: string, durationMs: number): void {
    this.#onDigit({ digit, durationMs, source: 'inband' });
  }

  // ------------------------------------------------------- where media runs

  /**
   * @internal New negotiated media (an answer, a re-INVITE changing codec,
   * payload types or ptime): whatever runs the leg is rebuilt on the same
   * RTP session. With `attach: false` a leg not in a bridge gets no graph of
   * its own yet (it is about to be bridged).
   */
  setMedia(m: LegMedia, opts: { attach?: boolean } = {}): void {
    if (this.#closed) throw new InvalidStateError(`${this.name} is closed`);
    const next = resolveMedia(this.name, m, this.#media);
    // the same media again (a 200 after its 183): nothing to rebuild
    if (this.#media && sameMedia(this.#media, next) && (this.#host || opts.attach === false)) return;
    if (this.#bridge) {
      this.#media = next;
      this.#bridge.bridge.mediaChanged(this);
      return;
    }
    if (this.#conference) throw new InvalidStateError(`${this.name}: leave the conference before changing its media`);
    this.#endOperations('moved');
    this.#host?.release();
    this.#host = undefined;
    this.#media = next;
    this.endpoint.setPayloadTypes(profileOf(next), next.payloadType);
    if (opts.attach ?? true) this.#goAlone();
  }

  /**
   * @internal Leaves whatever runs the leg and builds nothing in its place:
   * a fork branch that media no longer follows (its port pair is shared with
   * the branch that does).
   */
  standby(): void {
    this.#leaveCurrent();
  }

  /**
   * Bridges this leg with `other` (relayed when their codecs match,
   * transcoded otherwise). Each leg leaves whatever it was in (its own graph,
   * another bridge, a conference); a leg left behind goes back to its own
   * graph. Returns the Bridge.
   */
  bridgeWith(other: MediaLeg, opts: BridgeOptions = {}): Bridge {
    if (this.#closed || other.#closed) throw new InvalidStateError('Cannot bridge a closed leg');
    if (other === this) throw new InvalidArgumentError('Cannot bridge a leg with itself');
    if (this.#bridge?.peer === other) return this.#bridge.bridge;
    this.#requireMedia();
    other.#requireMedia();
    this.#leaveCurrent();
    other.#leaveCurrent();
    let br: Bridge;
    try {
      br = new Bridge(this, other, { factory: this.factory, ticker: this.ticker, ...opts });
    } catch (err) {
      for (const l of [this, other]) if (!l.#host && !l.#closed) l.#goAlone();
      throw err;
    }
    br.on('error', (err) => this.safeEmit('error', err));
    this.#enterBridge(br, other);
    other.#enterBridge(br, this);
    return br;
  }

  #enterBridge(br: Bridge, peer: MediaLeg): void {
    this.#bridge = { bridge: br, peer };
    this.#setHost(br.host(this));
  }

  /** @internal The bridge ended (closed by either leg or by its owner): back to the leg's own graph. */
  bridgeClosed(br: Bridge): void {
    if (this.#bridge?.bridge !== br) return;
    this.#bridge = undefined;
    this.#endOperations('moved');
    this.#host = undefined;
    if (!this.#closed) this.#goAlone();
  }

  /** Ends the bridge (if any): both legs go back to their own graphs (silence until they play something). */
  unbridge(): void {
    this.#bridge?.bridge.close();
  }

  /** @internal Whether forks, an injection or voice detection run on the leg (a conference cannot seat it then). */
  get streaming(): boolean {
    return this.#streams.streams?.active ?? false;
  }

  /** @internal Conference calls these. */
  enterConference(seat: ConferenceSeat): void {
    if (this.streaming)
      throw new InvalidStateError(`${this.name}: stop its forks, injection and voice detection first`);
    this.#requireMedia();
    this.#leaveCurrent();
    this.#conference = seat;
    this.#setHost(seat.host(this));
  }

  /** @internal */
  leftConference(): void {
    // a leg that left by itself (#leaveCurrent) has forgotten the conference already
    if (!this.#conference) return;
    this.#conference = undefined;
    this.#endOperations('moved');
    this.#host = undefined;
    if (!this.#closed) this.#goAlone();
  }

  /** Back to the leg's own graph from a bridge or a conference. */
  toAlone(): void {
    if (this.mode === 'alone') return;
    this.#leaveCurrent();
    if (!this.#host && !this.#closed) this.#goAlone();
  }

  /** Leaves its own graph, a bridge or a conference; the leg is left with no host. */
  #leaveCurrent(): void {
    this.#endOperations('moved');
    const host = this.#host;
    this.#host = undefined;
    if (this.#bridge) {
      const b = this.#bridge.bridge;
      this.#bridge = undefined;
      b.close();
    } else if (this.#conference) {
      const c = this.#conference;
      this.#conference = undefined;
      c.leave(this);
    } else host?.release();
  }

  #goAlone(): void {
    const media = this.#requireMedia();
    this.#setHost(
      new LegGraph({
        factory: this.factory,
        ticker: this.ticker,
        endpoint: this.endpoint,
        media,
        inband: this.inbandOn,
        onInbandDigit: (d, ms) => this.inbandDigit(d, ms),
        sending: this.#sending,
        onRecordingFailed: (err) => {
          this.#work.recordFailed();
          this.safeEmit('error', err);
        },
      }),
    );
  }

  #setHost(h: LegHost): void {
    this.#host = h;
    if (!this.#sending) h.setSending(false);
    if (this.#muted) h.setMuted(true);
    if (this.#streams.streams) h.setStreams(this.#streams.streams);
    if (h.mode !== this.#lastMode) {
      this.#lastMode = h.mode;
      this.safeEmit('mode', h.mode);
      this.#streams.event('mode', h.mode);
    }
  }

  #endOperations(reason: 'moved' | 'closed'): void {
    this.#work.end(reason);
  }

  /** Ends everything on the leg (pending promises resolve with 'closed') and frees it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#endOperations('closed');
    // forks send what they hold and their stop message; injections end
    this.#streams.event('close');
    this.#closed = true;
    this.#leaveCurrent();
    this.#release();
    this.safeEmit('close');
  }

  #release(): void {
    this.#host?.release();
    this.#host = undefined;
    if (this.#ownsEndpoint) this.endpoint.close();
    if (this.#ownsTicker) this.ticker.close();
  }
}
