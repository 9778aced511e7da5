/**
 * An RTCP sink for tests: a UDP socket standing in for a peer's RTCP port
 * that parses every XR VoIP metrics (RFC 3611 4.7) and statistics summary
 * (4.6) block it receives, by RFC 3611's offsets, independently of oRTP and
 * of native/core/xr_fill.
 */
import * as dgram from 'node:dgram';

export interface WireVoipMetrics {
  at: number;
  ssrc: number;
  lossRate: number;
  discardRate: number;
  burstDensity: number;
  gapDensity: number;
  burstDuration: number;
  gapDuration: number;
  roundTripDelay: number;
  endSystemDelay: number;
  signalLevel: number;
  noiseLevel: number;
  rerl: number;
  gmin: number;
  rFactor: number;
  extRFactor: number;
  mosLq: number;
  mosCq: number;
  rxConfig: number;
  jbNominal: number;
  jbMaximum: number;
  jbAbsMax: number;
}

export interface WireStatSummary {
  at: number;
  flags: number;
  beginSeq: number;
  endSeq: number;
  lost: number;
  dup: number;
  minJitter: number;
  maxJitter: number;
  meanJitter: number;
  devJitter: number;
}

export function parseXr(buf: Buffer, at = Date.now()) {
  const voip: WireVoipMetrics[] = [];
  const stat: WireStatSummary[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    if (buf[off] >> 6 !== 2) break;
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > buf.length) break;
    if (buf[off + 1] === 207) {
      let b = off + 8;
      while (b + 4 <= off + len) {
        const blen = (buf.readUInt16BE(b + 2) + 1) * 4;
        if (buf[b] === 7 && blen === 36)
          voip.push({
            at,
            ssrc: buf.readUInt32BE(b + 4),
            lossRate: buf[b + 8],
            discardRate: buf[b + 9],
            burstDensity: buf[b + 10],
            gapDensity: buf[b + 11],
            burstDuration: buf.readUInt16BE(b + 12),
            gapDuration: buf.readUInt16BE(b + 14),
            roundTripDelay: buf.readUInt16BE(b + 16),
            endSystemDelay: buf.readUInt16BE(b + 18),
            signalLevel: buf.readInt8(b + 20),
            noiseLevel: buf.readInt8(b + 21),
            rerl: buf[b + 22],
            gmin: buf[b + 23],
            rFactor: buf[b + 24],
            extRFactor: buf[b + 25],
            mosLq: buf[b + 26],
            mosCq: buf[b + 27],
            rxConfig: buf[b + 28],
            jbNominal: buf.readUInt16BE(b + 30),
            jbMaximum: buf.readUInt16BE(b + 32),
            jbAbsMax: buf.readUInt16BE(b + 34),
          });
        if (buf[b] === 6 && blen === 40)
          stat.push({
            at,
            flags: buf[b + 1],
            beginSeq: buf.readUInt16BE(b + 8),
            endSeq: buf.readUInt16BE(b + 10),
            lost: buf.readUInt32BE(b + 12),
            dup: buf.readUInt32BE(b + 16),
            minJitter: buf.readUInt32BE(b + 20),
            maxJitter: buf.readUInt32BE(b + 24),
            meanJitter: buf.readUInt32BE(b + 28),
            devJitter: buf.readUInt32BE(b + 32),
          });
        b += blen;
      }
    }
    off += len;
  }
  return { voip, stat };
}

export class XrSink {
  readonly voip: WireVoipMetrics[] = [];
  readonly stat: WireStatSummary[] = [];
  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (m) => {
      const r = parseXr(m);
      this.voip.push(...r.voip);
      this.stat.push(...r.stat);
    });
  }

  static async create(): Promise<XrSink> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve());
    });
    return new XrSink(s);
  }

  get port(): number {
    return this.sock.address().port;
  }

  close(): void {
    this.sock.close();
  }
}
