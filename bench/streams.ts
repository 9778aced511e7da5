/**
 * Issue 23: what an audio fork costs. The same N relayed PCMU calls (the
 * load generator of bench/run.ts sends speech both ways and checks
 * delivery), measured in one run: without forks, with every caller leg
 * forked to a WebSocket (L16 16 kHz, voice detection on), and forked with an
 * idle injection (the direction towards the caller then decoded and
 * re-encoded, ready for a bot's answer). The WebSocket end is a process of
 * its own (bench/targets/ws-sink.ts), so its CPU is not counted. Prints the
 * server's CPU per call in each case and the ratio to the calls without a
 * fork.
 *
 *   node dist/bench/streams.js [--calls 100] [--warmup 4] [--window 10] [--repeat 1] [--out FILE]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runStep, type StepOptions, type StepResult } from './lib/capacity';
import { JsonProc, killAll } from './lib/proc';
import { packageTarget } from './lib/targets';
import { BASE_PACKAGES, RESULTS, buildPrograms, ensurePackages, machine, makeSpeech } from './lib/tools';

function args(argv: string[]) {
  const a = { calls: 100, warmup: 4, window: 10, repeat: 1, out: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '') as keyof typeof a;
    if (!(k in a)) throw new Error(`unknown option ${argv[i]}`);
    (a as Record<string, unknown>)[k] = k === 'out' ? argv[++i] : Number(argv[++i]);
  }
  return a;
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  ensurePackages(BASE_PACKAGES);
  const programs = buildPrograms();
  const speech = makeSpeech();
  const workDir = fs.mkdtempSync(path.join(RESULTS, 'streams-'));
  const sink = new JsonProc(process.execPath, [path.join(__dirname, 'targets', 'ws-sink.js')]);
  const { port } = await sink.next<{ port: number }>(10_000);
  const url = `ws://127.0.0.1:${port}/fork`;
  const log = (s: string) => console.error(`bench: ${s}`);
  const base: StepOptions = {
    loadgen: programs.loadgen,
    speech,
    genPort: 19000,
    warmupMs: a.warmup * 1000,
    windowMs: a.window * 1000,
    opusComplexity: 10,
    workDir,
    log,
  };
  const cases: { name: string; server?: Record<string, unknown> }[] = [
    { name: 'no fork' },
    { name: 'fork (L16 16 kHz)', server: { fork: { url, rate: 16000 } } },
    { name: 'fork + idle inject', server: { fork: { url, rate: 16000, inject: { mode: 'mix' } } } },
  ];
  const rows: { name: string; step: StepResult; sink: { frames: number } }[] = [];
  try {
    for (let r = 0; r < a.repeat; r++)
      for (const c of cases) {
        const before = await sink.request<{ frames: number }>('{"cmd":"stats"}');
        const step = await runStep(packageTarget(), 'PCMU', a.calls, { ...base, server: c.server });
        const after = await sink.request<{ frames: number }>('{"cmd":"stats"}');
        rows.push({ name: c.name, step, sink: { frames: after.frames - before.frames } });
        log(
          `${c.name}: ${step.cpuPerCall.toFixed(3)} % of a core per call, ${step.pass ? 'PASS' : 'FAIL ' + step.reason}`,
        );
      }
  } finally {
    await sink.stop('{"cmd":"quit"}').catch(() => undefined);
    killAll();
  }
  const m = machine();
  const perCall = (name: string) => {
    const xs = rows.filter((x) => x.name === name).map((x) => x.step.cpuPerCall);
    return xs.reduce((s, x) => s + x, 0) / xs.length;
  };
  const baseline = perCall('no fork');
  console.log(`\nAudio forks, ${a.calls} relayed PCMU calls, ${a.window} s window, ${m.cpus} x ${m.model}`);
  console.log('case                      CPU/call (% core)  vs no fork  delivery a->b / b->a   frames at the sink');
  for (const c of cases) {
    const r = rows.filter((x) => x.name === c.name).at(-1)!;
    const d = r.step.gen.directions;
    console.log(
      `${c.name.padEnd(26)}${perCall(c.name).toFixed(3).padStart(10)}${`x${(perCall(c.name) / baseline).toFixed(2)}`.padStart(17)}` +
        `   ${(d.a2b.delivery * 100).toFixed(2)} % / ${(d.b2a.delivery * 100).toFixed(2)} %`.padEnd(25) +
        `${r.sink.frames}`,
    );
  }
  const out = a.out || path.join(RESULTS, `streams-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, JSON.stringify({ machine: m, args: a, rows }, null, 1));
  console.log(`\nresults: ${out}`);
}

main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
