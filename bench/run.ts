/**
 * Issue 8: how many bidirectional calls the package carries per codec pair,
 * against rtpengine and against plain C mediastreamer2 graphs, measured in
 * the same run with the same load generator (bench/native/loadgen.c).
 *
 *   npm run bench -- [options]
 *   node dist/bench/run.js [options]
 *
 *   --targets package,rtpengine,plain   servers to measure (default all three; also: forward,
 *                                     the forwarding plane, relayed PCMU only - see bench/forward.ts)
 *   --pairs opus,G729,G722,CODEC2,PCMA,PCMU
 *                                     the callee's codec; the caller is PCMU
 *                                     (PCMU = relay) (default all)
 *   --warmup S --window S             seconds per step (default 4 and 10)
 *   --repeat N                        capacity searches per cell (default 1)
 *   --no-retry                        believe a failing step at once
 *   --scaling LIST                    pairs measured on 1 core too (default opus,PCMU)
 *   --rss N                           RSS per call at N relay calls (default 500; 0: skip)
 *   --variants LIST                   package variants to compare (bench/variants.ts)
 *   --variant-pairs LIST              pairs the variants are measured on (default opus)
 *   --calls N                         one step of N calls per cell instead of a search
 *   --complexity C                    Opus complexity everywhere (default 10)
 *   --quick                           --warmup 3 --window 6 --no-retry --repeat 1
 *   --server-cpus LIST                cores for the servers (default: all); the 1-core
 *                                     cells use the first of them
 *   --gen-cpus LIST                   cores for the load generator (default: all). On a
 *                                     machine with 3 cores or more, e.g. --server-cpus 0,1
 *                                     --gen-cpus 2, the 1 -> 2 core figures no longer share
 *                                     a core with the generator
 *   --out FILE                        results JSON (default bench-results/results-<time>.json)
 *   --resume FILE                     keep the cells FILE already has (an interrupted run) and add to it
 *
 * Every step is bounded (warm-up + window + 1 s); every process it starts
 * is killed at the end. Prints the table at the end (bench/lib/report.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runStep, searchCapacity, type Capacity, type StepOptions, type StepResult } from './lib/capacity';
import { killAll } from './lib/proc';
import { printReport, type Results } from './lib/report';
import {
  forwardTarget,
  packageTarget,
  plainTarget,
  rtpengineTarget,
  type Target,
  type TargetName,
} from './lib/targets';
import { BASE_PACKAGES, RESULTS, buildPrograms, ensurePackages, machine, makeSpeech } from './lib/tools';
import { VARIANTS } from './variants';

/** Where the search starts per target and pair on 2 cores (measured here; it then steps and bisects). */
const START_GUESS: Record<string, Record<string, number>> = {
  package: { opus: 200, G729: 300, G722: 400, CODEC2: 300, PCMA: 500, PCMU: 600 },
  plain: { opus: 200, G729: 300, G722: 400, CODEC2: 300, PCMA: 500, PCMU: 600 },
  rtpengine: { opus: 60, G729: 250, G722: 300, PCMA: 500, PCMU: 600 },
};
const MAX_CALLS = 3000;

