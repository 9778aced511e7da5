/**
 * The forwarding plane under test, in a process of its own: N relayed calls,
 * each two RtpEndpoints (PCMU, the load generator as remote, no jitter
 * buffer - what a relayed leg has) joined by a ForwardPlane relay. Driven
 * by bench/forward.ts like bench/targets/package-server.ts (one JSON
 * command per line on stdin, one JSON reply per line on stdout).
 *
 *   node dist/bench/targets/forward-server.js '<json config>'
 *   config: { calls, genPort, portMin, threads? }
 *   commands: {"cmd":"reset"} | {"cmd":"stats"} | {"cmd":"quit"}
 */
import * as readline from 'node:readline';
import { RtpEndpoint } from '../../lib';
import { AddressInUseError } from '../../lib/errors';
import { ForwardPlane, type Relay } from '../../lib/forward';

interface Config {
  calls: number;
  genPort: number;
  portMin: number;
  threads?: number;
}

const cfg = JSON.parse(process.argv[2]) as Config;
const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

// the addon loaded and the threads started: what the calls add is theirs
const plane = new ForwardPlane({ threads: cfg.threads });
const rssBefore = process.memoryUsage().rss;
const pcmu = [{ pt: 0, mime: 'PCMU', clockRate: 8000 }];
const endpoints: RtpEndpoint[] = [];
const relays: Relay[] = [];
const calls: { a: number; b: number; ptB: number }[] = [];
const leg = (port: number) =>
  new RtpEndpoint({
    address: '127.0.0.1',
    port,
    payloadTypes: pcmu,
    remote: { address: '127.0.0.1', port: cfg.genPort },
    jitterBuffer: false,
  });
// the next free even/odd pair from portMin on (other programs on the machine may hold some)
let next = cfg.portMin;
const freeLeg = () => {
  for (; next < 65000; next += 2) {
    try {
      const e = leg(next);
      next += 2;
      return e;
    } catch (err) {
      if (!(err instanceof AddressInUseError)) throw err;
    }
  }
  throw new Error('no free ports left');
};
for (let i = 0; i < cfg.calls; i++) {
  const a = freeLeg();
  const b = freeLeg();
  endpoints.push(a, b);
  relays.push(plane.relay(a, b));
  calls.push({ a: a.port, b: b.port, ptB: 0 });
}

function stats() {
  const mem = process.memoryUsage();
  let refused = 0;
  let lost = 0;
  for (const r of relays) {
    const s = r.stats();
    refused += s.aToB.dropped.refused + s.bToA.dropped.refused;
    lost += s.aToB.lost + s.bToA.lost;
  }
  return { rss: mem.rss, heapUsed: mem.heapUsed, plane: plane.stats(), refused, lost };
}

send({ ready: true, pid: process.pid, calls, rssBefore, threads: plane.threads });

const quit = () => {
  plane.close();
  for (const e of endpoints) e.close();
  process.exit(0);
};
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string };
  if (m.cmd === 'reset') send({ ok: true });
  else if (m.cmd === 'stats') send(stats());
  else if (m.cmd === 'quit') {
    send({ bye: true });
    quit();
  }
});
rl.on('close', quit);
// never outlive the bench by much, whatever happens to it
setTimeout(() => process.exit(3), 10 * 60 * 1000).unref();
