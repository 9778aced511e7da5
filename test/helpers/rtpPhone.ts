/**
 * A phone in the test process: one UDP socket that sends G.711 (mu-law or A-law) RTP of
 * a known signal at 20 ms intervals (each packet's send time logged) and
 * keeps what comes back, decoded, with arrival times. For checking what a
 * fork received against what was sent, and what the far end heard.
 */
import * as dgram from 'node:dgram';
import { alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear } from '../peers/pcap';
import { parseRtp } from './relay';

export interface SentPacket {
  seq: number;
  /** First sample index (8 kHz) of its payload in the signal. */
  sample: number;
  at: number;
}

export interface RtpPhone {
  readonly port: number;
  readonly sent: SentPacket[];
  /** RTP headers of what was received (sequence, timestamp, SSRC), in arrival order. */
  headers(): { seq: number; ts: number; ssrc: number; at: number }[];
  /** Audio received so far (8 kHz), with the arrival time of each packet's first sample. */
  received(): { samples: Int16Array; arrivals: { sample: number; at: number }[] };
  /** Sends `pcm` (8 kHz) to `to`, 160 samples every 20 ms; resolves when all went out. */
  play(pcm: Int16Array, to: { address: string; port: number }): Promise<void>;
  close(): void;
}

export async function rtpPhone(codec: 'PCMU' | 'PCMA' = 'PCMU', address = '127.0.0.1'): Promise<RtpPhone> {
  const pt = codec === 'PCMU' ? 0 : 8;
  const enc = codec === 'PCMU' ? linearToUlaw : linearToAlaw;
  const dec = codec === 'PCMU' ? ulawToLinear : alawToLinear;
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  });
  const chunks: { pcm: Int16Array; at: number; seq: number; ts: number; ssrc: number }[] = [];
  s.on('message', (m) => {
    const h = parseRtp(m);
    if (!h || h.pt !== pt) return;
    const payload = m.subarray(m.length - h.payloadBytes);
    chunks.push({ pcm: Int16Array.from(payload, dec), at: Date.now(), seq: h.seq, ts: h.ts, ssrc: h.ssrc });
  });
  const sent: SentPacket[] = [];
  let seq = 1000;
  let ts = 0;
  let lastSentAt = 0;
  const ssrc = 0x1234abcd;
  let closed = false;
  return {
    port: s.address().port,
    sent,
    headers: () => chunks.map((c) => ({ seq: c.seq, ts: c.ts, ssrc: c.ssrc, at: c.at })),
    received() {
      const n = chunks.reduce((a, c) => a + c.pcm.length, 0);
      const samples = new Int16Array(n);
      const arrivals: { sample: number; at: number }[] = [];
      let i = 0;
      for (const c of chunks) {
        arrivals.push({ sample: i, at: c.at });
        samples.set(c.pcm, i);
        i += c.pcm.length;
      }
      return { samples, arrivals };
    },
    play(pcm, to) {
      return new Promise((resolve) => {
        const start = Date.now();
        // the RTP clock runs on through the pause since the last play, as a phone's does
        if (lastSentAt) ts += Math.max(0, Math.round(((start - lastSentAt) * 8000) / 1000) - 160);
        let k = 0;
        const next = () => {
          if (closed) return resolve();
          // catch up on timer lateness: packets go out on a 20 ms grid
          while (k * 160 < pcm.length && Date.now() >= start + k * 20) {
            const pkt = Buffer.alloc(12 + 160);
            pkt[0] = 0x80;
            pkt[1] = (k === 0 ? 0x80 : 0) | pt;
            pkt.writeUInt16BE(seq++ & 0xffff, 2);
            pkt.writeUInt32BE(ts >>> 0, 4);
            pkt.writeUInt32BE(ssrc, 8);
            for (let j = 0; j < 160; j++) pkt[12 + j] = enc(pcm[k * 160 + j] ?? 0);
            s.send(pkt, to.port, to.address);
            sent.push({ seq: seq - 1, sample: k * 160, at: Date.now() });
            lastSentAt = Date.now();
            ts += 160;
            k++;
          }
          if (k * 160 >= pcm.length) return resolve();
          setTimeout(next, Math.max(0, start + k * 20 - Date.now()));
        };
        next();
      });
    },
    close() {
      closed = true;
      s.close();
    },
  };
}

/** A signal with structure at every lag: 50 ms segments of tones at pseudo-random pitches (8 kHz). */
export function hoppingTones(seconds: number, rate = 8000, amplitude = 0.3, seed = 7): Int16Array {
  const out = new Int16Array(Math.round(seconds * rate));
  const seg = rate / 20;
  let x = seed;
  let phase = 0;
  let f = 400;
  for (let i = 0; i < out.length; i++) {
    if (i % seg === 0) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      f = 300 + (x % 2500);
    }
    phase += (2 * Math.PI * f) / rate;
    out[i] = Math.round(amplitude * 32767 * Math.sin(phase));
  }
  return out;
}

/** Linear-interpolated resampling (enough to compare signals). */
export function resample(x: Int16Array, from: number, to: number): Float64Array {
  const n = Math.floor((x.length * to) / from);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = (i * from) / to;
    const j = Math.floor(p);
    const a = x[j] ?? 0;
    const b = x[j + 1] ?? a;
    out[i] = a + (b - a) * (p - j);
  }
  return out;
}

/**
 * The lag (in samples of `y`) at which all of `x` best matches `y`, and the
 * normalised correlation there, over lags 0..maxLag (y delayed) that keep x
 * inside y.
 */
export function bestLag(x: ArrayLike<number>, y: ArrayLike<number>, maxLag: number): { lag: number; corr: number } {
  let best = { lag: -1, corr: -1 };
  let xx = 0;
  for (let i = 0; i < x.length; i++) xx += x[i] * x[i];
  for (let lag = 0; lag <= maxLag && lag + x.length <= y.length; lag++) {
    let xy = 0;
    let yy = 0;
    for (let i = 0; i < x.length; i++) {
      const b = y[i + lag];
      xy += x[i] * b;
      yy += b * b;
    }
    const c = xx && yy ? xy / Math.sqrt(xx * yy) : 0;
    if (c > best.corr) best = { lag, corr: c };
  }
  return best;
}
