/**
 * Conference: phones with different codecs, each sending its own tone, joined
 * through server legs into one mixer (or a cascade of mixers); each phone
 * must hear every other phone's tone and not its own.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, Conference, Ticker } from '../lib';
import { readWav, tone, writeWav, type Pcm } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { goertzel, rms } from './helpers/signal';

let root: string;
let ticker: Ticker;

interface Party {
  phone: MediaLeg;
  server: MediaLeg;
  freq: number;
}

function party(codec: string, freq: number): Party {
  const mk = (name: string) =>
    new MediaLeg({ name, codec, local: { address: '127.0.0.1' }, ticker, mediaRoots: [root] });
  const phone = mk(`phone-${freq}`);
  const server = mk(`conf-${freq}`);
  phone.setRemote({ address: '127.0.0.1', port: server.localPort });
  server.setRemote({ address: '127.0.0.1', port: phone.localPort });
  return { phone, server, freq };
}

/** Mean power (dB) of each frequency over the loud 100 ms blocks of a recording. */
function powers(pcm: Pcm, freqs: number[]): Map<number, number> {
  const block = pcm.rate / 10;
  const acc = new Map(freqs.map((f) => [f, 0]));
  let n = 0;
  for (let s = 0; s + block <= pcm.samples.length; s += block) {
    if (rms(pcm.samples, s, block) < 200) continue;
    n++;
    for (const f of freqs) acc.set(f, acc.get(f)! + goertzel(pcm.samples, s, block, f, pcm.rate));
  }
  return new Map(freqs.map((f) => [f, 10 * Math.log10(acc.get(f)! / Math.max(n, 1) + 1e-9)]));
}

async function runConference(parties: Party[], conf: Conference, ms: number) {
  for (const p of parties) conf.join(p.server);
  const recs = parties.map((p) => p.phone.record(`heard-${p.freq}-${parties.length}.wav`, { maxDurationMs: ms }));
  for (const p of parties) void p.phone.play(`t${p.freq}.wav`);
  const results = await Promise.all(recs);
  const freqs = parties.map((p) => p.freq);
  return parties.map((p, i) => ({ p, power: powers(readWav(results[i].path), freqs) }));
}

before(() => {
  root = tmpDir('rms-conf-');
  ticker = new Ticker({ name: 'conf-test' });
  for (const f of [440, 1000, 1700, 2300]) writeWav(path.join(root, `t${f}.wav`), tone(16000, 3, [f], 0.25));
});
after(() => ticker.close());

describe('conference', () => {
  it('three parties, three codecs: each hears the two others, not itself', async () => {
    const parties = [party('PCMU', 440), party('G722', 1000), party('opus', 1700)];
    const conf = new Conference({ ticker });
    try {
      const heard = await runConference(parties, conf, 1500);
      assert.equal(conf.size, 3);
      assert.equal(conf.mixerCount, 1);
      for (const { p, power } of heard) {
        const own = power.get(p.freq)!;
        for (const q of parties) {
          if (q === p) continue;
          const other = power.get(q.freq)!;
          assert.ok(
            other - own > 20,
            `${p.phone.name} hears ${q.freq} Hz at ${other.toFixed(1)} dB, own ${own.toFixed(1)} dB`,
          );
        }
      }
      for (const p of parties) assert.equal(p.server.mode, 'conference');
    } finally {
      conf.close();
      for (const p of parties) {
        assert.equal(p.server.mode, 'alone', 'back to IVR when the conference closes');
        p.phone.close();
        p.server.close();
      }
    }
  });

  it('cascades mixers past the pin limit; leave takes a party out live', async () => {
    const parties = [party('PCMU', 440), party('PCMA', 1000), party('G722', 1700), party('PCMU', 2300)];
    // 3 pins per mixer: mixer 1 takes 2 legs and a link, mixer 2 a link and 2 legs
    const conf = new Conference({ ticker, pinsPerMixer: 3, rate: 8000 });
    try {
      const heard = await runConference(parties, conf, 1500);
      assert.equal(conf.mixerCount, 2);
      for (const { p, power } of heard) {
        const own = power.get(p.freq)!;
        for (const q of parties) {
          if (q === p) continue;
          assert.ok(power.get(q.freq)! - own > 20, `${p.phone.name} hears ${q.freq} Hz across the cascade`);
        }
      }
      conf.leave(parties[3].server);
      assert.equal(conf.size, 3);
      assert.equal(conf.mixerCount, 1, 'three legs fit one 3-pin mixer again');
      assert.equal(parties[3].server.mode, 'alone');
      // only the party that left talks now: the others must hear it no more
      for (const p of parties) p.phone.stopPlay();
      await new Promise((r) => setTimeout(r, 200));
      const rec = parties[0].phone.record('after-leave.wav', { maxDurationMs: 800 });
      void parties[3].phone.play('t2300.wav');
      const pcm = readWav((await rec).path);
      const after = 10 * Math.log10(goertzel(pcm.samples, 0, pcm.samples.length, 2300, pcm.rate) + 1e-9);
      const before = heard[0].power.get(2300)!;
      assert.ok(
        before - after > 30,
        `the party that left is no longer heard: 2300 Hz at ${after.toFixed(1)} dB, ${before.toFixed(1)} dB before`,
      );
    } finally {
      conf.close();
      for (const p of parties) {
        p.phone.close();
        p.server.close();
      }
    }
  });
});
