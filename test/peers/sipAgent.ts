/**
 * A minimal SIP user agent on the `sip` package, for tests that put our
 * media endpoint in front of a real SIP phone (baresip, linphonec): it
 * answers INVITEs (and re-INVITEs) with SDP from a callback, and places
 * calls (INVITE, ACK, re-INVITE, BYE) with SDP it is given.
 */
import { randomBytes } from 'node:crypto';

const sip = require('sip');

type SipMessage = any;

const tag = () => randomBytes(6).toString('hex');

export interface IncomingInvite {
  callId: string;
  sdp: string;
  /** false for the dialog's first INVITE */
  reinvite: boolean;
}

/** What the handler answers: an SDP for 200 OK, or a failure status. */
export type InviteHandler = (inv: IncomingInvite) => Promise<{ sdp: string } | { status: number; reason: string }>;

export interface OutgoingCall {
  callId: string;
  answer: string;
  /** A re-INVITE with a new offer; resolves with the answer. */
  reinvite(sdp: string): Promise<string>;
  bye(): Promise<void>;
}

export class SipAgent {
  readonly #stack: SipMessage;
  readonly contact: string;
  readonly #onInvite?: InviteHandler;
  readonly #toTags = new Map<string, string>();
  readonly byes: string[] = [];
  #closed = false;

  constructor(
    readonly address: string,
    readonly port: number,
    onInvite?: InviteHandler,
  ) {
    this.contact = `sip:test@${address}:${port}`;
    this.#onInvite = onInvite;
    this.#stack = sip.create({ address, port, publicAddress: address, tcp: false }, (rq: SipMessage) =>
      this.#onRequest(rq),
    );
  }

  #respond(rq: SipMessage, status: number, reason: string, sdp?: string): void {
    const rs = sip.makeResponse(rq, status, reason);
    const callId = rq.headers['call-id'];
    if (status > 100) {
      let t = this.#toTags.get(callId);
      if (!t) this.#toTags.set(callId, (t = rq.headers.to.params?.tag ?? tag()));
      rs.headers.to.params = { ...rs.headers.to.params, tag: t };
    }
    if (sdp) {
      rs.content = sdp;
      rs.headers['content-type'] = 'application/sdp';
      rs.headers.contact = [{ uri: this.contact }];
    }
    this.#stack.send(rs);
  }

  #onRequest(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    switch (rq.method) {
      case 'INVITE': {
        this.#respond(rq, 100, 'Trying');
        if (!this.#onInvite) return this.#respond(rq, 488, 'Not Acceptable Here');
        const reinvite = !!rq.headers.to.params?.tag;
        this.#onInvite({ callId, sdp: rq.content ?? '', reinvite }).then(
          (r) => ('sdp' in r ? this.#respond(rq, 200, 'OK', r.sdp) : this.#respond(rq, r.status, r.reason)),
          (err) => this.#respond(rq, 500, String((err as Error)?.message ?? err).slice(0, 60)),
        );
        return;
      }
      case 'ACK':
        return;
      case 'BYE':
        this.byes.push(callId);
        return this.#respond(rq, 200, 'OK');
      default:
        return this.#respond(rq, 200, 'OK');
    }
  }

  /** INVITE `uri` with `sdp`; resolves on 200 (after the ACK), rejects on a failure or after timeoutMs. */
  invite(uri: string, sdp: string, timeoutMs = 10000): Promise<OutgoingCall> {
    const callId = `${tag()}@${this.address}`;
    const fromTag = tag();
    let cseq = 1;
    let ok: SipMessage;
    const request = (method: string, content?: string): Promise<SipMessage> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no final response to ${method} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        this.#stack.send(
          {
            method,
            uri: ok?.headers.contact?.[0]?.uri ?? uri,
            headers: {
              to: ok ? ok.headers.to : { uri },
              from: { uri: this.contact, params: { tag: fromTag } },
              'call-id': callId,
              cseq: { method, seq: ++cseq - 1 },
              contact: [{ uri: this.contact }],
              ...(content ? { 'content-type': 'application/sdp' } : {}),
            },
            content,
          },
          (rs: SipMessage) => {
            if ((rs.status ?? 0) < 200) return;
            clearTimeout(timer);
            if (method === 'INVITE' && rs.status < 300) {
              ok = ok ?? rs;
              this.#stack.send({
                method: 'ACK',
                uri: rs.headers.contact?.[0]?.uri ?? uri,
                headers: {
                  to: rs.headers.to,
                  from: rs.headers.from,
                  'call-id': callId,
                  cseq: { method: 'ACK', seq: rs.headers.cseq.seq },
                  via: [],
                },
              });
            }
            if (rs.status >= 300) reject(new Error(`${method} answered ${rs.status} ${rs.reason ?? ''}`));
            else resolve(rs);
          },
        );
      });
    return request('INVITE', sdp).then((rs) => ({
      callId,
      answer: String(rs.content ?? ''),
      reinvite: async (offer: string) => String((await request('INVITE', offer)).content ?? ''),
      bye: async () => {
        await request('BYE');
      },
    }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stack.destroy();
  }
}
