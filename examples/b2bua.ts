/**
 * A SIP B2BUA on the `sip` npm package that does what the original module's
 * routing script did, with rtp-media-server as its media: every INVITE is
 * answered by calling the configured target through the media server, so the
 * two legs can use different codecs (transcoded) or the same one (relayed).
 *
 *   INVITE from A      -> ms.offer()   -> INVITE to the target with our SDP
 *   200 OK from B      -> ms.answer()  -> 200 OK to A with our SDP
 *   re-INVITE (either) -> session.reoffer() -> re-INVITE to the other side
 *   BYE (either)       -> ms.stop()    -> BYE to the other side
 *
 *   node dist/examples/b2bua.js --sip-port 5070 --target sip:bob@127.0.0.1:5080
 */
import { randomBytes } from 'node:crypto';
import {
  MediaServer,
  NoCommonCodecError,
  RmsError,
  SdpError,
  type LegDialog,
  type MediaServerOptions,
  type MediaSession,
  type VqReport,
} from '../lib';
import { VqPublisher } from '../lib/quality';
import { loadSip } from './sip';
// The sip package has no types of its own.

const sip = loadSip('examples/b2bua');

type SipMessage = {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Record<string, any>;
  content?: string;
};

export interface B2buaOptions {
  /**
   * SIP address and UDP port to listen on. The sip package takes a
   * request-URI on its own host for one of its flow tokens, so no peer may
   * share this address (on one machine: give it a loopback address of its own,
   * e.g. 127.0.0.10).
   */
  sipAddress: string;
  sipPort: number;
  /** Request-URI every incoming call is sent to. */
  target: string;
  media: MediaServerOptions;
  /**
   * SIP URI of an RFC 6035 collector (its host an IP address, port 5060
   * unless given): each leg's VQSessionReport goes there in a PUBLISH when a
   * call ends, its interval reports every intervalSec, and its alerts.
   */
  collector?: string;
  /** Interval reports per leg every this many seconds (0: none). Default 10. */
  intervalSec?: number;
  /** Reports that went out, with the collector's answer (for tests and logs). */
  onPublished?: (report: VqReport, status: number) => void;
  log?: (line: string) => void;
  /**
   * A call was answered: the application may act on its media, e.g.
   * `session.a.play('welcome.wav')` (the caller hears a prompt while the
   * callee does not) or `session.b?.record('call.wav', { bothDirections: true })`.
   */
  onAnswered?: (session: MediaSession) => void;
}

/** RFC 3261 8.1.1.6: every request we send carries Max-Forwards. */
const MAX_FORWARDS = 70;
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO';
const USER_AGENT = 'rtp-media-server-b2bua';

interface Call {
  callId: string;
  session?: MediaSession;
  /** A's INVITE (server side) and our dialog with A. */
  inviteA: SipMessage;
  toTagA: string;
  cseqB: number;
  /** Our CSeq in the dialog with A (requests we send to A). */
  cseqA: number;
  /** Our INVITE to B and B's 200 (for the dialog with B). */
  callIdB: string;
  fromTagB: string;
  /** The From we send to B: the caller's identity, as a transparent B2BUA keeps it. */
  fromB: { name?: string; uri: string };
  okB?: SipMessage;
  /** A re-INVITE waiting for the other side's answer. */
  pending?: { from: 'a' | 'b'; request: SipMessage };
}

const tag = () => randomBytes(6).toString('hex');

export class B2bua {
  readonly ms: MediaServer;
  readonly #stack: any;
  readonly #calls = new Map<string, Call>(); // by A's Call-ID
  readonly #byB = new Map<string, Call>(); // by our Call-ID towards B
  readonly #opts: B2buaOptions;
  readonly #contact: string;
  #publisher?: Promise<VqPublisher>;

