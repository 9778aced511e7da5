import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Factory, InvalidArgumentError, Ticker, type DtmfDetection, type DtmfDetector, type FilePlayer } from '../lib';
import { GraphError } from '../lib/errors';
import { readWav, writeWav, type Pcm } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { sleep } from './helpers/wait';

const ROW_HZ = [697, 770, 852, 941];
const COL_HZ = [1209, 1336, 1477, 1633];
const KEYS = '123A456B789C*0#D';

/** Both tones of `key`, each at `toneDbfs` (a full-scale sine is 0 dB). */
function dtmfTone(rate: number, key: string, ms: number, toneDbfs: number): Int16Array {
  const k = KEYS.indexOf(key);
  const a = 32767 * 10 ** (toneDbfs / 20);
  const out = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(
      a * Math.sin((2 * Math.PI * ROW_HZ[k >> 2] * i) / rate) + a * Math.sin((2 * Math.PI * COL_HZ[k & 3] * i) / rate),
    );
  return out;
}

function concat(rate: number, ...parts: Int16Array[]): Pcm {
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) samples.set(p, (off += p.length) - p.length);
  return { rate, channels: 1, samples };
}

const silence = (rate: number, ms: number) => new Int16Array(Math.round((rate * ms) / 1000));

/**
 * Music-like: 400 ms chords of 3-5 notes, each with two overtones and a
 * decay, several within a semitone of a DTMF frequency (F5 698, G5 784,
 * E6 1319, F6 1397, F#6 1480 Hz).
 */
function chords(rate: number, seconds: number): Pcm {
  const progression = [
    [77, 81, 84],
    [74, 78, 81, 90],
    [76, 79, 83, 88],
    [69, 73, 76, 79, 85],
    [70, 74, 77, 82, 89],
    [79, 83, 86, 91],
  ];
  const per = Math.round(rate * 0.4);
  const x = new Float64Array(Math.round(rate * seconds));
  let peak = 0;
  for (let i = 0; i < x.length; i++) {
    const chord = progression[Math.floor(i / per) % progression.length];
    const t = (i % per) / rate;
    let v = 0;
    for (const midi of chord) {
      const f = 440 * 2 ** ((midi - 69) / 12);
      for (let h = 1; h <= 3 && f * h < rate / 2; h++) v += Math.sin(2 * Math.PI * f * h * t + midi) / (h * h);
    }
    x[i] = v * Math.exp(-3 * t) * Math.min(1, t / 0.01);
    peak = Math.max(peak, Math.abs(x[i]));
  }
  const samples = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) samples[i] = Math.round((x[i] / peak) * 0.7 * 32767);
  return { rate, channels: 1, samples };
}

