/**
 * IVR media on real ms2 graphs over loopback: a server leg (the IVR) and a
 * "phone" leg (another MediaLeg) talk RTP to each other; what the phone hears
 * is recorded and checked.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, MediaFileError, Ticker } from '../lib';
import { readWav, tone, writeWav, type Pcm } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { toneReport } from './helpers/signal';
import { sleep } from './helpers/wait';

function stereo(p: Pcm): Pcm {
  const s = new Int16Array(p.samples.length * 2);
  for (let i = 0; i < p.samples.length; i++) {
    s[2 * i] = p.samples[i];
    s[2 * i + 1] = p.samples[i];
  }
  return { rate: p.rate, channels: 2, samples: s };
}

let root: string;
let ticker: Ticker;

/** A server leg and a phone leg wired to each other. */
function pair(
  codec = 'PCMU',
  te: number | null = 101,
  phoneCodec = codec,
  phoneTe: number | null = te,
): { s: MediaLeg; p: MediaLeg; close: () => void } {
  const s = new MediaLeg({
    name: 'ivr',
    codec,
    telephoneEvent: te ?? undefined,
    local: { address: '127.0.0.1' },
    ticker,
    mediaRoots: [root],
  });
  const p = new MediaLeg({
    name: 'phone',
    codec: phoneCodec,
    telephoneEvent: phoneTe ?? undefined,
    local: { address: '127.0.0.1' },
    ticker,
    mediaRoots: [root],
  });
  s.setRemote({ address: '127.0.0.1', port: p.localPort });
  p.setRemote({ address: '127.0.0.1', port: s.localPort });
  return {
    s,
    p,
    close: () => {
      s.close();
      p.close();
    },
  };
}

before(() => {
  root = tmpDir('rms-ivr-');
  ticker = new Ticker({ name: 'ivr-test' });
  writeWav(path.join(root, 'tone1k-16k-stereo.wav'), stereo(tone(16000, 1.2, [1000])));
  writeWav(path.join(root, 'tone600-8k.wav'), tone(8000, 0.6, [600]));
  writeWav(path.join(root, 'tone400-48k.wav'), tone(48000, 0.5, [400]));
});

after(() => {
  ticker.close();
});

describe('play', () => {
  it('plays a 16 kHz stereo WAV to a PCMU leg: resolves after its duration, the phone hears it', async () => {
    const { s, p, close } = pair();
    try {
      const rec = p.record('heard-play.wav', { maxDurationMs: 1800 });
      const r = await s.play('tone1k-16k-stereo.wav');
      assert.equal(r.reason, 'eof');
      assert.equal(r.filesPlayed, 1);
      console.log(`# play of a 1200 ms file resolved after ${r.durationMs} ms`);
      assert.ok(Math.abs(r.durationMs - 1200) <= 60, `played ${r.durationMs} ms of a 1200 ms file`);
      const heard = await rec;
      const pcm = readWav(heard.path);
      const t = toneReport(pcm, 1000);
      assert.ok(t.marginDb > 15, `1 kHz margin ${t.marginDb} dB`);
    } finally {
      close();
    }
  });

  it('plays a list of files of different rates in order', async () => {
    const { s, p, close } = pair('G722', 101);
    try {
      const starts: string[] = [];
      s.on('playStart', (f) => starts.push(f));
      const rec = p.record('heard-list.wav', { maxDurationMs: 1500 });
      const r = await s.play(['tone600-8k.wav', 'tone400-48k.wav']);
      assert.equal(r.reason, 'eof');
      assert.deepEqual(starts, ['tone600-8k.wav', 'tone400-48k.wav']);
      assert.ok(Math.abs(r.durationMs - 1100) <= 80, `played ${r.durationMs} ms of 1100 ms`);
      const pcm = readWav((await rec).path);
      const half = Math.round(pcm.rate * 0.55);
      const first = { ...pcm, samples: pcm.samples.subarray(0, half) };
      const second = { ...pcm, samples: pcm.samples.subarray(half) };
      assert.ok(toneReport(first, 600).marginDb > 10, 'first file heard');
      assert.ok(toneReport(second, 400).marginDb > 10, 'second file heard');
    } finally {
      close();
    }
  });

  it('loop plays until stopped; stopPlay resolves with stopped', async () => {
    const { s, close } = pair();
    try {
      const pr = s.play('tone600-8k.wav', { loop: true });
      await sleep(1500);
      s.stopPlay();
      const r = await pr;
      assert.equal(r.reason, 'stopped');
      assert.ok(r.filesPlayed >= 2, `${r.filesPlayed} plays`);
    } finally {
      close();
    }
  });

  it('refuses files outside the media roots, missing ones and non-WAVs, before playing anything', async () => {
    const { s, close } = pair();
    const outside = tmpDir('rms-outside-');
    writeWav(path.join(outside, 'x.wav'), tone(8000, 0.2, [500]));
    fs.symlinkSync(path.join(outside, 'x.wav'), path.join(root, 'link-out.wav'));
    fs.writeFileSync(path.join(root, 'text.wav'), 'not a wav');
    try {
      const cases: [string, string][] = [
        ['../' + path.basename(outside) + '/x.wav', 'outside-roots'],
        [path.join(outside, 'x.wav'), 'outside-roots'],
        ['link-out.wav', 'outside-roots'],
        ['missing.wav', 'not-found'],
        ['text.wav', 'not-wav'],
      ];
      for (const [file, reason] of cases) {
        await assert.rejects(
          s.play(['tone600-8k.wav', file]),
          (e: unknown) => e instanceof MediaFileError && e.reason === reason,
          file,
        );
      }
      assert.equal(s.playing, false);
      await assert.rejects(s.record('../escape.wav'), MediaFileError);
      await assert.rejects(s.record('link-out.wav'), MediaFileError);
    } finally {
      close();
    }
  });
});

