/**
 * A SIP IVR on the `sip` npm package: every INVITE is answered by the media
 * server itself (MediaServer.ivr()) and runs a JSON flow (see
 * examples/flows/voicemail.json) on the caller's leg. A hangup node sends
 * BYE; the caller's BYE closes the leg.
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
// The sip package has no types of its own.

const sip = require('sip');

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

interface IvrCall {
  invite: SipMessage;
  toTag: string;
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
    this.ms = new MediaServer(opts.media);
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
          if (call) return this.#respond(rq, 488, 'Not Acceptable Here'); // no re-INVITE support in this example
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
    const call: IvrCall = { invite: rq, toTag, leg: answer.leg, cseq: 1, ended: false };
    this.#calls.set(callId, call);
    answer.leg.on('dtmf', (d) => this.#emit('dtmf', callId, d));
    this.#respond(rq, 200, 'OK', answer.answerSdp, toTag);
    this.#opts.log?.(`${callId}: answered with ${answer.leg.media?.codec}`);
    runFlow(answer.leg, this.#opts.flow, {
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

  /** Our BYE to the caller. */
  #hangup(callId: string): void {
    const call = this.#calls.get(callId);
    if (!call || call.ended) return;
    call.ended = true;
    const a = call.invite;
    this.#stack.send(
      {
        method: 'BYE',
        uri: a.headers.contact?.[0]?.uri ?? a.headers.from.uri,
        headers: {
          to: a.headers.from,
          from: { uri: a.headers.to.uri, params: { tag: call.toTag } },
          'call-id': callId,
          cseq: { method: 'BYE', seq: ++call.cseq },
          contact: [{ uri: this.#contact }],
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
