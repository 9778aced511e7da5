/**
 * The ng commands carried out on a MediaServer: calls keyed by Call-ID, SIP
 * tags mapped to legs (leg a is the side that made the first offer, whatever
 * Kamailio calls it: for a late offer it swaps the tags, and a re-INVITE's
 * from-tag is whichever side sent it), codec options turned into the call's
 * codec policy, retransmitted offers and answers (an INVITE or 200 OK seen
 * again by the proxy, with a new cookie) answered with the same SDP.
 * Every failure is thrown as a typed error that the server turns into
 * `result: error`; over the session limit, or while draining, new calls get
 * `load limit` so that the proxy tries its next node.
 */
import type { BDict } from '../control/bencode';
import {
  NG_REASONS,
  errorReply,
  loadLimitReply,
  okReply,
  pongReply,
  type NgAnswer,
  type NgDelete,
  type NgOffer,
  type NgPlayDtmf,
  type NgPlayMedia,
  type NgQuery,
  type NgRequest,
  type NgSdpOptions,
  type NgStopMedia,
} from '../control/ng';
import type { MediaRoots } from '../ivr/mediaRoots';
import type { MediaServer } from '../session/MediaServer';
import type { LegName, MediaSession, SessionSummary } from '../session/MediaSession';
import { unknownTranscodeCodecs, type CodecPolicy } from '../session/negotiation';
import { SafeEmitter } from '../util/SafeEmitter';
import { silentLogger, type Logger } from './log';
import { blockDtmf, playDtmf, playMedia, startRecording, stopMedia, stopRecording } from './inject';
import { refuse } from './refuse';
import { callReport, type CallFacts } from './report';

interface CallEntry extends CallFacts {
  callId: string;
  session: MediaSession;
  /** The last answer from the answering side and what we replied, for a retransmitted 200 OK. */
  lastAnswer?: { sdp: string; reply: string };
  /** A re-offer waiting for its answer, for a retransmitted re-INVITE. */
  reoffer?: { leg: LegName; sdp: string; reply: string };
  deleteTimer?: NodeJS.Timeout;
  transcoded: boolean;
  /** RTP and RTCP packets received on both legs at the last sweep, and when that count last grew. */
  packets: number;
  lastMediaMs: number;
}

export interface CallEnd {
  callId: string;
  summary: SessionSummary;
  samples: readonly import('../quality/QualityMonitor').QualitySample[];
  transcoded: boolean;
}

export interface CallControlEvents {
  /** A call ended (delete, drain timeout, close): its summary with the CallTerm reports. */
  callEnd: (end: CallEnd) => void;
  error: (err: unknown) => void;
}

export interface CallControlOptions {
  media: MediaServer;
  mediaRoots?: MediaRoots;
  /** Calls at most (0: no limit). */
  maxSessions?: number;
  /**
   * An answered call with no RTP or RTCP from either side and no signalling
   * for this long is ended (a lost delete, a crashed proxy, a node that took an offer
   * after the proxy gave up on it). Default 60 s; 0: never.
   */
  mediaTimeoutSec?: number;
  /** A call never answered is ended this long after its last signalling. Default 300 s; 0: never. */
  offerTimeoutSec?: number;
  log?: Logger;
}

const other = (l: LegName): LegName => (l === 'a' ? 'b' : 'a');

export class CallControl extends SafeEmitter<CallControlEvents> {
  readonly #media: MediaServer;
  readonly #roots?: MediaRoots;
  readonly #max: number;
  readonly #log: Logger;
  readonly #calls = new Map<string, CallEntry>();
  readonly startedAt = Date.now();
  #draining = false;
  readonly totals = { calls: 0, finished: 0, transcodedFinished: 0, rejected: 0, limited: 0, timedOut: 0 };
  readonly #mediaTimeoutMs: number;
  readonly #offerTimeoutMs: number;
  readonly #sweeper?: NodeJS.Timeout;

