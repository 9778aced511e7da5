/**
 * ng `ptime` and `ptime-reverse`, as rtpengine reads them: the packet time
 * written into our SDP towards a side, and what we send it, repacketised
 * from whatever the other side sends (a same-codec call then runs through
 * the transcoding graphs instead of the relay). Real UDP phones sending
 * 20 ms PCMU both ways through the daemon; what each receives is checked by
 * the RTP timestamp step and by content.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Daemon, defaultConfig, validate } from '../lib/daemon';
import { parseSdp } from '../lib/sdp/parse';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { bestLag, hoppingTones, rtpPhone, type RtpPhone } from './helpers/rtpPhone';
import { phoneSdp } from './helpers/sdp';
import { sleep } from './helpers/wait';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];

/** The most common timestamp step of what `p` received (samples per packet). */
function stepOf(p: RtpPhone): number {
  const h = p.headers();
  const counts = new Map<number, number>();
  for (let i = 1; i < h.length; i++) {
    if (((h[i].seq - h[i - 1].seq) & 0xffff) !== 1) continue;
    const d = (h[i].ts - h[i - 1].ts) >>> 0;
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return [...counts.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] ?? 0;
}

describe('ng ptime and ptime-reverse', { timeout: 60_000 }, () => {
  it('offer ptime=30 and ptime-reverse=40: each side gets that packet time, in the SDP and on the wire', async () => {
    const daemon = await Daemon.start(
      validate({
        ...defaultConfig(),
        control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
        metrics: null,
        media: { address: '127.0.0.1', ports: mediaPorts(40) },
        tickers: 1,
      }),
    );
    const udp = daemon.addresses().udp!;
    const ng = await NgClient.create({ host: udp.address, port: udp.port });
    const alice = await rtpPhone('PCMU');
    const bob = await rtpPhone('PCMU');
    try {
      const offer = await ng.request({
        command: 'offer',
        'call-id': 'ptime-1',
        'from-tag': 'alice',
        sdp: phoneSdp({ port: alice.port, codecs: PCMU, ptime: 20 }),
        ptime: 30,
        'ptime-reverse': 40,
      });
      assert.equal(offer.result, 'ok', JSON.stringify(offer));
      const toB = parseSdp(str(offer.sdp)!).audio!;
      assert.equal(toB.ptime, 30, 'our offer to bob says ptime 30');
      const answer = await ng.request({
        command: 'answer',
        'call-id': 'ptime-1',
        'from-tag': 'alice',
        'to-tag': 'bob',
        sdp: phoneSdp({ port: bob.port, codecs: PCMU, ptime: 20 }),
      });
      assert.equal(answer.result, 'ok', JSON.stringify(answer));
      const toA = parseSdp(str(answer.sdp)!).audio!;
      assert.equal(toA.ptime, 40, 'our answer to alice says ptime 40');
      const fromAlice = hoppingTones(1.5, 8000, 0.3, 3);
      const fromBob = hoppingTones(1.5, 8000, 0.3, 11);
      await Promise.all([
        alice.play(fromAlice, { address: toA.address, port: toA.port }),
        bob.play(fromBob, { address: toB.address, port: toB.port }),
      ]);
      await sleep(300);
      assert.equal(stepOf(bob), 240, 'bob gets 30 ms packets');
      assert.equal(stepOf(alice), 320, 'alice gets 40 ms packets');
      const corr = (sig: Int16Array, got: Int16Array) =>
        got.length >= 6000 ? bestLag(sig.subarray(2000, 6000), got, 8000).corr : 0;
      assert.ok(corr(fromAlice, bob.received().samples) > 0.9, 'bob hears alice');
      assert.ok(corr(fromBob, alice.received().samples) > 0.9, 'alice hears bob');
    } finally {
      await ng.request({ command: 'delete', 'call-id': 'ptime-1', 'from-tag': 'alice' });
      alice.close();
      bob.close();
      ng.close();
      await daemon.close();
    }
  });
});
