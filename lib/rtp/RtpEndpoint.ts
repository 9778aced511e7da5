import { isIP } from 'node:net';
import { SafeEmitter } from '../util/SafeEmitter';
import { AddressInUseError, InvalidArgumentError, InvalidStateError } from '../errors';
import {
  addon,
  type NativeQualityIndicator,
  type NativeRtcpPacket,
  type NativeRxQuality,
  type NativeRxQualityConfig,
  type NativeXrFill,
  type NativeXrMedia,
  type NativeRtpSession,
  type NativeStreamResume,
  type NativeStreamState,
} from '../native';
import {
  SecureTransport,
  type DtlsSettings,
  type IceSettings,
  type SecureEndpointSettings,
  type SecureStats,
  type SrtpSettings,
} from './secure';
import {
  DEFAULT_JITTER_BUFFER,
  DTMF_EVENTS,
  effectiveJitterBuffer,
  type JitterBufferOptions,
  type LatchMode,
  type PayloadTypeSpec,
  type RtpAddress,
  type RtpEndpointEvents,
  type RtpEndpointOptions,
  type RtpInfo,
  type RtpStats,
} from './endpointTypes';

export {
  DEFAULT_JITTER_BUFFER,
  DTMF_EVENTS,
  effectiveJitterBuffer,
  type JitterBufferOptions,
  type LatchMode,
  type PayloadTypeSpec,
  type RtpAddress,
  type RtpEndpointEvents,
  type RtpEndpointOptions,
  type RtpInfo,
  type RtpStats,
  type TelephoneEvent,
  type TelephoneEventEnd,
} from './endpointTypes';

/** Where port 0 looks for a free even/odd pair (below Linux's ephemeral range). */
const AUTO_PORT_MIN = 16384;
const AUTO_PORT_MAX = 32766;
const AUTO_PORT_TRIES = 64;

/**
 * Port 0 means "any free pair": an even RTP port with RTCP on the next one, as
 * RFC 3550 11 suggests and as SDP without a=rtcp implies.
 */
function bindPorts(native: NativeRtpSession, address: string, port: number, rtcpPort?: number) {
  if (port !== 0) return native.bind(address, port, rtcpPort ?? port + 1);
  if (rtcpPort !== undefined) return native.bind(address, 0, rtcpPort);
  let lastErr: unknown;
  for (let i = 0; i < AUTO_PORT_TRIES; i++) {
    const p = AUTO_PORT_MIN + 2 * Math.floor(Math.random() * ((AUTO_PORT_MAX - AUTO_PORT_MIN) / 2));
    try {
      return native.bind(address, p, p + 1);
    } catch (err) {
      if (!(err instanceof AddressInUseError)) throw err;
      lastErr = err;
    }
  }
  throw lastErr;
}

/**
 * One RTP/RTCP socket pair (an oRTP RtpSession) with its payload-type
 * profile. Give it to an RtpReceiver and an RtpSender filter. close() fails
 * while a filter still uses it; the Graph and Gateway close things in order.
 */
export class RtpEndpoint extends SafeEmitter<RtpEndpointEvents> {
  #native: NativeRtpSession | null;
  #listening = false;
  #telephoneEventRate = 8000;
  #jitterBuffer: JitterBufferOptions | false = false;
  readonly address: string;
  readonly port: number;
  readonly rtcpPort: number;
  #remote?: RtpAddress;
  #secure: SecureTransport | null = null;
  #latch: LatchMode = 'strict';
  #rxConfig: NativeRxQualityConfig = { clockRate: 0, audioPt: -1 };
  #collecting = false;