/** Speech from espeak-ng at `rate` Hz, or undefined when espeak-ng or sox is missing. */
function speech(dir: string, rate: number, text: string, voice = 'en'): Pcm | undefined {
  const raw = path.join(dir, `speech-${voice}.wav`);
  const out = path.join(dir, `speech-${voice}-${rate}.wav`);
  try {
    execFileSync('espeak-ng', ['-v', voice, '-w', raw, text], { stdio: 'ignore' });
    execFileSync('sox', [raw, '-r', String(rate), '-c', '1', '-b', '16', out], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return readWav(out);
}

interface Heard {
  digits: DtmfDetection[];
  starts: DtmfDetection[];
}

function listen(det: DtmfDetector): Heard {
  const heard: Heard = { digits: [], starts: [] };
  det.on('digit', (d) => heard.digits.push(d));
  det.on('digitStart', (d) => heard.starts.push(d));
  return heard;
}

/** Plays `pcm` through FilePlayer → DtmfDetector → MSVoidSink on a ticker; resolves at end of file. */
async function playThroughDetector(dir: string, name: string, pcm: Pcm): Promise<Heard> {
  const file = path.join(dir, `${name}.wav`);
  writeWav(file, pcm);
  const f = new Factory();
  const t = new Ticker({ name: `dtmf-${name}` });
  try {
    const player: FilePlayer = f.filePlayer();
    player.open(file);
    const det = f.dtmfDetector(pcm.rate);
    const heard = listen(det);
    player.link(det).link(f.createFilter('MSVoidSink'));
    const eof = new Promise<void>((resolve) => player.once('eof', () => resolve()));
    player.start();
    t.attach(player);
    await eof;
    await sleep(50);
    t.detach(player); // ends a digit still held, if any
    await sleep(50);
    return heard;
  } finally {
    t.close();
    f.close();
  }
}

describe('RmsDtmfDetect (in-band DTMF detector)', () => {
  for (const rate of [8000, 16000]) {
    it(`hears "123A*#0D" from ms2's MSDtmfGen once each, at ${rate} Hz`, async (t) => {
      const f = new Factory();
      const ticker = new Ticker({ name: `dtmf-gen-${rate}` });
      try {
        const src = f.createFilter('MSVoidSource');
        const gen = f.dtmfGenerator();
        gen.setSampleRate(rate);
        const det = f.dtmfDetector(rate);
        assert.equal(det.getSampleRate(), rate);
        const heard = listen(det);
        src.link(gen).link(det).link(f.createFilter('MSVoidSink'));
        ticker.attach(src);
        await sleep(100);
        for (const key of '123A*#0D') {
          const end = new Promise<void>((r) => gen.once('toneEnd', () => r()));
          gen.play(key); // ms2 plays 100 ms
          await end;
          await sleep(80);
        }
        await sleep(150);
        assert.equal(heard.digits.map((d) => d.digit).join(''), '123A*#0D');
        assert.equal(heard.starts.map((d) => d.digit).join(''), '123A*#0D');
        for (const d of heard.digits) {
          assert.ok(d.durationMs >= 95 && d.durationMs <= 105, `${d.digit}: ${d.durationMs} ms`);
          // MSDtmfGen: each tone at 0.2 * 0.7 of full scale, -17.1 dBFS
          assert.ok(Math.abs(d.lowDbfs + 17.1) < 1 && Math.abs(d.highDbfs + 17.1) < 1, JSON.stringify(d));
        }
        for (let i = 1; i < heard.digits.length; i++)
          assert.ok(heard.digits[i].startMs - heard.digits[i - 1].startMs >= 150, JSON.stringify(heard.digits));
        t.diagnostic(`durations ${heard.digits.map((d) => d.durationMs).join(' ')} ms`);
      } finally {
        ticker.close();
        f.close();
      }
    });
  }

  it('hears short and quiet digits from a file, and not a 30 ms blip', async () => {
    const rate = 8000;
    const pcm = concat(
      rate,
      silence(rate, 100),
      dtmfTone(rate, '7', 40, -31), // a -25 dBFS (peak) digit, the shortest accepted
      silence(rate, 100),
      dtmfTone(rate, '8', 30, -9), // too short
      silence(rate, 100),
      dtmfTone(rate, '9', 60, -9),
      silence(rate, 200),
    );
    const heard = await playThroughDetector(tmpDir(), 'short', pcm);
    assert.deepEqual(
      heard.digits.map((d) => d.digit),
      ['7', '9'],
    );
    assert.ok(Math.abs(heard.digits[0].durationMs - 40) <= 3, `${heard.digits[0].durationMs}`);
    assert.ok(Math.abs(heard.digits[1].durationMs - 60) <= 3, `${heard.digits[1].durationMs}`);
  });

  it('hears no digit in speech (espeak-ng, several voices), and still hears the one after it', async (t) => {
    const dir = tmpDir();
    const text =
      'Welcome to the automated telephone system. Please enter your account number followed by the pound key. ' +
      'One two three four five six seven eight nine zero. She sells sea shells by the sea shore.';
    for (const [voice, rate] of [
      ['en', 8000],
      ['en-us+f3', 16000],
    ] as const) {
      const sp = speech(dir, rate, text, voice);
      if (!sp) {
        t.skip('espeak-ng or sox is not installed');
        return;
      }
      const seconds = sp.samples.length / rate;
      assert.ok(seconds > 8, `${seconds} s of speech`);
      t.diagnostic(`${voice}: ${seconds.toFixed(1)} s of speech at ${rate} Hz`);
      const pcm = concat(rate, sp.samples, silence(rate, 200), dtmfTone(rate, '5', 80, -15), silence(rate, 200));
      const heard = await playThroughDetector(dir, `speech-${rate}`, pcm);
      assert.deepEqual(
        heard.digits.map((d) => `${d.digit}@${Math.round(d.startMs / 100) * 100}`),
        [`5@${Math.round((seconds * 1000 + 200) / 100) * 100}`],
        `${voice}, ${seconds.toFixed(1)} s of speech at ${rate} Hz`,
      );
    }
  });

  it('hears no digit in music-like chords', async () => {
    const heard = await playThroughDetector(tmpDir(), 'chords', chords(8000, 5));
    assert.deepEqual(heard.digits, []);
    assert.deepEqual(heard.starts, []);
  });

  it('refuses to run with its output unlinked (ms2 would abort the process)', () => {
    const f = new Factory();
    const t = new Ticker({ name: 'dtmf-open' });
    try {
      const src = f.createFilter('MSVoidSource');
      const det = f.dtmfDetector();
      src.link(det);
      assert.throws(() => t.attach(src), GraphError);
      assert.throws(() => t.attach(src), /output pin 0 of filter RmsDtmfDetect is not linked/);
    } finally {
      t.close();
      f.close();
    }
  });

  it('takes settings within range and refuses others', () => {
    const f = new Factory();
    try {
      const det = f.dtmfDetector();
      assert.equal(det.getSampleRate(), 8000);
      assert.deepEqual(det.settings(), {
        minLevelDbfs: -33,
        normalTwistDb: 8,
        reverseTwistDb: 4,
        minDurationMs: 35,
        releaseMs: 25,
      });
      det.configure({ normalTwistDb: 10, minDurationMs: 50 });
      assert.deepEqual(det.settings(), {
        minLevelDbfs: -33,
        normalTwistDb: 10,
        reverseTwistDb: 4,
        minDurationMs: 50,
        releaseMs: 25,
      });
      assert.throws(() => det.configure({ reverseTwistDb: 25 }), InvalidArgumentError);
      assert.throws(() => det.configure({ minLevelDbfs: NaN }), /Expected a number in -60..0 for minLevelDbfs/);
      assert.throws(() => det.setSampleRate(44100), InvalidArgumentError);
      assert.throws(() => f.dtmfDetector(48000), /Expected 8000 or 16000/);
      assert.equal(det.settings().minDurationMs, 50);
      assert.equal(f.dtmfDetector(16000).getSampleRate(), 16000);
      assert.ok(f.filters().some((d) => d.name === 'RmsDtmfDetect'));
    } finally {
      f.close();
    }
  });
});
