/** The bench's table: every figure with its ratio to rtpengine and to plain C of the same run. */
import type { Capacity, StepResult } from './capacity';

export interface Results {
  machine: { cpus: number; model: string; kernel: string; affinity: number };
  args: Record<string, unknown>;
  started: string;
  finished?: string;
  codecCost: Record<string, { encodeUs: number; decodeUs: number }>;
  rtpengineVersion?: string;
  capacity: Capacity[];
  rss: { target: string; calls: number; rssBefore: number; rss: number; perCall: number; pass: boolean }[];
  steps: StepResult[];
}

const PAIR_NAMES: Record<string, string> = {
  opus: 'PCMU↔Opus c10',
  G729: 'PCMU↔G.729',
  G722: 'PCMU↔G.722',
  CODEC2: 'PCMU↔Codec2',
  PCMA: 'PCMU↔PCMA',
  PCMU: 'PCMU↔PCMU relay',
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

interface Cell {
  calls: number[];
  cpuPerCall?: number;
  load?: number;
  lateTicks?: number;
  maxLateMs?: number;
  latency?: number;
  latencyNet?: number;
  best?: StepResult;
}

function cellOf(caps: Capacity[]): Cell | undefined {
  if (caps.length === 0) return undefined;
  // the figures of the repetition with the median capacity
  const sorted = [...caps].sort((a, b) => a.calls - b.calls);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  const b = mid.best;
  const c: Cell = { calls: caps.map((x) => x.calls), best: b };
  if (b) {
    c.cpuPerCall = b.cpuPerCall;
    if (b.tickers?.length) {
      c.load = b.tickers.reduce((s, t) => s + t.load, 0) / b.tickers.length;
      if (b.tickers[0].lateTicks !== undefined) {
        c.lateTicks = b.tickers.reduce((s, t) => s + (t.lateTicks ?? 0), 0);
        c.maxLateMs = Math.max(...b.tickers.map((t) => t.maxLateMs ?? 0));
      }
    }
    const d = b.gen.directions;
    const lat = [d.a2b.latency.p50, d.b2a.latency.p50].filter((x): x is number => x !== null);
    if (lat.length) c.latency = lat.reduce((s, x) => s + x, 0) / lat.length;
    const net = [d.a2b.latency.netP50, d.b2a.latency.netP50].filter((x): x is number => x !== null);
    if (net.length) c.latencyNet = net.reduce((s, x) => s + x, 0) / net.length;
  }
  return c;
}

const fmt = (x: number | undefined, p = 0) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(p));
const ratio = (x: number | undefined, y: number | undefined) =>
  x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || y === 0
    ? '–'
    : `${(x / y).toFixed(2)}×`;

function callsText(c: Cell | undefined): string {
  if (!c) return '–';
  const m = median(c.calls);
  const lo = Math.min(...c.calls);
  const hi = Math.max(...c.calls);
  return c.calls.length > 1 && lo !== hi ? `${fmt(m)} (${lo}–${hi})` : fmt(m);
}

/** Codec work of one call per 20 ms, both directions (encode + decode of the codec and of PCMU), µs. */
export function codecFrameUs(r: Results, codec: string): number | undefined {
  const x = r.codecCost[codec];
  const u = r.codecCost.PCMU;
  if (!x || !u || codec === 'PCMU') return undefined;
  return x.encodeUs + x.decodeUs + u.encodeUs + u.decodeUs;
}

/** 2 cores' worth of codec work per call: the calls codecs alone could fill. */
export function codecCeiling(r: Results, codec: string, cores = 2): number | undefined {
  const perFrame = codecFrameUs(r, codec);
  return perFrame ? (cores * 1e6) / (50 * perFrame) : undefined;
}

/** rtpengine's CPU per relayed call per 20 ms (µs): the cheapest packet I/O measured in the run. */
export function relayCpuUs(r: Results): number | undefined {
  const c = r.capacity.find((x) => x.codec === 'PCMU' && x.target === 'rtpengine' && !x.cpus && !x.variant)?.best;
  return c ? (c.cpuPerCall / 100) * 20000 : undefined;
}