  constructor(opts: RtpEndpointOptions) {
    super();
    if (!opts || typeof opts.address !== 'string' || isIP(opts.address) === 0)
      throw new InvalidArgumentError(
        `Expected an IP address for RtpEndpoint address but received ${String(opts?.address)}`,
      );
    const native = new (addon().RtpSession)();
    try {
      const bound = bindPorts(native, opts.address, opts.port ?? 0, opts.rtcpPort);
      this.address = opts.address;
      this.port = bound.rtpPort;
      this.rtcpPort = bound.rtcpPort;
      this.#latch = opts.latch ?? (opts.symmetric === true ? 'always' : 'strict');
      native.setLatch(this.#latch);
      const jb = effectiveJitterBuffer(opts.jitterBuffer);
      native.setJitterBuffer(jb || { ...DEFAULT_JITTER_BUFFER, enabled: false });
      this.#jitterBuffer = jb && jb.enabled ? jb : false;
      native.enableRtcp(opts.rtcp ?? true);
      native.setRtcpInterval(opts.rtcpIntervalMs ?? 5000);
      native.configureXr(
        opts.xr === false
          ? { enabled: false }
          : { enabled: true, rcvrRtt: 'all', rcvrRttMaxSize: 10000, statSummary: true, voipMetrics: true, ...opts.xr },
      );
      if (opts.payloadTypes) {
        native.setPayloadTypes(opts.payloadTypes);
        this.#telephoneEventRate =
          opts.payloadTypes.find((p) => p.mime.toLowerCase() === 'telephone-event')?.clockRate ?? 8000;
        const pt = opts.payloadType ?? opts.payloadTypes[0]?.pt;
        if (pt !== undefined) {
          native.setSendPayloadType(pt);
          native.setRecvPayloadType(pt);
        }
        const main = opts.payloadTypes.find((p) => p.pt === pt) ?? opts.payloadTypes[0];
        if (main) {
          this.#rxConfig = { clockRate: main.clockRate, audioPt: main.pt };
          native.configureRxQuality(this.#rxConfig);
        }
      }
      if (opts.remote)
        native.setRemote(opts.remote.address, opts.remote.port, opts.remote.rtcpPort ?? opts.remote.port + 1);
    } catch (err) {
      native.close();
      throw err;
    }
    this.#native = native;
    this.#remote = opts.remote;
    try {
      if (opts.rtcpMux) this.setRtcpMux(true);
      if (opts.ice) this.setIce(opts.ice);
      if (opts.dtls) this.setDtls(opts.dtls);
      if (opts.srtp) this.setSrtp(opts.srtp);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Changes who may send us media (see RtpEndpointOptions.latch); at once, on a live call too. */
  setLatch(mode: LatchMode): void {
    this.#latch = mode;
    // with ICE the security layer decides who may send (sources that passed a check)
    this.native.setLatch(this.#secure?.ice ? 'always' : mode);
  }

  #security(): SecureTransport {
    if (!this.#secure)
      this.#secure = new SecureTransport(this.native, {
        dtls: (e) => this.safeEmit('dtlsState', e),
        ice: (e) => this.safeEmit('iceState', e),
        zrtp: (e) => this.safeEmit('zrtpState', e),
      });
    return this.#secure;
  }

  /** Whether a security layer (SRTP, DTLS, ICE, ZRTP) was put on the endpoint. */
  get secured(): boolean {
    return this.#secure !== null;
  }

  /** SDES-SRTP keys; on a running call too (a re-key accepts the old receive key for a few seconds). */
  setSrtp(s: SrtpSettings): void {
    this.#security().setSrtp(s);
  }

  /** DTLS-SRTP settings; the same ones again keep the running association. */
  setDtls(d: DtlsSettings): void {
    this.#security().setDtls(d);
  }

  /**
   * ZRTP (RFC 6189) on this leg (see SecureTransport.setZrtp): the peer and
   * we agree on keys in-band; the SAS comes with the 'zrtpState' event.
   * Mandatory from then on and final.
   */
  setZrtp(): void {
    this.#security().setZrtp();
  }

  /** The users compared the ZRTP SAS and it matched (false: take that back). */
  setZrtpSasVerified(yes: boolean): void {
    this.#security().setZrtpVerified(yes);
  }

  /** ICE-lite credentials, or undefined to turn ICE off (the latch option applies again). */
  setIce(i: IceSettings | undefined): void {
    if (i === undefined && !this.#secure) return;
    this.#security().setIce(i);
    this.native.setLatch(i ? 'always' : this.#latch);
  }

  /** RTCP on the RTP port (RFC 5761). */
  setRtcpMux(on: boolean): void {
    if (!on && !this.#secure) return;
    this.#security().setRtcpMux(on);
  }

  /**
   * Applies what lib/sdp/secure.ts decided (answerSecure / acceptSecureAnswer):
   * rtcp-mux, ICE, DTLS or SDES keys (none of them: plain RTP), and the
   * remote address when the settings carry one. Unchanged parts are kept
   * (a re-INVITE that changes nothing does not restart DTLS or ICE).
   */
  applySecurity(s: SecureEndpointSettings): void {
    this.setRtcpMux(s.rtcpMux);
    this.setIce(s.ice);
    if (s.dtls) this.setDtls(s.dtls);
    else if (s.srtp) this.setSrtp(s.srtp);
    else this.clearProtection();
    if (s.remote) this.setRemote(s.remote);
  }

  /** Back to plain RTP (no SRTP, no DTLS); ICE and rtcp-mux stay as they are. */
  clearProtection(): void {
    this.#secure?.clearProtection();
  }

  /** 'none', 'sdes', 'dtls' or 'zrtp'. */
  get protection(): 'none' | 'sdes' | 'dtls' | 'zrtp' {
    return this.#secure?.protection ?? 'none';
  }

  /** Counters of the security layer (SRTP, DTLS, ICE), or undefined for a plain endpoint. */
  secureStats(): SecureStats | undefined {
    return this.#secure?.stats();
  }

  /** @internal */
  get native(): NativeRtpSession {
    if (!this.#native) throw new InvalidStateError(`RtpEndpoint ${this.address}:${this.port} is closed`);
    return this.#native;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  get remote(): RtpAddress | undefined {
    return this.#remote;
  }

  /** Where to send (latching may move it when symmetric RTP is on). */
  setRemote(remote: RtpAddress): void {
    this.native.setRemote(remote.address, remote.port, remote.rtcpPort ?? remote.port + 1);
    this.#remote = remote;
  }

  /** Replaces the profile. Only while no graph using the endpoint runs. */
  setPayloadTypes(list: PayloadTypeSpec[], payloadType = list[0]?.pt): void {
    this.native.setPayloadTypes(list);
    this.#telephoneEventRate = list.find((p) => p.mime.toLowerCase() === 'telephone-event')?.clockRate ?? 8000;
    if (payloadType !== undefined) {
      this.native.setSendPayloadType(payloadType);
      this.native.setRecvPayloadType(payloadType);
    }
    this.#rxFollowProfile(list, payloadType);
  }

  /** Mean interval between RTCP reports, ms. */
  setRtcpInterval(ms: number): void {
    this.native.setRtcpInterval(ms);
  }

  /** Changes the jitter buffer (false: none, packets are read as they come); safe on a running graph. */
  setJitterBuffer(jb: Partial<JitterBufferOptions> | false): void {
    const next = effectiveJitterBuffer(jb);
    this.native.setJitterBuffer(next || { ...DEFAULT_JITTER_BUFFER, enabled: false });
    this.#jitterBuffer = next && next.enabled ? next : false;
  }

  /** The jitter buffer in use, false when there is none. */
  get jitterBuffer(): JitterBufferOptions | false {
    return this.#jitterBuffer;
  }

  /**
   * Counters of the session. `lost`, `duplicatesReceived` and `jitterMs` are
   * what rxQuality() measured on arrival (reordered packets are not lost,
   * jitter from kernel arrival times) once packets came; oRTP's own figures
   * before that.
   */
  stats(): RtpStats {
    const s = this.native.stats();
    const rx = this.native.rxQuality();
    if (rx.expected > 0) {
      s.lost = rx.lost;
      s.duplicatesReceived = rx.duplicates;
    }
    if (rx.jitterPackets > 0) s.jitterMs = rx.jitterMs;
    return s;
  }

  info(): RtpInfo {
    return this.native.info();
  }

  protected override listenerAdded(event: string): void {
    if ((event !== 'telephoneEvent' && event !== 'telephoneEventEnd') || this.#listening) return;
    // registered with the native session before its graph runs (else InvalidStateError)
    this.native.onTelephoneEvent((r) => {
      if (!this.#native) return;
      const digit = DTMF_EVENTS[r.event];
      if (r.phase === 'start') this.safeEmit('telephoneEvent', { event: r.event, digit });
      else
        this.safeEmit('telephoneEventEnd', {
          event: r.event,
          digit,
          volume: r.volume,
          durationMs: Math.round((r.duration * 1000) / this.#telephoneEventRate),
          endLost: r.phase === 'endLost',
        });
    });
    this.#listening = true;
  }

  /**
   * Starts collecting the RTCP packets this endpoint receives and sends (SR,
   * RR, XR), for pollRtcp(). Only before a graph using the endpoint runs.
   */
  collectRtcp(): void {
    this.native.enableRtcpEvents();
    this.#collecting = true;
  }

  /** Whether collectRtcp() was called (pollRtcp() works). */
  get collectingRtcp(): boolean {
    return this.#collecting;
  }

  /**
   * The values our next RTCP XR VoIP metrics blocks carry for the audio this
   * endpoint receives (PLC in use, signal and noise level, MOS); absent
   * values are sent as unavailable, never as a made-up number.
   */
  setXrMedia(v: NativeXrMedia): void {
    this.native.setXrMedia(v);
  }

  /** SSRC, next sequence number and timestamp offset of the stream we send (to keep a call's state). */
  streamState(): NativeStreamState {
    return this.native.streamState();
  }

  /** Sets them before any graph runs the endpoint: a restored call's peers see the same stream go on. */
  setStreamState(s: NativeStreamResume): void {
    this.native.setStreamState(s);
  }

  /** mediastreamer2's own 0..5 quality rating of what this endpoint receives, updated now. */
  qualityIndicator(): NativeQualityIndicator {
    return this.native.qualityIndicator();
  }

  /**
   * What arrived, counted as it arrived (before the jitter buffer): loss that
   * never counts a reordered or duplicated packet, RFC 3611 A.2 burst/gap
   * counters, RFC 3550 jitter from kernel arrival times, and the jitter
   * buffer as our XR describes it.
   */
  rxQuality(): NativeRxQuality {
    return this.native.rxQuality();
  }

  /**
   * Changes how rxQuality() counts (merged with the current settings). Clock
   * and payload type follow setPayloadTypes() by themselves; the packet time
   * of A.2's durations is the quality layer's to give.
   */
  configureRxQuality(c: Partial<NativeRxQualityConfig>): void {
    this.#rxConfig = { ...this.#rxConfig, ...c };
    this.native.configureRxQuality(this.#rxConfig);
  }

  #rxFollowProfile(list: PayloadTypeSpec[], payloadType: number | undefined): void {
    const main = list.find((p) => p.pt === payloadType) ?? list[0];
    if (main) this.configureRxQuality({ clockRate: main.clockRate, audioPt: main.pt });
  }

  /** R factor, end system delay and PLC code our next XR VoIP metrics carry. */
  setXrFill(v: NativeXrFill): void {
    this.native.setXrFill(v);
  }

  /** The SDES CNAME of our RTCP (default: a random one per endpoint, RFC 7022). */
  setCname(cname: string): void {
    this.native.setCname(cname);
  }

  /** The RTCP packets received and emitted since the last poll (see collectRtcp()). */
  pollRtcp(): NativeRtcpPacket[] {
    return this.native.pollRtcp();
  }

  /** Frees the sockets. Idempotent; throws InUseError while a filter uses it. */
  close(): void {
    if (!this.#native) return;
    this.#native.close();
    this.#secure?.close();
    this.#secure = null;
    this.#native = null;
  }
}
