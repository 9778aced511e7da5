/**
 * A self-contained HTML page (inline SVG, no scripts, no network) showing a
 * call's quality timeline per leg: MOS, loss, jitter and round trip.
 */
import type { QualitySample } from './QualityMonitor';

interface Series {
  title: string;
  unit: string;
  value: (s: QualitySample) => number | undefined;
  /** fixed y range, else from the data */
  range?: [number, number];
}

const SERIES: Series[] = [
  { title: 'MOS-CQ (G.107 estimate)', unit: '', value: (s) => s.mosCq, range: [1, 5] },
  { title: 'Packet loss', unit: '%', value: (s) => s.lossPercent },
  { title: 'Interarrival jitter', unit: 'ms', value: (s) => s.jitterMs },
  { title: 'Round trip', unit: 'ms', value: (s) => s.rttMs },
];
const COLORS = { a: '#1f77b4', b: '#d62728' };
const W = 640;
const H = 150;
const PAD = { l: 50, r: 10, t: 24, b: 24 };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function chart(samples: QualitySample[], s: Series, t0: number, t1: number): string {
  const points = samples.map((x) => ({ leg: x.leg, t: x.atMs, v: s.value(x) })).filter((p) => p.v !== undefined) as {
    leg: 'a' | 'b';
    t: number;
    v: number;
  }[];
  const vals = points.map((p) => p.v);
  const [lo, top] = s.range ?? [Math.min(0, ...vals), Math.max(1, ...vals)];
  const hi = top <= lo ? lo + 1 : top;
  const x = (t: number) => PAD.l + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - ((v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  const lines = (['a', 'b'] as const)
    .map((leg) => {
      const pts = points.filter((p) => p.leg === leg).map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
      return pts.length
        ? `<polyline fill="none" stroke="${COLORS[leg]}" stroke-width="2" points="${pts.join(' ')}"/>`
        : '';
    })
    .join('');
  const empty =
    points.length === 0 ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(s.title)}">
<text x="${PAD.l}" y="16" font-weight="bold">${esc(s.title)}${s.unit ? ` (${s.unit})` : ''}</text>
<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#999"/>
<line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#999"/>
<text x="${PAD.l - 6}" y="${y(hi) + 4}" text-anchor="end" font-size="11">${+hi.toFixed(2)}</text>
<text x="${PAD.l - 6}" y="${y(lo) + 4}" text-anchor="end" font-size="11">${+lo.toFixed(2)}</text>
<text x="${W - PAD.r}" y="${H - 6}" text-anchor="end" font-size="11">${((t1 - t0) / 1000).toFixed(1)} s</text>
${lines}${empty}</svg>`;
}

export function timelineHtml(
  samples: QualitySample[],
  title: string,
  legNames: { a: string; b: string } = { a: 'leg a', b: 'leg b' },
): string {
  const t0 = samples.length ? Math.min(...samples.map((s) => s.atMs)) : 0;
  const t1 = samples.length ? Math.max(...samples.map((s) => s.atMs)) : 1;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:20px}svg{display:block;margin:8px 0}</style></head>
<body><h1>${esc(title)}</h1>
<p><span style="color:${COLORS.a}">&#9632; ${esc(legNames.a)}</span> &nbsp; <span style="color:${COLORS.b}">&#9632; ${esc(legNames.b)}</span> &mdash; what the media server measured on what each leg sent it, sampled every ${samples.length > 2 ? Math.round((t1 - t0) / Math.max(1, samples.length / 2 - 1)) : '?'} ms.</p>
${SERIES.map((s) => chart(samples, s, t0, t1)).join('\n')}
</body></html>
`;
}
