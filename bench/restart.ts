/**
 * Issue 19: how soon media flows again after a media node is SIGKILLed and
 * started again with its calls in Redis - our daemon (--redis) and
 * rtpengine (--redis, userspace --table=-1) in the same run, same calls,
 * same phones.
 *
 *   node dist/bench/restart.js [--calls N] [--downtime MS] [--targets package,rtpengine] [--rounds N]
 *
 * Each round: a redis-server of its own, the node, N calls (half relayed
 * PCMU<->PCMU, half transcoded PCMU<->PCMA), phones streaming both ways for
 * 2 s, SIGKILL, --downtime ms, the same command again. Measured for every
 * call and direction: the time from the restarted process's spawn to the
 * first packet a phone gets from it, and the phone's packets lost in that
 * time (relayed directions: what it sent after the spawn that never reached
 * the other phone before the first one that did). Prints medians and worst
 * cases, and ours/rtpengine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import * as bencode from '../lib/control/bencode';
import { StreamingPhone } from '../test/helpers/streamingPhone';
import { phoneSdp } from '../test/helpers/sdp';
import { killAll, sleep } from './lib/proc';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CALLS = Number(opt('calls', '20'));
const DOWNTIME = Number(opt('downtime', '300'));
const ROUNDS = Number(opt('rounds', '3'));
const TARGETS = opt('targets', 'package,rtpengine').split(',');
const ROOT = path.resolve(__dirname, '..', '..');

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];

class Ng {
  readonly #sock = dgram.createSocket('udp4');
  readonly #pending = new Map<string, (v: bencode.BDict) => void>();
  #n = 0;
  constructor(readonly port: number) {
    this.#sock.on('message', (m) => {
      const sp = m.indexOf(0x20);
      const done = this.#pending.get(m.subarray(0, sp).toString());
      if (!done) return;
      this.#pending.delete(m.subarray(0, sp).toString());
      done(bencode.decode(m.subarray(sp + 1)) as bencode.BDict);
    });
  }
  request(d: Record<string, unknown>, timeoutMs = 3000): Promise<bencode.BDict> {
    const cookie = `r${++this.#n}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending.delete(cookie);
        reject(new Error(`no reply to ${String(d.command)}`));
      }, timeoutMs);
      this.#pending.set(cookie, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      this.#sock.send(
        Buffer.concat([Buffer.from(cookie + ' '), bencode.encode(d as bencode.BValue)]),
        this.port,
        '127.0.0.1',
      );
    });
  }
  close(): void {
    this.#sock.close();
  }
}

const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString() : String(v));
const audioPort = (sdp: string) => Number(/^m=audio (\d+)/m.exec(sdp)![1]);

interface Node {
  name: string;
  command(redisPort: number, ngPort: number, portMin: number): [string, string[]];
}

const NODES: Record<string, Node> = {
  package: {
    name: 'rtp-media-server',
    command: (redis, ng, min) => [
      process.execPath,
      [
        path.join(ROOT, 'dist', 'bin', 'rtp-media-server.js'),
        'serve',
        `--control-udp=127.0.0.1:${ng}`,
        '--metrics=off',
        `--ports=${min}-${min + 4 * CALLS + 99}`,
        `--redis=127.0.0.1:${redis}/1`,
        '--log-level=warn',
        '--drain-timeout=0',
      ],
    ],
  },
  rtpengine: {
    name: 'rtpengine',
    command: (redis, ng, min) => [
      '/usr/bin/rtpengine',
      [
        '--table=-1',
        '--interface=127.0.0.1',
        `--listen-ng=127.0.0.1:${ng}`,
        `--listen-cli=127.0.0.1:${ng + 1}`,
        `--listen-http=127.0.0.1:${ng + 3}`,
        '--foreground',
        '--log-stderr',
        '--log-level=3',
        `--port-min=${min}`,
        `--port-max=${min + 4 * CALLS + 99}`,
        `--redis=127.0.0.1:${redis}/1`,
        '--delete-delay=0',
      ],
    ],
  },
};

async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const ok = await new Promise<boolean>((resolve) => {
      const s = require('node:net').connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return p;
  }
  throw new Error('redis-server did not start');
}

async function waitPing(ng: Ng): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (text((await ng.request({ command: 'ping' }, 200)).result) === 'pong') return;
    } catch {
      /* not yet */
    }
    await sleep(50);
  }
  throw new Error('the node does not answer ping');
}

