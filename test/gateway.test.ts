import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCodec } from '../lib/codecs/table';
import * as path from 'node:path';
import { Gateway, Ticker } from '../lib';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { runCall, tmpDir } from './helpers/call';
import { streamSummary, type RtpHeader } from './helpers/relay';
import { goertzel, toneReport } from './helpers/signal';

/** What must be on the wire for a codec at 20 ms: payload type, payload bytes (undefined: variable), timestamp step. */
const WIRE: Record<string, { pt: number; bytes?: number; step: number }> = {
  PCMU: { pt: 0, bytes: 160, step: 160 },
  PCMA: { pt: 8, bytes: 160, step: 160 },
  G722: { pt: 9, bytes: 160, step: 160 }, // 8000 Hz RTP clock for 16 kHz audio (RFC 3551)
  G729: { pt: 18, bytes: 20, step: 160 },
  opus: { pt: 111, step: 960 },
};

function checkWire(codec: string, pkts: RtpHeader[], what: string) {
  const want = WIRE[codec];
  const s = streamSummary(pkts);
  assert.ok(s.count > 0, `${what}: no packets on the wire`);
  assert.equal(s.mainPt, want.pt, `${what}: payload type`);
  assert.equal(s.pts.size, 1, `${what}: only one payload type expected, saw ${[...s.pts.keys()]}`);
  assert.equal(s.mainStep, want.step, `${what}: timestamp step`);
  if (want.bytes !== undefined) assert.equal(s.mainSize, want.bytes, `${what}: payload size`);
  else {
    const sizes = pkts.map((p) => p.payloadBytes);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    // opus at 20 ms: a few dozen to a few hundred bytes, never PCM-sized 1920
    assert.ok(mean > 10 && mean < 400, `${what}: mean opus payload ${mean} bytes`);
  }
}

function checkTone(pcm: ReturnType<typeof toneReport>, what: string) {
  assert.ok(pcm.blocks >= 10, `${what}: only ${pcm.blocks} blocks of audio received`);
  assert.ok(pcm.marginDb > 15, `${what}: tone only ${pcm.marginDb.toFixed(1)} dB above other bands`);
  assert.ok(
    pcm.dominantFraction > 0.85,
    `${what}: tone dominant in ${(pcm.dominantFraction * 100).toFixed(0)}% of blocks`,
  );
}

const PAIRS: [string, string][] = [
  ['PCMU', 'opus'],
  ['PCMA', 'G722'],
  ['PCMU', 'G729'],
];

describe('transcoding gateway over loopback', () => {
  for (const [ca, cb] of PAIRS) {
    it(`${ca} <-> ${cb}: both directions transcoded, on the wire and in the audio`, async () => {
      const r = await runCall({ codec: ca, toneHz: 1000 }, { codec: cb, toneHz: 600 }, 2);
      // Graph shape: decode -> [resample only where rates differ] -> encode
      const ab = r.gateway.directions.find((d) => d.from === 'a')!;
      const ba = r.gateway.directions.find((d) => d.from === 'b')!;
      const resampleNeeded = !findCodec(ca)!.rates.some((x) => findCodec(cb)!.rates.includes(x));
      assert.equal(ab.chain.includes('MSResample'), resampleNeeded, `a->b chain ${ab.chain}`);
      assert.equal(ba.chain.includes('MSResample'), resampleNeeded, `b->a chain ${ba.chain}`);

      // On the wire: what the gateway sends on each leg
      checkWire(cb, r.relayB.fromGateway, `${ca}->${cb} leg b`);
      checkWire(ca, r.relayA.fromGateway, `${cb}->${ca} leg a`);
      // ... and what the peers sent into it
      checkWire(ca, r.relayA.toGateway, `peer a`);
      checkWire(cb, r.relayB.toGateway, `peer b`);

      // Delivery: >= 95 % of what each peer sent comes out of the other leg
      const ratioAB = r.relayB.fromGateway.length / r.sentByA;
      const ratioBA = r.relayA.fromGateway.length / r.sentByB;
      assert.ok(ratioAB >= 0.95, `${ca}->${cb}: ${r.relayB.fromGateway.length}/${r.sentByA} packets`);
      assert.ok(ratioBA >= 0.95, `${cb}->${ca}: ${r.relayA.fromGateway.length}/${r.sentByB} packets`);
      assert.ok(r.gatewayStats.a.packetsReceived >= 0.95 * r.sentByA);
      assert.ok(r.gatewayStats.b.packetsReceived >= 0.95 * r.sentByB);

      // the decoded audio's level: the peers send a sine at 0.4 of full scale
      // (-7.96 dBFS, -4.8 dBm0); the codecs may take a little off
      for (const leg of ['a', 'b'] as const) {
        const level = r.levels[leg]!;
        assert.ok(level > -9 && level < -3, `level decoded from leg ${leg}: ${level} dBm0`);
      }
      // Decoded audio carries the other side's tone
      checkTone(toneReport(r.receivedByB, 1000), `${ca}->${cb} audio at B`);
      checkTone(toneReport(r.receivedByA, 600), `${cb}->${ca} audio at A`);
    });
  }
});

