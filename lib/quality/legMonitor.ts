/**
 * The quality of one leg over time, from its QualityLegSource: sampled by
 * QualityMonitor once a period, it keeps what the peer's RTCP said, feeds
 * our outgoing RTCP XR with the whole call's figures, checks alerts on the
 * figures of the last alertWindowMs, and closes an interval (metrics over
 * that interval only) every intervalMs.
 */
import type { NativeRtcpPacket, NativeRxQuality } from '../native';
import { AlertTracker, type AlertChange, type HysteresisOptions, type QualityThresholds } from './alerts';
import { rxDelta, rxFigures, type RxFigures } from './figures';
import {
  dialogIdentity,
  lastVoipMetrics,
  legEstimate,
  legSessionReport,
  localMetrics,
  plcCode,
  remoteMetrics,
  type LegEstimate,
  type LegIdentity,
  type LegMeasurements,
} from './legReport';
import type { LegMediaFormat, QualityLegSource } from './source';
import type { VqAlertReport, VqIntervalReport, VqMetrics, VqSessionReport } from './vqreport';

export interface ResolvedLegOptions extends HysteresisOptions {
  thresholds: QualityThresholds;
  alertWindowMs: number;
  intervalMs: number;
  noMediaMs: number;
  relayedPlc: boolean;
  /** Identity when the source gives no dialog. */
  fallback: { callId: string; localUri: string };
}

export interface QualitySample {
  atMs: number;
  leg: string;
  /** Over the alert window. */
  mosLq?: number;
  mosCq?: number;
  lossPercent?: number;
  jitterMs?: number;
  rttMs?: number;
  signalLevel?: number;
  /** mediastreamer2's own quality indicator (0..5), beside our G.107 estimate. */
  ms2Rating?: number;
  /** Packets that arrived in the window. */
  received: number;
}

/** One closed interval of one leg: the RFC 6035 metrics over it, and the figures behind them. */
export interface QualityInterval {
  leg: string;
  start: Date;
  stop: Date;
  metrics: VqMetrics;
  figures: RxFigures;
  jitterMs: number;
  rttMs?: number;
  estimate?: LegEstimate;
}

export interface LegAlert extends AlertChange {
  metrics: VqMetrics;
}

interface Snap {
  atMs: number;
  rx: NativeRxQuality;
}

const clampLevel = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? undefined : Math.max(-120, Math.min(0, Math.round(v)));

export class LegQualityMonitor {
  readonly name: string;
  readonly source: QualityLegSource;
  readonly #o: ResolvedLegOptions;
  readonly #start: Date;
  readonly #alerts: AlertTracker;
  #history: Snap[] = [];
  #interval: { start: Date; rx?: NativeRxQuality; power: number; blocks: number; noise: number };
  #noise = Infinity;
  #peerXr?: Extract<NativeRtcpPacket, { type: 'XR' }>['xr'];
  #peerSsrc?: number;
  #peerReports = 0;
  #silentSince: number;
  #lastReceived = 0;
  #packetMs = 0;
  #lastMedia?: LegMediaFormat;

  constructor(name: string, source: QualityLegSource, opts: ResolvedLegOptions, start: Date) {
    this.name = name;
    this.source = source;
    this.#o = opts;
    this.#start = start;
    this.#alerts = new AlertTracker(opts.thresholds, opts);
    this.#silentSince = start.getTime();
    this.#interval = { start, power: 0, blocks: 0, noise: Infinity };
  }

  /** RTCP XR VoIP metrics blocks the peer has sent about our stream. */
  get peerXrReports(): number {
    return this.#peerReports;
  }

  /** Drains the endpoint's RTCP queue, keeping the peer's last XR and its SSRC. */
  pollRtcp(): void {
    if (this.source.endpoint.collectingRtcp === false) return;
    const packets = this.source.endpoint.pollRtcp();
    const xr = lastVoipMetrics(packets);
    for (const p of packets) {
      if (p.direction !== 'received') continue;
      if (p.type === 'XR' && p.xr.block === 'voip-metrics') this.#peerReports++;
      if (p.type === 'SR' || p.type === 'RR') this.#peerSsrc = p.ssrc;
    }
    if (xr) this.#peerXr = xr;
  }

