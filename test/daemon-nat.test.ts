/**
 * A phone behind NAT through the daemon: its SDP names one port, its RTP
 * comes from another (the NAT's mapping). rtpengine latches by default, so
 * does the daemon (`--latch once`): the first packets from the phone decide
 * where its audio goes, and the call has audio both ways, relayed or
 * transcoded. With `--latch strict` only the SDP address counts: the
 * NATed phone's packets are refused and it hears nothing - the test shows
 * the difference is the option, not luck.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { Daemon, defaultConfig, validate, type DaemonConfig } from '../lib/daemon';
import { parseSdp } from '../lib/sdp/parse';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { bestLag, hoppingTones, rtpPhone } from './helpers/rtpPhone';
import { phoneSdp } from './helpers/sdp';
import { sleep } from './helpers/wait';

async function withDaemon(latch: DaemonConfig['latch'] | undefined, body: (ng: NgClient) => Promise<void>) {
  const daemon = await Daemon.start(
    validate({
      ...defaultConfig(),
      ...(latch ? { latch } : {}),
      control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
      metrics: null,
      media: { address: '127.0.0.1', ports: mediaPorts(100) },
      tickers: 1,
    }),
  );
  const udp = daemon.addresses().udp!;
  const ng = await NgClient.create({ host: udp.address, port: udp.port });
  try {
    await body(ng);
  } finally {
    ng.close();
    await daemon.close();
  }
}

/** A NATed caller (SDP port != source port) calls bob; both talk for 1.5 s. */
async function natCall(ng: NgClient, callId: string, bobCodec: 'PCMU' | 'PCMA', flags: string[] = []) {
  const alice = await rtpPhone('PCMU');
  const bob = await rtpPhone(bobCodec);
  // the port alice's SDP names: nothing sends from it, whatever reaches it is counted
  const sdpPort = dgram.createSocket('udp4');
  await new Promise<void>((r) => sdpPort.bind(0, '127.0.0.1', () => r()));
  let atSdpPort = 0;
  sdpPort.on('message', () => atSdpPort++);
  try {
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({
        port: (sdpPort.address() as { port: number }).port,
        codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }],
      }),
      flags: [...flags, ...(bobCodec === 'PCMA' ? ['codec-transcode-PCMA'] : [])],
    });
    assert.equal(offer.result, 'ok', JSON.stringify(offer));
    const bobCodecs =
      bobCodec === 'PCMU' ? [{ pt: 0, name: 'PCMU', rate: 8000 }] : [{ pt: 8, name: 'PCMA', rate: 8000 }];
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: phoneSdp({ port: bob.port, codecs: bobCodecs }),
    });
    assert.equal(answer.result, 'ok', JSON.stringify(answer));
    const toA = parseSdp(str(answer.sdp)!).audio!;
    const toB = parseSdp(str(offer.sdp)!).audio!;
    const fromAlice = hoppingTones(1.5, 8000, 0.3, 3);
    const fromBob = hoppingTones(1.5, 8000, 0.3, 11);
    // alice speaks first (she is the one who must be found); bob answers 100 ms later
    const a = alice.play(fromAlice, { address: toA.address, port: toA.port });
    await sleep(100);
    await Promise.all([a, bob.play(fromBob, { address: toB.address, port: toB.port })]);
    await sleep(300);
    const aliceHeard = alice.received().samples;
    const bobHeard = bob.received().samples;
    const corr = (sig: Int16Array, got: Int16Array) =>
      got.length >= 4000 ? bestLag(sig.subarray(2000, 6000), got, 8000).corr : 0;
    const r = { aliceCorr: corr(fromBob, aliceHeard), bobCorr: corr(fromAlice, bobHeard), atSdpPort };
    await ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
    return r;
  } finally {
    alice.close();
    bob.close();
    sdpPort.close();
  }
}

