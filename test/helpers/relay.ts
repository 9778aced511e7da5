/**
 * A UDP relay between a gateway leg and a peer that records every RTP header
 * it forwards, so tests check what really went over the wire (payload type,
 * payload size, timestamp step) independently of the native stack.
 *
 *   gateway leg  <->  near socket [relay] far socket  <->  peer
 */
import * as dgram from 'node:dgram';

export interface RtpHeader {
  version: number;
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payloadBytes: number;
  at: number;
}

export function parseRtp(msg: Buffer, at = Date.now()): RtpHeader | undefined {
  if (msg.length < 12) return undefined;
  const version = msg[0] >> 6;
  if (version !== 2) return undefined;
  const cc = msg[0] & 0x0f;
  const padding = (msg[0] & 0x20) !== 0;
  const ext = (msg[0] & 0x10) !== 0;
  let off = 12 + cc * 4;
  if (ext) {
    if (msg.length < off + 4) return undefined;
    off += 4 + msg.readUInt16BE(off + 2) * 4;
  }
  let end = msg.length;
  if (padding) end -= msg[msg.length - 1];
  if (end < off) return undefined;
  return {
    version,
    marker: (msg[1] & 0x80) !== 0,
    pt: msg[1] & 0x7f,
    seq: msg.readUInt16BE(2),
    ts: msg.readUInt32BE(4),
    ssrc: msg.readUInt32BE(8),
    payloadBytes: end - off,
    at,
  };
}

async function bindSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  return s;
}

export class UdpRelay {
  /** Packets from the gateway towards the peer. */
  readonly fromGateway: RtpHeader[] = [];
  /** Packets from the peer towards the gateway. */
  readonly toGateway: RtpHeader[] = [];
  /** Impairment towards the gateway: return true to drop the n-th RTP packet (0-based). */
  dropToGateway?: (n: number) => boolean;
  /** RTP packets dropped by dropToGateway. */
  dropped = 0;
  /** Impairment towards the gateway: extra delay (ms) for the n-th RTP packet (jitter, reordering). */
  delayToGateway?: (n: number) => number;
  /** Impairment towards the gateway: send the n-th RTP packet twice. */
  duplicateToGateway?: (n: number) => boolean;
  /** Impairment towards the gateway: flip a bit in the last octet of the n-th RTP packet. */
  corruptToGateway?: (n: number) => boolean;
  /** Copies of the datagrams sent towards the gateway, when set (for replaying them). */
  keepToGateway?: Buffer[];
  private constructor(
    private readonly near: dgram.Socket,
    private readonly far: dgram.Socket,
    private gateway: { address: string; port: number } | undefined,
    private peer: { address: string; port: number } | undefined,
  ) {
    near.on('message', (msg, rinfo) => {
      this.gateway = { address: rinfo.address, port: rinfo.port };
      const h = parseRtp(msg);
      if (h) this.fromGateway.push(h);
      if (this.peer) far.send(msg, this.peer.port, this.peer.address);
    });
    far.on('message', (msg, rinfo) => {
      this.peer = { address: rinfo.address, port: rinfo.port };
      const h = parseRtp(msg);
      let delay = 0;
      let copies = 1;
      if (h) {
        const n = this.toGateway.length;
        this.toGateway.push(h);
        if (this.dropToGateway?.(n)) {
          this.dropped++;
          return;
        }
        delay = this.delayToGateway?.(n) ?? 0;
        if (this.duplicateToGateway?.(n)) copies = 2;
        if (this.corruptToGateway?.(n)) {
          msg = Buffer.from(msg);
          msg[msg.length - 1] ^= 0x01;
        }
        this.keepToGateway?.push(Buffer.from(msg));
      }
      const send = () => {
        for (let i = 0; i < copies; i++) if (this.gateway) near.send(msg, this.gateway.port, this.gateway.address);
      };
      if (delay > 0) setTimeout(send, delay);
      else send();
    });
  }

  static async create(
    opts: { gateway?: { address: string; port: number }; peer?: { address: string; port: number } } = {},
  ) {
    const near = await bindSocket();
    const far = await bindSocket();
    return new UdpRelay(near, far, opts.gateway, opts.peer);
  }

  /** Port the gateway leg should send to. */
  get nearPort(): number {
    return this.near.address().port;
  }

  /** Port the peer should send to. */
  get farPort(): number {
    return this.far.address().port;
  }

  /** Sends raw bytes to the gateway from the relay's near socket (the address the gateway expects). */
  injectToGateway(buf: Buffer, rtcp = false): void {
    if (this.gateway) this.near.send(buf, this.gateway.port + (rtcp ? 1 : 0), this.gateway.address);
  }

  setGateway(addr: { address: string; port: number }): void {
    this.gateway = addr;
  }

  setPeer(addr: { address: string; port: number }): void {
    this.peer = addr;
  }

  close(): void {
    this.near.close();
    this.far.close();
  }
}

/** Summary of a captured stream: payload types, sizes and timestamp steps seen. */
export function streamSummary(pkts: RtpHeader[]) {
  const pts = new Map<number, number>();
  const sizes = new Map<number, number>();
  const steps = new Map<number, number>();
  const bySsrc = pkts;
  for (let i = 0; i < bySsrc.length; i++) {
    const p = bySsrc[i];
    pts.set(p.pt, (pts.get(p.pt) ?? 0) + 1);
    sizes.set(p.payloadBytes, (sizes.get(p.payloadBytes) ?? 0) + 1);
    if (i > 0 && bySsrc[i - 1].ssrc === p.ssrc && ((p.seq - bySsrc[i - 1].seq) & 0xffff) === 1) {
      const step = (p.ts - bySsrc[i - 1].ts) >>> 0;
      steps.set(step, (steps.get(step) ?? 0) + 1);
    }
  }
  const top = (m: Map<number, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  return { count: pkts.length, pts, sizes, steps, mainPt: top(pts), mainSize: top(sizes), mainStep: top(steps) };
}