  /** The media now, else the last known (undefined before any). */
  #media(): LegMediaFormat | undefined {
    const m = this.source.media() ?? this.#lastMedia;
    if (!m) return undefined;
    if (m.ptimeMs !== this.#packetMs) {
      this.#packetMs = m.ptimeMs;
      this.source.endpoint.configureRxQuality({ packetMs: m.ptimeMs });
    }
    return m;
  }

  /** Whether the codec or payload type changed since the last sample (for the timeline). */
  mediaChanged(): LegMediaFormat | undefined {
    const m = this.source.media();
    if (!m) return undefined;
    const prev = this.#lastMedia;
    this.#lastMedia = m;
    return prev && (prev.codec.name !== m.codec.name || prev.payloadType !== m.payloadType) ? m : undefined;
  }

  #measure(rx: NativeRxQuality, before: NativeRxQuality | undefined, start: Date, stop: Date, media: LegMediaFormat) {
    const jb = rx.jitterBuffer;
    const plc = this.source.plc();
    const m: LegMeasurements = {
      media,
      rx: rxFigures(rxDelta(rx, before), media.ptimeMs),
      jitterMs: rx.jitterMs,
      stats: this.source.endpoint.stats(),
      jitterBuffer: jb,
      plc,
      relayedPlc: this.#o.relayedPlc,
      // what we hold a packet for: the buffer and a packet time when we
      // decode; within one tick (10 ms) when we relay
      endSystemDelayMs: plc === 'relayed' ? 10 : (jb.enabled ? jb.nominalMs : 0) + media.ptimeMs,
      start,
      stop,
    };
    return m;
  }

  /** One sample: alerts on the window, XR values of the whole call, maybe a closed interval. */
  sample(nowMs: number): { sample: QualitySample; alerts: LegAlert[]; interval?: QualityInterval } | undefined {
    const media = this.#media();
    if (!media) return undefined;
    this.pollRtcp();
    const rx = this.source.endpoint.rxQuality();
    const now = new Date(nowMs);
    this.#history.push({ atMs: nowMs, rx });
    // the window's base: the newest snapshot at least alertWindowMs old
    let base: Snap | undefined;
    while (this.#history.length > 1 && this.#history[1].atMs <= nowMs - this.#o.alertWindowMs) this.#history.shift();
    if (this.#history[0].atMs <= nowMs - this.#o.alertWindowMs) base = this.#history[0];
    const winStart = base ? new Date(base.atMs) : this.#start;
    const win = this.#measure(rx, base?.rx, winStart, now, media);
    const winEst = legEstimate(win);

    const level = this.source.audioLevel();
    if (level !== undefined && Number.isFinite(level)) {
      this.#noise = Math.min(this.#noise, level);
      this.#interval.noise = Math.min(this.#interval.noise, level);
      if (level > -50) {
        this.#interval.power += Math.pow(10, level / 10);
        this.#interval.blocks++;
      }
    }

    // our XR: the whole call so far
    const whole = this.#measure(rx, undefined, this.#start, now, media);
    const est = legEstimate(whole);
    const plc = this.source.plc();
    this.source.endpoint.setXrMedia({
      plc: plc === 'decoder' || plc === 'generic' ? 'enhanced' : 'none',
      signalLevel: clampLevel(this.source.speechLevel()),
      noiseLevel: clampLevel(Number.isFinite(this.#noise) ? this.#noise : undefined),
      mosLq: est ? Math.max(1, Math.min(5, est.mosLq)) : undefined,
      mosCq: est ? Math.max(1, Math.min(5, est.mosCq)) : undefined,
    });
    this.source.endpoint.setXrFill({
      rFactor: est ? Math.max(0, Math.min(120, Math.round(est.rCq))) : undefined,
      endSystemDelayMs: whole.endSystemDelayMs,
      plc: plcCode(plc),
    });

    const alerts: LegAlert[] = [];
    const winMetrics = () => localMetrics(win);
    const push = (c: AlertChange | undefined) => c && alerts.push({ ...c, metrics: winMetrics() });
    // no media: the peer should send and nothing has come for noMediaMs
    const receiving = this.source.receiving?.() ?? true;
    if (rx.received !== this.#lastReceived || !receiving) this.#silentSince = nowMs;
    this.#lastReceived = rx.received;
    const silentFor = nowMs - this.#silentSince;
    push(this.#alerts.noMedia(receiving && silentFor >= this.#o.noMediaMs, nowMs, silentFor));
    if (win.rx.expected > 0) {
      push(this.#alerts.update('NLR', win.rx.lossPercent, nowMs));
      push(this.#alerts.update('MOSCQ', winEst?.mosCq, nowMs));
      push(this.#alerts.update('IAJ', rx.jitterMs, nowMs));
    }
    const rtt = win.stats.roundTripMs > 0 ? win.stats.roundTripMs : undefined;
    push(this.#alerts.update('RTD', rtt, nowMs));

    let interval: QualityInterval | undefined;
    if (nowMs - this.#interval.start.getTime() >= this.#o.intervalMs) interval = this.#closeInterval(rx, now, media);

    return {
      sample: {
        atMs: nowMs,
        leg: this.name,
        mosLq: winEst?.mosLq,
        mosCq: winEst?.mosCq,
        lossPercent: win.rx.lossPercent,
        jitterMs: win.rx.expected > 0 ? rx.jitterMs : undefined,
        rttMs: rtt,
        signalLevel: level,
        ms2Rating: this.source.endpoint.qualityIndicator().rating,
        received: win.rx.received,
      },
      alerts,
      interval,
    };
  }

  #closeInterval(rx: NativeRxQuality, now: Date, media: LegMediaFormat): QualityInterval {
    const iv = this.#interval;
    const m = this.#measure(rx, iv.rx, iv.start, now, media);
    if (iv.blocks > 0) {
      m.signalLevel = 10 * Math.log10(iv.power / iv.blocks);
      m.noiseLevel = Number.isFinite(iv.noise) ? iv.noise : undefined;
    }
    const out: QualityInterval = {
      leg: this.name,
      start: iv.start,
      stop: now,
      metrics: localMetrics(m),
      figures: m.rx,
      jitterMs: rx.jitterMs,
      rttMs: m.stats.roundTripMs > 0 ? m.stats.roundTripMs : undefined,
      estimate: legEstimate(m),
    };
    this.#interval = { start: now, rx, power: 0, blocks: 0, noise: Infinity };
    return out;
  }

  /** Metrics of the whole call so far (the CallTerm report's local block). */
  wholeCall(nowMs = Date.now()): VqMetrics {
    const media = this.#media();
    if (!media) return { start: this.#start, stop: new Date(nowMs) };
    const rx = this.source.endpoint.rxQuality();
    const m = this.#measure(rx, undefined, this.#start, new Date(nowMs), media);
    m.signalLevel = this.source.speechLevel();
    m.noiseLevel = Number.isFinite(this.#noise) ? this.#noise : undefined;
    return localMetrics(m);
  }

  /** What the peer's last XR VoIP metrics said about our stream, over the call. */
  remote(nowMs = Date.now()): VqMetrics | undefined {
    return remoteMetrics(this.#peerXr, this.#start, new Date(nowMs));
  }

  identity(): LegIdentity {
    const a = this.source.addresses();
    const info = this.source.endpoint.info();
    const rx = this.source.endpoint.rxQuality();
    // the SSRC we hear: from its RTP, else from its RTCP, else unknown (0)
    const remoteSsrc = rx.ssrc ?? (info.recvSsrc || this.#peerSsrc || 0);
    const d = this.source.dialog();
    const peer = a.remote?.ip ?? '0.0.0.0';
    const ids = d
      ? dialogIdentity(d)
      : {
          callId: this.#o.fallback.callId,
          localId: `<${this.#o.fallback.localUri}>`,
          remoteId: `<sip:${peer.includes(':') ? `[${peer}]` : peer}>`,
          origId: `<sip:${peer.includes(':') ? `[${peer}]` : peer}>`,
          dialog: undefined,
        };
    return {
      ...ids,
      local: { ip: a.local.ip, port: a.local.port, ssrc: info.sendSsrc },
      remote: { ip: peer, port: a.remote?.port ?? 0, ssrc: remoteSsrc },
    };
  }

  /** The VQIntervalReport of a closed interval. */
  intervalReport(iv: QualityInterval): VqIntervalReport {
    const { kind: _k, callTerm: _c, ...rest } = legSessionReport(this.identity(), iv.metrics, undefined, false);
    return { ...rest, kind: 'VQIntervalReport' };
  }

  /** The VQAlertReport of an alert change (metrics of the alert window). */
  alertReport(a: { type: string; severity: VqAlertReport['alert']['severity']; metrics: VqMetrics }): VqAlertReport {
    const { kind: _k, callTerm: _c, ...rest } = legSessionReport(this.identity(), a.metrics, undefined, false);
    return { ...rest, kind: 'VQAlertReport', alert: { type: a.type, severity: a.severity, direction: 'local' } };
  }

  /** The leg's VQSessionReport (CallTerm at the end of the call). */
  sessionReport(callTerm: boolean, nowMs = Date.now()): VqSessionReport {
    this.pollRtcp();
    return legSessionReport(this.identity(), this.wholeCall(nowMs), this.remote(nowMs), callTerm);
  }
}
