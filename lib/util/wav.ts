/** 16-bit PCM WAV reading and writing (test signals, prompts, recordings). */
import * as fs from 'node:fs';

export interface Pcm {
  rate: number;
  channels: number;
  samples: Int16Array;
}

export function readWav(file: string): Pcm {
  const buf = fs.readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error(`${file} is not a WAV file`);
  let off = 12;
  let rate = 0;
  let channels = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(body + 2);
      rate = buf.readUInt32LE(body + 4);
      const bits = buf.readUInt16LE(body + 14);
      if (bits !== 16) throw new Error(`${file}: ${bits}-bit WAV, expected 16`);
    } else if (id === 'data') {
      // A recorder killed before closing leaves size 0: take the rest.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      const data = buf.subarray(body, body + size - (size % 2));
      const samples = new Int16Array(data.length / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
      return { rate, channels, samples };
    }
    off = body + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

/** The 44-byte header of a 16-bit PCM WAV file holding `dataBytes` of samples. */
export function wavHeader(rate: number, channels: number, dataBytes: number): Buffer {
  const buf = Buffer.alloc(44);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(channels, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * channels * 2, 28);
  buf.writeUInt16LE(channels * 2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  return buf;
}

export function writeWav(file: string, pcm: Pcm): void {
  const data = Buffer.alloc(pcm.samples.length * 2);
  for (let i = 0; i < pcm.samples.length; i++) data.writeInt16LE(pcm.samples[i], i * 2);
  fs.writeFileSync(file, Buffer.concat([wavHeader(pcm.rate, pcm.channels, data.length), data]));
}

/** A mono sine tone (or sum of tones) at `amplitude` of full scale. */
export function tone(rate: number, seconds: number, freqs: number[], amplitude = 0.4): Pcm {
  const n = Math.round(rate * seconds);
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (const f of freqs) v += Math.sin((2 * Math.PI * f * i) / rate);
    samples[i] = Math.round((v / freqs.length) * amplitude * 32767);
  }
  return { rate, channels: 1, samples };
}
