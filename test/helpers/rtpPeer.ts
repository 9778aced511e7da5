/**
 * A UDP peer of an RtpEndpoint for forwarding tests: an RTP and an RTCP
 * socket on loopback that record every datagram with its arrival time, and
 * a builder for RTP packets whose every byte the test chooses.
 */
import * as dgram from 'node:dgram';
import { RtpEndpoint, type PayloadTypeSpec } from '../../lib';

export interface Received {
  data: Buffer;
  fromPort: number;
  /** process.hrtime in ms */
  atMs: number;
}

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  return s;
}

export class Peer {
  readonly rtp: Received[] = [];
  readonly rtcp: Received[] = [];
  private constructor(
    readonly rtpSock: dgram.Socket,
    readonly rtcpSock: dgram.Socket,
  ) {
    rtpSock.on('message', (m, r) => this.rtp.push({ data: m, fromPort: r.port, atMs: nowMs() }));
    rtcpSock.on('message', (m, r) => this.rtcp.push({ data: m, fromPort: r.port, atMs: nowMs() }));
  }

  static async create(): Promise<Peer> {
    return new Peer(await bind(), await bind());
  }

  get port(): number {
    return this.rtpSock.address().port;
  }

  get rtcpPort(): number {
    return this.rtcpSock.address().port;
  }

  /** Where an endpoint should send to reach this peer. */
  get address() {
    return { address: '127.0.0.1', port: this.port, rtcpPort: this.rtcpPort };
  }

  /** An endpoint on loopback whose remote is this peer. */
  endpoint(payloadTypes: PayloadTypeSpec[], opts: { latch?: 'strict' | 'once' | 'always' } = {}): RtpEndpoint {
    return new RtpEndpoint({
      address: '127.0.0.1',
      payloadTypes,
      remote: this.address,
      latch: opts.latch,
      jitterBuffer: false,
    });
  }

  sendRtp(to: RtpEndpoint, p: Buffer): void {
    this.rtpSock.send(p, to.port, '127.0.0.1');
  }

  sendRtcp(to: RtpEndpoint, p: Buffer): void {
    this.rtcpSock.send(p, to.rtcpPort, '127.0.0.1');
  }

  close(): void {
    this.rtpSock.close();
    this.rtcpSock.close();
  }
}

export interface RtpFields {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker?: boolean;
  payload: Buffer;
  /** CSRCs, carried in the header */
  csrc?: number[];
  /** a header extension (RFC 3550 5.3.1): profile word and 32-bit words */
  ext?: { profile: number; words: number[] };
}

export function rtpPacket(f: RtpFields): Buffer {
  const csrc = f.csrc ?? [];
  const extLen = f.ext ? 4 + 4 * f.ext.words.length : 0;
  const h = Buffer.alloc(12 + 4 * csrc.length + extLen);
  h[0] = 0x80 | (f.ext ? 0x10 : 0) | csrc.length;
  h[1] = (f.marker ? 0x80 : 0) | f.pt;
  h.writeUInt16BE(f.seq & 0xffff, 2);
  h.writeUInt32BE(f.ts >>> 0, 4);
  h.writeUInt32BE(f.ssrc >>> 0, 8);
  csrc.forEach((c, i) => h.writeUInt32BE(c >>> 0, 12 + 4 * i));
  if (f.ext) {
    const o = 12 + 4 * csrc.length;
    h.writeUInt16BE(f.ext.profile, o);
    h.writeUInt16BE(f.ext.words.length, o + 2);
    f.ext.words.forEach((w, i) => h.writeUInt32BE(w >>> 0, o + 4 + 4 * i));
  }
  return Buffer.concat([h, f.payload]);
}

/** An RFC 4733 payload: event, end bit, volume, duration. */
export function dtmfPayload(event: number, end: boolean, volume: number, duration: number): Buffer {
  const b = Buffer.alloc(4);
  b[0] = event;
  b[1] = (end ? 0x80 : 0) | (volume & 0x3f);
  b.writeUInt16BE(duration, 2);
  return b;
}

/** A compound RTCP packet: an SR (no report blocks) and an SDES with a CNAME. */
export function rtcpSrSdes(ssrc: number, packets: number, octets: number, cname: string): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(ssrc >>> 0, 4);
  sr.writeUInt32BE(0x83aa7e80, 8); // NTP seconds
  sr.writeUInt32BE(0x12345678, 12);
  sr.writeUInt32BE(160 * packets, 16);
  sr.writeUInt32BE(packets, 20);
  sr.writeUInt32BE(octets, 24);
  const item = Buffer.concat([Buffer.from([1, cname.length]), Buffer.from(cname), Buffer.from([0])]);
  const pad = (4 - ((4 + item.length) % 4)) % 4;
  const body = Buffer.concat([Buffer.alloc(4), item, Buffer.alloc(pad)]);
  body.writeUInt32BE(ssrc >>> 0, 0);
  const sdes = Buffer.concat([Buffer.alloc(4), body]);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  return Buffer.concat([sr, sdes]);
}

/** An RR with one report block about `about`. */
export function rtcpRr(ssrc: number, about: number, cumLost: number, jitter: number): Buffer {
  const rr = Buffer.alloc(32);
  rr[0] = 0x81;
  rr[1] = 201;
  rr.writeUInt16BE(7, 2);
  rr.writeUInt32BE(ssrc >>> 0, 4);
  rr.writeUInt32BE(about >>> 0, 8);
  rr.writeUInt32BE(cumLost & 0xffffff, 12);
  rr.writeUInt32BE(1000, 16);
  rr.writeUInt32BE(jitter, 20);
  return rr;
}

export const PCMU: PayloadTypeSpec = { pt: 0, mime: 'PCMU', clockRate: 8000 };
export const PCMA: PayloadTypeSpec = { pt: 8, mime: 'PCMA', clockRate: 8000 };
export const te = (pt: number): PayloadTypeSpec => ({ pt, mime: 'telephone-event', clockRate: 8000 });

/** Waits until `cond` holds or `ms` pass (for delivery over loopback, not timing). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
}
