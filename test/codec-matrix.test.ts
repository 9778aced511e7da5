import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runCall, type CallSide } from './helpers/call';
import { streamSummary, type RtpHeader } from './helpers/relay';
import { pitchReport, toneReport } from './helpers/signal';

interface Entry {
  label: string;
  codec: string;
  fmtp?: string;
  /** On the wire at the default ptime: payload type, payload bytes (undefined: variable), timestamp step. */
  wire: { pt: number; bytes?: number; step: number; ptime: number };
}

const ENTRIES: Entry[] = [
  { label: 'PCMU', codec: 'PCMU', wire: { pt: 0, bytes: 160, step: 160, ptime: 20 } },
  { label: 'PCMA', codec: 'PCMA', wire: { pt: 8, bytes: 160, step: 160, ptime: 20 } },
  { label: 'G722', codec: 'G722', wire: { pt: 9, bytes: 160, step: 160, ptime: 20 } },
  { label: 'G729', codec: 'G729', fmtp: 'annexb=no', wire: { pt: 18, bytes: 20, step: 160, ptime: 20 } },
  { label: 'opus', codec: 'opus', wire: { pt: 111, step: 960, ptime: 20 } },
  { label: 'C2-3200', codec: 'CODEC2', fmtp: 'mode=3200', wire: { pt: 96, bytes: 8, step: 160, ptime: 20 } },
  { label: 'C2-1200', codec: 'CODEC2', fmtp: 'mode=1200', wire: { pt: 96, bytes: 6, step: 320, ptime: 40 } },
];

const isVocoder = (e: Entry) => e.codec === 'CODEC2';

function checkWire(e: Entry, pkts: RtpHeader[], what: string) {
  const s = streamSummary(pkts);
  assert.ok(s.count > 20, `${what}: ${s.count} packets`);
  assert.equal(s.mainPt, e.wire.pt, `${what}: payload type`);
  assert.equal(s.pts.size, 1, `${what}: payload types ${[...s.pts.keys()]}`);
  assert.equal(s.mainStep, e.wire.step, `${what}: timestamp step`);
  if (e.wire.bytes !== undefined) assert.equal(s.mainSize, e.wire.bytes, `${what}: payload bytes`);
}

/** cell text for the printed matrix */
const cells = new Map<string, string>();

function checkAudio(from: Entry, to: Entry, side: CallSide, received: Parameters<typeof toneReport>[0], what: string) {
  if (side.signal === 'voiced') {
    const p = pitchReport(received, side.toneHz);
    cells.set(`${from.label}>${to.label}`, `f0 ${p.f0.toFixed(0)}`);
    assert.ok(p.blocks >= 10, `${what}: only ${p.blocks} loud blocks`);
    assert.ok(
      p.matchFraction >= 0.6,
      `${what}: pitch ${side.toneHz} Hz kept in ${(p.matchFraction * 100).toFixed(0)}% of blocks (median ${p.f0.toFixed(1)})`,
    );
    assert.ok(p.speechBandShare >= 0.7, `${what}: speech-band share ${p.speechBandShare.toFixed(2)}`);
  } else {
    const t = toneReport(received, side.toneHz);
    cells.set(`${from.label}>${to.label}`, `${t.marginDb.toFixed(0)} dB`);
    assert.ok(t.blocks >= 10, `${what}: only ${t.blocks} loud blocks`);
    assert.ok(t.marginDb > 15, `${what}: tone ${t.marginDb.toFixed(1)} dB above other bands`);
    assert.ok(
      t.dominantFraction > 0.8,
      `${what}: tone dominant in ${(t.dominantFraction * 100).toFixed(0)}% of blocks`,
    );
  }
}

describe('codec matrix: every pair through the gateway, both directions', () => {
  after(() => {
    const w = 10;
    const lines = [`${'from \\ to'.padEnd(w)}${ENTRIES.map((e) => e.label.padStart(w)).join('')}`];
    for (const f of ENTRIES)
      lines.push(
        `${f.label.padEnd(w)}${ENTRIES.map((t) => (cells.get(`${f.label}>${t.label}`) ?? (f === t ? '-' : 'FAIL')).padStart(w)).join('')}`,
      );
    console.log(
      `\ncodec matrix (tone margin in dB, or recovered pitch in Hz for vocoder paths)\n${lines.join('\n')}\n`,
    );
  });

  for (let i = 0; i < ENTRIES.length; i++) {
    for (let j = i + 1; j < ENTRIES.length; j++) {
      const a = ENTRIES[i];
      const b = ENTRIES[j];
      it(`${a.label} <-> ${b.label}`, async () => {
        const voicedPath = isVocoder(a) || isVocoder(b);
        const sideA: CallSide = {
          codec: a.codec,
          fmtp: a.fmtp,
          toneHz: voicedPath ? 120 : 1000,
          signal: voicedPath ? 'voiced' : 'tone',
        };
        const sideB: CallSide = {
          codec: b.codec,
          fmtp: b.fmtp,
          toneHz: voicedPath ? 210 : 600,
          signal: voicedPath ? 'voiced' : 'tone',
        };
        const r = await runCall(sideA, sideB, 2);
        checkWire(b, r.relayB.fromGateway, `${a.label}->${b.label} wire`);
        checkWire(a, r.relayA.fromGateway, `${b.label}->${a.label} wire`);
        // packets out = packets in x ptime in / ptime out
        const ratioAB = r.relayB.fromGateway.length / ((r.sentByA * a.wire.ptime) / b.wire.ptime);
        assert.ok(ratioAB >= 0.95, `${a.label}->${b.label}: delivery ${(ratioAB * 100).toFixed(1)}%`);
        const ratioBA = r.relayA.fromGateway.length / ((r.sentByB * b.wire.ptime) / a.wire.ptime);
        assert.ok(ratioBA >= 0.95, `${b.label}->${a.label}: delivery ${(ratioBA * 100).toFixed(1)}%`);
        checkAudio(a, b, sideA, r.receivedByB, `${a.label}->${b.label} audio`);
        checkAudio(b, a, sideB, r.receivedByA, `${b.label}->${a.label} audio`);
      });
    }
  }
});