  constructor(opts: CallControlOptions) {
    super();
    this.#media = opts.media;
    this.#roots = opts.mediaRoots;
    this.#max = opts.maxSessions ?? 0;
    this.#log = opts.log ?? silentLogger;
    this.#mediaTimeoutMs = (opts.mediaTimeoutSec ?? 60) * 1000;
    this.#offerTimeoutMs = (opts.offerTimeoutSec ?? 300) * 1000;
    const shortest = Math.min(...[this.#mediaTimeoutMs, this.#offerTimeoutMs].filter((t) => t > 0));
    if (Number.isFinite(shortest)) {
      this.#sweeper = setInterval(() => this.sweep(), Math.max(250, Math.min(5000, shortest / 4)));
      this.#sweeper.unref();
    }
  }

  /** Stops the timeout sweeps (calls are left as they are: see closeAll()). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /**
   * Ends the calls that timed out (see mediaTimeoutSec, offerTimeoutSec);
   * run periodically, callable for tests. Returns their Call-IDs.
   */
  sweep(now = Date.now()): string[] {
    const ended: string[] = [];
    for (const e of [...this.#calls.values()]) {
      const s = e.session;
      let limit = 0;
      let since = e.lastSignalMs;
      if (s.state === 'answered') {
        const gw = s.gateway;
        if (gw && !gw.closed) {
          const st = gw.stats();
          // RTCP counts: a call on hold (inactive) still sends reports
          const n = st.a.packetsReceived + st.b.packetsReceived + st.a.rtcpReceived + st.b.rtcpReceived;
          if (n !== e.packets) {
            e.packets = n;
            e.lastMediaMs = now;
          }
        }
        limit = this.#mediaTimeoutMs;
        since = Math.max(e.lastSignalMs, e.lastMediaMs);
      } else if (s.state === 'offered') limit = this.#offerTimeoutMs;
      if (limit > 0 && now - since >= limit) {
        this.#log.info(`call ${e.callId}: timed out (${s.state}, nothing for ${Math.round((now - since) / 1000)} s)`);
        this.totals.timedOut++;
        ended.push(e.callId);
        this.#stop(e);
      }
    }
    return ended;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Calls whose media is transcoded (answered, not relayed). */
  get transcoding(): number {
    let n = 0;
    for (const e of this.#calls.values()) if (e.session.state === 'answered' && !e.session.relay) n++;
    return n;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Refuse new calls from now on (calls in progress go on). */
  drain(): void {
    this.#draining = true;
  }

  sessions(): MediaSession[] {
    return [...this.#calls.values()].map((e) => e.session);
  }

  /** Ends every call (their CallTerm reports go out as for a delete). */
  closeAll(): void {
    for (const e of [...this.#calls.values()]) this.#stop(e);
  }

  /** Carries out one request; throws typed errors for `result: error`. */
  handle(req: NgRequest): BDict | Promise<BDict> {
    switch (req.command) {
      case 'ping':
        return pongReply();
      case 'offer':
        return this.#offer(req);
      case 'answer':
        return this.#answer(req);
      case 'delete':
        return this.#delete(req);
      case 'query':
        return this.#query(req);
      case 'list':
        return okReply({ calls: [...this.#calls.keys()].slice(0, req.limit) });
      case 'statistics':
        return this.#statistics();
      case 'play media':
        return this.#playMedia(req);
      case 'stop media':
        return this.#stopMedia(req);
      case 'play DTMF':
        return this.#playDtmf(req);
      case 'block DTMF':
      case 'unblock DTMF':
        return blockDtmf(req, this.#entry(req.callId));
      case 'start recording':
        return startRecording(req, this.#entry(req.callId), this.#roots);
      case 'stop recording':
        return stopRecording(this.#entry(req.callId));
    }
  }

  #entry(callId: string): CallEntry {
    const e = this.#calls.get(callId);
    if (!e) refuse('Unknown call-id');
    e.lastSignalMs = Date.now();
    return e;
  }

  // ---------------------------------------------------------------- offer

  #offer(req: NgOffer): BDict {
    const warnings = this.#optionWarnings(req.options);
    const sdp = this.#applyAddress(req.sdp, req.options, warnings);
    const e = this.#calls.get(req.callId);
    if (!e) return this.#newCall(req, sdp, warnings);
    e.lastSignalMs = Date.now();
    const s = e.session;
    if (s.state === 'offered') {
      // the same INVITE seen again: the same offer back; another offer before the answer is refused
      if (e.tags.get(req.fromTag) !== 'a') refuse('The call has an offer waiting for its answer from the other side');
      this.#media.offer(req.callId, sdp, { fromTag: req.fromTag });
      return this.#ok({ sdp: s.offerSdp }, warnings);
    }
    // an answered call: a re-INVITE (or UPDATE) from the side named by from-tag
    let leg = e.tags.get(req.fromTag);
    if (!leg && req.toTag && e.tags.has(req.toTag)) leg = other(e.tags.get(req.toTag)!);
    if (!leg) refuse(`from-tag ${req.fromTag} is not a party of this call`);
    if (!e.tags.has(req.fromTag)) e.tags.set(req.fromTag, leg);
    if (e.reoffer && e.reoffer.leg === leg && e.reoffer.sdp === sdp)
      return this.#ok({ sdp: e.reoffer.reply }, warnings);
    const out = s.reoffer(sdp, leg);
    e.reoffer = { leg, sdp, reply: out };
    this.#log.info(`call ${req.callId}: re-offer from leg ${leg}`);
    return this.#ok({ sdp: out }, warnings);
  }

  #newCall(req: NgOffer, sdp: string, warnings: string[]): BDict {
    const limited = this.#draining
      ? 'draining (shutting down)'
      : this.#max > 0 && this.#calls.size >= this.#max
        ? `${this.#calls.size} calls, the configured maximum`
        : undefined;
    if (limited) {
      this.totals.limited++;
      this.#log.warn({ callId: req.callId, reason: limited }, `call ${req.callId}: refused, ${limited}`);
      return req.options.supports.includes('load limit')
        ? loadLimitReply(NG_REASONS.sessionLimit)
        : errorReply(NG_REASONS.sessionLimit);
    }
    const tp = req.options.transportProtocol;
    if (tp && /SAVP|TLS/.test(tp)) refuse(`transport-protocol ${tp}: SRTP and DTLS are not supported`);
    const codecs = this.#policy(req.options, warnings);
    let s: MediaSession;
    try {
      s = this.#media.offer(req.callId, sdp, { fromTag: req.fromTag, codecs });
    } catch (err) {
      this.totals.rejected++;
      throw err;
    }
    const now = Date.now();
    const e: CallEntry = {
      callId: req.callId,
      session: s,
      tags: new Map([[req.fromTag, 'a']]),
      labels: new Map(req.options.label ? [[req.options.label, 'a']] : []),
      createdMs: now,
      lastSignalMs: now,
      transcoded: false,
      packets: 0,
      lastMediaMs: now,
    };
    this.#calls.set(req.callId, e);
    this.totals.calls++;
    // a session stopped by anyone else (MediaServer.close) leaves the registry too
    s.on('state', (state) => {
      if (state === 'stopped' && this.#calls.get(req.callId) === e) this.#forget(e);
    });
    this.#log.info(
      `call ${req.callId}: offer from ${req.fromTag}, ${s.info().legs.a.localPort}/${s.info().legs.b.localPort}`,
    );
    return this.#ok({ sdp: s.offerSdp }, warnings);
  }

  /** The call's codec policy from the ng codec options (offer only). */
  #policy(o: NgSdpOptions, warnings: string[]): CodecPolicy | undefined {
    const c = o.codec;
    const unknown = unknownTranscodeCodecs({ transcode: c.transcode });
    if (unknown.length) warnings.push(`cannot transcode to ${unknown.join(', ')}: ignored`);
    if (c.set.length || c.accept.length) warnings.push('codec set/accept are not applied');
    const policy: CodecPolicy = {
      strip: c.strip,
      mask: [...c.mask, ...c.consume],
      transcode: c.transcode.filter((x) => !unknown.includes(x)),
      offer: c.offer,
      except: c.except,
    };
    return Object.values(policy).some((l) => l.length) ? policy : undefined;
  }

  /** Options we read but do not act on become warnings in the reply. */
  #optionWarnings(o: NgSdpOptions): string[] {
    const w: string[] = [];
    if (o.unknownFlags.length) w.push(`unknown flags ignored: ${o.unknownFlags.join(' ')}`);
    if (o.ice === 'force' || o.ice === 'force-relay') w.push('ICE is not supported: no candidates written');
    if (o.rtcpMux.includes('require')) w.push('rtcp-mux is not supported: separate RTCP ports');
    if (o.recordCall) w.push('call recording is not supported');
    if (o.ptime !== undefined || o.ptimeReverse !== undefined) w.push('ptime is not applied: the peers choose');
    if (o.direction?.some((d) => d !== 'internal' && d !== 'external'))
      w.push('one media interface: direction ignored');
    return w;
  }

  /** media-address, or the SIP source with the SIP-source-address flag, replaces the SDP's c= address. */
  #applyAddress(sdp: string, o: NgSdpOptions, warnings: string[]): string {
    const use = o.mediaAddress ?? (o.flags.includes('SIP-source-address') ? o.receivedFrom?.address : undefined);
    if (!use) return sdp;
    const fam = use.includes(':') ? 'IP6' : 'IP4';
    if (!/^c=IN IP[46] /m.test(sdp)) warnings.push('no c= line to replace');
    return sdp.replace(/^c=IN IP[46] [^\r\n]+/gm, `c=IN ${fam} ${use}`);
  }

  #ok(fields: Record<string, string | number | undefined>, warnings: string[]): BDict {
    return okReply({ ...fields, warning: warnings.length ? warnings.join('; ') : undefined });
  }

  // --------------------------------------------------------------- answer

  #answer(req: NgAnswer): BDict {
    const e = this.#entry(req.callId);
    const s = e.session;
    const warnings = this.#optionWarnings(req.options);
    const sdp = this.#applyAddress(req.sdp, req.options, warnings);
    if (s.state === 'offered') {
      const reply = s.answer(sdp, { toTag: req.toTag });
      // from-tag is the offerer (Kamailio swaps both tags for a late offer's answer)
      if (!e.tags.has(req.fromTag)) e.tags.set(req.fromTag, 'a');
      e.tags.set(req.toTag, 'b');
      if (req.options.label && !e.labels.has(req.options.label)) e.labels.set(req.options.label, 'b');
      e.lastAnswer = { sdp, reply };
      e.transcoded = !s.relay;
      const i = s.info();
      this.#log.info(
        `call ${req.callId}: answered, ${i.legs.a.codec} <-> ${i.legs.b.codec}${s.relay ? ' (relay)' : ''}`,
      );
      return this.#ok({ sdp: reply }, warnings);
    }
    if (e.reoffer) {
      const reply = s.answer(sdp, { toTag: req.toTag });
      e.reoffer = undefined;
      e.lastAnswer = { sdp, reply };
      e.transcoded ||= !s.relay;
      return this.#ok({ sdp: reply }, warnings);
    }
    if (e.lastAnswer?.sdp === sdp) return this.#ok({ sdp: e.lastAnswer.reply }, warnings);
    return refuse('The call is already answered and no re-offer is pending');
  }

  // --------------------------------------------------------------- delete

  #delete(req: NgDelete): BDict {
    const e = this.#calls.get(req.callId);
    if (!e) {
      if (req.fatal) refuse('Unknown call-id');
      return okReply({ warning: 'Unknown call-id' });
    }
    const report = this.#report(e);
    if (req.deleteDelay) {
      clearTimeout(e.deleteTimer);
      e.deleteTimer = setTimeout(() => this.#stop(e), req.deleteDelay * 1000);
      e.deleteTimer.unref();
      return okReply({ ...report, warning: `deleted in ${req.deleteDelay} s` });
    }
    this.#stop(e);
    return okReply(report);
  }

  #stop(e: CallEntry): void {
    clearTimeout(e.deleteTimer);
    const samples = e.session.qualitySamples.slice();
    const summary = e.session.stop();
    if (this.#calls.get(e.callId) === e) this.#forget(e);
    this.#log.info(`call ${e.callId}: deleted after ${Math.round(summary.durationMs / 1000)} s`);
    this.safeEmit('callEnd', { callId: e.callId, summary, samples, transcoded: e.transcoded });
  }

  #forget(e: CallEntry): void {
    clearTimeout(e.deleteTimer);
    this.#calls.delete(e.callId);
    this.totals.finished++;
    if (e.transcoded) this.totals.transcodedFinished++;
  }

  // ---------------------------------------------------------------- query

  #query(req: NgQuery): BDict {
    return okReply(this.#report(this.#entry(req.callId)));
  }

  #report(e: CallEntry): BDict {
    const s = e.session;
    const gw = s.gateway;
    const live = gw && !gw.closed ? gw : undefined;
    const stats = live ? live.stats() : undefined;
    const ssrcs = live
      ? { a: live.a.endpoint.info().recvSsrc || undefined, b: live.b.endpoint.info().recvSsrc || undefined }
      : undefined;
    const adv = (leg: LegName) => {
      const sdp = leg === 'a' ? s.answerSdp : s.offerSdp;
      return /^c=IN IP[46] (\S+)/m.exec(sdp ?? '')?.[1] ?? this.#media.advertisedAddress;
    };
    return callReport(s.info(), e, stats, s.qualitySamples, adv, ssrcs);
  }

  // ----------------------------------------------------------- statistics

  #statistics(): BDict {
    const current = this.#calls.size;
    return okReply({
      statistics: {
        currentstatistics: {
          sessionsown: current,
          sessionsforeign: 0,
          sessionstotal: current,
          transcodedmedia: this.transcoding,
        },
        totalstatistics: {
          uptime: Math.floor((Date.now() - this.startedAt) / 1000),
          managedsessions: this.totals.finished,
          transcodedsessions: this.totals.transcodedFinished,
          rejectedsessions: this.totals.rejected,
          loadlimitedsessions: this.totals.limited,
          timeoutsessions: this.totals.timedOut,
        },
      },
    });
  }

  // ------------------------------------------------------ media injection

  #playMedia(req: NgPlayMedia): BDict {
    const e = this.#entry(req.callId);
    return playMedia(req, e, this.#roots, this.#log, (err) => this.safeEmit('error', err));
  }

  #stopMedia(req: NgStopMedia): BDict {
    return stopMedia(req, this.#entry(req.callId));
  }

  #playDtmf(req: NgPlayDtmf): BDict {
    return playDtmf(req, this.#entry(req.callId));
  }
}
