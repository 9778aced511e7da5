/**
 * The start of a call and its steadiness, on a clean network: a transcoded
 * call (PCMU -> PCMA) passes on the caller's very first frame, and the audio
 * keeps one delay from the first second to the last (no frame dropped or
 * repeated mid-call: the jitter buffer does not move on loopback), and the
 * RTP we send steps 160 timestamp units per sequence number throughout.
 * The first packet leaves after the jitter buffer's nominal delay (60 ms by
 * default; `jitterBuffer: false` sends it within a tick, as rtpengine does).
 * Checked on content (where the caller's signal sits in what the callee
 * got), not on time; the delay of the first packet is printed for the
 * record.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MediaServer } from '../lib';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { bestLag, hoppingTones, rtpPhone } from './helpers/rtpPhone';
import { sleep } from './helpers/wait';

const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(20), tickers: 1 });
after(() => ms.close());

/** Where `window` samples of `got` from `at` sit in `sent` (searching `sent` from `from`). */
function positionIn(sent: Int16Array, got: Int16Array, at: number, window: number, from: number) {
  const x = got.subarray(at, at + window);
  const y = sent.subarray(from, from + window + 4000);
  const { lag, corr } = bestLag(x, y, 4000);
  return { pos: from + lag, corr };
}

describe('start of a transcoded call', () => {
  for (const [codecA, codecB] of [
    ['PCMU', 'PCMA'],
    ['PCMA', 'PCMU'],
  ] as const) {
    it(`${codecA} -> ${codecB}: the first frame arrives, and the delay never moves`, async () => {
      const pa = await rtpPhone(codecA);
      const pb = await rtpPhone(codecB);
      const fmt = (c: string) => [{ pt: c === 'PCMU' ? 0 : 8, name: c, rate: 8000 }];
      try {
        const id = `start-${codecA}`;
        const s = ms.offer(id, phoneSdp({ port: pa.port, codecs: fmt(codecA) }));
        ms.answer(id, phoneSdp({ port: pb.port, codecs: fmt(codecB) }));
        assert.equal(s.info().relay, false);
        const signal = hoppingTones(3);
        await pa.play(signal, { address: '127.0.0.1', port: s.info().legs.a.localPort });
        await sleep(300);
        s.stop();
        const got = pb.received().samples;
        assert.ok(got.length >= signal.length - 160, `the callee got ${got.length} of ${signal.length} samples`);
        // one delay throughout (G.711 adds none; 0-40 samples allowed for a decoder
        // that holds some back), even on a busy machine: concealment follows lost
        // packets, not late ticks
        let glitches = 0;
        const lagOf = (at: number) => {
          const p = positionIn(signal, got, at, 400, Math.max(0, at - 2000));
          // a window concealed (a tick late on a busy machine) is a glitch, not a jump
          if (p.corr < 0.95) return (glitches++, undefined);
          return at - p.pos;
        };
        const lag = lagOf(400);
        assert.ok(lag !== undefined, "the audio matches the caller's at 50 ms");
        assert.ok(lag >= 0 && lag <= 40, `the callee hears the caller ${lag} samples late`);
        // nothing dropped at the start: the caller's first frame is the callee's first audio
        const firstFrame = bestLag(signal.subarray(0, 160), got.subarray(0, 160 + 80), 80);
        assert.equal(firstFrame.lag, lag, `the caller's first frame is at ${firstFrame.lag} in what the callee got`);
        assert.ok(firstFrame.corr > 0.95, `the caller's first frame arrived (corr ${firstFrame.corr.toFixed(3)})`);
        for (let at = 800; at + 400 <= got.length && at + 4400 <= signal.length; at += 2400) {
          const l = lagOf(at);
          if (l !== undefined) assert.equal(l, lag, `at ${at / 8} ms the delay moved: a frame dropped or repeated`);
        }
        assert.ok(glitches <= 1, `${glitches} windows of the call did not match the caller's audio`);
        const h = pb.headers();
        for (let i = 1; i < h.length; i++) {
          const ds = (h[i].seq - h[i - 1].seq) & 0xffff;
          assert.equal(h[i].ts - h[i - 1].ts, 160 * ds, `timestamps step 160 per packet (packet ${i})`);
        }
        const delay = h[0].at - pa.sent[0].at;
        console.log(`# ${codecA} -> ${codecB}: first packet out ${delay} ms after the first in`);
      } finally {
        pa.close();
        pb.close();
      }
    });
  }
});
