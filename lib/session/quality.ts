/**
 * A session's quality monitoring and reports: each MediaLeg as a
 * QualityLegSource (lib/quality/source.ts), one QualityMonitor over the
 * session's legs (`a`, and `b` once the callee answers), each leg's RFC 6035
 * reports with the identities of its own SIP dialog (LegDialog from the
 * application, else the one dialog a proxy in the middle sees).
 */
import type { MediaLeg } from '../leg/MediaLeg';
import { LegQualityMonitor } from '../quality/legMonitor';
import { QualityMonitor, type QualityOptions, type QualitySample } from '../quality/QualityMonitor';
import type { LegDialog as QualityDialog, QualityEndpoint, QualityLegSource } from '../quality/source';
import type { VqSessionReport } from '../quality/vqreport';
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

/** `"Name" <uri>`, `<uri>` or a bare URI, as RFC 6035 identities need them apart. */
function party(s: string | undefined, fallback: string): { uri: string; displayName?: string } {
  if (!s) return { uri: fallback };
  const m = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]+)>/.exec(s);
  if (!m) return { uri: s.trim() };
  const name = (m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? '').trim();
  return { uri: m[3].trim(), displayName: name || undefined };
}

/**
 * The leg's endpoint as the quality layer reads it, whatever carries its
 * packets: while its bridge relays, the forwarding plane reads the sockets
 * and shows the session's receive counters every packet it accepts
 * (native/forward/relay.cc), the leg's figures add the relay's, its RTCP is
 * what the relay forwarded, and no jitter buffer of ours holds the packets.
 */
function qualityEndpoint(leg: MediaLeg): QualityEndpoint {
  const ep = leg.endpoint;
  const relayed = () => leg.plc() === 'relayed';
  return {
    stats: () => leg.stats(),
    rxQuality: () => {
      const rx = ep.rxQuality();
      return relayed()
        ? { ...rx, jitterBuffer: { enabled: false, adaptive: false, nominalMs: 0, maxMs: 0, absMaxMs: 0 } }
        : rx;
    },
    configureRxQuality: (c) => ep.configureRxQuality(c),
    info: () => ep.info(),
    setXrMedia: (v) => ep.setXrMedia(v),
    setXrFill: (v) => ep.setXrFill(v),
    qualityIndicator: () => ep.qualityIndicator(),
    pollRtcp: () => leg.pollRtcp(),
    get collectingRtcp() {
      return ep.collectingRtcp;
    },
  };
}

const host = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

export class SessionQuality {
  readonly #ctx: SessionContext;
  readonly #s: QualitySubject;
  readonly #emit: Emit;
  #monitor?: QualityMonitor;
  readonly #sources = new Map<MediaLeg, QualityLegSource>();

  constructor(ctx: SessionContext, subject: QualitySubject, emit: Emit) {
    this.#ctx = ctx;
    this.#s = subject;
    this.#emit = emit;
  }

  get samples(): readonly QualitySample[] {
    return this.#monitor?.timeline ?? [];
  }

  /** The monitor once media ran (intervals, alerts, events; mark() adds events). */
  get monitor(): QualityMonitor | undefined {
    return this.#monitor;
  }

  /** A call event on the quality timeline (hold, re-INVITE ...). */
  mark(kind: string, text: string, leg?: MediaLeg): void {
    this.#monitor?.mark(kind, text, leg === undefined ? undefined : leg === this.#s.a ? 'a' : 'b');
  }

  /** A re-INVITE on the timeline: a hold when the peer stops sending to us. */
  reoffered(leg: MediaLeg, from: string, direction: string): void {
    const hold = direction === 'inactive' || direction === 'sendonly';
    this.mark(hold ? 'hold' : 're-INVITE', `re-INVITE from ${from}: ${direction}`, leg);
  }

