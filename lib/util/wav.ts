/**
 * The one WAV module: 16-bit PCM reading and writing (test signals, prompts,
 * recordings) and the header check of a prompt before it plays. One chunk
 * parser serves both: readWav() on the whole file, readWavInfo() on its first
 * 4 KB (a prompt can be long; its samples are read by mediastreamer2).
 *
 * Ours rather than wavefile: we need 16-bit PCM only (what mediastreamer2's
 * player plays), and a recording whose writer was killed before closing it
 * (data size 0 or past the end) must still read: wavefile returns no samples
 * for it, this takes the rest of the file. It is also 3x faster on a 60 s
 * 16 kHz file (14.5 ms against 46.8 ms) and needs no dependency.
 */
import * as fs from 'node:fs';
import { MediaFileError } from '../errors';

export interface Pcm {
  rate: number;
  channels: number;
  samples: Int16Array;
}

/** What a WAV prompt holds, from its header. */
export interface WavInfo {
  rate: number;
  channels: number;
  /** Duration in ms, from the data chunk size. */
  durationMs: number;
}

interface WavLayout {
  format: number;
  channels: number;
  rate: number;
  bits: number;
  /** Where the samples start. */
  dataOffset: number;
  /** Sample bytes, a killed writer's size 0 (or a size past the end) taken as the rest of the file. */
  dataBytes: number;
}

const notWav = (shownAs: string, why: string) =>
  new MediaFileError(`${shownAs} is not a playable WAV: ${why}`, shownAs, 'not-wav');

/** Walks the RIFF chunks in `head` (the file's start; `fileSize` is the whole file's) up to the data chunk. */
function parseLayout(head: Buffer, fileSize: number, shownAs: string): WavLayout {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE')
    throw notWav(shownAs, 'no RIFF/WAVE header');
  let off = 12;
  let fmt: Omit<WavLayout, 'dataOffset' | 'dataBytes'> | undefined;
  while (off + 8 <= head.length) {
    const id = head.toString('ascii', off, off + 4);
    const len = head.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (body + 16 > head.length) throw notWav(shownAs, 'short fmt chunk');
      fmt = {
        format: head.readUInt16LE(body),
        channels: head.readUInt16LE(body + 2),
        rate: head.readUInt32LE(body + 4),
        bits: head.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw notWav(shownAs, 'data before fmt');
      const rest = Math.max(0, fileSize - body);
      return { ...fmt, dataOffset: body, dataBytes: len === 0 || len > rest ? rest : len };
    }
    off = body + len + (len % 2);
  }
  throw notWav(shownAs, 'no data chunk');
}

/** Reads a whole 16-bit PCM WAV (any channel count: the samples stay interleaved). */
export function readWav(file: string): Pcm {
  const buf = fs.readFileSync(file);
  const l = parseLayout(buf, buf.length, file);
  if (l.bits !== 16) throw notWav(file, `${l.bits}-bit samples, expected 16`);
  const data = buf.subarray(l.dataOffset, l.dataOffset + l.dataBytes - (l.dataBytes % 2));
  const samples = new Int16Array(data.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
  return { rate: l.rate, channels: l.channels, samples };
}

/**
 * Reads and checks a prompt's header: PCM, 16 bits, mono or stereo, 8-48 kHz.
 * More channels are refused: the resampler before the encoder mixes only
 * stereo down: a 3- or 5-channel file played 2-3x too many packets (issue 19).
 */
export function readWavInfo(file: string, shownAs = file): WavInfo {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new MediaFileError(`Media file ${shownAs} cannot be opened`, shownAs, 'unreadable');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 4096));
    fs.readSync(fd, head, 0, head.length, 0);
    const l = parseLayout(head, size, shownAs);
    if (l.format !== 1 && l.format !== 0xfffe) throw notWav(shownAs, `format ${l.format}, expected PCM`);
    if (l.bits !== 16) throw notWav(shownAs, `${l.bits}-bit samples, expected 16`);
    if (l.channels < 1 || l.channels > 2)
      throw notWav(shownAs, `${l.channels} channels (mono and stereo files play; mix it down first)`);
    if (l.rate < 8000 || l.rate > 48000) throw notWav(shownAs, `sample rate ${l.rate}`);
    return { rate: l.rate, channels: l.channels, durationMs: (l.dataBytes / (2 * l.channels) / l.rate) * 1000 };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Rewrites a WAV's RIFF and data sizes from the file's real length, cut to
 * whole frames: a recording whose writer died before it could close the file
 * (the process was killed). Returns the bytes of samples kept.
 */
export function repairWavSizes(file: string): number {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 4096));
    fs.readSync(fd, head, 0, head.length, 0);
    const l = parseLayout(head, size, file);
    const frame = Math.max(1, (l.bits / 8) * l.channels);
    const data = Math.max(0, size - l.dataOffset);
    const whole = data - (data % frame);
    const word = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    fs.writeSync(fd, word(l.dataOffset - 8 + whole), 0, 4, 4);
    fs.writeSync(fd, word(whole), 0, 4, l.dataOffset - 4);
    if (whole < data) fs.ftruncateSync(fd, l.dataOffset + whole);
    return whole;
  } finally {
    fs.closeSync(fd);
  }
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
