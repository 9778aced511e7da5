/**
 * A tiny libpcap writer/reader for RTP, so sipp's `<exec play_pcap_audio>` can
 * send any audio we make in a test (sipp only ships g711a.pcap, 30 ms PCMA,
 * and the RFC 2833 digit files, in /usr/share/sip-tester/).
 *
 * The file is classic pcap (magic a1b2c3d4, microsecond timestamps), link
 * type 1 (Ethernet), IPv4/UDP 127.0.0.1 -> 127.0.0.1. sipp only keeps the UDP
 * payload and the packet timing: it rewrites addresses and ports (it sends
 * from [media_ip]:[media_port] through a raw socket, to the address and port of
 * the last SDP it received), but it keeps the RTP header bytes as they are in
 * the file (payload type, SSRC, sequence numbers, timestamps). Playing the
 * same file twice in a call therefore repeats sequence numbers and timestamps;
 * make one file per call segment when that matters.
 */
import * as fs from 'node:fs';

// ---------------------------------------------------------------- G.711

/** ITU-T G.711 mu-law encoding of one 16-bit sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** ITU-T G.711 A-law encoding of one 16-bit sample. */
export function linearToAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit
  let mask: number;
  if (s >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    s = -s - 1;
  }
  const segEnd = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = 0;
  while (seg < 8 && s > segEnd[seg]) seg++;
  if (seg >= 8) return (0x7f ^ mask) & 0xff;
  let aval = seg << 4;
  aval |= seg < 2 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f;
  return (aval ^ mask) & 0xff;
}

