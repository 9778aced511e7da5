/**
 * The package under test, in a process of its own: a MediaServer with the
 * default ticker count (one per core this process may run on), N calls set
 * up by offer/answer exactly as a B2BUA would (caller PCMU, callee the codec
 * under test), media through the gateway. Driven by bench/run.ts over stdin
 * (one JSON command per line) and stdout (one JSON reply per line).
 *
 *   node dist/bench/targets/package-server.js '<json config>'
 *   config: { calls, codec, genPort, portMin, portMax, opusComplexity?, server?: MediaServerOptions overrides }
 *   server.fork: every caller leg is forked with these MediaLeg.fork() options (bench/streams.ts)
 *   commands: {"cmd":"reset"} | {"cmd":"stats"} | {"cmd":"quit"}
 */
import * as readline from 'node:readline';
import { MediaServer, type ForkOptions, type MediaServerOptions } from '../../lib';
import { answerFor, callerOffer } from '../lib/sdp';

interface Config {
  calls: number;
  codec: string;
  genPort: number;
  portMin: number;
  portMax: number;
  opusComplexity?: number;
  server?: Partial<MediaServerOptions> & { fork?: ForkOptions };
}

const cfg = JSON.parse(process.argv[2]) as Config;
const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

const rssBefore = process.memoryUsage().rss;
const { fork, ...server } = cfg.server ?? {};
const ms = new MediaServer({
  address: '127.0.0.1',
  ports: [cfg.portMin, cfg.portMax],
  opus: cfg.opusComplexity !== undefined ? { complexity: cfg.opusComplexity } : undefined,
  ...server,
});

// A comma-separated codec list is a mix: call i gets codec i mod n.
// "churn:" before it: calls come and go at random (seeded) before the
// measured N remain, as on a server that has run for a while; placement on
// tickers then has to cope with the costly calls of departed neighbours.
const churn = cfg.codec.startsWith('churn:');
const codecs = cfg.codec.replace(/^churn:/, '').split(',');
let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const live = new Map<string, string>();
let next = 0;
const place = (codec: string) => {
  const id = `bench-${next++}`;
  const s = ms.offer(id, callerOffer(cfg.genPort));
  ms.answer(id, answerFor(s.offerSdp, codec, cfg.genPort).sdp);
  live.set(id, codec);
};
if (churn)
  for (let step = 0; step < cfg.calls * 4; step++) {
    if (live.size < cfg.calls || rnd() < 0.5) place(codecs[Math.floor(rnd() * codecs.length)]);
    else {
      const ids = [...live.keys()];
      const id = ids[Math.floor(rnd() * ids.length)];
      ms.stop(id);
      live.delete(id);
    }
  }
while (live.size > cfg.calls) {
  const id = live.keys().next().value as string;
  ms.stop(id);
  live.delete(id);
}
for (let i = live.size; i < cfg.calls; i++) place(codecs[i % codecs.length]);
const forks = fork ? [...live.keys()].map((id) => ms.get(id).a.fork({ ...fork, call: id })) : [];
const calls: { a: number; b: number; ptB: number; codec: string; relay: boolean }[] = [];
for (const [id, codec] of live) {
  const s = ms.get(id);
  const info = s.info();
  calls.push({
    a: info.legs.a.localPort,
    b: info.legs.b!.localPort,
    ptB: info.legs.b!.payloadType!,
    codec,
    relay: info.relay,
  });
}

function stats() {
  const mem = process.memoryUsage();
  return {
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    cpu: process.cpuUsage(),
    tickers: ms.tickers.tickers.map((t) => t.stats()),
    callsPerTicker: ms.tickers.callsPerTicker(),
    chains: ms.sessions().length ? chainsOf() : [],
    forks: forks.length ? forkTotals() : undefined,
  };
}

function forkTotals() {
  const t = { framesSent: 0, dropped: 0, connected: 0 };
  for (const f of forks) {
    const s = f.stats();
    t.framesSent += s.framesSent;
    t.dropped += s.nativeDroppedFrames + s.queueDroppedFrames;
    t.connected += s.connected ? 1 : 0;
  }
  return t;
}

function chainsOf(): string[][] {
  const s = ms.get(live.keys().next().value as string);
  return s.bridge ? s.bridge.directions.map((d) => d.chain) : [];
}

send({ ready: true, pid: process.pid, calls, rssBefore, ...stats() });

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string };
  if (m.cmd === 'reset') {
    for (const t of ms.tickers.tickers) t.resetStats();
    send({ ok: true });
  } else if (m.cmd === 'stats') {
    send(stats());
  } else if (m.cmd === 'quit') {
    ms.close();
    send({ bye: true });
    process.exit(0);
  }
});
rl.on('close', () => {
  ms.close();
  process.exit(0);
});
// never outlive the bench by much, whatever happens to it
setTimeout(() => process.exit(3), 10 * 60 * 1000).unref();
