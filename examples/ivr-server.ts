/**
 * A SIP IVR on the `sip` npm package: every INVITE is answered by the media
 * server itself (MediaServer.ivr()) and runs a JSON flow (see
 * examples/flows/voicemail.json) on the caller's leg; dial() calls out
 * (MediaServer.outbound()) and runs the flow on the callee. A re-INVITE
 * (hold, resume, new address) is answered by the leg's session; a hangup
 * node sends BYE; the peer's BYE ends the call.
 *
 *   node dist/examples/ivr-server.js --sip-port 5090 --flow examples/flows/voicemail.json \
 *        --media /var/lib/prompts
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import {
  MediaServer,
  NoCommonCodecError,
  RmsError,
  SdpError,
  loadFlow,
  runFlow,
  type MediaLeg,
  type DtmfDigit,
  type Flow,
  type FlowResult,
  type MediaServerOptions,
} from '../lib';
import { loadSip } from './sip';
// The sip package has no types of its own.

const sip = loadSip('examples/ivr-server');

type SipMessage = {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Record<string, any>;
  content?: string;
};

export interface IvrServerOptions {
  /** SIP address (one no peer shares: the sip package treats its own host as a flow token). */
  sipAddress: string;
  sipPort: number;
  media: MediaServerOptions;
  /** Folder of prompts and recordings. */
  mediaRoot: string;
  flow: Flow;
  /** Where transfer nodes go (the app decides; default: the flow goes on). */
  transfer?: (target: string, leg: MediaLeg) => Promise<void> | void;
  log?: (line: string) => void;
}

export interface IvrServerEvents {
  dtmf: (callId: string, d: DtmfDigit) => void;
  done: (callId: string, r: FlowResult) => void;
}

/** Our dialog with the peer of one call, whichever side started it. */
interface IvrCall {
  callId: string;
  localTag: string;
  /** The peer's From (inbound) or To (outbound) header, with its tag. */
  remote: { uri: string; params?: Record<string, string> };
  /** Our URI in the dialog. */
  localUri: string;
  /** Where in-dialog requests go (the peer's Contact). */
  target: string;
  leg: MediaLeg;
  cseq: number;
  ended: boolean;
}

export class IvrServer {
  readonly ms: MediaServer;
  readonly #stack: any;
  readonly #calls = new Map<string, IvrCall>();
  readonly #opts: IvrServerOptions;
  readonly #contact: string;
  readonly #listeners: Partial<{ [K in keyof IvrServerEvents]: IvrServerEvents[K][] }> = {};

