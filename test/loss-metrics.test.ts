/**
 * Loss, burst and gap metrics (RFC 3611 4.7.2, Gmin 16) measured by the
 * gateway on what it plays out, against loss injected by a relay.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rxFigures } from '../lib/quality/figures';
import { localMetrics } from '../lib/quality/legReport';
import { runCall } from './helpers/call';

describe('loss and burst/gap metrics against injected loss', () => {
  it('random isolated loss: all gap loss, rate within 1 point of what was dropped', async () => {
    // every 25th packet: isolated (24 received between), so no burst under Gmin 16
    const r = await runCall(
      { codec: 'PCMU', toneHz: 1000, drop: (n) => n > 0 && n % 25 === 0 },
      { codec: 'PCMA', toneHz: 600 },
      3,
    );
    const m = r.loss.a;
    const injected = r.relayA.dropped / r.relayA.toGateway.length;
    assert.ok(
      Math.abs(m.lossRate - injected) <= 0.01,
      `measured ${(m.lossRate * 100).toFixed(2)}% vs injected ${(injected * 100).toFixed(2)}%`,
    );
    assert.equal(m.bursts, 0);
    assert.equal(m.burstDensity, 0);
    assert.ok(Math.abs(m.gapDensity - injected) <= 0.01, `gap density ${m.gapDensity}`);
    // the other direction saw nothing
    assert.equal(r.loss.b.lost, 0);
  });

  it('bursty loss: bursts counted with their density and duration', async () => {
    // in every 60 packets, a burst: lose 3, keep 2, lose 3 (8 packets, 6 lost)
    const inBurst = (k: number) => [20, 21, 22, 25, 26, 27].includes(k);
    const r = await runCall(
      { codec: 'PCMU', toneHz: 1000, drop: (n) => inBurst(n % 60) },
      { codec: 'PCMA', toneHz: 600 },
      3.6,
    );
    const m = r.loss.a;
    const injected = r.relayA.dropped / r.relayA.toGateway.length;
    const expectedBursts = Math.floor((r.relayA.toGateway.length - 20) / 60) + 1;
    assert.ok(Math.abs(m.lossRate - injected) <= 0.01, `measured ${m.lossRate} vs injected ${injected}`);
    assert.ok(Math.abs(m.bursts - expectedBursts) <= 1, `${m.bursts} bursts, expected ${expectedBursts}`);
    assert.ok(Math.abs(m.burstDensity - 6 / 8) < 0.02, `burst density ${m.burstDensity}`);
    assert.ok(Math.abs(m.burstDurationMs - 8 * 20) <= 20, `burst duration ${m.burstDurationMs} ms`);
    assert.equal(m.gapDensity, 0);
    assert.ok(m.gapDurationMs > 500, `gap duration ${m.gapDurationMs} ms`);
  });
});

describe('packet loss concealment', () => {
  for (const [from, to] of [
    ['PCMU', 'PCMA'],
    ['PCMA', 'G722'],
  ]) {
    it(`${from} -> ${to} with 10 % loss: concealed frames are sent on where, without PLC, they are missing`, async () => {
      const drop = (n: number) => n > 0 && n % 10 === 0;
      const run = async (plc: boolean) => {
        const r = await runCall(
          { codec: from, toneHz: 1000, drop },
          { codec: to, toneHz: 600 },
          3,
          undefined,
          undefined,
          { plc },
        );
        // both sides use 20 ms packets: one packet out per packet (or concealed packet) in
        return { kind: r.gateway.plc('a'), sent: r.gatewayStats.b.packetsSent, loss: r.loss.a };
      };
      const withPlc = await run(true);
      const without = await run(false);
      assert.equal(withPlc.kind, 'generic');
      assert.equal(without.kind, 'none');
      for (const r of [withPlc, without]) assert.ok(r.loss.lost >= 10, `lost ${r.loss.lost} of ${r.loss.packets}`);
      assert.ok(
        without.sent <= without.loss.packets - without.loss.lost + 2,
        `without PLC: ${without.sent} sent for ${without.loss.packets - without.loss.lost} received`,
      );
      assert.ok(
        withPlc.sent >= withPlc.loss.packets - 1,
        `with PLC: ${withPlc.sent} sent for ${withPlc.loss.packets} expected (${withPlc.loss.lost} lost)`,
      );
    });
  }
});

describe('quality estimate against injected loss', () => {
  it('MOS-LQ falls monotonically over five loss levels', async () => {
    const mos: number[] = [];
    const measured: number[] = [];
    for (const percent of [0, 3, 6, 10, 20]) {
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const r = await runCall(
        { codec: 'PCMU', toneHz: 1000, drop: () => rand() < percent / 100 },
        { codec: 'PCMA', toneHz: 600 },
        2,
      );
      const local = localMetrics({
        media: { codec: r.gateway.a.codec, payloadType: r.gateway.a.payloadType, ptimeMs: r.gateway.a.ptime },
        rx: rxFigures(r.rx.a, r.gateway.a.ptime),
        jitterMs: r.rx.a.jitterMs,
        stats: r.gatewayStats.a,
        jitterBuffer: r.rx.a.jitterBuffer,
        plc: 'generic',
        start: new Date(),
        stop: new Date(),
      });
      measured.push(local.packetLoss!.networkLossPercent!);
      mos.push(local.qualityEst!.moslq!);
    }
    for (let i = 1; i < mos.length; i++) assert.ok(mos[i] < mos[i - 1], `MOS-LQ ${mos} for loss ${measured}%`);
    assert.ok(mos[0] >= 4.3 && mos[4] < 3.5, `MOS-LQ ${mos}`);
  });
});

/** Median of ms2's rating over a leg's samples. */
function median(timeline: { leg: string; ms2Rating?: number }[], leg: string): number {
  const v = timeline
    .filter((s) => s.leg === leg && s.ms2Rating !== undefined)
    .map((s) => s.ms2Rating!)
    .sort((x, y) => x - y);
  return v[Math.floor(v.length / 2)] ?? NaN;
}

