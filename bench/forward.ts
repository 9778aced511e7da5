/**
 * Issue 20: relayed calls (same codec both legs) through the forwarding
 * plane (lib/forward) against rtpengine 10.5 userspace (--table=-1, ng
 * protocol) and against today's ms2 relay graph (MediaServer, PCMU both
 * legs), in one run with the same load generator (bench/native/loadgen.c):
 * CPU per relayed call, added delay (packet in -> packet out, p50),
 * identity (SSRC, sequence number, timestamp and payload as sent) and RSS
 * per relayed call; then the ratios against the issue's targets.
 *
 *   node dist/bench/forward.js [--calls 200,500] [--targets forward,rtpengine,package]
 *                              [--repeat N] [--warmup S] [--window S] [--threads N]
 *                              [--server-cpus LIST] [--gen-cpus LIST] [--out FILE]
 *
 * --repeat N runs the whole set N times, interleaved (forward, rtpengine,
 * package, forward, ...), so that a machine shared with others loads them
 * alike; the report gives medians, and the CPU ratio as the median of the
 * ratios of steps run back to back.
 *
 * Every step is bounded (warm-up + window + 1 s); every process it starts
 * is killed at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runStep, type StepOptions, type StepResult } from './lib/capacity';
import { killAll } from './lib/proc';
import { forwardTarget, packageTarget, rtpengineTarget, type Target } from './lib/targets';
import { BASE_PACKAGES, RESULTS, buildPrograms, ensurePackages, machine, makeSpeech } from './lib/tools';

/** Issue 20's targets for the forwarder. */
const TARGETS = { cpuVsRtpengine: 0.5, delayP50Ms: 0.3, rssPerCallKiB: 55 };

