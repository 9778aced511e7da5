import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCodec } from '../lib/codecs/table';
import { runCall } from './helpers/call';
import { streamSummary, type RtpHeader } from './helpers/relay';
import { toneReport } from './helpers/signal';

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

      // the decoded audio's level: the peers send a sine at 0.4 of full scale (-7.8 dBm0)
      for (const leg of ['a', 'b'] as const) {
        const level = r.levels[leg]!;
        assert.ok(level > -14 && level < -4, `level decoded from leg ${leg}: ${level} dBm0`);
      }
      // Decoded audio carries the other side's tone
      checkTone(toneReport(r.receivedByB, 1000), `${ca}->${cb} audio at B`);
      checkTone(toneReport(r.receivedByA, 600), `${cb}->${ca} audio at A`);
    });
  }
});
