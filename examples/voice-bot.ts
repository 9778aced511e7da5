/**
 * A caller talks to a WebSocket "bot": every INVITE is answered by the media
 * server (MediaServer.ivr()), and the caller's leg is forked to the bot
 * (MediaLeg.fork() with `inject`): the bot gets the caller's audio as 20 ms
 * binary frames of 16-bit PCM with JSON metadata (start, dtmf, voice, stop),
 * and what it sends back plays to the caller. The bot here (EchoBot) answers
 * with what it heard, `delayMs` later, marks each answer, and clears what it
 * has queued when the caller starts talking again (barge-in) - the shape of
 * a speech-to-speech agent, without the AI.
 *
 *   node dist/examples/voice-bot.js --sip-port 5090 --bot-port 8090 [--delay 1000]
 *   # then call sip:bot@127.0.0.1:5090 (e.g. baresip, linphonec or sipp)
 *
 * A bot elsewhere: --bot-url ws://host:port/path (no local EchoBot).
 */
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { MediaServer, NoCommonCodecError, RmsError, SdpError, type MediaLeg, type MediaServerOptions } from '../lib';
import { loadSip } from './sip';

const sip = loadSip('examples/voice-bot');

type SipMessage = { method?: string; status?: number; headers: Record<string, any>; content?: string };

export interface EchoBotOptions {
  port: number;
  host?: string;
  /** How long after the caller's audio its echo plays, ms (default 1000). */
  delayMs?: number;
  log?: (line: string) => void;
}

/** A WebSocket bot that answers each caller with their own voice, `delayMs` later. */
export class EchoBot {
  readonly #wss: WebSocketServer;
  readonly #delay: number;
  /** Calls it heard from (by the `call` of their start message). */
  readonly calls = new Map<string, { frames: number; firstFrameAt?: number; marks: string[]; clears: number }>();

  constructor(o: EchoBotOptions) {
    this.#delay = o.delayMs ?? 1000;
    this.#wss = new WebSocketServer({ port: o.port, host: o.host ?? '127.0.0.1', maxPayload: 1024 * 1024 });
    this.#wss.on('connection', (ws) => this.#session(ws, o.log));
  }

  get url(): string {
    const a = this.#wss.address() as { address: string; port: number };
    return `ws://${a.address}:${a.port}/echo`;
  }

  listening(): Promise<void> {
    return new Promise((r) => (this.#wss.address() ? r() : this.#wss.once('listening', () => r())));
  }

  #session(ws: WebSocket, log?: (l: string) => void): void {
    let call = '?';
    let st: { frames: number; firstFrameAt?: number; marks: string[]; clears: number } = {
      frames: 0,
      marks: [],
      clears: 0,
    };
    const timers = new Set<NodeJS.Timeout>();
    let n = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (st.frames++ === 0) st.firstFrameAt = Date.now();
        const t = setTimeout(() => {
          timers.delete(t);
          if (ws.readyState !== ws.OPEN) return;
          ws.send(data, { binary: true });
          // a mark per second of answer: the server says when it has played
          if (++n % 50 === 0) ws.send(JSON.stringify({ event: 'mark', name: `echo-${n / 50}` }));
        }, this.#delay);
        timers.add(t);
        return;
      }
      const m = JSON.parse(String(data));
      if (m.event === 'start') {
        call = m.call;
        st = { frames: 0, marks: [], clears: 0 };
        this.calls.set(call, st);
        log?.(`bot: ${call} started (${m.format} ${m.rate} Hz, answers as ${m.inject?.format} ${m.inject?.rate} Hz)`);
      } else if (m.event === 'mark') st.marks.push(m.name);
      else if (m.event === 'voice' && m.speaking) {
        // barge-in: what is queued for the caller goes; their new words come back later
        ws.send(JSON.stringify({ event: 'clear' }));
        st.clears++;
      } else if (m.event === 'stop') log?.(`bot: ${call} stopped (${m.reason})`);
    });
    ws.on('close', () => {
      for (const t of timers) clearTimeout(t);
    });
  }

  close(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    return new Promise((r) => this.#wss.close(() => r()));
  }
}

export interface VoiceBotServerOptions {
  sipAddress: string;
  sipPort: number;
  media: MediaServerOptions;
  /** The bot's WebSocket. */
  botUrl: string;
  log?: (line: string) => void;
}

/** A SIP server that answers every call and connects the caller to the bot. */
export class VoiceBotServer {
  readonly ms: MediaServer;
  readonly #stack: any;
  readonly #o: VoiceBotServerOptions;
  readonly #calls = new Map<string, { leg: MediaLeg; tag: string; rq: SipMessage }>();