describe('quality monitor: samples and alerts', () => {
  it('no impairment: samples with a good MOS, no alert', async () => {
    const r = await runCall({ codec: 'PCMU', toneHz: 1000 }, { codec: 'opus', toneHz: 600 }, 2, undefined, {
      sampleMs: 250,
    });
    const q = r.quality!;
    assert.ok(q.timeline.filter((s) => s.leg === 'a').length >= 5);
    assert.ok(
      q.timeline.every((s) => s.mosCq === undefined || s.mosCq > 4),
      JSON.stringify(q.timeline.slice(-2)),
    );
    assert.deepEqual(q.alerts, []);
    // ms2's own indicator agrees that the call is good (while media flows)
    assert.ok(median(q.timeline, 'a') > 4, `ms2 rating ${median(q.timeline, 'a')}`);
  });

  it('the timeline keeps the newest timelineLimit samples', async () => {
    const t0 = Date.now();
    const r = await runCall({ codec: 'PCMA', toneHz: 1000 }, { codec: 'G722', toneHz: 600 }, 2, undefined, {
      sampleMs: 100,
      timelineLimit: 6,
    });
    const tl = r.quality!.timeline;
    // ~20 rounds of two samples were taken; the last 6 remain, in order
    assert.equal(tl.length, 6);
    for (let i = 1; i < tl.length; i++) assert.ok(tl[i].atMs >= tl[i - 1].atMs);
    assert.ok(tl[0].atMs - t0 > 1500, `oldest kept sample at +${tl[0].atMs - t0} ms`);
  });

  it('15 % loss on leg a raises loss and MOS alerts for that leg only', async () => {
    let seed = 3;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const r = await runCall(
      { codec: 'PCMU', toneHz: 1000, drop: () => rand() < 0.15 },
      { codec: 'PCMA', toneHz: 600 },
      2.5,
      undefined,
      { sampleMs: 250 },
    );
    const alerts = r.quality!.alerts;
    assert.ok(alerts.length > 0, 'alerts raised');
    assert.ok(
      alerts.every((a) => a.leg === 'a'),
      JSON.stringify(alerts.map((a) => [a.leg, a.type, a.severity])),
    );
    assert.ok(alerts.some((a) => a.type === 'NLR' && a.severity === 'Critical'));
    assert.ok(alerts.some((a) => a.type === 'MOSCQ' && a.severity !== 'Clear'));
    // ms2's indicator sees it too
    const [ra, rb] = [median(r.quality!.timeline, 'a'), median(r.quality!.timeline, 'b')];
    assert.ok(ra < rb, `ms2 rating a ${ra} vs b ${rb}`);
  });
});

describe('jitter, reordering and duplicates', () => {
  it('measured interarrival jitter tracks injected delay variation', async () => {
    const jitter: number[] = [];
    for (const spread of [0, 20, 60]) {
      let seed = 11;
      const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const r = await runCall(
        { codec: 'PCMU', toneHz: 1000, delay: () => rand() * spread },
        { codec: 'PCMA', toneHz: 600 },
        2.5,
      );
      jitter.push(r.gatewayStats.a.jitterMs);
      // the jitter buffer absorbs it: still (almost) no loss
      assert.ok(r.loss.a.lossRate < 0.05, `loss ${r.loss.a.lossRate} at spread ${spread}`);
    }
    // RFC 3550 jitter of uniform delays on [0, S] settles near S/3
    // (the baseline is the JS relay's own timing: ~1-3 ms, more under CI load)
    assert.ok(jitter[0] < 5 && jitter[0] < jitter[1], `no impairment: ${jitter[0]} ms (spread 20: ${jitter[1]} ms)`);
    assert.ok(jitter[1] > 3 && jitter[1] < 14, `spread 20 ms: ${jitter[1]} ms`);
    assert.ok(jitter[2] > 10 && jitter[2] < 35, `spread 60 ms: ${jitter[2]} ms`);
  });

  it('reordered and duplicated packets are not counted as loss', async () => {
    // every 10th packet held back 30 ms (arrives after the next one); every 7th sent twice
    const r = await runCall(
      { codec: 'PCMU', toneHz: 1000, delay: (n) => (n % 10 === 5 ? 30 : 0), duplicate: (n) => n % 7 === 3 },
      { codec: 'PCMA', toneHz: 600 },
      2.5,
    );
    assert.ok(r.gatewayStats.a.duplicatesReceived > 10, `duplicates ${r.gatewayStats.a.duplicatesReceived}`);
    assert.ok(r.loss.a.lossRate < 0.01, `loss ${r.loss.a.lossRate}`);
  });
});