/**
 * The 1 → 2 core ratio a CPU-bound server can show when the load generator
 * has its own core in the 1-core run and shares both in the 2-core run:
 * N1 = 1/c, N2 = 2/(c + g), so N2/N1 = 2c/(c + g), with c the server's and g
 * the generator's CPU per call. Also calls per core of CPU the generator left.
 */
export function scalingBound(
  r: Results,
  codec: string,
  target: string,
):
  | { serverPct: number; genPct: number; genShare: number; bound: number; perCore1: number; perCore2: number }
  | undefined {
  const one = r.capacity.find((c) => c.codec === codec && c.target === target && c.cpus === '0')?.best;
  const two = r.capacity.find((c) => c.codec === codec && c.target === target && !c.cpus && !c.variant)?.best;
  if (!one || !two || !one.calls || !two.calls) return undefined;
  const serverPct = one.cpuPerCall;
  const genShare = two.gen.generator.cpuShare;
  const genPct = (genShare * 100) / two.calls;
  return {
    serverPct,
    genPct,
    genShare,
    bound: (2 * serverPct) / (serverPct + genPct),
    perCore1: one.calls,
    perCore2: two.calls / Math.max(0.01, 2 - genShare),
  };
}

export function table(r: Results): string {
  const lines: string[] = [];
  const pairs = [...new Set(r.capacity.map((c) => c.codec))];
  lines.push(
    '| pair | server | calls | ×rtpengine | ×plain C | CPU/call (% core) | ×rtpengine | ×plain C | ticker load % (late ticks, max late ms) | latency p50 ms (net of codec) | ×rtpengine | ×plain C |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const codec of pairs) {
    const of = (target: string, variant?: string, cpus?: string) =>
      cellOf(
        r.capacity.filter((c) => c.codec === codec && c.target === target && c.variant === variant && c.cpus === cpus),
      );
    const rte = of('rtpengine');
    const plain = of('plain');
    const variants = [
      ...new Set(r.capacity.filter((c) => c.codec === codec && c.target === 'package').map((c) => c.variant)),
    ];
    const rows: [string, Cell | undefined][] = [
      ...variants.map((v) => [v ? `package [${v}]` : 'package', of('package', v)] as [string, Cell | undefined]),
      ['rtpengine', rte],
      ['plain C ms2', plain],
    ];
    for (const [name, c] of rows) {
      if (!c) continue;
      const m = median(c.calls);
      const tick =
        c.load === undefined
          ? '–'
          : `${fmt(c.load)}${c.lateTicks !== undefined ? ` (${c.lateTicks}, ${fmt(c.maxLateMs)})` : ''}`;
      lines.push(
        `| ${PAIR_NAMES[codec] ?? codec} | ${name} | ${callsText(c)} | ${ratio(m, rte && median(rte.calls))} | ${ratio(m, plain && median(plain.calls))} | ` +
          `${fmt(c.cpuPerCall, 3)} | ${ratio(c.cpuPerCall, rte?.cpuPerCall)} | ${ratio(c.cpuPerCall, plain?.cpuPerCall)} | ${tick} | ` +
          `${fmt(c.latency, 1)} (${fmt(c.latencyNet, 1)}) | ${ratio(c.latency, rte?.latency)} | ${ratio(c.latency, plain?.latency)} |`,
      );
    }
  }
  return lines.join('\n');
}

export function scalingTable(r: Results): string {
  const one = r.capacity.filter((c) => c.cpus === '0');
  if (one.length === 0) return '';
  const lines = ['| pair | server | 1 core | 2 cores | 2/1 |', '|---|---|---|---|---|'];
  for (const c1 of one) {
    const two = r.capacity.filter((c) => c.codec === c1.codec && c.target === c1.target && !c.cpus && !c.variant);
    const ones = one.filter((c) => c.codec === c1.codec && c.target === c1.target);
    if (c1 !== ones[0]) continue;
    const m1 = median(ones.map((c) => c.calls));
    const m2 = median(two.map((c) => c.calls));
    lines.push(`| ${PAIR_NAMES[c1.codec] ?? c1.codec} | ${c1.target} | ${fmt(m1)} | ${fmt(m2)} | ${ratio(m2, m1)} |`);
  }
  return lines.join('\n');
}