describe('20 ms ticks (tickIntervalMs)', () => {
  it('PCMU <-> opus on a 20 ms ticker: transcoded both ways, and concealment still fills every lost packet', async () => {
    const ticker = new Ticker({ name: 'tick-20', intervalMs: 20 });
    const t0 = Date.now();
    try {
      assert.equal(ticker.stats().intervalMs, 20);
      // every 10th packet from A is lost on its way to the gateway
      const r = await runCall(
        { codec: 'PCMU', toneHz: 1000, drop: (n) => n % 10 === 5 },
        { codec: 'opus', toneHz: 600 },
        3,
        undefined,
        undefined,
        { ticker },
      );
      // PCMU has no PLC of its own: RmsPlc makes up the lost frames, so
      // B gets about one packet per packet A sent (without: ~90 %)
      const ratioAB = r.relayB.fromGateway.length / r.sentByA;
      const ratioBA = r.relayA.fromGateway.length / r.sentByB;
      assert.ok(ratioAB >= 0.97, `PCMU->opus with 10 % loss: ${r.relayB.fromGateway.length}/${r.sentByA} packets`);
      assert.ok(ratioBA >= 0.95, `opus->PCMU: ${r.relayA.fromGateway.length}/${r.sentByB} packets`);
      checkWire('opus', r.relayB.fromGateway, 'leg b');
      checkWire('PCMU', r.relayA.fromGateway, 'leg a');
      checkTone(toneReport(r.receivedByB, 1000), 'PCMU->opus audio at B');
      checkTone(toneReport(r.receivedByA, 600), 'opus->PCMU audio at A');
      // and the ticker really ticked every 20 ms (10 ms would be twice as many)
      const expected = (Date.now() - t0) / 20;
      const ticks = ticker.stats().ticks;
      assert.ok(ticks > expected * 0.8 && ticks < expected * 1.2, `${ticks} ticks, ~${expected.toFixed(0)} expected`);
    } finally {
      ticker.close();
    }
  });

  it('refuses intervals other than 10 and 20 ms', () => {
    assert.throws(() => new Ticker({ intervalMs: 15 as 10 }), { code: 'ERR_RMS_INVALID_ARGUMENT' });
  });
});

describe('receive gate (native/core/recv_gate.h)', () => {
  it('PCMU <-> opus: sockets are read only when they have data, and every packet still arrives', async () => {
    const ticker = new Ticker({ name: 'gate' });
    try {
      const r = await runCall(
        { codec: 'PCMU', toneHz: 1000 },
        { codec: 'opus', toneHz: 600 },
        3,
        undefined,
        undefined,
        {
          ticker,
        },
      );
      const s = ticker.stats();
      const packetsIn = r.sentByA + r.sentByB;
      // a packet costs its read and the read that finds the socket empty
      // (~2 per packet here, RTCP adds a few; one more when it lands between
      // a tick's poll and its read); ms2 alone reads RTP and RTCP of both
      // legs every tick whether or not anything came (~4.5 per packet)
      assert.ok(s.socketReads <= 3 * packetsIn, `${s.socketReads} reads for ${packetsIn} packets`);
      assert.ok(s.socketReads >= packetsIn, `${s.socketReads} reads for ${packetsIn} packets`);
      assert.ok(
        s.socketReads + s.socketReadsSkipped >= 3 * s.ticks,
        `reads ${s.socketReads} + skipped ${s.socketReadsSkipped} over ${s.ticks} ticks`,
      );
      assert.ok(s.socketReadsSkipped > s.socketReads, `skipped ${s.socketReadsSkipped}, read ${s.socketReads}`);
      assert.ok(r.relayB.fromGateway.length >= 0.97 * r.sentByA, `${r.relayB.fromGateway.length}/${r.sentByA} to B`);
      assert.ok(r.relayA.fromGateway.length >= 0.97 * r.sentByB, `${r.relayA.fromGateway.length}/${r.sentByB} to A`);
      checkTone(toneReport(r.receivedByB, 1000), 'PCMU->opus audio at B');
      checkTone(toneReport(r.receivedByA, 600), 'opus->PCMU audio at A');
    } finally {
      ticker.close();
    }
  });
});

