/**
 * The quality picture of a call: one self-contained HTML page (uPlot and its
 * stylesheet inlined from the uplot package, the data as JSON; no network
 * at view time) with per-interval series of MOS-CQ, loss, jitter and round
 * trip on a real time axis, each leg its own colour, alerts and call events
 * marked on every chart and listed, and a summary table per leg.
 */
import { readFileSync } from 'node:fs';
import type { QualityInterval, QualitySample } from './legMonitor';
import type { QualityAlert, QualityEvent } from './QualityMonitor';
import type { VqSessionReport } from './vqreport';

export interface QualityPictureInput {
  title: string;
  /** Leg id -> label, in the order to show them. */
  legs: Record<string, string>;
  intervals: readonly QualityInterval[];
  alerts?: readonly QualityAlert[];
  events?: readonly QualityEvent[];
  /** CallTerm reports per leg, for the summary table. */
  reports?: Record<string, VqSessionReport>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const SEVERITY_COLORS = { Warning: '#ff9800', Critical: '#c62828', Clear: '#43a047' };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

let uplotAssets: { js: string; css: string } | undefined;
function assets() {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

interface ChartSpec {
  key: string;
  title: string;
  unit: string;
  value: (iv: QualityInterval) => number | null;
  range?: [number, number];
}

const CHARTS: ChartSpec[] = [
  {
    key: 'mos',
    title: 'MOS-CQ (G.107 estimate)',
    unit: 'MOS',
    value: (iv) => iv.estimate?.mosCq ?? null,
    range: [1, 5],
  },
  { key: 'loss', title: 'Packet loss (network)', unit: '%', value: (iv) => iv.figures.lossPercent ?? null },
  {
    key: 'discard',
    title: 'Jitter buffer discards',
    unit: '%',
    value: (iv) => (iv.figures.expected > 0 ? (iv.figures.discardPercent ?? null) : null),
  },
  {
    key: 'jitter',
    title: 'Interarrival jitter (RFC 3550)',
    unit: 'ms',
    value: (iv) => (iv.figures.expected > 0 ? iv.jitterMs : null),
  },
  { key: 'rtt', title: 'Round trip', unit: 'ms', value: (iv) => iv.rttMs ?? null },
];

const fmt = (v: number | undefined, digits = 1, unit = '') =>
  v === undefined || !Number.isFinite(v) ? '&ndash;' : `${v.toFixed(digits)}${unit}`;

function summaryRows(input: QualityPictureInput): string {
  const rows: string[] = [];
  for (const [leg, label] of Object.entries(input.legs)) {
    const ivs = input.intervals.filter((i) => i.leg === leg);
    const r = input.reports?.[leg];
    const lm = r?.localMetrics;
    const rm = r?.remoteMetrics;
    const expected = ivs.reduce((s, i) => s + i.figures.expected, 0);
    const received = ivs.reduce((s, i) => s + i.figures.received, 0);
    const mos = ivs.map((i) => i.estimate?.mosCq).filter((m): m is number => m !== undefined);
    const alerts = (input.alerts ?? []).filter((a) => a.leg === leg && a.severity !== 'Clear').length;
    const noMedia = ivs.filter((i) => i.figures.expected === 0).length;
    rows.push(
      `<tr><th scope="row">${esc(label)}</th><td>${esc(lm?.sessionDesc?.payloadDesc ?? '?')}</td>` +
        `<td>${received} / ${expected}</td>` +
        `<td>${fmt(lm?.packetLoss?.networkLossPercent, 2, ' %')}</td>` +
        `<td>${fmt(lm?.packetLoss?.discardPercent, 2, ' %')}</td>` +
        `<td>${fmt(lm?.burstGapLoss?.burstLossDensityPercent, 1, ' %')} / ${fmt(lm?.burstGapLoss?.gapLossDensityPercent, 1, ' %')}</td>` +
        `<td>${fmt(lm?.delay?.interarrivalJitterMs, 0, ' ms')}</td>` +
        `<td>${fmt(lm?.delay?.roundTripMs, 0, ' ms')}</td>` +
        `<td>${lm?.qualityEst ? `${fmt(lm.qualityEst.moslq)} / ${fmt(lm.qualityEst.moscq)}` : 'no media'}</td>` +
        `<td>${mos.length ? fmt(Math.min(...mos)) : '&ndash;'}</td>` +
        `<td>${rm ? `${fmt(rm.packetLoss?.networkLossPercent, 2, ' %')}, MOS ${fmt(rm.qualityEst?.moscq)}` : 'none received'}</td>` +
        `<td>${alerts}</td><td>${noMedia}</td></tr>`,
    );
  }
  return rows.join('\n');
}

/** The picture's data, as the page script reads it (also what a test checks). */
export function pictureData(input: QualityPictureInput) {
  const legs = Object.keys(input.legs);
  const xs = [...new Set(input.intervals.map((i) => i.stop.getTime() / 1000))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, k) => [x, k]));
  const charts = CHARTS.map((c) => {
    const series = legs.map(() => xs.map(() => null as number | null));
    for (const iv of input.intervals) {
      const li = legs.indexOf(iv.leg);
      if (li < 0) continue;
      const v = c.value(iv);
      series[li][at.get(iv.stop.getTime() / 1000)!] =
        v === null || !Number.isFinite(v) ? null : Math.round(v * 100) / 100;
    }
    return { key: c.key, title: c.title, unit: c.unit, range: c.range ?? null, series };
  });
  return {
    legs: legs.map((l, i) => ({ id: l, label: input.legs[l], color: COLORS[i % COLORS.length] })),
    xs,
    charts,
    marks: [
      ...(input.alerts ?? []).map((a) => ({
        t: a.atMs / 1000,
        kind: 'alert',
        color: SEVERITY_COLORS[a.severity],
        text: `${input.legs[a.leg] ?? a.leg}: ${a.type} ${a.severity}`,
      })),
      ...(input.events ?? []).map((e) => ({
        t: e.atMs / 1000,
        kind: e.kind,
        color: '#555',
        text: `${e.leg ? `${input.legs[e.leg] ?? e.leg}: ` : ''}${e.text}`,
      })),
    ].sort((a, b) => a.t - b.t),
  };
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('quality-data').textContent);
  var out = { charts: [] };
  window.__quality = out;
  var root = document.getElementById('charts');
  function markPlugin() {
    return {
      hooks: {
        draw: function (u) {
          var ctx = u.ctx;
          ctx.save();
          data.marks.forEach(function (m) {
            var x = u.valToPos(m.t, 'x', true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
            ctx.strokeStyle = m.color;
            ctx.lineWidth = m.kind === 'alert' ? 2 : 1;
            ctx.setLineDash(m.kind === 'alert' ? [] : [4, 4]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          ctx.restore();
        },
      },
    };
  }
  data.charts.forEach(function (c) {
    var box = document.createElement('section');
    box.className = 'chart';
    box.setAttribute('data-chart', c.key);
    root.appendChild(box);
    var series = [{ label: 'time' }].concat(
      data.legs.map(function (l) {
        return { label: l.label, stroke: l.color, width: 2, spanGaps: false, points: { show: true, size: 5 },
          value: function (u, v) { return v == null ? 'n/a' : v + ' ' + c.unit; } };
      })
    );
    var opts = {
      title: c.title + ' (' + c.unit + ')',
      width: Math.min(960, window.innerWidth - 40),
      height: 220,
      series: series,
      scales: { x: { time: true }, y: c.range ? { range: c.range } : { range: function (u, min, max) { return [Math.min(0, min), Math.max(1, max * 1.1)]; } } },
      axes: [
        { label: 'time of day (local)' },
        { label: c.unit, values: function (u, vals) { return vals.map(function (v) { return v + ' ' + c.unit; }); }, size: 70 },
      ],
      plugins: [markPlugin()],
    };
    var plot = new uPlot(opts, [data.xs].concat(c.series), box);
    out.charts.push({
      key: c.key,
      title: c.title,
      series: plot.series.slice(1).map(function (s) { return s.label; }),
      points: c.series.map(function (s) { return s.filter(function (v) { return v != null; }).length; }),
    });
  });
  out.marks = data.marks.length;
  out.ready = true;
})();
`;

/** The quality picture as one HTML page. */
export function qualityPictureHtml(input: QualityPictureInput): string {
  const { js, css } = assets();
  const data = JSON.stringify(pictureData(input)).replace(/</g, '\\u003c');
  const legend = Object.values(input.legs)
    .map((l, i) => `<span class="leg" style="color:${COLORS[i % COLORS.length]}">&#9632; ${esc(l)}</span>`)
    .join(' ');
  const marks = pictureData(input).marks;
  const markList = marks.length
    ? `<ul class="marks">${marks
        .map(
          (m) =>
            `<li><time>${esc(new Date(m.t * 1000).toISOString().slice(11, 23))}</time> <span style="color:${m.color}">&#9646;</span> ${esc(m.text)}</li>`,
        )
        .join('\n')}</ul>`
    : '<p>No alert and no call event.</p>';
  const iv = input.intervals;
  const span = iv.length
    ? `${iv[0].start.toISOString()} to ${iv[iv.length - 1].stop.toISOString()}, interval ${Math.round(
        (iv[0].stop.getTime() - iv[0].start.getTime()) / 1000,
      )} s`
    : 'no interval recorded';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>${css}
body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}.chart{margin:14px 0}
.marks{font-size:13px}.leg{margin-right:1em;font-weight:bold}</style></head>
<body><h1>${esc(input.title)}</h1>
<p>${legend} &mdash; what the media server measured on what each leg sent it, per interval (${esc(span)}).
Solid vertical lines: alerts (orange warning, red critical, green clear); dashed: call events.</p>
<h2>Summary per leg</h2>
<table class="summary"><thead><tr><th>leg</th><th>codec</th><th>received / expected</th><th>network loss</th><th>discards</th>
<th>burst / gap density</th><th>jitter</th><th>round trip</th><th>MOS-LQ / MOS-CQ (call)</th><th>worst interval MOS-CQ</th>
<th>peer's XR about our stream</th><th>alerts</th><th>intervals without media</th></tr></thead>
<tbody>${summaryRows(input)}</tbody></table>
<div id="charts"></div>
<h2>Alerts and call events</h2>
${markList}
<script id="quality-data" type="application/json">${data}</script>
<script>${js}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** The picture of a QualityMonitor's records (the demo's and the daemon's way in). */
export function timelineHtml(
  monitor: {
    intervals: readonly QualityInterval[];
    alerts?: readonly QualityAlert[];
    events?: readonly QualityEvent[];
    timeline?: readonly QualitySample[];
  },
  title: string,
  legNames: Record<string, string> = { a: 'leg a', b: 'leg b' },
  reports?: Record<string, VqSessionReport>,
): string {
  return qualityPictureHtml({
    title,
    legs: legNames,
    intervals: monitor.intervals,
    alerts: monitor.alerts,
    events: monitor.events,
    reports,
  });
}