function parseArgs(argv: string[]) {
  const a = {
    targets: ['package', 'rtpengine', 'plain'] as TargetName[],
    pairs: ['opus', 'G729', 'G722', 'CODEC2', 'PCMA', 'PCMU'],
    warmup: 4,
    window: 10,
    repeat: 1,
    retry: true,
    scaling: ['opus', 'PCMU'],
    rss: 500,
    variants: [] as string[],
    variantPairs: ['opus'],
    calls: 0,
    complexity: 10,
    out: '',
    resume: '',
    serverCpus: '',
    genCpus: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const list = () => v().split(',').filter(Boolean);
    if (k === '--targets') a.targets = list() as TargetName[];
    else if (k === '--pairs') a.pairs = list();
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--window') a.window = Number(v());
    else if (k === '--repeat') a.repeat = Number(v());
    else if (k === '--no-retry') a.retry = false;
    else if (k === '--scaling') a.scaling = list();
    else if (k === '--rss') a.rss = Number(v());
    else if (k === '--variants') a.variants = list();
    else if (k === '--variant-pairs') a.variantPairs = list();
    else if (k === '--calls') a.calls = Number(v());
    else if (k === '--complexity') a.complexity = Number(v());
    else if (k === '--out') a.out = v();
    else if (k === '--resume') a.resume = v();
    else if (k === '--server-cpus') a.serverCpus = v();
    else if (k === '--gen-cpus') a.genCpus = v();
    else if (k === '--quick') Object.assign(a, { warmup: 3, window: 6, retry: false, repeat: 1 });
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/run.ts)`);
  }
  for (const t of a.targets)
    if (!['package', 'rtpengine', 'plain', 'forward'].includes(t)) throw new Error(`unknown target ${t}`);
  for (const v of a.variants)
    if (!VARIANTS[v]) throw new Error(`unknown variant ${v}: ${Object.keys(VARIANTS).join(', ')}`);
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const pkgs = [...BASE_PACKAGES, ...(args.targets.includes('rtpengine') ? ['rtpengine-daemon'] : [])];
  ensurePackages(pkgs);
  const programs = buildPrograms();
  const speech = makeSpeech();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-bench-'));
  const out = args.out || path.join(RESULTS, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

  const targets: Record<TargetName, Target> = {
    package: packageTarget(),
    rtpengine: rtpengineTarget(),
    plain: plainTarget(programs.plain),
    forward: forwardTarget(),
  };
  const base: Omit<StepOptions, 'log'> = {
    loadgen: programs.loadgen,
    speech,
    genPort: 19000,
    warmupMs: args.warmup * 1000,
    windowMs: args.window * 1000,
    opusComplexity: args.complexity,
    genCpus: args.genCpus || undefined,
    workDir,
  };
  const results: Results = {
    machine: { ...machine(), affinity: os.availableParallelism() },
    args,
    started: new Date().toISOString(),
    codecCost: JSON.parse(
      execFileSync(programs.loadgen, ['--codec-cost', speech.src8, speech.src16, String(args.complexity)], {
        encoding: 'utf8',
      }),
    ),
    rtpengineVersion: args.targets.includes('rtpengine')
      ? execFileSync('/usr/bin/rtpengine', ['--version'], { encoding: 'utf8' }).trim()
      : undefined,
    capacity: [],
    rss: [],
    steps: [],
  };
  if (args.resume) {
    const old = JSON.parse(fs.readFileSync(args.resume, 'utf8')) as Results;
    results.capacity.push(...old.capacity);
    results.rss.push(...old.rss);
    results.steps.push(...old.steps);
    log(`resuming: ${old.capacity.length} capacity cells and ${old.rss.length} memory figures from ${args.resume}`);
  }
  const done = (name: string, codec: string, cpus?: string, variant?: string) =>
    results.capacity.filter((c) => c.target === name && c.codec === codec && c.cpus === cpus && c.variant === variant)
      .length;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const save = () => fs.writeFileSync(out, JSON.stringify(results, null, 1));
  log(`machine: ${results.machine.cpus} × ${results.machine.model}; results go to ${out}`);

  // cpus is the cell's label ('0': one core, undefined: all the server's);
  // the cores really used come from --server-cpus
  const cell = async (t: Target, codec: string, cpus?: string, variant?: string): Promise<void> => {
    const serverCpus = cpus === '0' ? args.serverCpus.split(',')[0] || '0' : args.serverCpus || undefined;
    const o: StepOptions = {
      ...base,
      cpus: serverCpus,
      variant,
      server: variant ? VARIANTS[variant] : undefined,
      log,
    };
    for (let r = done(t.name, codec, cpus, variant); r < args.repeat; r++) {
      let cap: Capacity;
      if (args.calls > 0) {
        const step: StepResult = await runStep(t, codec, args.calls, o);
        log(
          `${t.name}${variant ? `[${variant}]` : ''} ${codec} ${args.calls}: ${step.pass ? 'PASS' : 'FAIL'} ${step.reason}`,
        );
        cap = { target: t.name, codec, cpus, variant, calls: step.pass ? args.calls : 0, best: step, steps: [step] };
      } else {
        const guess = (START_GUESS[t.name]?.[codec] ?? 100) / (cpus ? 2 : 1);
        const prev = results.capacity.find(
          (c) => c.target === t.name && c.codec === codec && c.cpus === cpus && c.variant === variant && c.calls > 0,
        );
        cap = await searchCapacity(
          t,
          codec,
          {
            start: prev ? Math.max(1, Math.round(prev.calls * 0.9)) : Math.round(guess),
            max: MAX_CALLS,
            maxSteps: 12,
            precision: 0.04,
            retry: args.retry,
          },
          o,
        );
      }
      log(`=> ${t.name}${variant ? `[${variant}]` : ''} ${codec}${cpus ? ` cpus=${cpus}` : ''}: ${cap.calls} calls`);
      results.capacity.push({ ...cap, cpus, steps: [] });
      results.steps.push(...cap.steps);
      save();
    }
  };

  try {
    for (const codec of args.pairs)
      for (const name of args.targets) {
        const t = targets[name];
        if (!t.supports(codec)) continue;
        await cell(t, codec);
        if (name === 'package' && args.variantPairs.includes(codec))
          for (const v of args.variants) if (v !== 'default') await cell(t, codec, undefined, v);
      }
    for (const codec of args.scaling)
      for (const name of args.targets) {
        const t = targets[name];
        if (t.supports(codec)) await cell(t, codec, '0');
      }
    if (args.rss > 0)
      for (const name of args.targets) {
        if (results.rss.some((x) => x.target === name && x.calls === args.rss)) continue;
        const o: StepOptions = { ...base, warmupMs: 2000, windowMs: 3000, log };
        const r = await runStep(targets[name], 'PCMU', args.rss, o);
        const perCall = (r.rss - r.rssBefore) / args.rss;
        log(
          `RSS ${name}: ${(r.rssBefore / 2 ** 20).toFixed(1)} MiB before, ${(r.rss / 2 ** 20).toFixed(1)} MiB with ${args.rss} relay calls: ${(perCall / 1024).toFixed(1)} KiB per call`,
        );
        results.rss.push({ target: name, calls: args.rss, rssBefore: r.rssBefore, rss: r.rss, perCall, pass: r.pass });
        results.steps.push(r);
        save();
      }
  } finally {
    killAll();
    fs.rmSync(workDir, { recursive: true, force: true });
    results.finished = new Date().toISOString();
    save();
  }
  printReport(results);
  log(`results: ${out}`);
}

main().catch((e) => {
  console.error(e);
  killAll();
  process.exit(1);
});
