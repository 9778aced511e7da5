/**
 * Our Codec2 filters against the reference tools of Debian's codec2 package:
 * c2enc's bits must be what our encoder produces (libcodec2 is deterministic),
 * c2dec must decode our bits, and c2enc's frames sent as RTP must decode
 * through our decoder to exactly what c2dec makes of them.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CODEC2_MODES, type Codec2Mode } from '../lib/codecs/fmtp';
import { Factory, Graph, Ticker } from '../lib';
import { readWav, writeWav, type Pcm } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { pitchReport, voiced } from './helpers/signal';
import { sleep } from './helpers/wait';

const hasTools = spawnSync('c2enc', []).error === undefined;
const modeArg = (m: Codec2Mode) => (m === 700 ? '700C' : String(m));
const bytesPerFrame: Record<Codec2Mode, number> = { 3200: 8, 2400: 6, 1600: 8, 1400: 7, 1300: 7, 1200: 6, 700: 4 };

function rawOf(pcm: Pcm): Buffer {
  return Buffer.from(pcm.samples.buffer, pcm.samples.byteOffset, pcm.samples.byteLength);
}

function pcmOfRaw(file: string): Int16Array {
  const b = fs.readFileSync(file);
  return new Int16Array(b.buffer, b.byteOffset, Math.floor(b.length / 2));
}

describe(
  'Codec2 filters against c2enc/c2dec',
  { skip: !hasTools && 'codec2 tools not installed (apt-get install codec2)' },
  () => {
    let dir: string;
    let input: Pcm;
    const factory = new Factory();
    const ticker = new Ticker({ name: 'codec2-ref' });

    before(() => {
      dir = tmpDir('rms-c2-');
      input = voiced(8000, 1.6, 140);
      writeWav(path.join(dir, 'in.wav'), input);
      fs.writeFileSync(path.join(dir, 'in.raw'), rawOf(input));
    });

    after(() => {
      ticker.close();
      factory.close();
      if (!process.env.RMS_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('our encoder produces the bits of c2enc, for every mode, and c2dec decodes them', async () => {
      // all seven encoders run at once on one ticker
      const graphs = CODEC2_MODES.map((mode) => {
        const g = new Graph();
        const player = g.add(factory.filePlayer());
        player.open(path.join(dir, 'in.wav'));
        const enc = g.add(factory.createEncoder('CODEC2'));
        enc.addFmtp(`mode=${mode}`);
        const rec = g.add(factory.fileRecorder());
        rec.open(path.join(dir, `ours-${mode}.bit`)); // not .wav: raw bytes
        player.link(enc).link(rec);
        player.start();
        rec.start();
        return { mode, g, player, rec };
      });
      const done = graphs.map(({ player }) => new Promise<void>((r) => player.once('eof', () => r())));
      for (const { g, player } of graphs) g.attach(ticker, [player]);
      await Promise.all(done);
      await sleep(100);
      for (const { mode, g, rec } of graphs) {
        g.detach();
        rec.closeFile();
        g.close();
        const ref = path.join(dir, `ref-${mode}.bit`);
        execFileSync('c2enc', [modeArg(mode), path.join(dir, 'in.raw'), ref]);
        const ours = fs.readFileSync(path.join(dir, `ours-${mode}.bit`));
        const theirs = fs.readFileSync(ref);
        const frames = Math.floor(theirs.length / bytesPerFrame[mode]);
        assert.ok(frames >= 30, `mode ${mode}: ${frames} reference frames`);
        assert.ok(ours.length >= theirs.length, `mode ${mode}: ours ${ours.length} bytes < reference ${theirs.length}`);
        assert.ok(ours.subarray(0, theirs.length).equals(theirs), `mode ${mode}: bits differ from c2enc`);
        // and the reference decoder understands them
        const decoded = path.join(dir, `ours-${mode}.raw`);
        execFileSync('c2dec', [modeArg(mode), path.join(dir, `ours-${mode}.bit`), decoded]);
        const p = pitchReport({ rate: 8000, channels: 1, samples: pcmOfRaw(decoded) }, 140);
        assert.ok(
          p.matchFraction > 0.6,
          `mode ${mode}: c2dec of our bits keeps the pitch in ${(p.matchFraction * 100).toFixed(0)}% of blocks`,
        );
      }
    });

    const decodesLikeC2dec = (how: 'fmtp' | 'wire', perPacket: number) => async () => {
      // one child process per mode (see fixtures/codec2-decode-child.ts for why), all at once
      const child = path.join(__dirname, 'fixtures', 'codec2-decode-child.js');
      await Promise.all(
        CODEC2_MODES.map(async (mode) => {
          const bits = path.join(dir, `ref-${mode}.bit`);
          if (!fs.existsSync(bits)) execFileSync('c2enc', [modeArg(mode), path.join(dir, 'in.raw'), bits]);
          const refRaw = path.join(dir, `ref-${mode}.raw`);
          execFileSync('c2dec', [modeArg(mode), bits, refRaw]);
          const out = path.join(dir, `ours-dec-${mode}-${how}-${perPacket}.wav`);
          await new Promise<void>((resolve, reject) => {
            const p = spawn(process.execPath, [child, String(mode), bits, out, how, String(perPacket)], {
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            p.on('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`decoder child for mode ${mode} exited ${code}`)),
            );
          });
          const ours = readWav(out).samples;
          const ref = pcmOfRaw(refRaw);
          const n = Math.min(ours.length, ref.length);
          assert.ok(n >= ref.length * 0.95, `mode ${mode}: decoded ${ours.length} samples of ${ref.length}`);
          let same = 0;
          for (let k = 0; k < n; k++) if (ours[k] === ref[k]) same++;
          assert.equal(
            same,
            n,
            `mode ${mode} (${how}, ${perPacket}/packet): ${n - same} of ${n} samples differ from c2dec`,
          );
        }),
      );
    };

    it("c2enc's frames sent as RTP decode through our decoder to exactly c2dec's samples", decodesLikeC2dec('fmtp', 1));

    // baresip writes no fmtp: payload size and timestamp step name the mode
    // (docs/codecs.md), from the first packets, which are not lost either
    it(
      "without a mode in the SDP, every mode is found from the wire and decodes to exactly c2dec's samples",
      decodesLikeC2dec('wire', 1),
    );
    it(
      '... also with two frames per packet (16 bytes are 3200 x2, 1600 x2 or 700C x4: the timestamp step tells them apart)',
      decodesLikeC2dec('wire', 2),
    );
  },
);
