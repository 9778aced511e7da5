/**
 * Before/after of one change: steps of the same load against two server
 * setups, alternated (A B A B ...) so that the machine's background noise
 * hits both alike. Compares CPU per call (the steadiest figure), per-thread
 * CPU, late ticks and delay spread.
 *
 *   node dist/bench/ab.js --codec opus --calls 80 --rounds 4 \
 *     --a package --b 'package:variant=rt-tickers'
 *   spec: package[:dist=DIR][,variant=NAME] | plain | rtpengine
 *   options: --warmup S (4) --window S (8) --complexity C (10) --cpus LIST --out FILE
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runStep, type StepOptions, type StepResult } from './lib/capacity';
import { killAll } from './lib/proc';
import { packageTarget, plainTarget, rtpengineTarget, type Target } from './lib/targets';
import { BASE_PACKAGES, RESULTS, buildPrograms, ensurePackages, makeSpeech } from './lib/tools';
import { VARIANTS } from './variants';

interface Spec {
  label: string;
  target: Target;
  server?: Record<string, unknown>;
  variant?: string;
}

function parseSpec(text: string, plainProgram: string): Spec {
  const [name, opts = ''] = text.split(':');
  const kv = Object.fromEntries(
    opts
      .split(',')
      .filter(Boolean)
      .map((x) => x.split('=') as [string, string]),
  );
  const target =
    name === 'package'
      ? packageTarget(kv.dist ? path.resolve(kv.dist) : undefined)
      : name === 'plain'
        ? plainTarget(plainProgram)
        : name === 'rtpengine'
          ? rtpengineTarget()
          : undefined;
  if (!target) throw new Error(`unknown target in ${text}`);
  if (kv.variant && !VARIANTS[kv.variant]) throw new Error(`unknown variant ${kv.variant}`);
  return { label: text, target, variant: kv.variant, server: kv.variant ? VARIANTS[kv.variant] : undefined };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const a: Record<string, string> = {
    codec: 'opus',
    calls: '80',
    rounds: '3',
    warmup: '4',
    window: '8',
    complexity: '10',
  };
  const specs: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (/^[a-f]$/.test(k)) specs.push(argv[i + 1]);
    else a[k] = argv[i + 1];
  }
  if (specs.length < 2) throw new Error('give --a SPEC --b SPEC');
  ensurePackages(BASE_PACKAGES);
  const programs = buildPrograms();
  const speech = makeSpeech();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-ab-'));
  const parsed = specs.map((s) => parseSpec(s, programs.plain));
  const results = new Map<string, StepResult[]>(parsed.map((p) => [p.label, []]));
  const line = (r: StepResult) => {
    const d = r.gen.directions;
    const th = r.threads
      ? Object.entries(r.threads)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(' ')
      : '';
    const late = r.tickers?.reduce((s, t) => s + (t.lateTicks ?? 0), 0);
    const m = r.machine
      ? ` machine ${r.machine.busyPercent.toFixed(0)}% (si ${r.machine.softirqPercent.toFixed(0)})`
      : '';
    return `cpu/call ${r.cpuPerCall.toFixed(3)} (${th})${m} gen ${(r.gen.generator.cpuShare * 100).toFixed(0)}% late ${late ?? '-'} spread ${d.a2b.spreadMs}/${d.b2a.spreadMs} deliv ${(d.a2b.delivery * 100).toFixed(2)}/${(d.b2a.delivery * 100).toFixed(2)} lat ${d.a2b.latency.p50}/${d.b2a.latency.p50} ${r.pass ? 'PASS' : 'FAIL'}`;
  };
  try {
    for (let round = 0; round < Number(a.rounds); round++)
      for (const p of parsed) {
        const o: StepOptions = {
          loadgen: programs.loadgen,
          speech,
          genPort: 19000,
          warmupMs: Number(a.warmup) * 1000,
          windowMs: Number(a.window) * 1000,
          opusComplexity: Number(a.complexity),
          cpus: a.cpus,
          server: p.server,
          variant: p.variant,
          workDir,
          log: console.log,
        };
        const r = await runStep(p.target, a.codec, Number(a.calls), o);
        results.get(p.label)!.push(r);
        console.log(`${round} ${p.label}: ${line(r)}`);
      }
  } finally {
    killAll();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  console.log(`\n${a.codec}, ${a.calls} calls, ${a.rounds} rounds:`);
  const base = median(results.get(parsed[0].label)!.map((r) => r.cpuPerCall));
  for (const p of parsed) {
    const rs = results.get(p.label)!;
    const cpu = rs.map((r) => r.cpuPerCall);
    const groups = [...new Set(rs.flatMap((r) => Object.keys(r.threads ?? {})))].sort();
    const th = groups.map((g) => `${g} ${median(rs.map((r) => r.threads?.[g] ?? 0)).toFixed(1)}`).join(', ');
    const late = rs.map((r) => r.tickers?.reduce((s, t) => s + (t.lateTicks ?? 0), 0) ?? NaN);
    const spread = rs.map((r) => Math.max(r.gen.directions.a2b.spreadMs, r.gen.directions.b2a.spreadMs));
    console.log(
      `${p.label}: CPU/call ${median(cpu).toFixed(3)} % [${Math.min(...cpu).toFixed(3)}–${Math.max(...cpu).toFixed(3)}] (${((median(cpu) / base - 1) * 100).toFixed(1)} % vs first); ` +
        `threads % core: ${th}; late ticks ${late.join(' ')}; spread ${spread.map((x) => x.toFixed(0)).join(' ')} ms; pass ${rs.filter((r) => r.pass).length}/${rs.length}`,
    );
  }
  const out = a.out ?? path.join(RESULTS, `ab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ args: a, specs, results: Object.fromEntries(results) }, null, 1));
  console.log(`results: ${out}`);
}

main().catch((e) => {
  console.error(e);
  killAll();
  process.exit(1);
});