describe('record', () => {
  it('records a known signal: the WAV holds it, max duration ends it', async () => {
    const { s, p, close } = pair('opus', 101);
    try {
      const rec = s.record('rec-max.wav', { maxDurationMs: 800 });
      void p.play('tone1k-16k-stereo.wav');
      const r = await rec;
      assert.equal(r.reason, 'max-duration');
      assert.equal(r.path, path.join(fs.realpathSync(root), 'rec-max.wav'));
      assert.ok(r.durationMs >= 650 && r.durationMs <= 850, `${r.durationMs} ms recorded`);
      const pcm = readWav(r.path);
      assert.equal(pcm.rate, 16000, 'opus legs record at 16 kHz');
      assert.ok(toneReport(pcm, 1000).marginDb > 15);
    } finally {
      close();
    }
  });

  it('stops on silence after the caller stops talking', async () => {
    const { s, p, close } = pair();
    try {
      const started = Date.now();
      const rec = s.record('rec-silence.wav', { silenceTimeoutMs: 500, maxDurationMs: 5000 });
      await p.play('tone600-8k.wav');
      const r = await rec;
      const elapsed = Date.now() - started;
      assert.equal(r.reason, 'silence');
      // 600 ms of tone, then 500 ms of silence
      assert.ok(elapsed >= 1000 && elapsed <= 1600, `stopped after ${elapsed} ms`);
    } finally {
      close();
    }
  });

  it('stops on a digit, which is reported and not left for collect()', async () => {
    const { s, p, close } = pair();
    try {
      const rec = s.record('rec-digit.wav', { stopDigits: '#', maxDurationMs: 5000 });
      void p.play('tone600-8k.wav');
      await sleep(400);
      await p.sendDtmf('#');
      const r = await rec;
      assert.equal(r.reason, 'dtmf');
      assert.equal(r.digit, '#');
      assert.equal(s.bufferedDigits, '');
    } finally {
      close();
    }
  });

  it('records both directions mixed when asked', async () => {
    const { s, p, close } = pair();
    try {
      const rec = s.record('rec-both.wav', { bothDirections: true, maxDurationMs: 900 });
      void p.play('tone600-8k.wav');
      void s.play('tone400-48k.wav');
      const r = await rec;
      const pcm = readWav(r.path);
      assert.ok(toneReport(pcm, 600).marginDb > 10, 'what the caller said');
      assert.ok(toneReport(pcm, 400).marginDb > 10, 'what we played');
    } finally {
      close();
    }
  });
});

