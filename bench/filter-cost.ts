/**
 * CPU per 20 ms frame of each filter the gateway can put on a direction,
 * beside the codecs, to see what is worth making optional (issue 8).
 * G graphs of `player -> [filters] -> MSVoidSink` on one ticker, process CPU
 * over S seconds, minus the same graphs without the filters; best of 2.
 *
 *   node dist/bench/filter-cost.js [seconds] [graphs]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants } from '../lib/native';
import { Factory, Graph, Ticker, type Filter } from '../lib';
import { writeWav } from '../lib/util/wav';
import { BASE_PACKAGES, BUILD, ensurePackages, makeSpeech } from './lib/tools';

const seconds = Number(process.argv[2] ?? 4);
const GRAPHS = Number(process.argv[3] ?? 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Chain = (f: Factory) => Filter<any>[];

async function cpuPerFrame(factory: Factory, wav: string, chain: Chain): Promise<number> {
  const ticker = new Ticker({ name: 'bench-cost' });
  const graphs: Graph[] = [];
  for (let i = 0; i < GRAPHS; i++) {
    const g = new Graph();
    const player = g.add(factory.filePlayer());
    player.open(wav);
    player.setLoop(0);
    const filters = chain(factory).map((f) => g.add(f));
    let prev: Filter<any> = player;
    for (const f of filters) prev = prev.link(f);
    prev.link(g.add(factory.createFilter('MSVoidSink')));
    player.start();
    g.attach(ticker, [player]);
    graphs.push(g);
  }
  await sleep(500);
  const before = process.cpuUsage();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  for (const g of graphs) g.close();
  ticker.close();
  return (used.user + used.system) / (GRAPHS * seconds * 50);
}

async function main() {
  ensurePackages(BASE_PACKAGES);
  const speech = makeSpeech();
  const wav8 = path.join(BUILD, 'audio', 'speech8k.wav');
  const wav16 = path.join(BUILD, 'audio', 'speech16k.wav');
  for (const [raw, wav, rate] of [
    [speech.src8, wav8, 8000],
    [speech.src16, wav16, 16000],
  ] as const)
    if (!fs.existsSync(wav)) {
      const b = fs.readFileSync(raw);
      writeWav(wav, { rate, channels: 1, samples: new Int16Array(b.buffer, b.byteOffset, b.length / 2) });
    }
  const factory = new Factory();
  const opus8 = (c: number) => (f: Factory) => {
    const e = f.opusEncoder();
    e.setSampleRate(8000);
    e.configure({ complexity: c });
    return [e];
  };
  const cases: [string, string, Chain][] = [
    ['MSVolume (level meter)', wav8, (f) => [f.createFilter('MSVolume')]],
    [
      'MSGenericPLC',
      wav8,
      (f) => {
        const p = f.createFilter(constants().filterIds.MS_GENERIC_PLC_ID);
        p.setSampleRate(8000);
        return [p];
      },
    ],
    ['RmsLossMeter', wav8, (f) => [f.lossMeter()]],
    ['RmsDtmfDetect 8 kHz', wav8, (f) => [f.dtmfDetector(8000)]],
    [
      'MSDtmfGen 8 kHz',
      wav8,
      (f) => {
        const g = f.dtmfGenerator();
        g.setSampleRate(8000);
        return [g];
      },
    ],
    [
      'MSResample 8→16 kHz',
      wav8,
      (f) => {
        const r = f.resampler();
        r.setRates(8000, 16000);
        return [r];
      },
    ],
    ['PCMU encode', wav8, (f) => [f.createEncoder('pcmu')]],
    ['G.729 encode', wav8, (f) => [f.createEncoder('G729')]],
    ['G.722 encode (16 kHz)', wav16, (f) => [f.createEncoder('g722')]],
    ['Codec2 encode', wav8, (f) => [f.createEncoder('CODEC2')]],
    ['RmsOpusEnc 8 kHz c10', wav8, opus8(10)],
    ['RmsOpusEnc 8 kHz c5', wav8, opus8(5)],
  ];
  console.log(`µs of CPU per 20 ms frame, ${GRAPHS} graphs on one ticker, ${seconds} s per point, best of 2`);
  const base8 = Math.min(await cpuPerFrame(factory, wav8, () => []), await cpuPerFrame(factory, wav8, () => []));
  const base16 = Math.min(await cpuPerFrame(factory, wav16, () => []), await cpuPerFrame(factory, wav16, () => []));
  console.log(`baseline (player -> void sink): ${base8.toFixed(2)} µs at 8 kHz, ${base16.toFixed(2)} at 16 kHz`);
  for (const [name, wav, chain] of cases) {
    const cost = Math.min(await cpuPerFrame(factory, wav, chain), await cpuPerFrame(factory, wav, chain));
    console.log(`${name.padEnd(26)} ${(cost - (wav === wav16 ? base16 : base8)).toFixed(2).padStart(7)}`);
  }
  factory.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