describe('a caller behind NAT through the daemon', { timeout: 60_000 }, () => {
  it('default (latch once): audio both ways, relayed and transcoded, and none to the SDP port', async () => {
    await withDaemon(undefined, async (ng) => {
      for (const codec of ['PCMU', 'PCMA'] as const) {
        const r = await natCall(ng, `nat-${codec}`, codec);
        // clean loopback gives > 0.99; a jitter buffer adapting on a loaded machine may cut a little
        assert.ok(r.aliceCorr > 0.7, `${codec}: alice (behind NAT) hears bob: corr ${r.aliceCorr.toFixed(3)}`);
        assert.ok(r.bobCorr > 0.7, `${codec}: bob hears alice: corr ${r.bobCorr.toFixed(3)}`);
        // before alice's first packet the daemon may send bob's audio to her SDP address; not after
        assert.ok(r.atSdpPort < 10, `${codec}: ${r.atSdpPort} packets went to the SDP port`);
      }
    });
  });

  it('--latch strict: the NATed caller is refused (the SDP address only)', async () => {
    await withDaemon('strict', async (ng) => {
      const r = await natCall(ng, 'nat-strict', 'PCMU');
      assert.ok(r.aliceCorr < 0.5, `alice hears nothing she could use: corr ${r.aliceCorr.toFixed(3)}`);
      assert.ok(r.bobCorr < 0.5, `bob hears nothing from the refused source: corr ${r.bobCorr.toFixed(3)}`);
      assert.ok(r.atSdpPort > 30, `bob's audio went to the SDP port (${r.atSdpPort} packets)`);
    });
  });

  it('per call: asymmetric refuses the NATed caller on a latching daemon, symmetric finds it on a strict one', async () => {
    await withDaemon(undefined, async (ng) => {
      const r = await natCall(ng, 'nat-asymmetric', 'PCMU', ['asymmetric']);
      assert.ok(r.aliceCorr < 0.5 && r.bobCorr < 0.5, `asymmetric: nothing latched ${JSON.stringify(r)}`);
      assert.ok(r.atSdpPort > 30, `asymmetric: bob's audio went to the SDP port (${r.atSdpPort} packets)`);
    });
    await withDaemon('strict', async (ng) => {
      const r = await natCall(ng, 'nat-symmetric', 'PCMA', ['symmetric']);
      assert.ok(r.aliceCorr > 0.7 && r.bobCorr > 0.7, `symmetric: audio both ways ${JSON.stringify(r)}`);
    });
  });

  it('per call: media-handover follows a caller whose source moves mid-call; strict-source keeps the first', async () => {
    for (const flag of ['media-handover', 'strict-source']) {
      await withDaemon(undefined, async (ng) => {
        const first = await rtpPhone('PCMU');
        const moved = await rtpPhone('PCMU');
        const bob = await rtpPhone('PCMU');
        const callId = `move-${flag}`;
        try {
          const offer = await ng.request({
            command: 'offer',
            'call-id': callId,
            'from-tag': 'alice',
            sdp: phoneSdp({ port: first.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
            flags: [flag],
          });
          assert.equal(offer.result, 'ok', JSON.stringify(offer));
          const answer = await ng.request({
            command: 'answer',
            'call-id': callId,
            'from-tag': 'alice',
            'to-tag': 'bob',
            sdp: phoneSdp({ port: bob.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
          });
          const toA = parseSdp(str(answer.sdp)!).audio!;
          const toB = parseSdp(str(offer.sdp)!).audio!;
          const sigBob = hoppingTones(2, 8000, 0.3, 5);
          const talk = bob.play(sigBob, { address: toB.address, port: toB.port });
          await first.play(hoppingTones(0.8, 8000, 0.3, 3), { address: toA.address, port: toA.port });
          // the caller's source moves (a NAT binding renewed): same stream, another port
          const afterMove = hoppingTones(0.8, 8000, 0.3, 9);
          const bobBefore = bob.received().samples.length;
          await moved.play(afterMove, { address: toA.address, port: toA.port });
          await talk;
          await sleep(200);
          const bobAfter = bob.received().samples.subarray(bobBefore);
          const heard = bobAfter.length >= 3000 ? bestLag(afterMove.subarray(1000, 3000), bobAfter, 4000).corr : 0;
          const back = moved.received().samples.length;
          if (flag === 'media-handover') {
            assert.ok(heard > 0.7, `media-handover: bob hears the moved source (corr ${heard.toFixed(3)})`);
            assert.ok(back > 8000 * 0.3, `media-handover: bob's audio follows to the new source (${back} samples)`);
          } else {
            assert.ok(heard < 0.5, `strict-source: the moved source is dropped (corr ${heard.toFixed(3)})`);
            assert.equal(back, 0, 'strict-source: nothing goes to the new source');
          }
        } finally {
          await ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
          first.close();
          moved.close();
          bob.close();
        }
      });
    }
  });
});