function parseArgs(argv: string[]) {
  const a = {
    calls: [200, 500],
    targets: ['forward', 'rtpengine', 'package'],
    warmup: 3,
    window: 8,
    repeat: 1,
    threads: 0,
    serverCpus: '',
    genCpus: '',
    out: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--calls') a.calls = v().split(',').map(Number);
    else if (k === '--targets') a.targets = v().split(',');
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--window') a.window = Number(v());
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--threads') a.threads = Number(v());
    else if (k === '--server-cpus') a.serverCpus = v();
    else if (k === '--gen-cpus') a.genCpus = v();
    else if (k === '--out') a.out = v();
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/forward.ts)`);
  }
  for (const t of a.targets)
    if (!['forward', 'rtpengine', 'package'].includes(t)) throw new Error(`unknown target ${t}`);
  if (a.calls.some((n) => !Number.isInteger(n) || n < 1 || n > 3000)) throw new Error('--calls: 1..3000 each');
  return a;
}

interface Row {
  target: string;
  calls: number;
  round: number;
  pass: boolean;
  reason: string;
  cpuPerCall: number;
  rssPerCallKiB: number;
  delayP50: [number | null, number | null];
  identity: [number, number];
  delivery: [number, number];
  threads?: Record<string, number>;
}

function row(r: StepResult, round: number): Row {
  const d = r.gen.directions;
  const ident = (x: typeof d.a2b) => (x.received > 0 ? x.identical / x.received : 0);
  return {
    target: r.target,
    calls: r.calls,
    round,
    pass: r.pass,
    reason: r.reason,
    cpuPerCall: r.cpuPerCall,
    rssPerCallKiB: (r.rss - r.rssBefore) / r.calls / 1024,
    delayP50: [d.a2b.latency.p50, d.b2a.latency.p50],
    identity: [ident(d.a2b), ident(d.b2a)],
    delivery: [d.a2b.delivery, d.b2a.delivery],
    threads: r.threads,
  };
}

const f = (x: number | null | undefined, p = 2) =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(p);

const median = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
};

/** One cell (target, calls) over its rounds: medians. */
function cellOf(rows: Row[], target: string, calls: number): Row | undefined {
  const rs = rows.filter((r) => r.target === target && r.calls === calls);
  if (!rs.length) return undefined;
  const m = (g: (r: Row) => number | null) => median(rs.map((r) => g(r) ?? NaN));
  return {
    target,
    calls,
    round: rs.length,
    pass: rs.every((r) => r.pass),
    reason: rs
      .filter((r) => !r.pass)
      .map((r) => r.reason)
      .join('; '),
    cpuPerCall: m((r) => r.cpuPerCall),
    rssPerCallKiB: m((r) => r.rssPerCallKiB),
    delayP50: [m((r) => r.delayP50[0]), m((r) => r.delayP50[1])],
    identity: [Math.min(...rs.map((r) => r.identity[0])), Math.min(...rs.map((r) => r.identity[1]))],
    delivery: [Math.min(...rs.map((r) => r.delivery[0])), Math.min(...rs.map((r) => r.delivery[1]))],
  };
}

/** Median over rounds of forward's CPU per call over `other`'s in the same round. */
function pairedRatio(rows: Row[], other: string, calls: number): number {
  const rounds = [...new Set(rows.map((r) => r.round))];
  const ratios: number[] = [];
  for (const k of rounds) {
    const fw = rows.find((r) => r.target === 'forward' && r.calls === calls && r.round === k);
    const o = rows.find((r) => r.target === other && r.calls === calls && r.round === k);
    if (fw && o) ratios.push(fw.cpuPerCall / o.cpuPerCall);
  }
  return median(ratios);
}

function report(rows: Row[]): void {
  const calls = [...new Set(rows.map((r) => r.calls))];
  const names = [...new Set(rows.map((r) => r.target))];
  const cells = calls.flatMap((n) => names.map((t) => cellOf(rows, t, n)).filter((c): c is Row => !!c));
  console.log('\nrelayed PCMU calls, same run, medians over rounds');
  console.log(
    '(cpu: % of one core per call; delay: packet in -> out at the generator, p50, ms, two loopback hops included)',
  );
  console.log(
    'target     calls rounds pass  cpu/call  rss/call KiB  delay a2b/b2a   identity a2b/b2a  delivery a2b/b2a',
  );
  for (const r of cells)
    console.log(
      `${r.target.padEnd(10)} ${String(r.calls).padStart(5)} ${String(r.round).padStart(6)} ${r.pass ? 'yes ' : 'NO  '}  ` +
        `${f(r.cpuPerCall, 4).padStart(8)}  ${f(r.rssPerCallKiB, 1).padStart(12)}  ` +
        `${`${f(r.delayP50[0])}/${f(r.delayP50[1])}`.padStart(13)}   ` +
        `${`${f(r.identity[0] * 100, 1)}/${f(r.identity[1] * 100, 1)} %`.padStart(16)}  ` +
        `${f(r.delivery[0] * 100, 2)}/${f(r.delivery[1] * 100, 2)} %` +
        (r.pass ? '' : `  (${r.reason})`),
    );
  console.log('\nratios (forward against the others at the same call count) and issue 20 targets');
  for (const n of calls) {
    const fw = cellOf(rows, 'forward', n);
    if (!fw) continue;
    const re = cellOf(rows, 'rtpengine', n);
    const pk = cellOf(rows, 'package', n);
    const reRatio = pairedRatio(rows, 'rtpengine', n);
    const delay = Math.max(fw.delayP50[0] ?? Infinity, fw.delayP50[1] ?? Infinity);
    const lines = [
      re
        ? `cpu/call forward/rtpengine ${f(reRatio)}x (median of back-to-back pairs; of medians ${f(fw.cpuPerCall / re.cpuPerCall)}x) ` +
          `(target <= ${TARGETS.cpuVsRtpengine}x: ${reRatio <= TARGETS.cpuVsRtpengine ? 'met' : 'NOT met'})`
        : undefined,
      pk ? `cpu/call forward/ms2-graph ${f(pairedRatio(rows, 'package', n))}x` : undefined,
      `delay p50 ${f(delay)} ms (target <= ${TARGETS.delayP50Ms}: ${delay <= TARGETS.delayP50Ms ? 'met' : 'NOT met'})` +
        (re ? `; rtpengine ${f(re.delayP50[0])}/${f(re.delayP50[1])}` : '') +
        (pk ? `; ms2 graph ${f(pk.delayP50[0])}/${f(pk.delayP50[1])}` : ''),
      `identity ${f(Math.min(...fw.identity) * 100, 2)} % of packets exactly as sent` +
        (re ? `; rtpengine ${f(Math.min(...re.identity) * 100, 2)} %` : '') +
        (pk ? `; ms2 graph ${f(Math.min(...pk.identity) * 100, 2)} %` : ''),
      `rss/call ${f(fw.rssPerCallKiB, 1)} KiB (target <= ${TARGETS.rssPerCallKiB}: ${fw.rssPerCallKiB <= TARGETS.rssPerCallKiB ? 'met' : 'NOT met'})` +
        (re ? `; rtpengine ${f(re.rssPerCallKiB, 1)}` : '') +
        (pk ? `; ms2 graph ${f(pk.rssPerCallKiB, 1)}` : ''),
    ];
    console.log(`  ${n} calls:`);
    for (const l of lines) if (l) console.log(`    ${l}`);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  ensurePackages([...BASE_PACKAGES, ...(args.targets.includes('rtpengine') ? ['rtpengine-daemon'] : [])]);
  const programs = buildPrograms();
  const speech = makeSpeech();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-bench-fwd-'));
  const out = args.out || path.join(RESULTS, `forward-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
  const targets: Record<string, Target> = {
    forward: forwardTarget(args.threads || undefined),
    // ng and CLI ports of their own: another rtpengine may run on the machine
    rtpengine: rtpengineTarget(22322, 22324),
    package: packageTarget(),
  };
  const o: StepOptions = {
    loadgen: programs.loadgen,
    speech,
    genPort: 19000,
    warmupMs: args.warmup * 1000,
    windowMs: args.window * 1000,
    opusComplexity: 10,
    cpus: args.serverCpus || undefined,
    genCpus: args.genCpus || undefined,
    workDir,
    log,
  };
  const results = {
    machine: { ...machine(), affinity: os.availableParallelism() },
    args,
    rtpengineVersion: args.targets.includes('rtpengine')
      ? execFileSync('/usr/bin/rtpengine', ['--version'], { encoding: 'utf8' }).trim()
      : undefined,
    started: new Date().toISOString(),
    steps: [] as StepResult[],
    rows: [] as Row[],
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const save = () => fs.writeFileSync(out, JSON.stringify(results, null, 1));
  try {
    for (let round = 1; round <= args.repeat; round++)
      for (const n of args.calls)
        for (const name of args.targets) {
          const r = await runStep(targets[name], 'PCMU', n, o);
          const x = row(r, round);
          log(
            `[${round}/${args.repeat}] ${name} ${n} calls: ${r.pass ? 'PASS' : 'FAIL'} cpu ${r.cpuPercent.toFixed(0)} % (${r.cpuPerCall.toFixed(4)}/call) ` +
              `rss ${x.rssPerCallKiB.toFixed(1)} KiB/call delay ${f(x.delayP50[0])}/${f(x.delayP50[1])} ms ` +
              `identity ${f(x.identity[0] * 100, 1)}/${f(x.identity[1] * 100, 1)} %`,
          );
          results.steps.push(r);
          results.rows.push(x);
          save();
        }
  } finally {
    killAll();
    fs.rmSync(workDir, { recursive: true, force: true });
    save();
  }
  report(results.rows);
  log(`results: ${out}`);
}

main().catch((e) => {
  console.error(e);
  killAll();
  process.exit(1);
});
