/**
 * A transcoded call sends what its source sent, and nothing when the source
 * is quiet: a phone that puts the call on hold and stops sending, or one
 * that pauses (silence suppression), must not make us send the other side
 * seconds of concealment and noise (a relay sends nothing then, and so do
 * we). Concealment still bridges a short gap (a lost packet or two), and the
 * audio comes back when the source does. Real UDP, PCMU <-> PCMA through a
 * MediaServer session with its default jitter buffer.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MediaServer } from '../lib';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { hoppingTones, rtpPhone, type RtpPhone } from './helpers/rtpPhone';
import { sleep } from './helpers/wait';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];

const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(20), tickers: 1 });
after(() => ms.close());

/** Packets `p` received with an arrival time in [from, to). */
function receivedBetween(p: RtpPhone, from: number, to: number): number {
  return p.headers().filter((h) => h.at >= from && h.at < to).length;
}

describe('no invented audio on a transcoded call', () => {
  it('a caller on hold that stops sending: the callee gets nothing meanwhile, and audio again on resume', async () => {
    const pa = await rtpPhone('PCMU');
    const pb = await rtpPhone('PCMA');
    const sdpA = (direction: string, v: number) =>
      phoneSdp({ port: pa.port, codecs: PCMU, direction }).replace('o=phone 123 1', `o=phone 123 ${v}`);
    try {
      const s = ms.offer('hold-quiet', sdpA('sendrecv', 1));
      ms.answer('hold-quiet', phoneSdp({ port: pb.port, codecs: PCMA }));
      const info = s.info();
      assert.equal(info.relay, false, 'PCMU <-> PCMA is transcoded');
      const toMs = { address: '127.0.0.1', port: info.legs.a.localPort };
      await pa.play(hoppingTones(1), toMs);
      const stopped = Date.now();
      s.reoffer(sdpA('sendonly', 2), 'a');
      s.answer(phoneSdp({ port: pb.port, codecs: PCMA, direction: 'recvonly' }));
      await sleep(2000);
      const resumed = Date.now();
      s.reoffer(sdpA('sendrecv', 3), 'a');
      s.answer(phoneSdp({ port: pb.port, codecs: PCMA }));
      await pa.play(hoppingTones(1), toMs);
      await sleep(300);
      // the jitter buffer (60 ms) and 100 ms of concealment may still come after the last packet
      const duringHold = receivedBetween(pb, stopped + 400, resumed);
      const afterResume = receivedBetween(pb, resumed, Date.now());
      s.stop();
      assert.equal(duringHold, 0, `the callee got ${duringHold} packets while the caller was on hold and quiet`);
      assert.ok(afterResume >= 40, `the callee hears the caller again after the resume (${afterResume} packets)`);
    } finally {
      pa.close();
      pb.close();
    }
  });

  it('a source that pauses without signalling: what we send is what it sent, a few frames of concealment at most', async () => {
    const pa = await rtpPhone('PCMU');
    const pb = await rtpPhone('PCMA');
    try {
      const s = ms.offer('pause-quiet', phoneSdp({ port: pa.port, codecs: PCMU }));
      ms.answer('pause-quiet', phoneSdp({ port: pb.port, codecs: PCMA }));
      const toMs = { address: '127.0.0.1', port: s.info().legs.a.localPort };
      // 1 s of talk, 1.5 s of nothing (silence suppression), 1 s of talk
      await pa.play(hoppingTones(1), toMs);
      await sleep(1500);
      await pa.play(hoppingTones(1), toMs);
      await sleep(400);
      s.stop();
      const sent = pa.sent.length;
      const got = pb.headers().length;
      // each pause may end in up to five 20 ms frames of concealment (two pauses: the middle one and the end)
      assert.ok(got <= sent + 2 * 5, `the callee got ${got} packets for the ${sent} the caller sent`);
      assert.ok(got >= sent - 4, `the callee got ${got} packets for the ${sent} the caller sent`);
    } finally {
      pa.close();
      pb.close();
    }
  });
});