export function rssTable(r: Results): string {
  if (r.rss.length === 0) return '';
  const rte = r.rss.find((x) => x.target === 'rtpengine');
  const plain = r.rss.find((x) => x.target === 'plain');
  const lines = [
    '| server | RSS before | RSS with calls | per call | ×rtpengine | ×plain C |',
    '|---|---|---|---|---|---|',
  ];
  for (const x of r.rss)
    lines.push(
      `| ${x.target} (${x.calls} relay calls) | ${fmt(x.rssBefore / 2 ** 20, 1)} MiB | ${fmt(x.rss / 2 ** 20, 1)} MiB | ${fmt(x.perCall / 1024, 1)} KiB | ${ratio(x.perCall, rte?.perCall)} | ${ratio(x.perCall, plain?.perCall)} |`,
    );
  return lines.join('\n');
}

export function targetsText(r: Results): string {
  const cap = (codec: string, target: string, cpus?: string) => {
    const xs = r.capacity.filter((c) => c.codec === codec && c.target === target && c.cpus === cpus && !c.variant);
    return xs.length ? median(xs.map((c) => c.calls)) : undefined;
  };
  const out: string[] = [];
  const check = (label: string, value: string, ok: boolean | undefined) =>
    out.push(`- ${label}: ${value} — ${ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met'}`);
  const po = cap('opus', 'package');
  const ro = cap('opus', 'rtpengine');
  const ceil = codecCeiling(r, 'opus');
  check(
    'PCMU↔Opus c10 ≥ 1.5× rtpengine',
    `${fmt(po)} vs ${fmt(ro)} calls (${ratio(po, ro)})`,
    po !== undefined && ro ? po >= 1.5 * ro : undefined,
  );
  check(
    'PCMU↔Opus c10 ≥ 80 % of the codec-only ceiling',
    `${fmt(po)} of ${fmt(ceil)} calls (${po !== undefined && ceil ? ((po / ceil) * 100).toFixed(0) : '–'} %)`,
    po !== undefined && ceil ? po >= 0.8 * ceil : undefined,
  );
  // The same target seen from the CPU the package really had: the load
  // generator runs on the same cores, and every call costs RTP I/O too.
  const best = r.capacity.find((c) => c.codec === 'opus' && c.target === 'package' && !c.cpus && !c.variant)?.best;
  const codecUs = codecFrameUs(r, 'opus');
  if (best && codecUs) {
    const serverUs = (best.cpuPerCall / 100) * 20000;
    const gen = best.gen.generator.cpuShare;
    const left = codecCeiling(r, 'opus', Math.max(0, 2 - gen));
    out.push(
      `  - at ${best.calls} calls: codec work is ${((codecUs / serverUs) * 100).toFixed(0)} % of the package's CPU per call ` +
        `(${codecUs.toFixed(0)} of ${serverUs.toFixed(0)} µs per 20 ms; the rest is RTP I/O, jitter buffers, PLC and graph walks); ` +
        `the load generator took ${(gen * 100).toFixed(0)} % of a core, and the codec-only ceiling on what it left is ` +
        `${fmt(left)} calls (${po !== undefined && left ? ((po / left) * 100).toFixed(0) : '–'} %)`,
    );
    // What the machine could hold if every call cost its codec work plus
    // packet I/O as cheap as rtpengine's relay (measured in this run) plus
    // the load generator's share: the ceiling once packets are paid for.
    const relayUs = relayCpuUs(r);
    if (relayUs !== undefined) {
      const genUs = (gen * 20000) / best.calls;
      const bound = (2 * 20000) / (codecUs + relayUs + genUs);
      out.push(
        `  - with packet I/O at rtpengine's relay cost (${relayUs.toFixed(1)} µs per call per 20 ms) and the load ` +
          `generator's ${genUs.toFixed(1)} µs, 2 cores hold at most ${fmt(bound)} calls: ` +
          `${fmt(0.8 * (ceil ?? NaN))} (80 % of the codec-only ceiling) is ${ceil ? ((0.8 * ceil) / bound).toFixed(2) : '–'}× that; ` +
          `the package holds ${po !== undefined ? ((po / bound) * 100).toFixed(0) : '–'} % of it`,
      );
    }
  }
  for (const codec of [...new Set(r.capacity.map((c) => c.codec))]) {
    const p = cap(codec, 'package');
    const c = cap(codec, 'plain');
    if (p === undefined || !c) continue;
    check(
      `package vs plain C overhead ≤ 10 % (${PAIR_NAMES[codec] ?? codec})`,
      `${fmt(p)} vs ${fmt(c)} calls (${((1 - p / c) * 100).toFixed(0)} % fewer)`,
      p >= 0.9 * c,
    );
  }
  const relay = cap('PCMU', 'package');
  check('relay ≥ 1000 calls', `${fmt(relay)} calls`, relay === undefined ? undefined : relay >= 1000);
  for (const codec of [...new Set(r.capacity.filter((c) => c.cpus === '0').map((c) => c.codec))]) {
    const one = cap(codec, 'package', '0');
    const two = cap(codec, 'package');
    check(
      `1→2 cores ≥ 1.8× (${PAIR_NAMES[codec] ?? codec})`,
      `${fmt(one)} → ${fmt(two)} calls (${ratio(two, one)})`,
      one && two !== undefined ? two >= 1.8 * one : undefined,
    );
    const s = scalingBound(r, codec, 'package');
    if (s)
      out.push(
        `  - with 1 core the load generator runs on the other; with 2 it shares them and took ` +
          `${(s.genShare * 100).toFixed(0)} % of a core. CPU per call ${s.serverPct.toFixed(3)} % of a core (1 core), ` +
          `load generator ${s.genPct.toFixed(3)} %: a server that scales perfectly shows at most ` +
          `2 × ${s.serverPct.toFixed(3)} / (${s.serverPct.toFixed(3)} + ${s.genPct.toFixed(3)}) = ${s.bound.toFixed(2)}× here; ` +
          `calls per core left to the server: ${fmt(s.perCore1)} → ${fmt(s.perCore2)} (${ratio(s.perCore2, s.perCore1)})`,
      );
  }
  const rss = r.rss.find((x) => x.target === 'package');
  check(
    '≤ 256 KiB RSS per call',
    rss ? `${fmt(rss.perCall / 1024, 1)} KiB` : '–',
    rss ? rss.perCall <= 256 * 1024 : undefined,
  );
  const lats = r.capacity
    .filter((c) => c.target === 'package' && !c.cpus && !c.variant && c.best)
    .map((c) => {
      const d = c.best!.gen.directions;
      return Math.max(d.a2b.latency.netP50 ?? NaN, d.b2a.latency.netP50 ?? NaN);
    })
    .filter(Number.isFinite);
  const worst = lats.length ? Math.max(...lats) : undefined;
  check(
    'added latency ≤ ptime + jitter buffer nominal (20 + 60 ms)',
    `worst p50 ${fmt(worst, 1)} ms at capacity (net of codec delay)`,
    worst === undefined ? undefined : worst <= 80,
  );
  return out.join('\n');
}

export function ceilingText(r: Results): string {
  const lines = [
    '| codec | encode µs | decode µs | codec-only ceiling, 2 cores (calls with PCMU) |',
    '|---|---|---|---|',
  ];
  for (const [codec, c] of Object.entries(r.codecCost))
    lines.push(`| ${codec} | ${c.encodeUs.toFixed(1)} | ${c.decodeUs.toFixed(1)} | ${fmt(codecCeiling(r, codec))} |`);
  return lines.join('\n');
}

export function printReport(r: Results): void {
  console.log(`\n${r.machine.cpus} × ${r.machine.model}, Linux ${r.machine.kernel}; ${r.rtpengineVersion ?? ''}`);
  console.log('\nCapacity (≥ 99.5 % delivered both ways, delay spread P99.5 ≤ 20 ms):\n');
  console.log(table(r));
  const s = scalingTable(r);
  if (s) console.log(`\n1 → 2 cores:\n\n${s}`);
  const m = rssTable(r);
  if (m) console.log(`\nMemory:\n\n${m}`);
  console.log(`\nCodec cost (one core, 20 ms frames, the servers' settings):\n\n${ceilingText(r)}`);
  console.log(`\nTargets:\n\n${targetsText(r)}`);
}
