/**
 * One bounded load step (N calls, warm-up, a measurement window) against a
 * target, and the capacity search over steps.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpuSeconds, JsonProc, machineCpu, rssBytes, sleep, threadCpu, threadShares, withCpus } from './proc';
import type { StartOptions, Target, TickerFigures } from './targets';
import type { Speech } from './tools';

export interface Direction {
  from: string;
  to: string;
  streams: number;
  delivery: number;
  minStreamDelivery: number;
  streamsBelow99_5: number;
  silentStreams: number;
  spreadMs: number;
  spreadP99_9: number;
  spreadMax: number;
  otherPayloadTypes: number;
  /** Packets in the window that arrived exactly as the other leg sent them (SSRC, seq, timestamp, payload). */
  identical: number;
  /** Packets received in the window. */
  received: number;
  latency: {
    sampledStreams: number;
    alignedStreams: number;
    minCorrelation: number | null;
    packets: number;
    p50: number | null;
    p95: number | null;
    max: number | null;
    codecDelayMs: number | null;
    netP50: number | null;
  };
}

export interface GenResult {
  calls: number;
  windowMs: number;
  generator: {
    cpuSeconds: number;
    cpuShare: number;
    maxSendLateMs: number;
    sendsLateOver2ms: number;
    packetsSent: number;
  };
  codecDelayMs: Record<string, number | null>;
  directions: { a2b: Direction; b2a: Direction };
}

export interface StepResult {
  target: string;
  codec: string;
  calls: number;
  cpus?: string;
  variant?: string;
  pass: boolean;
  reason: string;
  /** Server CPU over the window, percent of one core. */
  cpuPercent: number;
  cpuPerCall: number;
  /** The whole machine over the window: percent of all CPUs busy (everyone), in softirq, stolen. */
  machine?: { busyPercent: number; softirqPercent: number; stealPercent: number };
  /** Percent of a core per thread group: main, rms-ticker-N, other. */
  threads?: Record<string, number>;
  rssBefore: number;
  rss: number;
  tickers?: TickerFigures[];
  extra?: Record<string, unknown>;
  gen: GenResult;
  at: string;
}

export interface StepOptions {
  loadgen: string;
  speech: Speech;
  genPort: number;
  warmupMs: number;
  windowMs: number;
  opusComplexity: number;
  /** taskset CPU list for the server. */
  cpus?: string;
  /** taskset CPU list for the load generator. */
  genCpus?: string;
  /** SCHED_FIFO priority of the load generator (0: none). Default 60, above the servers' real-time tickers (50). */
  genRtPriority?: number;
  server?: Record<string, unknown>;
  variant?: string;
  workDir: string;
  log: (s: string) => void;
}

export const CRITERIA = { delivery: 0.995, spreadMs: 20 };

function judge(g: GenResult): { pass: boolean; reason: string } {
  const why: string[] = [];
  for (const [name, d] of Object.entries(g.directions)) {
    if (d.delivery < CRITERIA.delivery) why.push(`${name} delivery ${(d.delivery * 100).toFixed(2)} %`);
    if (d.spreadMs === null || d.spreadMs > CRITERIA.spreadMs) why.push(`${name} spread ${d.spreadMs} ms`);
    if (d.silentStreams > 0) why.push(`${name} ${d.silentStreams} silent streams`);
  }
  return { pass: why.length === 0, reason: why.join('; ') || 'ok' };
}

