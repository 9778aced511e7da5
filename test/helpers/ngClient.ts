/**
 * A small ng control protocol client over UDP, for tests: it plays the proxy
 * (Kamailio) towards a daemon. request() sends `cookie SP bencode` and waits
 * for the reply with that cookie; raw() sends any bytes.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { decode, encode, type BDict, type BValue } from '../../lib/control/bencode';

export interface NgReply {
  cookie: string;
  /** The reply's bytes after the cookie. */
  body: Buffer;
  dict: BDict;
  raw: Buffer;
}

/** Dictionaries as plain objects (bencode gives null-prototype ones), for deepEqual. */
function plain(v: BValue): BValue {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as BDict;
  return v;
}

export function parseReply(raw: Buffer): NgReply {
  const sp = raw.indexOf(0x20);
  const body = raw.subarray(sp + 1);
  return { cookie: raw.toString('latin1', 0, sp), body, dict: plain(decode(body)) as BDict, raw };
}

let seq = 0;

export class NgClient {
  readonly #sock: dgram.Socket;
  readonly #target: { host: string; port: number };
  readonly #waiting = new Map<string, ((r: NgReply) => void)[]>();
  /** Every reply received, in order (retransmitted requests get one each). */
  readonly replies: NgReply[] = [];

  private constructor(sock: dgram.Socket, target: { host: string; port: number }) {
    this.#sock = sock;
    this.#target = target;
    sock.on('message', (msg) => {
      let r: NgReply;
      try {
        r = parseReply(msg);
      } catch {
        return;
      }
      this.replies.push(r);
      const w = this.#waiting.get(r.cookie)?.shift();
      if (w) w(r);
    });
  }

  static create(target: { host: string; port: number }, bindAddress = '127.0.0.1'): Promise<NgClient> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, bindAddress, () => resolve(new NgClient(s, target)));
    });
  }

  get port(): number {
    return this.#sock.address().port;
  }

  static cookie(): string {
    return `t_${process.pid}_${++seq}`;
  }

  /** The bytes of a request. */
  static message(cookie: string, cmd: Record<string, BValue | undefined>): Buffer {
    return Buffer.concat([Buffer.from(cookie + ' ', 'latin1'), encode(cmd)]);
  }

  /** Sends bytes; resolves with the reply carrying `cookie`, or undefined after timeoutMs. */
  raw(bytes: Buffer | string, cookie?: string, timeoutMs = 2000): Promise<NgReply | undefined> {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    const c = cookie ?? buf.toString('latin1', 0, Math.max(0, buf.indexOf(0x20)));
    return new Promise((resolve) => {
      const list = this.#waiting.get(c) ?? [];
      this.#waiting.set(c, list);
      const waiter = (r: NgReply) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      list.push(waiter);
      this.#sock.send(buf, this.#target.port, this.#target.host);
    });
  }

  /** Sends a command and resolves with the reply dictionary (rejects on timeout). */
  async request(cmd: Record<string, BValue | undefined>, cookie = NgClient.cookie(), timeoutMs = 3000): Promise<BDict> {
    const r = await this.raw(NgClient.message(cookie, cmd), cookie, timeoutMs);
    if (!r) throw new Error(`no reply to ${String(cmd.command)} (${cookie}) within ${timeoutMs} ms`);
    return r.dict;
  }

  close(): void {
    this.#waiting.clear();
    this.#sock.close();
  }
}

/** One request over a new TCP connection; resolves with the reply. */
export function tcpRequest(target: { host: string; port: number }, bytes: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(target.port, target.host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('tcp: no reply'));
    }, timeoutMs);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      try {
        parseReply(all);
        clearTimeout(timer);
        s.destroy();
        resolve(all);
      } catch {
        /* not complete yet */
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error('tcp: closed without a reply'));
    });
  });
}

/** A reply's string value (bencode strings may come back as Buffer). */
export function str(v: BValue | undefined): string | undefined {
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : undefined;
}
