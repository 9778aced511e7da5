/**
 * A UDP socket standing in for a peer's media port: it keeps every RTP
 * header it receives and decodes G.711 payloads, with arrival times, so a
 * test can check what crossed the media server and when.
 */
import * as dgram from 'node:dgram';
import { parseRtp, type RtpHeader } from './relay';
import { alawToLinear, ulawToLinear } from '../peers/pcap';

export interface TapFrame {
  at: number;
  header: RtpHeader;
  /** Decoded audio (G.711 payload types), else empty. */
  pcm: Int16Array;
}

export interface MediaTap {
  readonly port: number;
  readonly packets: RtpHeader[];
  readonly frames: TapFrame[];
  /** Everything decoded so far, as 8 kHz mono PCM. */
  audio(): { rate: number; channels: number; samples: Int16Array };
  /** Where the packets came from (address:port), in order of first arrival. */
  readonly sources: string[];
  close(): void;
}

export async function mediaTap(port: number, address = '127.0.0.1'): Promise<MediaTap> {
  const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const frames: TapFrame[] = [];
  const sources: string[] = [];
  s.on('message', (m, rinfo) => {
    const h = parseRtp(m);
    if (!h) return;
    const from = `${rinfo.address}:${rinfo.port}`;
    if (!sources.includes(from)) sources.push(from);
    const payload = m.subarray(m.length - h.payloadBytes);
    const dec = h.pt === 0 ? ulawToLinear : h.pt === 8 ? alawToLinear : undefined;
    const pcm = dec ? Int16Array.from(payload, dec) : new Int16Array(0);
    frames.push({ at: Date.now(), header: h, pcm });
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve());
  });
  return {
    port: (s.address() as { port: number }).port,
    get packets() {
      return frames.map((f) => f.header);
    },
    frames,
    sources,
    audio: () => {
      const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
      let i = 0;
      for (const f of frames) {
        out.set(f.pcm, i);
        i += f.pcm.length;
      }
      return { rate: 8000, channels: 1, samples: out };
    },
    close: () => s.close(),
  };
}
