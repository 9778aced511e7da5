/**
 * The quality picture (lib/quality/timeline.ts) rendered by headless
 * Chromium (/usr/bin/chromium through playwright-core): a call of two legs
 * in simulated time, leg a with two stretches of loss (alerts), leg b with
 * a stretch without media, and call events marked (hold, resume, re-INVITE,
 * DTMF, a bridge change). The page must load with no console error and no
 * page error, draw every chart with both legs' series and their points,
 * and carry the summary table per leg.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { QualityMonitor, pictureData, timelineHtml } from '../lib/quality';
import { tmpDir } from './helpers/call';
import { seededRandom } from './helpers/impair';
import { simulatedLeg } from './helpers/simLeg';
import { hasBinary } from './peers/proc';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM) || hasBinary('chromium');
const dir = tmpDir('rms-picture-');
after(() => (process.env.RMS_KEEP_PICTURE ? undefined : fs.rmSync(dir, { recursive: true, force: true })));

function simulatedCall() {
  const rand = seededRandom(7);
  // leg a: 10 % loss from 40 s to 60 s and from 100 s to 110 s
  const a = simulatedLeg((n) => {
    const t = n * 20;
    return ((t >= 40_000 && t < 60_000) || (t >= 100_000 && t < 110_000)) && rand() < 0.1;
  });
  const b = simulatedLeg(() => false);
  const qm = new QualityMonitor(
    { a: a.source, b: b.source },
    { sampleMs: 0, intervalMs: 5000 },
    { start: new Date(Date.UTC(2024, 4, 1, 10, 0, 0)) },
  );
  const t0 = qm.start.getTime();
  for (let s = 1; s <= 150; s++) {
    a.advance(50);
    // leg b sends nothing from 70 s to 90 s (its peer went quiet)
    if (s <= 70 || s > 90) b.advance(50);
    qm.sample(t0 + s * 1000);
  }
  qm.mark('hold', 're-INVITE from a: sendonly', 'a', t0 + 20_000);
  qm.mark('re-INVITE', 're-INVITE from a: sendrecv', 'a', t0 + 30_000);
  qm.mark('dtmf', 'DTMF 5 (rfc4733) from b', 'b', t0 + 65_000);
  qm.mark('bridge', 'leg b moved to conference room 1', 'b', t0 + 95_000);
  const reports = { a: qm.report('a'), b: qm.report('b') };
  return { qm, reports };
}

describe('quality picture in headless Chromium', { skip: !haveChromium && 'chromium not installed' }, () => {
  it('renders every chart with both legs, alerts and events marked, a summary per leg, no console error', async () => {
    const { qm, reports } = simulatedCall();
    const legs = { a: 'leg a (caller, PCMU)', b: 'leg b (callee, PCMU)' };
    const html = timelineHtml(qm, 'simulated call', legs, reports);
    // self-contained: no external resource to fetch at view time
    assert.ok(!/<script[^>]+src=|<link[^>]+href=/i.test(html), 'no external script or stylesheet');
    const file = path.join(dir, 'quality.html');
    fs.writeFileSync(file, html);
    const data = pictureData({ title: 'x', legs, intervals: qm.intervals, alerts: qm.alerts, events: qm.events });
    assert.ok(
      qm.alerts.some((a) => a.leg === 'a' && a.type === 'NLR' && a.severity !== 'Clear'),
      'a loss alert',
    );
    assert.ok(
      qm.alerts.some((a) => a.leg === 'b' && a.type === 'NoMedia'),
      'a NoMedia alert',
    );

    const { chromium } = await import('playwright-core');
    const ctx = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const problems: string[] = [];
    const requests: string[] = [];
    try {
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => (globalThis as { __quality?: { ready?: boolean } }).__quality?.ready === true, {
        timeout: 15_000,
      });
      const q = (await page.evaluate(() => (globalThis as unknown as { __quality: unknown }).__quality)) as {
        charts: { key: string; series: string[]; points: number[] }[];
        marks: number;
      };
      // (a string: the test is compiled without the DOM's types)
      const dom = (await page.evaluate(`({
        plots: document.querySelectorAll('.uplot').length,
        canvases: document.querySelectorAll('.uplot canvas').length,
        rows: [...document.querySelectorAll('table.summary tbody tr th')].map((th) => th.textContent),
        legend: [...document.querySelectorAll('.u-legend .u-series th')].map((th) => th.textContent.trim()),
        marks: document.querySelectorAll('ul.marks li').length,
        axes: document.querySelectorAll('.u-axis').length,
      })`)) as { plots: number; canvases: number; rows: string[]; legend: string[]; marks: number; axes: number };
      await page.screenshot({ path: path.join(dir, 'quality.png'), fullPage: true });

      assert.deepEqual(problems, []);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'nothing fetched from the network',
      );
      assert.deepEqual(
        q.charts.map((c) => c.key),
        ['mos', 'loss', 'discard', 'jitter', 'rtt'],
      );
      const intervals = { a: qm.intervals.filter((i) => i.leg === 'a'), b: qm.intervals.filter((i) => i.leg === 'b') };
      for (const c of q.charts) {
        assert.deepEqual(c.series, [legs.a, legs.b], `${c.key}: both legs' series`);
        // every leg has points where it had media; leg b none in its silent intervals
        assert.ok(c.points[0] > 0 && c.points[1] > 0, `${c.key}: points ${c.points}`);
      }
      const mos = q.charts.find((c) => c.key === 'mos')!;
      assert.equal(mos.points[0], intervals.a.filter((i) => i.estimate).length);
      assert.equal(mos.points[1], intervals.b.filter((i) => i.estimate).length);
      assert.ok(mos.points[1] < intervals.b.length, 'no MOS drawn for intervals without media');
      assert.equal(q.marks, qm.alerts.length + qm.events.length);
      assert.equal(dom.marks, data.marks.length);
      assert.equal(dom.plots, 5);
      assert.ok(dom.canvases >= 5);
      // x and y axes per chart
      assert.equal(dom.axes, 10);
      assert.deepEqual(dom.rows, [legs.a, legs.b], 'a summary row per leg');
      for (const l of [legs.a, legs.b]) assert.ok(dom.legend.includes(l), `legend has ${l}: ${dom.legend}`);
    } finally {
      await ctx.close();
    }
  });

  it('the page data: a real time axis in seconds, leg series aligned on it, marks sorted in time', () => {
    const { qm } = simulatedCall();
    const d = pictureData({
      title: 't',
      legs: { a: 'a', b: 'b' },
      intervals: qm.intervals,
      alerts: qm.alerts,
      events: qm.events,
    });
    assert.equal(d.xs.length, 30);
    for (let i = 1; i < d.xs.length; i++) assert.equal(d.xs[i] - d.xs[i - 1], 5, 'one point per 5 s interval');
    assert.equal(d.xs[0], qm.start.getTime() / 1000 + 5);
    for (const c of d.charts) for (const s of c.series) assert.equal(s.length, d.xs.length);
    for (let i = 1; i < d.marks.length; i++) assert.ok(d.marks[i].t >= d.marks[i - 1].t);
    // the loss series of leg a shows the two lossy stretches and nothing else
    const loss = d.charts.find((c) => c.key === 'loss')!.series[0];
    const lossy = d.xs.filter((_, i) => (loss[i] ?? 0) > 0).map((x) => x - qm.start.getTime() / 1000);
    assert.ok(
      lossy.every((t) => (t > 40 && t <= 60) || (t > 100 && t <= 110)),
      `lossy intervals at ${lossy}`,
    );
  });
});