export async function runStep(target: Target, codec: string, calls: number, o: StepOptions): Promise<StepResult> {
  const start: StartOptions = {
    codec,
    calls,
    genPort: o.genPort,
    cpus: o.cpus,
    opusComplexity: o.opusComplexity,
    server: o.server,
  };
  const srv = await target.start(start);
  try {
    const cfg = path.join(o.workDir, 'loadgen.conf');
    const out = path.join(o.workDir, 'loadgen.json');
    fs.rmSync(out, { force: true });
    const tail = 500;
    const lines = [
      `port ${o.genPort}`,
      `duration_ms ${o.warmupMs + o.windowMs}`,
      `warmup_ms ${o.warmupMs}`,
      `tail_ms ${tail}`,
      'drain_ms 400',
      'sample_calls 4',
      `rt_priority ${o.genRtPriority ?? 60}`,
      `src8 ${o.speech.src8}`,
      `src16 ${o.speech.src16}`,
      `out ${out}`,
      ...srv.legs.map((l) => `call ${l.a} PCMU 0 ${l.b} ${l.codec ?? codec} ${l.ptB}`),
    ];
    fs.writeFileSync(cfg, lines.join('\n') + '\n');
    const [cmd, args] = withCpus(o.loadgen, [cfg], o.genCpus);
    const gen = new JsonProc(cmd, args);
    // when it sends its first packets (after encoding its audio)
    const { start } = await gen.next<{ start: number }>(60_000);
    await sleep(start + o.warmupMs - Date.now());
    await srv.windowStart();
    const c0 = cpuSeconds(srv.pid);
    const th0 = threadCpu(srv.pid);
    const m0 = machineCpu();
    const t0 = Date.now();
    await sleep(start + o.warmupMs + o.windowMs - Date.now());
    const c1 = cpuSeconds(srv.pid);
    const th1 = threadCpu(srv.pid);
    const m1 = machineCpu();
    const t1 = Date.now();
    const rss = rssBytes(srv.pid);
    const tickers = await srv.tickers();
    const extra = srv.extra ? await srv.extra() : undefined;
    const code = await Promise.race([gen.exited, sleep(o.windowMs + 30_000).then(() => 'timeout' as const)]);
    if (code !== 0) {
      gen.kill();
      throw new Error(`loadgen ended with ${code}: ${gen.stderr.slice(-5).join('\n')}`);
    }
    const g = JSON.parse(fs.readFileSync(out, 'utf8')) as GenResult;
    const cpuPercent = ((c1 - c0) / ((t1 - t0) / 1000)) * 100;
    const verdict = judge(g);
    return {
      target: target.name,
      codec,
      calls,
      cpus: o.cpus,
      variant: o.variant,
      ...verdict,
      cpuPercent,
      cpuPerCall: cpuPercent / calls,
      threads: threadShares(srv.pid, th0, th1, (t1 - t0) / 1000),
      machine: {
        busyPercent: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
        softirqPercent: ((m1.softirq - m0.softirq) / (m1.total - m0.total)) * 100,
        stealPercent: ((m1.steal - m0.steal) / (m1.total - m0.total)) * 100,
      },
      rssBefore: srv.rssBefore,
      rss,
      tickers,
      extra,
      gen: g,
      at: new Date().toISOString(),
    };
  } finally {
    await srv.stop();
  }
}

export interface SearchOptions {
  start: number;
  max: number;
  /** Steps at most. */
  maxSteps: number;
  /** Stop when the bracket is this close (relative). */
  precision: number;
  /** Run a failing step once more before believing it (noisy machine). */
  retry: boolean;
}

export interface Capacity {
  target: string;
  codec: string;
  cpus?: string;
  variant?: string;
  /** Most calls that passed (0 if none). */
  calls: number;
  /** Fewest calls that failed above it, if seen. */
  failedAt?: number;
  best?: StepResult;
  steps: StepResult[];
}

function summary(r: StepResult): string {
  const d = r.gen.directions;
  const f = (x: number | null, p = 1) => (x === null ? '-' : x.toFixed(p));
  const tk = r.tickers
    ?.map((t) => `${t.load.toFixed(0)}%${t.lateTicks !== undefined ? `/${t.lateTicks}` : ''}`)
    .join(' ');
  return (
    `${r.target}${r.variant ? `[${r.variant}]` : ''} ${r.codec} ${r.calls} calls${r.cpus ? ` cpus=${r.cpus}` : ''}: ` +
    `${r.pass ? 'PASS' : 'FAIL'} deliv ${f(d.a2b.delivery * 100, 2)}/${f(d.b2a.delivery * 100, 2)} % ` +
    `spread ${f(d.a2b.spreadMs)}/${f(d.b2a.spreadMs)} ms lat ${f(d.a2b.latency.p50)}/${f(d.b2a.latency.p50)} ms ` +
    `cpu ${r.cpuPercent.toFixed(0)} % (${r.cpuPerCall.toFixed(3)}/call)${tk ? ` tickers ${tk}` : ''} ` +
    `gen ${(r.gen.generator.cpuShare * 100).toFixed(0)} % late ${r.gen.generator.maxSendLateMs.toFixed(1)} ms` +
    (r.pass ? '' : ` (${r.reason})`)
  );
}

export async function searchCapacity(
  target: Target,
  codec: string,
  s: SearchOptions,
  o: StepOptions,
): Promise<Capacity> {
  const steps: StepResult[] = [];
  let lo = 0;
  let hi = Infinity;
  let best: StepResult | undefined;
  let n = Math.min(s.start, s.max);
  for (let i = 0; i < s.maxSteps && n >= 1; i++) {
    let r = await runStep(target, codec, n, o);
    steps.push(r);
    o.log(summary(r));
    if (!r.pass && s.retry) {
      const again = await runStep(target, codec, n, o);
      steps.push(again);
      o.log(`  again: ${summary(again)}`);
      if (again.pass) r = again;
    }
    if (r.pass) {
      lo = n;
      best = r;
    } else hi = n;
    if (hi === Infinity) {
      if (lo >= s.max) break;
      n = Math.min(s.max, Math.ceil(n * 1.4));
    } else {
      if (hi - lo <= Math.max(1, Math.ceil(lo * s.precision))) break;
      n = Math.floor((lo + hi) / 2);
    }
  }
  return {
    target: target.name,
    codec,
    cpus: o.cpus,
    variant: o.variant,
    calls: lo,
    failedAt: hi === Infinity ? undefined : hi,
    best,
    steps,
  };
}
