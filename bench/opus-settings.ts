/**
 * How the Opus encoder's complexity trades CPU for quality, to choose the
 * default (docs/codecs.md). For each complexity: encode cost per 20 ms frame
 * (process CPU of 30 parallel encoder graphs minus the same graphs with a
 * PCMU encoder, measured in the same run), and the log-spectral distance of
 * decoded speech from the source (lower is better).
 *
 *   node dist/bench/opus-settings.js [seconds-per-point]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Factory, Graph, Ticker, type Encoder } from '../lib';
import { readWav, writeWav, type Pcm } from '../lib/util/wav';
import { goertzel } from '../test/helpers/signal';
import { voiced } from '../test/helpers/signal';

const seconds = Number(process.argv[2] ?? 3);
const GRAPHS = 30;
const COMPLEXITIES = [0, 2, 5, 8, 10];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-bench-opus-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function speechFile(): string {
  const file = path.join(dir, 'speech.wav');
  try {
    const raw = path.join(dir, 'raw.wav');
    execFileSync(
      'espeak-ng',
      [
        '-s',
        '150',
        '-w',
        raw,
        'The quick brown fox jumps over the lazy dog. Opus complexity trades processor time for quality.',
      ],
      { stdio: 'ignore' },
    );
    const src = readWav(raw);
    // espeak-ng speaks at 22050 Hz: decimate to 8 kHz with a crude low-pass
    const ratio = src.rate / 8000;
    const n = Math.floor(src.samples.length / ratio);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      let cnt = 0;
      for (let k = Math.floor(i * ratio); k < Math.floor((i + 1) * ratio) && k < src.samples.length; k++, cnt++)
        acc += src.samples[k];
      out[i] = Math.round(acc / Math.max(1, cnt));
    }
    writeWav(file, { rate: 8000, channels: 1, samples: out });
  } catch {
    writeWav(file, voiced(8000, 4, 130));
  }
  return file;
}

async function cpuOf(factory: Factory, file: string, makeEncoder: () => Encoder): Promise<number> {
  const ticker = new Ticker({ name: 'bench' });
  const graphs: Graph[] = [];
  for (let i = 0; i < GRAPHS; i++) {
    const g = new Graph();
    const player = g.add(factory.filePlayer());
    player.open(file);
    player.setLoop(0);
    const enc = g.add(makeEncoder());
    player.link(enc).link(g.add(factory.createFilter('MSVoidSink')));
    player.start();
    g.attach(ticker, [player]);
    graphs.push(g);
  }
  await sleep(300);
  const before = process.cpuUsage();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  for (const g of graphs) g.close();
  ticker.close();
  return (used.user + used.system) / (GRAPHS * seconds * 50); // µs per 20 ms frame per graph
}

function logSpectralDistance(ref: Pcm, test: Pcm): number {
  // align by cross-correlation (codec delay), then compare band energies per 20 ms
  const x = ref.samples;
  const y = test.samples;
  let bestLag = 0;
  let best = -Infinity;
  for (let lag = 0; lag < 800; lag++) {
    let acc = 0;
    for (let i = 4000; i < Math.min(x.length, y.length - lag, 20000); i++) acc += x[i] * y[i + lag];
    if (acc > best) {
      best = acc;
      bestLag = lag;
    }
  }
  const freqs = Array.from({ length: 30 }, (_, i) => 150 + i * 120);
  const block = 160;
  let sum = 0;
  let n = 0;
  for (let s = 0; s + block < x.length && s + bestLag + block < y.length; s += block) {
    let energy = 0;
    for (let i = s; i < s + block; i++) energy += x[i] * x[i];
    if (Math.sqrt(energy / block) < 300) continue; // speech only
    let d = 0;
    for (const f of freqs) {
      const a = 10 * Math.log10(goertzel(x, s, block, f, 8000) + 1);
      const b = 10 * Math.log10(goertzel(y, s + bestLag, block, f, 8000) + 1);
      d += (a - b) ** 2;
    }
    sum += Math.sqrt(d / freqs.length);
    n++;
  }
  return sum / Math.max(1, n);
}

async function quality(factory: Factory, file: string, complexity: number): Promise<number> {
  const ticker = new Ticker({ name: 'bench-q' });
  const g = new Graph();
  const player = g.add(factory.filePlayer());
  player.open(file);
  const enc = g.add(factory.opusEncoder());
  enc.setSampleRate(8000);
  enc.configure({ complexity });
  const dec = g.add(factory.createDecoder('opus'));
  dec.setSampleRate(8000);
  dec.setChannels(1);
  const rec = g.add(factory.fileRecorder());
  const out = path.join(dir, `q-${complexity}.wav`);
  rec.open(out);
  player.link(enc).link(dec).link(rec);
  const eof = new Promise<void>((r) => player.once('eof', () => r()));
  player.start();
  rec.start();
  g.attach(ticker, [player]);
  await eof;
  await sleep(200);
  g.detach();
  rec.closeFile();
  g.close();
  ticker.close();
  return logSpectralDistance(readWav(file), readWav(out));
}

async function main() {
  const factory = new Factory();
  const file = speechFile();
  console.log(`Opus encoder (RmsOpusEnc, 8 kHz API rate, 20 ms, default 16 kbit/s VBR) on ${os.cpus()[0].model}`);
  const pcmu = await cpuOf(factory, file, () => factory.createEncoder('pcmu'));
  const rows: { c: number; us: number; lsd: number }[] = [];
  for (const c of COMPLEXITIES) {
    const total = await cpuOf(factory, file, () => {
      const e = factory.opusEncoder();
      e.setSampleRate(8000);
      e.configure({ complexity: c });
      return e;
    });
    rows.push({ c, us: Math.max(0, total - pcmu), lsd: await quality(factory, file, c) });
  }
  const top = rows[rows.length - 1];
  console.log(`baseline (same graphs with a PCMU encoder): ${pcmu.toFixed(1)} µs per frame`);
  console.log('complexity  encode µs/frame  vs c=10   log-spectral distance dB');
  for (const r of rows)
    console.log(
      `${String(r.c).padStart(10)}  ${r.us.toFixed(1).padStart(15)}  ${(r.us / top.us).toFixed(2).padStart(7)}   ${r.lsd.toFixed(2).padStart(8)}`,
    );
  factory.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