  constructor(opts: B2buaOptions) {
    this.#opts = opts;
    const intervalMs = (opts.intervalSec ?? 10) * 1000;
    // interval reports are on by default here: a collector sees long calls as they go
    this.ms = new MediaServer({
      ...opts.media,
      quality: opts.media.quality === false ? false : { intervalMs, ...opts.media.quality },
    });
    this.#contact = `sip:b2bua@${opts.sipAddress}:${opts.sipPort}`;
    if (opts.collector) {
      const m = /^sips?:(?:[^@;?]*@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?/i.exec(opts.collector);
      if (!m) throw new RmsError(`collector ${opts.collector}: not a SIP URI with a host`, 'ERR_RMS_INVALID_ARGUMENT');
      this.#publisher = VqPublisher.create({
        collectorUri: opts.collector,
        collector: { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 5060 },
        localAddress: opts.sipAddress,
        fromUri: this.#contact,
        userAgent: USER_AGENT,
      });
      this.#publisher.catch((err) => this.#log(`collector: ${String(err)}`));
    }
    this.#stack = sip.create(
      { address: opts.sipAddress, port: opts.sipPort, publicAddress: opts.sipAddress, tcp: false },
      (rq: SipMessage) => this.#onRequest(rq),
    );
  }

  get calls(): number {
    return this.#calls.size;
  }

  close(): void {
    for (const c of this.#calls.values()) c.session?.stop();
    this.#stack.destroy();
    this.ms.close();
    this.#publisher?.then((p) => p.close()).catch(() => {});
  }

  /** Sends a request through the stack with what every request needs (RFC 3261 8.1.1). */
  #request(rq: SipMessage, onResponse?: (rs: SipMessage) => void): void {
    rq.headers['max-forwards'] = MAX_FORWARDS;
    rq.headers['user-agent'] ??= USER_AGENT;
    if (rq.method !== 'ACK' && rq.method !== 'CANCEL') rq.headers.allow ??= ALLOW;
    this.#stack.send(rq, onResponse);
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }

  #respond(rq: SipMessage, status: number, reason: string, extra: Partial<SipMessage> = {}, toTag?: string): void {
    const rs = sip.makeResponse(rq, status, reason) as SipMessage;
    if (toTag && !rs.headers.to.params?.tag) rs.headers.to.params = { ...rs.headers.to.params, tag: toTag };
    rs.headers['user-agent'] = USER_AGENT;
    // a response that makes or confirms a dialog names our target (RFC 3261 12.1.1)
    if (rq.method === 'INVITE' && status > 100 && status < 300) rs.headers.contact = [{ uri: this.#contact }];
    if (status === 405 || (rq.method === 'OPTIONS' && status === 200)) rs.headers.allow = ALLOW;
    if (extra.content) {
      rs.content = extra.content;
      rs.headers['content-type'] = 'application/sdp';
    }
    this.#stack.send(rs);
  }

  #onRequest(rq: SipMessage): void {
    try {
      const callId: string = rq.headers['call-id'];
      const fromB = this.#byB.get(callId);
      const call = fromB ?? this.#calls.get(callId);
      const side: 'a' | 'b' = fromB ? 'b' : 'a';
      switch (rq.method) {
        case 'INVITE':
          if (!call) return this.#newCall(rq);
          return this.#reinvite(call, side, rq);
        case 'ACK':
          return; // for our 2xx; nothing to do
        case 'BYE':
          if (!call) return this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
          this.#respond(rq, 200, 'OK');
          return this.#hangup(call, side);
        case 'CANCEL':
          if (!call) return this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
          this.#respond(rq, 200, 'OK');
          this.#respond(call.inviteA, 487, 'Request Terminated', {}, call.toTagA);
          this.#sendToB(call, 'CANCEL', undefined, true);
          return this.#end(call);
        case 'OPTIONS':
          return this.#respond(rq, 200, 'OK');
        case 'INFO':
        case 'UPDATE':
          // no session refresh or SIP INFO DTMF is passed on; an UPDATE with SDP is not supported
          if (!call) return this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
          return rq.content ? this.#respond(rq, 488, 'Not Acceptable Here') : this.#respond(rq, 200, 'OK');
        default:
          return this.#respond(rq, 405, 'Method Not Allowed');
      }
    } catch (err) {
      this.#log(`error handling ${rq.method}: ${String(err)}`);
      if (rq.method !== 'ACK') this.#respond(rq, 500, 'Server Internal Error');
    }
  }

  #newCall(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    const from = rq.headers.from as { name?: string; uri: string };
    const call: Call = {
      callId,
      inviteA: rq,
      toTagA: tag(),
      cseqA: 1,
      cseqB: 1,
      callIdB: `${tag()}@${this.#opts.sipAddress}`,
      fromTagB: tag(),
      fromB: { name: unquote(from.name), uri: from.uri },
    };
    this.#respond(rq, 100, 'Trying');
    try {
      call.session = this.ms.offer(callId, rq.content ?? '', {
        fromTag: rq.headers.from.params?.tag,
        dialog: this.#dialogA(call),
      });
    } catch (err) {
      this.#log(`offer refused for ${callId}: ${String(err)}`);
      if (err instanceof NoCommonCodecError || err instanceof SdpError)
        return this.#respond(rq, 488, 'Not Acceptable Here', {}, call.toTagA);
      return this.#respond(rq, err instanceof RmsError ? 503 : 500, 'Service Unavailable', {}, call.toTagA);
    }
    this.#calls.set(callId, call);
    this.#byB.set(call.callIdB, call);
    if (this.#opts.collector) {
      // alerts and interval reports go out as they happen
      call.session.on('alert', (r) => this.#publish(r));
      call.session.on('interval', (r) => this.#publish(r));
    }
    this.#log(`call ${callId}: INVITE -> ${this.#opts.target}`);
    this.#request(
      {
        method: 'INVITE',
        uri: this.#opts.target,
        headers: {
          to: { uri: this.#opts.target },
          from: { name: quote(call.fromB.name), uri: call.fromB.uri, params: { tag: call.fromTagB } },
          'call-id': call.callIdB,
          cseq: { method: 'INVITE', seq: call.cseqB },
          contact: [{ uri: this.#contact }],
          'content-type': 'application/sdp',
        },
        content: call.session.offerSdp,
      },
      (rs: SipMessage) => this.#onInviteResponse(call, rs),
    );
  }

  #onInviteResponse(call: Call, rs: SipMessage): void {
    const status = rs.status ?? 500;
    const toTag = rs.headers.to.params?.tag;
    if (status < 200) {
      // early media: a 183 (or 180) with SDP is an answer that starts media before the call is answered
      if (status > 100 && rs.content && call.session!.state !== 'answered') {
        try {
          const sdpA = call.session!.answer(rs.content, { toTag, provisional: true, dialog: this.#dialogB(call, rs) });
          this.#respond(call.inviteA, 183, 'Session Progress', { content: sdpA }, call.toTagA);
        } catch (err) {
          this.#log(`call ${call.callId}: early media refused: ${String(err)}`);
        }
      } else if (status === 180 || status === 183) this.#respond(call.inviteA, 180, 'Ringing', {}, call.toTagA);
      return;
    }
    if (status >= 300) {
      this.#log(`call ${call.callId}: B answered ${status}`);
      this.#respond(call.inviteA, status, rs.reason ?? 'Failed', {}, call.toTagA);
      return this.#end(call);
    }
    if (call.okB) {
      this.#ack(call, rs); // a retransmitted 200: ACK it again
      return;
    }
    call.okB = rs;
    this.#ack(call, rs);
    let sdpA: string;
    try {
      sdpA = call.session!.answer(rs.content ?? '', { toTag, dialog: this.#dialogB(call, rs) });
    } catch (err) {
      this.#log(`call ${call.callId}: answer refused: ${String(err)}`);
      this.#respond(call.inviteA, 488, 'Not Acceptable Here', {}, call.toTagA);
      this.#sendToB(call, 'BYE');
      return this.#end(call);
    }
    const info = call.session!.info();
    this.#log(`call ${call.callId}: answered, ${info.legs.a.codec} <-> ${info.legs.b?.codec}`);
    this.#respond(call.inviteA, 200, 'OK', { content: sdpA }, call.toTagA);
    if (this.#opts.onAnswered) {
      try {
        this.#opts.onAnswered(call.session!);
      } catch (err) {
        this.#log(`call ${call.callId}: onAnswered: ${String(err)}`);
      }
    }
  }

  /** Leg a's SIP dialog (the caller's with us), for its RFC 6035 reports: identities are per dialog. */
  #dialogA(call: Call): LegDialog {
    const a = call.inviteA.headers;
    return {
      callId: call.callId,
      localTag: call.toTagA,
      remoteTag: a.from.params?.tag,
      local: nameAddr(a.to),
      remote: nameAddr(a.from),
      peerIsCaller: true,
    };
  }

  /** Leg b's: ours with the callee, from its answer. */
  #dialogB(call: Call, rs: SipMessage): LegDialog {
    const to = rs.headers.to as { name?: string; uri: string; params?: { tag?: string } };
    return {
      callId: call.callIdB,
      localTag: call.fromTagB,
      remoteTag: to?.params?.tag,
      local: nameAddr({ name: quote(call.fromB.name), uri: call.fromB.uri }),
      remote: nameAddr(to ?? { uri: this.#opts.target }),
      peerIsCaller: false,
    };
  }

  /** PUBLISH (Event: vq-rtcpxr) of one report to the collector, retransmitted as RFC 3261 17.1.2 says. */
  #publish(report: VqReport): void {
    const pub = this.#publisher;
    if (!pub) return;
    pub
      .then((p) => p.publish(report))
      .then((o) => {
        this.#log(`PUBLISH vq-rtcpxr ${report.kind} for ${report.callId}: ${o.status} ${o.reason ?? ''}`);
        this.#opts.onPublished?.(report, o.status);
      })
      .catch((err) => this.#log(`PUBLISH failed: ${String(err)}`));
  }

  #ack(call: Call, rs: SipMessage): void {
    this.#request({
      method: 'ACK',
      uri: rs.headers.contact?.[0]?.uri ?? this.#opts.target,
      headers: {
        to: rs.headers.to,
        from: rs.headers.from,
        'call-id': call.callIdB,
        cseq: { method: 'ACK', seq: rs.headers.cseq.seq },
        via: [],
      },
    });
  }

  /** An in-dialog request from us to B (BYE, re-INVITE) or CANCEL of our INVITE. */
  #sendToB(call: Call, method: string, content?: string, cancel = false, onResponse?: (rs: SipMessage) => void): void {
    const seq = cancel ? call.cseqB : ++call.cseqB;
    const to = call.okB ? call.okB.headers.to : { uri: this.#opts.target };
    this.#request(
      {
        method,
        uri: call.okB?.headers.contact?.[0]?.uri ?? this.#opts.target,
        headers: {
          to,
          from: { name: quote(call.fromB.name), uri: call.fromB.uri, params: { tag: call.fromTagB } },
          'call-id': call.callIdB,
          cseq: { method: cancel ? 'CANCEL' : method, seq },
          contact: [{ uri: this.#contact }],
          ...(content ? { 'content-type': 'application/sdp' } : {}),
        },
        content,
      },
      onResponse ?? (() => {}),
    );
  }

  /** An in-dialog request from us to A (BYE, re-INVITE). */
  #sendToA(call: Call, method: string, content?: string, onResponse?: (rs: SipMessage) => void): void {
    const a = call.inviteA;
    this.#request(
      {
        method,
        uri: a.headers.contact?.[0]?.uri ?? a.headers.from.uri,
        headers: {
          to: a.headers.from,
          from: { name: a.headers.to.name, uri: a.headers.to.uri, params: { tag: call.toTagA } },
          'call-id': call.callId,
          cseq: { method, seq: ++call.cseqA },
          contact: [{ uri: this.#contact }],
          ...(content ? { 'content-type': 'application/sdp' } : {}),
        },
        content,
      },
      onResponse ?? (() => {}),
    );
  }

  #reinvite(call: Call, from: 'a' | 'b', rq: SipMessage): void {
    if (!call.session || call.session.state !== 'answered' || call.pending)
      return this.#respond(rq, 491, 'Request Pending');
    let forward: string;
    try {
      forward = call.session.reoffer(rq.content ?? '', from);
    } catch (err) {
      this.#log(`call ${call.callId}: re-INVITE refused: ${String(err)}`);
      return this.#respond(rq, 488, 'Not Acceptable Here');
    }
    call.pending = { from, request: rq };
    const onAnswer = (rs: SipMessage) => {
      if ((rs.status ?? 0) < 200) return;
      if (from === 'a' && rs.status! < 300) this.#ack(call, rs);
      if (from === 'b' && rs.status! < 300)
        this.#request({
          method: 'ACK',
          uri: call.inviteA.headers.contact?.[0]?.uri,
          headers: {
            to: rs.headers.to,
            from: rs.headers.from,
            'call-id': call.callId,
            cseq: { method: 'ACK', seq: rs.headers.cseq.seq },
            via: [],
          },
        });
      call.pending = undefined;
      if (rs.status! >= 300) return this.#respond(rq, rs.status!, rs.reason ?? 'Failed');
      try {
        const sdp = call.session!.answer(rs.content ?? '');
        this.#respond(rq, 200, 'OK', { content: sdp });
      } catch {
        this.#respond(rq, 488, 'Not Acceptable Here');
      }
    };
    this.#log(`call ${call.callId}: re-INVITE from ${from}`);
    if (from === 'a') this.#sendToB(call, 'INVITE', forward, false, onAnswer);
    else this.#sendToA(call, 'INVITE', forward, onAnswer);
  }

  #hangup(call: Call, from: 'a' | 'b'): void {
    this.#log(`call ${call.callId}: BYE from ${from}`);
    if (from === 'a') this.#sendToB(call, 'BYE');
    else this.#sendToA(call, 'BYE');
    this.#end(call);
  }

  #end(call: Call): void {
    const summary = call.session?.stop();
    if (summary?.reports && this.#opts.collector)
      for (const r of [summary.reports.a, summary.reports.b]) if (r) this.#publish(r);
    if (summary?.stats)
      this.#log(
        `call ${call.callId}: ended after ${summary.durationMs} ms; a received ${summary.stats.a.packetsReceived}, b received ${summary.stats.b?.packetsReceived ?? 0} packets`,
      );
    this.#calls.delete(call.callId);
    this.#byB.delete(call.callIdB);
  }
}

