/**
 * The ng commands carried out on a MediaServer through its public API:
 * calls keyed by Call-ID, SIP tags mapped to legs (leg a is the side that
 * made the first offer, whatever Kamailio calls it: for a late offer it
 * swaps the tags; every answering to-tag is a callee leg of its own: early
 * media and forks), codec options turned into the call's codec policy,
 * retransmitted offers and answers answered with the same SDP. Every failure
 * is thrown as a typed error that the server turns into `result: error`;
 * every refusal for load (calls, CPU, ticker load, ports, descriptors,
 * draining) answers what Kamailio fails over on.
 */
import type { BDict } from '../control/bencode';
import {
  errorReply,
  loadLimitReply,
  okReply,
  pongReply,
  type NgAnswer,
  type NgDelete,
  type NgOffer,
  type NgQuery,
  type NgRequest,
  type NgSdpOptions,
} from '../control/ng';
import { AdmissionError } from '../errors';
import type { MediaLeg } from '../leg/MediaLeg';
import type { MediaRoots } from '../media/mediaRoots';
import type { MediaServer } from '../session/MediaServer';
import type { QualitySample } from '../quality/QualityMonitor';
import type { MediaSession } from '../session/MediaSession';
import type { SessionSummary } from '../session/info';
import { unknownTranscodeCodecs, type CodecPolicy } from '../session/negotiation';
import { SafeEmitter } from '../util/SafeEmitter';
import { silentLogger, type Logger } from './log';
import { forwarding } from './forward';
import { latchFromFlags } from './latchFlags';
import { blockDtmf, mediaBlock, playDtmf, playMedia, startRecording, stopMedia, stopRecording } from './inject';
import { loadRefusal, refuse } from './refuse';
import { CallTotals, type EndReason } from './callTotals';
import { callReport, liveFigures, noteTag, type CallFacts, type LegView } from './report';
import { NgStatistics } from './statistics';

export interface CallEntry extends CallFacts {
  callId: string;
  session: MediaSession;
  /** Tags of the offering side (leg a): its from-tag, and the callee's to-tag Kamailio swaps in for a late offer. */
  offererTags: Set<string>;
  /** The last answer and what we replied, for a retransmitted 18x/200. */
  lastAnswer?: { sdp: string; toTag: string; reply: string };
  /** A re-offer waiting for its answer, for a retransmitted re-INVITE. */
  reoffer?: { leg: MediaLeg; sdp: string; reply: string };
  deleteTimer?: NodeJS.Timeout;
  transcoded: boolean;
  /** RTP and RTCP packets received on every leg at the last sweep, and when that count last grew. */
  packets: number;
  lastMediaMs: number;
  /** Recordings started with start recording, and where. */
  recording?: { file: string };
}

export interface CallEnd {
  callId: string;
  summary: SessionSummary;
  samples: readonly QualitySample[];
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
  /**
   * An answered call with no RTP or RTCP from any side and no signalling
   * for this long is ended (a lost delete, a crashed proxy, a node that took
   * an offer after the proxy gave up on it). Default 60 s; 0: never.
   */
  mediaTimeoutSec?: number;
  /** A call never answered is ended this long after its last signalling. Default 300 s; 0: never. */
  offerTimeoutSec?: number;
  log?: Logger;
}

export class CallControl extends SafeEmitter<CallControlEvents> {
  readonly #media: MediaServer;
  readonly #roots?: MediaRoots;
  readonly #log: Logger;
  readonly #calls = new Map<string, CallEntry>();
  readonly startedAt = Date.now();
  #draining = false;
  readonly totals = new CallTotals();
  /** What the statistics command answers (the daemon adds its control-plane counts). */
  readonly statistics: NgStatistics;
  readonly #mediaTimeoutMs: number;
  readonly #offerTimeoutMs: number;
  readonly #sweeper?: NodeJS.Timeout;

