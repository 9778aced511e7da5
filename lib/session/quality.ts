/**
 * A session's quality monitoring and reports: the monitor samples leg `a`
 * and the callee leg media follows; each leg's RFC 6035 report is built from
 * what we measured on it and what its peer said in RTCP XR, with the
 * identities of the leg's own SIP dialog.
 */
import type { MediaLeg } from '../leg/MediaLeg';
import { lastVoipMetrics, legSessionReport, localMetrics, remoteMetrics, type LegIdentity } from '../quality/legReport';
import { QualityMonitor, type MonitoredLeg, type QualitySample } from '../quality/QualityMonitor';
import type { VqMetrics, VqSessionReport } from '../quality/vqreport';
import type { SessionContext } from './context';
import type { LegDialog } from './info';
import type { LegSdp } from './legSdp';

/** What SessionQuality needs of its session. */
export interface QualitySubject {
  readonly callId: string;
  readonly fromTag?: string;
  readonly toTag?: string;
  readonly a: MediaLeg;
  readonly b: MediaLeg | undefined;
  readonly state: string;
  entryFacts(leg: MediaLeg): { dialog?: LegDialog; sdp: LegSdp; tag?: string } | undefined;
}

type Emit = (event: 'interval' | 'alert' | 'error', payload: unknown) => void;

function monitored(name: 'a' | 'b', leg: MediaLeg): MonitoredLeg | undefined {
  const m = leg.resolvedMedia;
  if (!m || leg.closed) return undefined;
  return {
    name,
    codec: m.codec,
    payloadType: m.payloadType,
    ptime: m.ptime,
    endpoint: leg.endpoint,
    jitterBuffer: () => (leg.plc() === 'relayed' ? false : leg.endpoint.jitterBuffer),
    stats: () => leg.stats(),
    audioLevel: () => leg.audioLevel(),
    lossMetrics: () => leg.lossMetrics(),
    plc: () => leg.plc(),
  };
}

export class SessionQuality {
  readonly #ctx: SessionContext;
  readonly #s: QualitySubject;
  readonly #emit: Emit;
  #monitor?: QualityMonitor;

  constructor(ctx: SessionContext, subject: QualitySubject, emit: Emit) {
    this.#ctx = ctx;
    this.#s = subject;
    this.#emit = emit;
  }

  get samples(): readonly QualitySample[] {
    return this.#monitor?.timeline ?? [];
  }

  /** Starts sampling once media runs (idempotent). */
  start(): void {
    if (!this.#ctx.quality || this.#monitor) return;
    const s = this.#s;
    const m = new QualityMonitor(
      {
        get closed() {
          return s.state === 'stopped';
        },
        legs: () => [monitored('a', s.a), s.b ? monitored('b', s.b) : undefined].filter((x): x is MonitoredLeg => !!x),
      },
      this.#ctx.quality,
    );
    m.on('interval', (leg, metrics) =>
      this.#emit('interval', { ...this.#base(leg === 'a' ? s.a : s.b!, metrics), kind: 'VQIntervalReport' }),
    );
    m.on('alert', (al) =>
      this.#emit('alert', {
        ...this.#base(al.leg === 'a' ? s.a : s.b!, al.metrics),
        kind: 'VQAlertReport',
        alert: { type: al.type, severity: al.severity, direction: 'local' },
      }),
    );
    m.on('error', (e) => this.#emit('error', e));
    this.#monitor = m;
  }

  stop(): void {
    this.#monitor?.stop();
  }

  /** The leg's VQSessionReport: CallTerm (undefined when it never had media). */
  report(e: { leg: MediaLeg; sdp: LegSdp }, start: Date): VqSessionReport | undefined {
    const leg = e.leg;
    const media = leg.resolvedMedia;
    if (!media || leg.endpoint.closed) return undefined;
    const stop = new Date();
    const plc = leg.plc();
    const local = localMetrics({
      codec: media.codec,
      payloadType: media.payloadType,
      ptimeMs: media.ptime,
      fmtp: media.fmtp,
      stats: leg.stats(),
      loss: leg.lossMetrics(),
      // the one in use: none while relayed
      jitterBuffer: plc === 'relayed' ? false : leg.endpoint.jitterBuffer,
      signalLevel: leg.speechLevel(),
      plc: plc === 'relayed' ? undefined : plc,
      start,
      stop,
    });
    const remote = remoteMetrics(lastVoipMetrics(leg.pollRtcp()), start, stop);
    return legSessionReport(this.#identity(leg), local, remote, true);
  }

  #base(leg: MediaLeg, metrics: VqMetrics) {
    const r = legSessionReport(this.#identity(leg), metrics, undefined, false);
    const { kind: _k, callTerm: _c, ...rest } = r;
    return rest;
  }

  #identity(leg: MediaLeg): LegIdentity {
    const s = this.#s;
    const facts = s.entryFacts(leg);
    const d = facts?.dialog ?? {};
    const info = leg.endpoint.info();
    const adv = this.#ctx.advertise(leg.endpoint.address);
    const m = facts?.sdp.media;
    const peer = m ? m.address : '0.0.0.0';
    const local = d.local ?? `<sip:rtp-media-server@${adv}>`;
    const remote = d.remote ?? `<sip:${leg.name}@${peer}>`;
    const peerIsCaller = d.peerIsCaller ?? leg === s.a;
    const callId = d.callId ?? s.callId;
    const localTag = d.localTag;
    const remoteTag = d.remoteTag ?? facts?.tag;
    return {
      callId,
      localId: local,
      remoteId: remote,
      origId: peerIsCaller ? remote : local,
      local: { ip: adv, port: leg.localPort, ssrc: info.sendSsrc },
      remote: { ip: peer, port: m?.port ?? 0, ssrc: info.recvSsrc },
      // RFC 6035 DialogID: the dialog's Call-ID, to-tag (the callee's) and from-tag (the caller's)
      dialog: {
        callId,
        fromTag: peerIsCaller ? remoteTag : localTag,
        toTag: peerIsCaller ? localTag : remoteTag,
      },
    };
  }
}