export function ulawToLinear(u: number): number {
  u = ~u & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

export function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** Writes 8 kHz mono PCM as a raw headerless G.711 file (for sipp's rtp_stream). */
export function writeG711Raw(file: string, pcm: Int16Array, codec: 'PCMU' | 'PCMA'): void {
  const enc = codec === 'PCMU' ? linearToUlaw : linearToAlaw;
  const out = Buffer.alloc(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]);
  fs.writeFileSync(file, out);
}

// ---------------------------------------------------------------- writer

export interface DtmfEvent {
  /** '0'-'9', '*', '#', 'A'-'D'. */
  digit: string;
  /** Start, from the beginning of the stream (rounded to a packet). */
  atMs: number;
  /** Event duration (default 100 ms). Audio packets are not sent meanwhile. */
  durationMs?: number;
  /** RFC 4733 volume, 0..63 (default 10). */
  volume?: number;
}

export interface RtpPcapOptions {
  /** 'PCMU' or 'PCMA'; the pcm must be 8 kHz mono. */
  codec: 'PCMU' | 'PCMA';
  /** RTP payload type (default 0 for PCMU, 8 for PCMA). */
  payloadType?: number;
  /** Packet duration (default 20 ms). */
  ptimeMs?: number;
  ssrc?: number;
  firstSeq?: number;
  firstTimestamp?: number;
  /** RFC 4733 telephone-events inside the same RTP stream (same SSRC/seq). */
  dtmf?: DtmfEvent[];
  /** Payload type of telephone-event (default 101). */
  dtmfPayloadType?: number;
  /** UDP ports written in the file (sipp replaces them; default 40000 -> 40002). */
  srcPort?: number;
  dstPort?: number;
}

export interface RtpPcapInfo {
  packets: number;
  durationMs: number;
}

const DTMF_CODES: Record<string, number> = {
  '0': 0,
  '1': 1,
  '2': 2,
  '3': 3,
  '4': 4,
  '5': 5,
  '6': 6,
  '7': 7,
  '8': 8,
  '9': 9,
  '*': 10,
  '#': 11,
  A: 12,
  B: 13,
  C: 14,
  D: 15,
};

function ipChecksum(buf: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += buf.readUInt16BE(off + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

function udpChecksum(src: number[], dst: number[], udp: Buffer): number {
  const pseudo = Buffer.alloc(12 + udp.length + (udp.length % 2));
  Buffer.from(src).copy(pseudo, 0);
  Buffer.from(dst).copy(pseudo, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(udp.length, 10);
  udp.copy(pseudo, 12);
  const c = ipChecksum(pseudo, 0, pseudo.length);
  return c === 0 ? 0xffff : c;
}

/** One Ethernet/IPv4/UDP frame around `payload`. */
function frame(payload: Buffer, srcPort: number, dstPort: number, ipId: number): Buffer {
  const lo = [127, 0, 0, 1];
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  udp.writeUInt16BE(udpChecksum(lo, lo, udp), 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(lo).copy(ip, 12);
  Buffer.from(lo).copy(ip, 16);
  ip.writeUInt16BE(ipChecksum(ip, 0, 20), 10);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, udp]);
}

function rtpHeader(pt: number, marker: boolean, seq: number, ts: number, ssrc: number): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  return h;
}

/**
 * Writes `pcm` (8 kHz mono) as a G.711 RTP stream into a pcap file that sipp's
 * play_pcap_audio can send. Returns the packet count and the stream length.
 */
export function writeRtpPcap(file: string, pcm: Int16Array, opts: RtpPcapOptions): RtpPcapInfo {
  const ptime = opts.ptimeMs ?? 20;
  const spp = (8000 * ptime) / 1000;
  if (!Number.isInteger(spp) || spp <= 0) throw new Error(`bad ptime ${ptime}`);
  const pt = opts.payloadType ?? (opts.codec === 'PCMU' ? 0 : 8);
  const dtmfPt = opts.dtmfPayloadType ?? 101;
  const enc = opts.codec === 'PCMU' ? linearToUlaw : linearToAlaw;
  const ssrc = opts.ssrc ?? 0x1234abcd;
  let seq = opts.firstSeq ?? 1000;
  const ts0 = opts.firstTimestamp ?? 160000;
  const srcPort = opts.srcPort ?? 40000;
  const dstPort = opts.dstPort ?? 40002;
  const nPackets = Math.floor(pcm.length / spp);

  // Which packet slots carry which DTMF event.
  const dtmfAt = new Map<number, { ev: DtmfEvent; index: number; count: number; startSlot: number }>();
  for (const ev of opts.dtmf ?? []) {
    const code = DTMF_CODES[ev.digit.toUpperCase()];
    if (code === undefined) throw new Error(`bad DTMF digit ${ev.digit}`);
    const start = Math.round(ev.atMs / ptime);
    const count = Math.max(1, Math.round((ev.durationMs ?? 100) / ptime));
    for (let i = 0; i < count; i++) dtmfAt.set(start + i, { ev, index: i, count, startSlot: start });
  }

  const records: Buffer[] = [];
  const t0 = 1_700_000_000; // seconds, arbitrary
  let ipId = 1;
  const push = (slot: number, extraUs: number, rtp: Buffer) => {
    const us = slot * ptime * 1000 + extraUs;
    const rec = Buffer.alloc(16);
    const fr = frame(rtp, srcPort, dstPort, ipId++);
    rec.writeUInt32LE(t0 + Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(fr.length, 8);
    rec.writeUInt32LE(fr.length, 12);
    records.push(rec, fr);
  };

  let prevWasDtmf = false;
  for (let slot = 0; slot < nPackets; slot++) {
    const d = dtmfAt.get(slot);
    if (d) {
      const code = DTMF_CODES[d.ev.digit.toUpperCase()];
      const last = d.index === d.count - 1;
      const evTs = ts0 + d.startSlot * spp;
      const dur = (d.index + 1) * spp;
      const body = Buffer.alloc(4);
      body[0] = code;
      body[1] = (last ? 0x80 : 0) | ((d.ev.volume ?? 10) & 0x3f);
      body.writeUInt16BE(Math.min(dur, 0xffff), 2);
      const marker = d.index === 0;
      // The end packet is sent three times (RFC 4733 2.5.1.4), same seq.
      const reps = last ? 3 : 1;
      for (let r = 0; r < reps; r++)
        push(slot, r * 50, Buffer.concat([rtpHeader(dtmfPt, marker, seq, evTs, ssrc), body]));
      seq++;
      prevWasDtmf = true;
      continue;
    }
    const payload = Buffer.alloc(spp);
    for (let i = 0; i < spp; i++) payload[i] = enc(pcm[slot * spp + i]);
    push(slot, 0, Buffer.concat([rtpHeader(pt, slot === 0 || prevWasDtmf, seq++, ts0 + slot * spp, ssrc), payload]));
    prevWasDtmf = false;
  }

  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeInt32LE(0, 8);
  gh.writeUInt32LE(0, 12);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  fs.writeFileSync(file, Buffer.concat([gh, ...records]));
  return { packets: records.length / 2, durationMs: nPackets * ptime };
}

// ---------------------------------------------------------------- reader

export interface PcapRtpPacket {
  /** Seconds since the first packet. */
  t: number;
  srcPort: number;
  dstPort: number;
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

/** Reads the UDP/RTP packets of an Ethernet or Linux-cooked pcap file. */
export function readRtpPcap(file: string): PcapRtpPacket[] {
  const d = fs.readFileSync(file);
  const magic = d.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && d.readUInt32BE(0) !== 0xa1b2c3d4 && d.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${file}: not a classic pcap file`);
  const nano = (le ? magic : d.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  const link = u32(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : -1;
  if (l2 < 0) throw new Error(`${file}: link type ${link} not supported`);
  const out: PcapRtpPacket[] = [];
  let off = 24;
  let first: number | undefined;
  while (off + 16 <= d.length) {
    const t = u32(off) + u32(off + 4) / (nano ? 1e9 : 1e6);
    const incl = u32(off + 8);
    const p = d.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ip = p.subarray(l2);
    if (ip.length < 20 || ip[0] >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0] & 0x0f) * 4);
    const rtp = udp.subarray(8);
    if (rtp.length < 12 || rtp[0] >> 6 !== 2) continue;
    first ??= t;
    out.push({
      t: t - first,
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
      pt: rtp[1] & 0x7f,
      marker: (rtp[1] & 0x80) !== 0,
      seq: rtp.readUInt16BE(2),
      ts: rtp.readUInt32BE(4),
      ssrc: rtp.readUInt32BE(8),
      payload: Buffer.from(rtp.subarray(12 + (rtp[0] & 0x0f) * 4)),
    });
  }
  return out;
}