describe('without meters (GatewayOptions.meters: false, MediaServer quality: false)', () => {
  it('PCMA <-> G722: no loss or level meter in the graph; loss still counted, from oRTP', async () => {
    // oRTP counts loss when it writes an RTCP report (every 5 s): run past one
    const r = await runCall(
      { codec: 'PCMA', toneHz: 1000, drop: (n) => n % 10 === 5 },
      { codec: 'G722', toneHz: 600 },
      6,
      undefined,
      undefined,
      { meters: false },
    );
    for (const d of r.gateway.directions) {
      assert.ok(!d.chain.includes('RmsLossMeter') && !d.chain.includes('RmsLevelMeter'), d.chain.join(' '));
      assert.ok(d.chain.includes('RmsPlc') || d.from === 'b', d.chain.join(' '));
    }
    assert.equal(r.levels.a, undefined);
    // one packet in ten lost on leg a: oRTP's counter (up to its last report), all of it as gap
    assert.ok(r.loss.a.lossRate > 0.04 && r.loss.a.lossRate < 0.13, `loss a ${r.loss.a.lossRate}`);
    assert.equal(r.loss.a.bursts, 0);
    assert.ok(r.loss.b.lossRate < 0.02, `loss b ${r.loss.b.lossRate}`);
    checkTone(toneReport(r.receivedByB, 1000), 'PCMA->G722 audio at B');
    checkTone(toneReport(r.receivedByA, 600), 'G722->PCMA audio at A');
  });
});

describe('call recording and DTMF blocking', () => {
  for (const [codecA, codecB] of [
    ['PCMU', 'opus'],
    ['PCMA', 'PCMA'],
  ]) {
    it(`${codecA} <-> ${codecB}: records both directions mixed into one WAV`, async () => {
      const dir = tmpDir('rms-callrec-');
      const file = path.join(dir, 'call.wav');
      const { AudioPeer: Peer } = await import('../lib/tools/AudioPeer.js');
      const t = new Ticker({ name: 'callrec' });
      const rate = (c: string) => (c === 'opus' ? 48000 : 8000);
      writeWav(path.join(dir, 'a.wav'), tone(rate(codecA), 3, [500]));
      writeWav(path.join(dir, 'b.wav'), tone(rate(codecB), 3, [1300]));
      const a = new Peer({ codec: codecA, sendFile: path.join(dir, 'a.wav'), sendRate: rate(codecA) });
      const b = new Peer({ codec: codecB, sendFile: path.join(dir, 'b.wav'), sendRate: rate(codecB) });
      const gw = new Gateway({
        ticker: t,
        a: { codec: codecA, local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: a.port } },
        b: { codec: codecB, local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: b.port } },
      });
      try {
        a.endpoint.setRemote({ address: '127.0.0.1', port: gw.a.localPort });
        b.endpoint.setRemote({ address: '127.0.0.1', port: gw.b.localPort });
        a.start(t);
        b.start(t);
        await new Promise((r) => setTimeout(r, 300));
        gw.startRecording(file);
        assert.equal(gw.recording, file);
        await new Promise((r) => setTimeout(r, 1200));
        const r = gw.stopRecording()!;
        assert.ok(r.durationMs >= 1100);
        const pcm = readWav(file);
        assert.equal(pcm.rate, codecB === 'opus' ? 16000 : 8000);
        assert.ok(pcm.samples.length / pcm.rate > 0.9, `${pcm.samples.length / pcm.rate} s recorded`);
        // both tones well above an unrelated frequency
        const db = (f: number) => 10 * Math.log10(goertzel(pcm.samples, 0, pcm.samples.length, f, pcm.rate) + 1e-9);
        const floor = db(900);
        assert.ok(db(500) - floor > 20, `leg a is in the recording (${(db(500) - floor).toFixed(1)} dB)`);
        assert.ok(db(1300) - floor > 20, `leg b is in the recording (${(db(1300) - floor).toFixed(1)} dB)`);
        assert.equal(gw.directions[0].relay, codecA === codecB);
      } finally {
        a.close();
        b.close();
        gw.close();
        t.close();
      }
    });
  }
});