  constructor(opts: IvrServerOptions) {
    this.#opts = opts;
    this.ms = new MediaServer({ mediaRoots: [opts.mediaRoot], ...opts.media });
    this.#contact = `sip:ivr@${opts.sipAddress}:${opts.sipPort}`;
    this.#stack = sip.create(
      { address: opts.sipAddress, port: opts.sipPort, publicAddress: opts.sipAddress, tcp: false },
      (rq: SipMessage) => this.#onRequest(rq),
    );
  }

  on<K extends keyof IvrServerEvents>(event: K, fn: IvrServerEvents[K]): void {
    ((this.#listeners[event] ??= []) as IvrServerEvents[K][]).push(fn);
  }

  #emit<K extends keyof IvrServerEvents>(event: K, ...args: Parameters<IvrServerEvents[K]>): void {
    for (const fn of this.#listeners[event] ?? []) (fn as (...a: unknown[]) => void)(...args);
  }

  get calls(): number {
    return this.#calls.size;
  }

  close(): void {
    for (const id of this.#calls.keys()) if (this.ms.has(id)) this.ms.stop(id);
    this.#stack.destroy();
    this.ms.close();
  }

  #respond(rq: SipMessage, status: number, reason: string, content?: string, toTag?: string): void {
    const rs = sip.makeResponse(rq, status, reason) as SipMessage;
    if (toTag && !rs.headers.to.params?.tag) rs.headers.to.params = { ...rs.headers.to.params, tag: toTag };
    if (content) {
      rs.content = content;
      rs.headers['content-type'] = 'application/sdp';
      rs.headers.contact = [{ uri: this.#contact }];
    }
    this.#stack.send(rs);
  }

  #onRequest(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    const call = this.#calls.get(callId);
    try {
      switch (rq.method) {
        case 'INVITE':
          if (call) return this.#reinvite(call, rq);
          return this.#answer(rq);
        case 'ACK':
          return;
        case 'BYE':
          if (!call) return this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
          this.#respond(rq, 200, 'OK');
          call.ended = true;
          return this.#end(callId);
        case 'OPTIONS':
          return this.#respond(rq, 200, 'OK');
        default:
          return this.#respond(rq, 405, 'Method Not Allowed');
      }
    } catch (err) {
      this.#opts.log?.(`error on ${rq.method}: ${String(err)}`);
      if (rq.method === 'INVITE') this.#respond(rq, 500, 'Server Internal Error');
    }
  }

  #answer(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    let answer;
    try {
      answer = this.ms.ivr(callId, rq.content ?? '', { mediaRoots: [this.#opts.mediaRoot] });
    } catch (err) {
      if (err instanceof SdpError || err instanceof NoCommonCodecError)
        return this.#respond(rq, 488, 'Not Acceptable Here');
      if (err instanceof RmsError) return this.#respond(rq, 503, 'Service Unavailable');
      throw err;
    }
    const toTag = randomBytes(6).toString('hex');
    const call: IvrCall = {
      callId,
      localTag: toTag,
      remote: rq.headers.from,
      localUri: rq.headers.to.uri,
      target: rq.headers.contact?.[0]?.uri ?? rq.headers.from.uri,
      leg: answer.leg,
      cseq: 1,
      ended: false,
    };
    this.#calls.set(callId, call);
    this.#respond(rq, 200, 'OK', answer.answerSdp, toTag);
    this.#opts.log?.(`${callId}: answered with ${answer.leg.media?.codec}`);
    this.#run(call);
  }

  /**
   * Calls `target` (an IVR calling out): our offer from MediaServer.outbound(),
   * the flow runs on the callee's leg once it answers. Resolves with the
   * Call-ID when answered; rejects with the final status otherwise.
   */
  dial(target: string): Promise<string> {
    const callId = `${randomBytes(8).toString('hex')}@ivr`;
    const session = this.ms.outbound(callId);
    const localTag = randomBytes(6).toString('hex');
    return new Promise((resolve, reject) => {
      this.#stack.send(
        {
          method: 'INVITE',
          uri: target,
          headers: {
            to: { uri: target },
            from: { uri: this.#contact, params: { tag: localTag } },
            'call-id': callId,
            cseq: { method: 'INVITE', seq: 1 },
            contact: [{ uri: this.#contact }],
            'max-forwards': 70,
            'content-type': 'application/sdp',
          },
          content: session.offerSdp,
        },
        (rs: SipMessage) => {
          const status = rs.status ?? 500;
          if (status < 200) return;
          if (status >= 300) {
            session.stop();
            return reject(new Error(`${target} answered ${status} ${rs.reason ?? ''}`));
          }
          this.#stack.send({
            method: 'ACK',
            uri: rs.headers.contact?.[0]?.uri ?? target,
            headers: {
              to: rs.headers.to,
              from: rs.headers.from,
              'call-id': callId,
              cseq: { method: 'ACK', seq: 1 },
              'max-forwards': 70,
              via: [],
            },
          });
          if (this.#calls.has(callId)) return; // a retransmitted 200
          try {
            session.answer(rs.content ?? '', { toTag: rs.headers.to.params?.tag });
          } catch (err) {
            session.stop();
            return reject(err);
          }
          const call: IvrCall = {
            callId,
            localTag,
            remote: rs.headers.to,
            localUri: this.#contact,
            target: rs.headers.contact?.[0]?.uri ?? target,
            leg: session.a,
            cseq: 1,
            ended: false,
          };
          this.#calls.set(callId, call);
          this.#opts.log?.(`${callId}: ${target} answered with ${session.a.media?.codec}`);
          this.#run(call);
          resolve(callId);
        },
      );
    });
  }

  #run(call: IvrCall): void {
    const { callId, leg } = call;
    leg.on('dtmf', (d) => this.#emit('dtmf', callId, d));
    runFlow(leg, this.#opts.flow, {
      vars: { callId },
      transfer: this.#opts.transfer,
      hangup: () => this.#hangup(callId),
    })
      .then((r) => {
        this.#opts.log?.(`${callId}: flow ${r.reason} via ${r.path.join(' > ')}`);
        this.#emit('done', callId, r);
      })
      .catch((err) => {
        this.#opts.log?.(`${callId}: flow failed: ${String(err)}`);
        this.#hangup(callId);
      });
  }

  /** A re-INVITE on a call (hold, resume, new address or codecs): the session answers for its leg. */
  #reinvite(call: IvrCall, rq: SipMessage): void {
    let sdp: string;
    try {
      sdp = this.ms.get(call.callId).reoffer(rq.content ?? '', 'a');
    } catch (err) {
      this.#opts.log?.(`${call.callId}: re-INVITE refused: ${String(err)}`);
      return this.#respond(rq, 488, 'Not Acceptable Here');
    }
    this.#respond(rq, 200, 'OK', sdp);
  }

  /** Our BYE to the peer. */
  #hangup(callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || call.ended) return;
    call.ended = true;
    this.#stack.send(
      {
        method: 'BYE',
        uri: call.target,
        headers: {
          to: call.remote,
          from: { uri: call.localUri, params: { tag: call.localTag } },
          'call-id': callId,
          cseq: { method: 'BYE', seq: ++call.cseq + 100 },
          contact: [{ uri: this.#contact }],
          'max-forwards': 70,
        },
      },
      () => {},
    );
    this.#end(callId);
  }

  #end(callId: string): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    this.#calls.delete(callId);
    if (this.ms.has(callId)) this.ms.stop(callId);
  }
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error('usage: ivr-server --sip-port PORT --flow FLOW.json --media FOLDER [--address 127.0.0.1]');
  process.exit(2);
}

if (require.main === module) {
  const address = arg('address', '127.0.0.1');
  const server = new IvrServer({
    sipAddress: address,
    sipPort: Number(arg('sip-port', '5090')),
    media: { address, ports: [40000, 41000] },
    mediaRoot: path.resolve(arg('media')),
    flow: loadFlow(arg('flow')),
    log: (l) => console.log(new Date().toISOString(), l),
  });
  console.log(`IVR listening on ${address}:${arg('sip-port', '5090')}`);
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
