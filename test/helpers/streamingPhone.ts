/**
 * A phone's media port for tests that run long calls: it sends G.711 (a
 * 440 Hz tone, 20 ms packets, its own SSRC, sequence and timestamps) to
 * where it is told, from one socket, and keeps the RTP header of every
 * packet it receives there, with its arrival time - as a phone keeps
 * sending through a media server's restart and sees what comes back.
 * Bounded: it stops sending after maxMs.
 */
import * as dgram from 'node:dgram';
import { parseRtp, type RtpHeader } from './relay';

const ULAW_BIAS = 0x84;

function linearToUlaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(32635, Math.abs(sample)) + ULAW_BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  s = ~(sign | (exp << 4) | mant);
  return s & 0xff;
}

export class StreamingPhone {
  readonly received: RtpHeader[] = [];
  readonly ssrc: number;
  #timer?: NodeJS.Timeout;
  #seq = 1000;
  #ts = 50_000;
  #sent = 0;

  private constructor(
    readonly sock: dgram.Socket,
    ssrc: number,
  ) {
    this.ssrc = ssrc >>> 0;
    sock.on('message', (m) => {
      const h = parseRtp(m);
      if (h) this.received.push(h);
    });
  }

  static async create(ssrc: number): Promise<StreamingPhone> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve());
    });
    return new StreamingPhone(s, ssrc);
  }

  get port(): number {
    return this.sock.address().port;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Sends a packet every 20 ms to `port` (payload type `pt`: 0 PCMU, 8 PCMA - both carry μ-law bytes here), for maxMs at most. */
  start(port: number, pt = 0, maxMs = 60_000): void {
    this.stop();
    const until = Date.now() + maxMs;
    this.#timer = setInterval(() => {
      if (Date.now() > until) return this.stop();
      const p = Buffer.alloc(12 + 160);
      p[0] = 0x80;
      p[1] = pt;
      p.writeUInt16BE(this.#seq++ & 0xffff, 2);
      p.writeUInt32BE(this.#ts >>> 0, 4);
      p.writeUInt32BE(this.ssrc, 8);
      for (let i = 0; i < 160; i++)
        p[12 + i] = linearToUlaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * (this.#ts + i)) / 8000)));
      this.#ts += 160;
      this.#sent++;
      this.sock.send(p, port, '127.0.0.1');
    }, 20);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Received since `t` (Date.now()). */
  since(t: number): RtpHeader[] {
    return this.received.filter((h) => h.at >= t);
  }

  close(): void {
    this.stop();
    this.sock.close();
  }
}