  constructor(o: VoiceBotServerOptions) {
    this.#o = o;
    this.ms = new MediaServer(o.media);
    this.#stack = sip.create(
      { address: o.sipAddress, port: o.sipPort, publicAddress: o.sipAddress, tcp: false },
      (rq: SipMessage) => this.#onRequest(rq),
    );
  }

  get calls(): number {
    return this.#calls.size;
  }

  #respond(rq: SipMessage, status: number, reason: string, sdp?: string, toTag?: string): void {
    const rs = sip.makeResponse(rq, status, reason);
    if (toTag) rs.headers.to.params = { ...rs.headers.to.params, tag: toTag };
    if (sdp) {
      rs.content = sdp;
      rs.headers['content-type'] = 'application/sdp';
      rs.headers.contact = [{ uri: `sip:bot@${this.#o.sipAddress}:${this.#o.sipPort}` }];
    }
    this.#stack.send(rs);
  }

  #onRequest(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    if (rq.method === 'INVITE' && !this.#calls.has(callId)) return this.#answer(rq);
    if (rq.method === 'INVITE') return this.#respond(rq, 200, 'OK', this.ms.get(callId).reoffer(rq.content ?? '', 'a'));
    if (rq.method === 'ACK') return;
    if (rq.method === 'BYE') {
      this.#respond(rq, this.#calls.has(callId) ? 200 : 481, this.#calls.has(callId) ? 'OK' : 'Call Does Not Exist');
      return this.#end(callId);
    }
    this.#respond(rq, rq.method === 'OPTIONS' ? 200 : 405, rq.method === 'OPTIONS' ? 'OK' : 'Method Not Allowed');
  }

  #answer(rq: SipMessage): void {
    const callId: string = rq.headers['call-id'];
    let answer;
    try {
      answer = this.ms.ivr(callId, rq.content ?? '');
    } catch (err) {
      if (err instanceof SdpError || err instanceof NoCommonCodecError)
        return this.#respond(rq, 488, 'Not Acceptable Here');
      if (err instanceof RmsError) return this.#respond(rq, 503, 'Service Unavailable');
      throw err;
    }
    const leg = answer.leg;
    const fork = leg.fork({
      url: this.#o.botUrl,
      call: callId,
      format: 'L16',
      rate: 16000,
      metadata: { from: rq.headers.from?.uri },
      // the bot's answer replaces silence; a digit from the caller cuts it short
      inject: { mode: 'replace', bargeIn: { dtmf: true } },
    });
    fork.on('open', (resumed) => this.#o.log?.(`${callId}: bot ${resumed ? 'reconnected' : 'connected'}`));
    fork.on('stop', (reason) => this.#o.log?.(`${callId}: fork stopped (${reason}): ${JSON.stringify(fork.stats())}`));
    const tag = randomBytes(6).toString('hex');
    this.#calls.set(callId, { leg, tag, rq });
    this.#respond(rq, 200, 'OK', answer.answerSdp, tag);
    this.#o.log?.(`${callId}: answered with ${leg.media?.codec}, talking to ${this.#o.botUrl}`);
  }

  #end(callId: string): void {
    if (!this.#calls.delete(callId)) return;
    // the leg closes with the session: its fork sends what it holds and a stop message
    if (this.ms.has(callId)) this.ms.stop(callId);
  }

  close(): void {
    for (const id of [...this.#calls.keys()]) this.#end(id);
    this.#stack.destroy();
    this.ms.close();
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

if (require.main === module) {
  const address = arg('address', '127.0.0.1');
  const log = (l: string) => console.log(new Date().toISOString(), l);
  const external = process.argv.includes('--bot-url');
  const bot = external
    ? undefined
    : new EchoBot({ port: Number(arg('bot-port', '8090')), host: address, delayMs: Number(arg('delay', '1000')), log });
  void (bot?.listening() ?? Promise.resolve()).then(() => {
    const server = new VoiceBotServer({
      sipAddress: address,
      sipPort: Number(arg('sip-port', '5090')),
      media: { address, ports: [40000, 41000] },
      botUrl: external ? arg('bot-url', '') : bot!.url,
      log,
    });
    console.log(
      `voice bot on sip:bot@${address}:${arg('sip-port', '5090')}, bot at ${external ? arg('bot-url', '') : bot!.url}`,
    );
    const stop = () => {
      server.close();
      void bot?.close().then(() => process.exit(0));
      if (!bot) process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
