/**
 * Alerts on interval figures with hysteresis, and interval reports that
 * cover their interval only.
 *
 * - Real media: 10 % loss for 6 s through the impairment relay, then none:
 *   the alerts rise during the loss and clear within two intervals of its
 *   end; each interval report has its own START/STOP and loss.
 * - Simulated time: a leg source fed by a seeded Gilbert-Elliott process at
 *   a steady 4.5 % bursty loss for 30 minutes: the loss alert rises once
 *   and never flaps; the AlertTracker's rules on their own.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { Gateway, type VqMetrics } from '../lib';
import { AlertTracker, DEFAULT_THRESHOLDS, QualityMonitor } from '../lib/quality';
import { ImpairRelay, rtpSender, seededRandom, truthOf } from './helpers/impair';
import { simulatedLeg } from './helpers/simLeg';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alerts and interval reports on real media', () => {
  it('10 % loss for 6 s: alerts rise, clear within two intervals after it stops; intervals cover their own interval', async () => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const relay = await ImpairRelay.create({
      seed: 21,
      loss: { kind: 'bernoulli', p: 0.1 },
      lossWhile: (ms) => ms < 6000,
    });
    const gw = new Gateway({
      a: { codec: 'PCMU', local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: relay.outPort } },
      b: {
        codec: 'PCMA',
        local: { address: '127.0.0.1' },
        remote: { address: '127.0.0.1', port: sink.address().port },
      },
    });
    relay.setTarget({ address: '127.0.0.1', port: gw.a.localPort });
    const intervalMs = 4000;
    const qm = new QualityMonitor(gw.qualitySources(), { sampleMs: 500, intervalMs });
    const intervals: { leg: string; m: VqMetrics }[] = [];
    let whole = NaN;
    qm.on('interval', (leg, m) => intervals.push({ leg, m }));
    try {
      const s = rtpSender({ port: relay.inPort, count: 900 });
      await s.finished;
      await sleep(300);
      qm.sample();
      whole = qm.report('a').localMetrics.packetLoss!.networkLossPercent!;
    } finally {
      qm.stop();
      gw.close();
      relay.close();
      sink.close();
    }
    const t0 = relay.log[0].inAt;
    const lossEnd = relay.log.filter((p) => p.inAt - t0 < 6000).at(-1)!.inAt;
    const nlr = qm.alerts.filter((a) => a.leg === 'a' && a.type === 'NLR');
    const seq = nlr.map((a) => `${a.severity}@${Math.round(a.atMs - t0)}`).join(' ');
    assert.ok(nlr.length >= 2 && nlr[0].severity !== 'Clear', `NLR alerts: ${seq}`);
    const clear = nlr.findIndex((a) => a.severity === 'Clear');
    assert.ok(clear > 0, `the NLR alert cleared: ${seq}`);
    assert.ok(
      nlr[clear].atMs - lossEnd <= 2 * intervalMs,
      `cleared ${nlr[clear].atMs - lossEnd} ms after the loss: ${seq}`,
    );
    // raised once, cleared once: no flapping during the loss
    assert.equal(nlr.filter((a) => a.severity === 'Clear').length, 1, seq);
    assert.ok(nlr.slice(clear + 1).length === 0, `nothing after the Clear: ${seq}`);
    // leg b received nothing but it says so: NoMedia, no loss alert
    assert.ok(!qm.alerts.some((a) => a.leg === 'b' && a.type === 'NLR'));

    // interval reports: consecutive intervals, each with its own loss
    const ia = intervals.filter((i) => i.leg === 'a').map((i) => i.m);
    assert.ok(ia.length >= 3, `${ia.length} interval reports`);
    for (let i = 1; i < ia.length; i++) assert.equal(+ia[i].start, +ia[i - 1].stop, 'intervals follow each other');
    for (const m of ia) assert.ok(+m.stop - +m.start <= intervalMs + 600, `interval ${+m.stop - +m.start} ms`);
    // the first interval (all under loss) against the relay's truth for that interval
    const first = ia[0];
    const inFirst = relay.log.filter((p) => p.inAt >= +first.start && p.inAt < +first.stop);
    const truth = truthOf(inFirst).lossPercent;
    assert.ok(
      Math.abs(first.packetLoss!.networkLossPercent! - truth) <= 1.5,
      `first interval NLR ${first.packetLoss!.networkLossPercent} vs truth ${truth.toFixed(2)}`,
    );
    // after the loss: intervals with no loss at all (not the call's cumulative figure)
    const last = ia.at(-1)!;
    assert.equal(last.packetLoss!.networkLossPercent, 0, JSON.stringify(last.packetLoss));
    assert.ok(last.qualityEst!.moscq! >= 4.3, `MOS back up: ${last.qualityEst!.moscq}`);
    // the CallTerm has the whole call
    assert.ok(whole > 1 && whole < 6, `whole-call NLR ${whole}`);
  });
});

describe('alerts in simulated time', () => {
  it('steady 4.5 % bursty loss for 30 minutes: the loss alert rises once and never flaps', () => {
    // Gilbert-Elliott: p = P(good -> bad), r = P(bad -> good), all lost in bad: loss p / (p + r)
    const rand = seededRandom(45);
    let bad = false;
    const p = 0.015;
    const r = 0.3;
    const { source, advance } = simulatedLeg(() => {
      if (bad) {
        if (rand() < r) bad = false;
      } else if (rand() < p) bad = true;
      return bad;
    });
    const start = new Date(0);
    const qm = new QualityMonitor({ a: source }, { sampleMs: 0, intervalMs: 10_000 }, { start });
    let flaps = 0;
    let critical = 0;
    const seen: string[] = [];
    qm.on('alert', (a) => {
      if (a.type === 'NLR') seen.push(a.severity);
      if (a.type === 'NLR' && a.severity === 'Clear') flaps++;
      if (a.type === 'NLR' && a.severity === 'Critical') critical++;
    });
    for (let t = 1000; t <= 30 * 60_000; t += 1000) {
      advance(50);
      qm.sample(t);
    }
    const loss = qm.report('a').localMetrics.packetLoss!.networkLossPercent!;
    assert.ok(loss > 3.8 && loss < 5.5, `steady loss ${loss} %`);
    assert.equal(flaps, 0, `NLR: ${seen.join(' ')}`);
    assert.equal(seen[0], 'Warning', seen.join(' '));
    // a 10 s window of this loss goes above 10 % now and then (bursts of 3.3
    // packets on average): Critical for a while, never back to Clear
    assert.ok(critical <= 15, `NLR changes: ${seen.join(' ')}`);
    // 180 interval records, each of 10 s
    assert.equal(qm.intervals.filter((i) => i.leg === 'a').length, 180);
  });

  it('AlertTracker: rises at the threshold, falls only after clearAfterMs past the clear point', () => {
    const t = new AlertTracker(DEFAULT_THRESHOLDS, {
      hysteresis: 0.25,
      delayHysteresis: 0.25,
      mosHysteresis: 0.2,
      clearAfterMs: 5000,
    });
    assert.equal(t.update('NLR', 2.9, 0), undefined);
    assert.equal(t.update('NLR', 3.1, 1000)?.severity, 'Warning');
    // back under the threshold but above its clear point (2.25): stays
    assert.equal(t.update('NLR', 2.5, 2000), undefined);
    assert.equal(t.update('NLR', 2.5, 20_000), undefined);
    // past the clear point: falls after 5 s, not before
    assert.equal(t.update('NLR', 1, 21_000), undefined);
    assert.equal(t.update('NLR', 1, 25_000), undefined);
    assert.equal(t.update('NLR', 1, 26_000)?.severity, 'Clear');
    // straight to Critical, down to Warning after the hold, MOS the other way round
    assert.equal(t.update('NLR', 12, 27_000)?.severity, 'Critical');
    assert.equal(t.update('NLR', 5, 28_000), undefined);
    assert.equal(t.update('NLR', 5, 33_000)?.severity, 'Warning');
    assert.equal(t.update('MOSCQ', 3.5, 0)?.severity, 'Warning');
    assert.equal(t.update('MOSCQ', 3.7, 10_000), undefined);
    assert.equal(t.update('MOSCQ', 3.9, 11_000), undefined);
    assert.equal(t.update('MOSCQ', 3.9, 16_000)?.severity, 'Clear');
    // unknown figures change nothing
    assert.equal(t.update('RTD', undefined, 0), undefined);
  });
});