describe('DTMF', () => {
  it('RFC 4733: each digit once, with its duration and source', async () => {
    const { s, p, close } = pair('PCMA', 101, 'PCMA', 101);
    try {
      const got: { digit: string; durationMs: number; source: string }[] = [];
      s.on('dtmf', (d) => got.push(d));
      await sleep(100);
      await p.sendDtmf('12#*9D', { durationMs: 120, gapMs: 100 });
      await sleep(300);
      assert.deepEqual(
        got.map((d) => d.digit),
        ['1', '2', '#', '*', '9', 'D'],
      );
      for (const d of got) {
        assert.equal(d.source, 'rfc4733');
        assert.ok(d.durationMs >= 100 && d.durationMs <= 160, `${d.digit}: ${d.durationMs} ms`);
      }
    } finally {
      close();
    }
  });

  it('collect: max digits, terminator, first-digit and inter-digit timeouts, typed-ahead digits', async () => {
    const { s, p, close } = pair();
    try {
      // max
      let c = s.collect({ max: 3, timeoutMs: 3000 });
      await p.sendDtmf('4567', { gapMs: 60 });
      let r = await c;
      assert.deepEqual([r.digits, r.reason], ['456', 'max']);
      // the 4th digit was typed ahead and is collected next
      await sleep(200);
      assert.equal(s.bufferedDigits, '7');
      c = s.collect({ max: 5, terminators: '#', timeoutMs: 3000 });
      await p.sendDtmf('8#');
      r = await c;
      assert.deepEqual([r.digits, r.reason, r.terminator], ['78', 'terminator', '#']);
      // nothing typed: first-digit timeout
      let t = Date.now();
      r = await s.collect({ timeoutMs: 400 });
      assert.deepEqual([r.digits, r.reason, r.tooFew], ['', 'timeout', true]);
      assert.ok(Date.now() - t >= 390 && Date.now() - t < 700);
      // one digit, then silence: inter-digit timeout
      t = Date.now();
      c = s.collect({ min: 2, max: 4, timeoutMs: 3000, interDigitTimeoutMs: 500 });
      await p.sendDtmf('3');
      r = await c;
      assert.deepEqual([r.digits, r.reason, r.tooFew], ['3', 'inter-digit-timeout', true]);
    } finally {
      close();
    }
  });

  it('collect with a prompt: a digit barges in, stops the prompt and counts', async () => {
    const { s, p, close } = pair();
    try {
      let played: string | undefined;
      s.on('playEnd', (r) => (played = r.reason));
      const c = s.collect({ prompt: 'tone1k-16k-stereo.wav', max: 2, timeoutMs: 2000 });
      await sleep(300);
      await p.sendDtmf('59');
      const r = await c;
      assert.deepEqual([r.digits, r.reason], ['59', 'max']);
      assert.equal(played, 'dtmf');
    } finally {
      close();
    }
  });
});

describe('in-band DTMF', () => {
  it('a leg without telephone-event hears in-band digits, each once, and collects them', async () => {
    const { s, p, close } = pair('PCMA', null);
    try {
      const got: { digit: string; source: string; durationMs: number }[] = [];
      s.on('dtmf', (d) => got.push(d));
      const c = s.collect({ max: 4, timeoutMs: 4000 });
      await sleep(200);
      await p.sendDtmf('159#', { durationMs: 80, gapMs: 80 });
      const r = await c;
      assert.deepEqual([r.digits, r.reason], ['159#', 'max']);
      assert.deepEqual(
        got.map((d) => [d.digit, d.source]),
        ['1', '5', '9', '#'].map((d) => [d, 'inband']),
      );
      for (const d of got) assert.ok(d.durationMs >= 60 && d.durationMs <= 110, `${d.digit}: ${d.durationMs} ms`);
    } finally {
      close();
    }
  });

  it('prompts that are not digits (a tone, a chord) give no digit', async () => {
    const { s, p, close } = pair('G722', null);
    try {
      writeWav(path.join(root, 'chord.wav'), tone(16000, 1, [440, 554, 659]));
      const got: string[] = [];
      s.on('dtmf', (d) => got.push(d.digit));
      await p.play(['tone1k-16k-stereo.wav', 'chord.wav', 'tone600-8k.wav']);
      await sleep(200);
      assert.deepEqual(got, []);
    } finally {
      close();
    }
  });
});