/** `"Name" <uri>` or `<uri>` of a parsed From/To (the sip package keeps the quotes of a quoted name). */
function nameAddr(h: { name?: string; uri: string }): string {
  const name = unquote(h.name);
  return name ? `${quote(name)} <${h.uri}>` : `<${h.uri}>`;
}

/** A display name as the sip package gives it (maybe quoted), without quotes. */
function unquote(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const m = /^"(.*)"$/.exec(name.trim());
  return (m ? m[1].replace(/\\(.)/g, '$1') : name.trim()) || undefined;
}

/** A display name for the sip package to write: quoted (RFC 3261 quoted-string). */
function quote(name: string | undefined): string | undefined {
  return name === undefined ? undefined : `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(
    `usage: b2bua --sip-port PORT --target SIP-URI [--address 127.0.0.1] [--rtp-ports 30000-40000] [--collector SIP-URI] [--interval-sec 10]`,
  );
  process.exit(2);
}

if (require.main === module) {
  const address = arg('address', '127.0.0.1');
  const [lo, hi] = arg('rtp-ports', '30000-40000').split('-').map(Number);
  const b2bua = new B2bua({
    sipAddress: address,
    sipPort: Number(arg('sip-port', '5070')),
    target: arg('target'),
    media: { address, ports: [lo, hi] },
    collector: process.argv.includes('--collector') ? arg('collector') : undefined,
    intervalSec: Number(arg('interval-sec', '10')),
    log: (l) => console.log(new Date().toISOString(), l),
  });
  console.log(`b2bua listening on ${address}:${arg('sip-port', '5070')}, calling ${arg('target')}`);
  const stop = () => {
    b2bua.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