  constructor(opts: CallControlOptions) {
    super();
    this.#media = opts.media;
    this.#roots = opts.mediaRoots;
    this.#log = opts.log ?? silentLogger;
    this.#mediaTimeoutMs = (opts.mediaTimeoutSec ?? 60) * 1000;
    this.#offerTimeoutMs = (opts.offerTimeoutSec ?? 300) * 1000;
    this.statistics = new NgStatistics(this, opts.media);
    const shortest = Math.min(...[this.#mediaTimeoutMs, this.#offerTimeoutMs].filter((t) => t > 0));
    if (Number.isFinite(shortest)) {
      this.#sweeper = setInterval(() => this.sweep(), Math.max(250, Math.min(5000, shortest / 4)));
      this.#sweeper.unref();
    }
  }

  /** Stops the timeout sweeps (calls are left as they are: see closeAll()). */
  close(): void {
    clearInterval(this.#sweeper);
    this.statistics.close();
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
      if (s.state === 'answered' || s.state === 'early') {
        // RTCP counts: a call on hold (inactive) still sends reports
        let n = 0;
        for (const leg of s.legs)
          if (!leg.endpoint.closed) {
            const st = leg.stats();
            n += st.packetsReceived + st.rtcpReceived;
          }
        if (n !== e.packets) {
          e.packets = n;
          e.lastMediaMs = now;
        }
        limit = this.#mediaTimeoutMs;
        since = Math.max(e.lastSignalMs, e.lastMediaMs);
      } else if (s.state === 'offered') limit = this.#offerTimeoutMs;
      if (limit > 0 && now - since >= limit) {
        this.#log.info(`call ${e.callId}: timed out (${s.state}, nothing for ${Math.round((now - since) / 1000)} s)`);
        ended.push(e.callId);
        this.#stop(e, s.state === 'offered' ? 'offer timeout' : 'timeout');
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

  /** The call with this Call-ID, if any. */
  entry(callId: string): CallEntry | undefined {
    return this.#calls.get(callId);
  }

  /** A call restored at start (persist.ts): registered as if its commands had come now. */
  adopt(e: CallEntry): void {
    this.#calls.set(e.callId, e);
    this.totals.calls++;
    this.#watch(e);
  }

  sessions(): MediaSession[] {
    return [...this.#calls.values()].map((e) => e.session);
  }

  /** Ends every call (their CallTerm reports go out as for a delete). */
  closeAll(): void {
    for (const e of [...this.#calls.values()]) this.#stop(e, 'forced');
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
        return okReply({ statistics: this.statistics.reply() });
      case 'play media':
        return playMedia(req, this.#entry(req.callId), this.#roots, this.#log, (err) => this.safeEmit('error', err));
      case 'stop media':
        return stopMedia(req, this.#entry(req.callId));
      case 'play DTMF':
        return playDtmf(req, this.#entry(req.callId));
      case 'block DTMF':
      case 'unblock DTMF':
        return blockDtmf(req, this.#entry(req.callId));
      case 'block media':
      case 'unblock media':
      case 'silence media':
      case 'unsilence media':
        return mediaBlock(req, this.#entry(req.callId));
      case 'start recording':
        return startRecording(req, this.#entry(req.callId), this.#roots);
      case 'stop recording':
        return stopRecording(this.#entry(req.callId));
      case 'start forwarding':
      case 'stop forwarding':
        return forwarding(req, this.#entry(req.callId));
    }
  }

  #entry(callId: string): CallEntry {
    const e = this.#calls.get(callId);
    if (!e) refuse('Unknown call-id');
    e.lastSignalMs = Date.now();
    return e;
  }

  /** The leg a tag names: the offerer's tags are leg a, every other one an answering leg. */
  #legOf(e: CallEntry, tag: string | undefined): MediaLeg | undefined {
    if (tag === undefined) return undefined;
    if (e.offererTags.has(tag)) return e.session.a;
    return e.session.legByTag(tag);
  }

  // ---------------------------------------------------------------- offer

  #offer(req: NgOffer): BDict {
    const warnings = this.#optionWarnings(req.options);
    const sdp = this.#applyAddress(req.sdp, req.options, warnings);
    const e = this.#calls.get(req.callId);
    if (!e) return this.#newCall(req, sdp, warnings);
    e.lastSignalMs = Date.now();
    const s = e.session;
    if (s.state === 'offered' || (s.state === 'early' && e.offererTags.has(req.fromTag) && !req.toTag)) {
      // the same INVITE seen again (or its fork on another branch): the same offer back
      if (!e.offererTags.has(req.fromTag)) refuse('The call has an offer waiting for its answer from the other side');
      this.#media.offer(req.callId, sdp, { fromTag: req.fromTag, branch: req.viaBranch });
      return this.#ok({ sdp: req.viaBranch !== undefined ? s.offerBranch(req.viaBranch) : s.offerSdp }, warnings);
    }
    // an answered call: a re-INVITE (or UPDATE) from the side named by from-tag
    let leg = this.#legOf(e, req.fromTag);
    if (!leg && req.toTag) {
      const known = this.#legOf(e, req.toTag);
      leg = known ? (known === s.a ? s.b : s.a) : undefined;
      if (leg === s.a) e.offererTags.add(req.fromTag);
    }
    if (!leg) refuse(`from-tag ${req.fromTag} is not a party of this call`);
    if (e.reoffer && e.reoffer.leg === leg && e.reoffer.sdp === sdp)
      return this.#ok({ sdp: e.reoffer.reply }, warnings);
    const out = s.reoffer(sdp, leg.name);
    e.reoffer = { leg, sdp, reply: out };
    this.#log.info(`call ${req.callId}: re-offer from leg ${leg.name}`);
    return this.#ok({ sdp: out }, warnings);
  }

  #newCall(req: NgOffer, sdp: string, warnings: string[]): BDict {
    const tp = req.options.transportProtocol;
    if (tp && /SAVP|TLS/.test(tp)) refuse(`transport-protocol ${tp}: SRTP and DTLS are not supported`);
    const codecs = this.#policy(req.options, warnings);
    let s: MediaSession;
    try {
      if (this.#draining) throw new AdmissionError('draining (shutting down)', 'draining');
      const latch = latchFromFlags(req.options.flags);
      const { ptime, ptimeReverse } = req.options;
      s = this.#media.offer(req.callId, sdp, {
        fromTag: req.fromTag,
        codecs,
        branch: req.viaBranch,
        latch,
        ptime,
        ptimeReverse,
      });
    } catch (err) {
      const limited = loadRefusal(err);
      if (limited) {
        this.totals.limited++;
        this.#log.warn(
          { callId: req.callId, reason: limited },
          `call ${req.callId}: refused, ${(err as Error).message}`,
        );
        return req.options.supports.includes('load limit') ? loadLimitReply(limited) : errorReply(limited);
      }
      this.totals.rejected++;
      throw err;
    }
    const now = Date.now();
    const e: CallEntry = {
      callId: req.callId,
      session: s,
      offererTags: new Set([req.fromTag]),
      labels: new Map(req.options.label ? [[req.options.label, 'a']] : []),
      createdMs: now,
      lastSignalMs: now,
      transcoded: false,
      packets: 0,
      lastMediaMs: now,
    };
    this.#calls.set(req.callId, e);
    this.totals.calls++;
    this.#watch(e);
    const i = s.info();
    this.#log.info(`call ${req.callId}: offer from ${req.fromTag}, ${i.legs.a.localPort}/${i.legs.b?.localPort}`);
    return this.#ok({ sdp: req.viaBranch !== undefined ? s.offerBranch(req.viaBranch) : s.offerSdp }, warnings);
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

  /**
   * An answer: Kamailio sends one for every 18x and 2xx with SDP, and ng
   * cannot tell them apart, so every answer is final and the other branches
   * are kept (a delete with their to-tag ends them). Media follows the
   * latest answer; a second answer from the same to-tag updates its leg.
   */
  #answer(req: NgAnswer): BDict {
    const e = this.#entry(req.callId);
    const s = e.session;
    const warnings = this.#optionWarnings(req.options);
    const sdp = this.#applyAddress(req.sdp, req.options, warnings);
    if (e.reoffer) {
      const reply = s.answer(sdp, { toTag: req.toTag });
      e.reoffer = undefined;
      e.transcoded ||= !s.relay;
      return this.#ok({ sdp: reply }, warnings);
    }
    // the offerer's tag (Kamailio swaps both tags for a late offer's answer) is leg a
    if (!this.#legOf(e, req.fromTag) && !e.session.legByTag(req.fromTag)) e.offererTags.add(req.fromTag);
    const toTag = e.offererTags.has(req.toTag) ? req.fromTag : req.toTag;
    if (e.lastAnswer?.sdp === sdp && e.lastAnswer.toTag === toTag)
      return this.#ok({ sdp: e.lastAnswer.reply }, warnings);
    const latch = latchFromFlags(req.options.flags);
    const reply = s.answer(sdp, { toTag, branch: req.viaBranch, keepBranches: true, latch, ptime: req.options.ptime });
    if (req.options.label && !e.labels.has(req.options.label)) e.labels.set(req.options.label, s.b?.name ?? 'b');
    e.lastAnswer = { sdp, toTag, reply };
    noteTag(e, toTag);
    e.transcoded ||= !s.relay;
    const i = s.info();
    this.#log.info(
      `call ${req.callId}: answered by ${toTag}, ${i.legs.a.codec} <-> ${i.legs.b?.codec}${s.relay ? ' (relay)' : ''}`,
    );
    return this.#ok({ sdp: reply }, warnings);
  }

  // --------------------------------------------------------------- delete

  #delete(req: NgDelete): BDict {
    const e = this.#calls.get(req.callId);
    if (!e) {
      if (req.fatal) refuse('Unknown call-id');
      return okReply({ warning: 'Unknown call-id' });
    }
    // a failed branch (its to-tag): only that leg ends while others remain
    const branch = req.toTag !== undefined ? e.session.legByTag(req.toTag) : undefined;
    if (branch && branch !== e.session.a && !req.deleteDelay && e.session.endLeg(branch)) {
      this.#log.info(`call ${req.callId}: branch ${req.toTag} deleted`);
      return okReply(this.#report(e));
    }
    const report = this.#report(e);
    if (req.deleteDelay) {
      clearTimeout(e.deleteTimer);
      e.deleteTimer = setTimeout(() => this.#stop(e, 'regular'), req.deleteDelay * 1000);
      e.deleteTimer.unref();
      return okReply({ ...report, warning: `deleted in ${req.deleteDelay} s` });
    }
    this.#stop(e, 'regular');
    return okReply(report);
  }

  #stop(e: CallEntry, reason: EndReason): void {
    clearTimeout(e.deleteTimer);
    const samples = e.session.qualitySamples.slice();
    // out of the registry first: the session's 'stopped' then leaves the counting to us
    const mine = this.#calls.get(e.callId) === e;
    if (mine) this.#calls.delete(e.callId);
    const summary = e.session.stop();
    if (mine) this.#forget(e, reason, summary, samples);
    this.#log.info(`call ${e.callId}: deleted after ${Math.round(summary.durationMs / 1000)} s`);
    this.safeEmit('callEnd', { callId: e.callId, summary, samples, transcoded: e.transcoded });
  }

  /** A session stopped by anyone else (MediaServer.close) leaves the registry too. */
  #watch(e: CallEntry): void {
    e.session.on('state', (state) => {
      if (state === 'stopped' && this.#calls.get(e.callId) === e) this.#forget(e, 'forced');
    });
  }

  #forget(e: CallEntry, reason: EndReason, summary?: SessionSummary, samples?: readonly QualitySample[]): void {
    clearTimeout(e.deleteTimer);
    this.#calls.delete(e.callId);
    this.totals.ended(reason, e.transcoded, summary, samples);
  }

  // ---------------------------------------------------------------- query

  #query(req: NgQuery): BDict {
    return okReply(this.#report(this.#entry(req.callId)));
  }

  #report(e: CallEntry): BDict {
    const s = e.session;
    const info = s.info();
    const labelOf = (name: string) => [...e.labels].find(([, l]) => l === name)?.[0];
    const adv = (leg: MediaLeg) => {
      const sdp = leg === s.a ? s.answerSdp : s.offerSdp;
      return /^c=IN IP[46] (\S+)/m.exec(sdp ?? '')?.[1] ?? this.#media.advertisedAddress;
    };
    const views: LegView[] = [];
    const infos = [info.legs.a, ...(info.legs.b ? [info.legs.b] : []), ...info.branches];
    for (const li of infos) {
      const leg = s.leg(li.name);
      const live = leg && !leg.endpoint.closed ? leg : undefined;
      const peer = leg === s.a ? s.b : s.a;
      views.push({
        info: li.tag === undefined && leg === s.a ? { ...li, tag: [...e.offererTags][0] } : li,
        peerTag: peer ? (peer === s.a ? [...e.offererTags][0] : s.tagOf(peer)) : undefined,
        label: labelOf(li.name),
        stats: live && li.state !== 'offered' ? live.stats() : undefined,
        ...liveFigures(live?.endpoint),
        advertised: leg ? adv(leg) : this.#media.advertisedAddress,
        sampled: leg === s.a ? 'a' : leg && leg === s.b ? 'b' : undefined,
      });
    }
    return callReport(info, e, views, s.qualitySamples);
  }
}