  #name(leg: MediaLeg): 'a' | 'b' {
    return leg === this.#s.a ? 'a' : 'b';
  }

  /** The leg as the quality layer reads it. */
  #source(leg: MediaLeg): QualityLegSource {
    let src = this.#sources.get(leg);
    if (src) return src;
    const s = this.#s;
    const facts = () => s.entryFacts(leg);
    src = {
      media: () => {
        const m = leg.resolvedMedia;
        return m ? { codec: m.codec, payloadType: m.payloadType, ptimeMs: m.ptime, fmtp: m.fmtp } : undefined;
      },
      endpoint: qualityEndpoint(leg),
      plc: () => leg.plc(),
      audioLevel: () => (leg.closed ? undefined : leg.audioLevel()),
      speechLevel: () => leg.speechLevel(),
      addresses: () => {
        const m = facts()?.sdp.media;
        return {
          local: { ip: this.#ctx.advertise(leg.endpoint.address), port: leg.localPort },
          remote: m ? { ip: m.address, port: m.port } : undefined,
        };
      },
      dialog: () => this.#dialog(leg),
      receiving: () => {
        const d = facts()?.sdp.media?.direction;
        return d === undefined || d === 'sendrecv' || d === 'sendonly';
      },
    };
    this.#sources.set(leg, src);
    return src;
  }

  /** The leg's dialog as RFC 6035 wants it: the application's, completed with this session's Call-ID and tags. */
  #dialog(leg: MediaLeg): QualityDialog {
    const s = this.#s;
    const facts = s.entryFacts(leg);
    const d = facts?.dialog ?? {};
    const isA = leg === s.a;
    const adv = this.#ctx.advertise(leg.endpoint.address);
    const peer = facts?.sdp.media?.address ?? '0.0.0.0';
    // towards the caller we stand for the callee, towards a callee for the caller
    const peerIsCaller = d.peerIsCaller ?? isA;
    return {
      callId: d.callId ?? s.callId,
      localTag: d.localTag ?? (isA ? s.toTag : s.fromTag),
      remoteTag: d.remoteTag ?? facts?.tag ?? (isA ? s.fromTag : s.toTag),
      local: party(d.local, `sip:${host(adv)}`),
      remote: party(d.remote, `sip:${host(peer)}`),
      initiator: peerIsCaller ? 'remote' : 'local',
    };
  }

  /** Starts sampling once media runs; later calls add the callee leg (idempotent). */
  start(): void {
    const s = this.#s;
    if (!this.#monitor) {
      if (!s.a.resolvedMedia) return;
      const q: QualityOptions = this.#ctx.quality ?? { sampleMs: 0 };
      const m = new QualityMonitor({ a: this.#source(s.a) }, q, {
        closed: () => s.state === 'stopped',
        callId: s.callId,
      });
      m.on('interval', (leg, _metrics, iv) => this.#emit('interval', m.legs[leg].intervalReport(iv)));
      m.on('alert', (al) => this.#emit('alert', m.legs[al.leg].alertReport(al)));
      m.on('error', (e) => this.#emit('error', e));
      s.a.on('dtmf', (d) => m.mark('dtmf', `DTMF ${d.digit} from a`, 'a'));
      s.a.on('mode', (mode) => m.mark('bridge', `leg a ${mode}`, 'a'));
      this.#monitor = m;
    }
    const b = s.b;
    if (b && b.resolvedMedia && !this.#monitor.legs.b) {
      const m = this.#monitor;
      m.addLeg('b', this.#source(b));
      b.on('dtmf', (d) => m.mark('dtmf', `DTMF ${d.digit} from b`, 'b'));
      b.on('mode', (mode) => m.mark('bridge', `leg b ${mode}`, 'b'));
    }
  }

  stop(): void {
    this.#monitor?.stop();
  }

  /** The leg's VQSessionReport: CallTerm (undefined when it never had media). */
  report(e: { leg: MediaLeg; sdp: LegSdp }, start: Date): VqSessionReport | undefined {
    const leg = e.leg;
    if (!leg.resolvedMedia || leg.endpoint.closed) return undefined;
    const monitored = this.#monitor?.legs[this.#name(leg)];
    if (monitored && monitored.source === this.#sources.get(leg)) return monitored.sessionReport(true);
    // a leg never sampled (a fork branch, or monitoring off before media): its whole call now
    const once = new LegQualityMonitor(this.#name(leg), this.#source(leg), this.#monitorOptions(), start);
    return once.sessionReport(true);
  }

  /** The final reports of leg a and the followed callee; a report that fails is an 'error', never a call kept from ending. */
  finalReports(a: { leg: MediaLeg; sdp: LegSdp }, b: { leg: MediaLeg; sdp: LegSdp } | undefined, start: Date) {
    this.stop();
    try {
      return { a: this.report(a, start)!, b: b ? this.report(b, start) : undefined };
    } catch (err) {
      this.#emit('error', err);
      return undefined;
    }
  }

  #monitorOptions() {
    return QualityMonitor.resolveOptions(this.#ctx.quality ?? { sampleMs: 0 }, {
      callId: this.#s.callId,
    });
  }
}