interface Direction {
  from: StreamingPhone;
  to: StreamingPhone;
  relayed: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function round(target: string, base: number): Promise<{ firstMs: number[]; lost: number[] }> {
  const node = NODES[target];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-restart-'));
  const redisPort = base;
  const ngPort = base + 2;
  const redis = await startRedis(redisPort, dir);
  const [cmd, cmdArgs] = node.command(redisPort, ngPort, base + 100);
  let proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ng = new Ng(ngPort);
  const phones: StreamingPhone[] = [];
  const dirs: Direction[] = [];
  try {
    await waitPing(ng);
    for (let i = 0; i < CALLS; i++) {
      const relayed = i % 2 === 0;
      const a = await StreamingPhone.create(0x100 + i);
      const b = await StreamingPhone.create(0x200 + i);
      phones.push(a, b);
      const offer = await ng.request({
        command: 'offer',
        'call-id': `restart-${i}`,
        'from-tag': `a${i}`,
        sdp: phoneSdp({ port: a.port, codecs: PCMU }),
        ...(relayed ? {} : { codec: { transcode: ['PCMA'] } }),
      });
      if (text(offer.result) !== 'ok') throw new Error(`${target} offer: ${text(offer['error-reason'])}`);
      const answer = await ng.request({
        command: 'answer',
        'call-id': `restart-${i}`,
        'from-tag': `a${i}`,
        'to-tag': `b${i}`,
        sdp: phoneSdp({ port: b.port, codecs: relayed ? PCMU : PCMA }),
      });
      if (text(answer.result) !== 'ok') throw new Error(`${target} answer: ${text(answer['error-reason'])}`);
      a.start(audioPort(text(answer.sdp)), 0, 30_000);
      b.start(audioPort(text(offer.sdp)), relayed ? 0 : 8, 30_000);
      dirs.push({ from: a, to: b, relayed }, { from: b, to: a, relayed });
    }
    await sleep(2000);
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    await sleep(DOWNTIME);
    const spawnedAt = Date.now();
    const sentBefore = new Map(dirs.map((d) => [d, d.from.sent]));
    // RESTART_PROF=DIR: a CPU profile of the restarted package node (stopped by SIGTERM, which writes it)
    const prof = target === 'package' ? process.env.RESTART_PROF : undefined;
    proc = spawn(cmd, prof ? [`--cpu-prof`, `--cpu-prof-dir=${prof}`, ...cmdArgs] : cmdArgs, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await sleep(3000);
    if (prof) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    const firstMs: number[] = [];
    const lost: number[] = [];
    for (const d of dirs) {
      const after = d.to.since(spawnedAt);
      if (!after.length) {
        firstMs.push(Infinity);
        continue;
      }
      firstMs.push(after[0].at - spawnedAt);
      if (d.relayed) {
        // the phone's packets are numbered 1000 + n: those sent after the spawn, before the first that came through
        const firstSentAfter = (1000 + sentBefore.get(d)!) & 0xffff;
        lost.push(Math.max(0, ((after[0].seq - firstSentAfter + 0x10000) & 0xffff) % 0x8000));
      }
    }
    return { firstMs, lost };
  } finally {
    for (const p of phones) p.close();
    ng.close();
    proc.kill('SIGKILL');
    redis.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: Record<string, { firstMs: number[]; lost: number[] }> = {};
  let base = 21000;
  for (let r = 0; r < ROUNDS; r++)
    for (const t of TARGETS) {
      const out = await round(t, base);
      base += 500;
      results[t] ??= { firstMs: [], lost: [] };
      results[t].firstMs.push(...out.firstMs);
      results[t].lost.push(...out.lost);
      console.log(
        `round ${r + 1} ${t}: first media ${median(out.firstMs).toFixed(0)} ms median, ` +
          `${Math.max(...out.firstMs).toFixed(0)} ms worst after the spawn; ` +
          `relayed packets lost after it: median ${median(out.lost)}, worst ${Math.max(...out.lost)}`,
      );
    }
  console.log(`\n${CALLS} calls (half relayed, half PCMU<->PCMA), SIGKILL, ${DOWNTIME} ms down, ${ROUNDS} round(s)`);
  console.log('node              first media after spawn (median / worst)   relayed packets lost after spawn');
  for (const [t, r] of Object.entries(results))
    console.log(
      `${NODES[t].name.padEnd(18)}${median(r.firstMs).toFixed(0).padStart(6)} / ${Math.max(...r.firstMs)
        .toFixed(0)
        .padEnd(6)} ms${' '.repeat(27)}${median(r.lost)} / ${Math.max(...r.lost)}`,
    );
  if (results.package && results.rtpengine)
    console.log(
      `ours / rtpengine, median first media: ${(median(results.package.firstMs) / median(results.rtpengine.firstMs)).toFixed(2)}`,
    );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAll());
