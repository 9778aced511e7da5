/**
 * Attacks on a live call of `rtp-media-server serve`, and what they cost:
 * for each kind of flood (bench/lib/flooder.ts: RTCP RRs, RTCP XRs,
 * malformed RTCP, RFC 4733 packets) a fresh daemon gets one call, phone A
 * floods leg a for --seconds at --rate datagrams/s from its own RTP/RTCP
 * ports (so the latch lets it in), and the bench prints the daemon's RSS
 * growth, the ng round trip (ping, query) during the flood, how long delete
 * takes right after it, and how much of A's media reached phone B meanwhile.
 *
 * Kind `slowtcp` is the control port's: 60 TCP connections (from 127.0.0.2-9,
 * 8 each) send all but 2 000 bytes of a 60 KB offer, then one byte per 10 ms
 * each, while UDP ping is timed.
 *
 *   node dist/bench/attacks.js [--seconds 10] [--rate 15000] [--kinds rr,xr,bad,dtmf,slowtcp]
 *                              [--bin path/to/rtp-media-server.js]   (e.g. an older build)
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSdp } from '../lib/sdp/parse';
import { startDaemon, type DaemonProcess } from '../test/helpers/daemonProcess';
import { NgClient, str } from '../test/helpers/ngClient';
import { callerOffer, phoneSdp } from './lib/sdp';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

function flood(kind: string, local: number, target: number, seconds: number, rate: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        path.join(__dirname, 'lib/flooder.js'),
        kind,
        String(local),
        '127.0.0.1',
        String(target),
        String(seconds),
        String(rate),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), (seconds + 10) * 1000);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(Number(out));
      else reject(new Error(`flooder ${kind} exited ${code}`));
    });
  });
}

interface Result {
  kind: string;
  sent: number;
  rssBefore: number;
  rssAfter: number;
  pingP50: number;
  pingP99: number;
  pingMax: number;
  queryMax: number;
  deleteMs: number;
  pingAfter: number;
  mediaAtB: number;
  mediaSent: number;
}

async function attack(
  kind: string,
  seconds: number,
  rate: number,
  bin: string | undefined,
  slot: number,
): Promise<Result> {
  const base = 41000 + slot * 200;
  const daemon: DaemonProcess = await startDaemon(
    ['--control-udp', '127.0.0.1:0', '--media-address', '127.0.0.1', '--ports', `${base}-${base + 99}`],
    { maxMs: (seconds + 60) * 1000, bin, name: `attacks-${kind}` },
  );
  const ng = await NgClient.create(daemon.udp);
  const phoneB = dgram.createSocket('udp4');
  let atB = 0;
  phoneB.on('message', () => atB++);
  const portA = base + 150;
  const portB = base + 160;
  await new Promise<void>((r) => phoneB.bind(portB, '127.0.0.1', () => r()));
  try {
    const callId = `attack-${kind}`;
    const offer = await ng.request({ command: 'offer', 'call-id': callId, 'from-tag': 'a', sdp: callerOffer(portA) });
    if (offer.result !== 'ok') throw new Error(`offer: ${JSON.stringify(offer)}`);
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'a',
      'to-tag': 'b',
      sdp: phoneSdp(portB, 'PCMU'),
    });
    if (answer.result !== 'ok') throw new Error(`answer: ${JSON.stringify(answer)}`);
    const legA = parseSdp(str(answer.sdp)!).audio!.port; // where A sends
    const pid = daemon.proc.child.pid!;
    const flooding = flood(kind, portA, legA, seconds, rate);
    await sleep(600); // the flooder's media start
    const rssBefore = rssMiB(pid);
    const atB0 = atB;
    const pings: number[] = [];
    let queryMax = 0;
    let done = false;
    let sent = 0;
    void flooding.then((n) => {
      sent = n;
      done = true;
    });
    const t0 = Date.now();
    while (!done) {
      const [ms] = await timed(() => ng.request({ command: 'ping' }));
      pings.push(ms);
      if (pings.length % 10 === 0) {
        const [q] = await timed(() => ng.request({ command: 'query', 'call-id': callId }));
        queryMax = Math.max(queryMax, q);
      }
      await sleep(25);
    }
    const floodMs = Date.now() - t0;
    const rssAfter = rssMiB(pid);
    const mediaAtB = atB - atB0;
    const [deleteMs, del] = await timed(() =>
      ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'a' }, NgClient.cookie(), 20000),
    );
    if (del.result !== 'ok') throw new Error(`delete: ${JSON.stringify(del)}`);
    const [pingAfter] = await timed(() => ng.request({ command: 'ping' }));
    return {
      kind,
      sent,
      rssBefore,
      rssAfter,
      pingP50: pct(pings, 50),
      pingP99: pct(pings, 99),
      pingMax: Math.max(...pings),
      queryMax,
      deleteMs,
      pingAfter,
      mediaAtB,
      mediaSent: Math.round(floodMs / 20),
    };
  } finally {
    phoneB.close();
    ng.close();
    await daemon.stop();
  }
}

async function slowTcp(seconds: number, bin: string | undefined): Promise<void> {
  const daemon = await startDaemon(
    ['--control-udp', '127.0.0.1:0', '--control-tcp', 'on', '--media-address', '127.0.0.1', '--ports', '42800-42899'],
    { maxMs: (seconds + 60) * 1000, bin, name: 'attacks-slowtcp' },
  );
  const ng = await NgClient.create(daemon.udp);
  const flags = Array.from({ length: 600 }, (_, i) => `x-slow-${i}-${'z'.repeat(90)}`);
  const msg = NgClient.message('slow', {
    command: 'offer',
    'call-id': 'slow',
    'from-tag': 'a',
    sdp: callerOffer(5000),
    flags,
  });
  const socks: net.Socket[] = [];
  try {
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) idle.push((await timed(() => ng.request({ command: 'ping' })))[0]);
    const [tcpHost, tcpPort] = String(daemon.ready.tcp).split(/:(?=\d+$)/);
    let errors = '';
    for (let i = 0; i < 60; i++) {
      const s = net.connect({ host: tcpHost, port: Number(tcpPort), localAddress: `127.0.0.${2 + (i % 8)}` });
      s.on('error', (e) => (errors = e.message));
      socks.push(s);
    }
    // most of the message at once, then a byte per 10 ms: a decoder that
    // re-parses what it holds per chunk re-reads ~58 KB a byte
    let at = msg.length - 2000;
    for (const s of socks) s.write(msg.subarray(0, at));
    const trickle = setInterval(() => {
      for (const s of socks) if (!s.destroyed) s.write(msg.subarray(at, at + 1));
      at = (at + 1) % msg.length;
    }, 10);
    const pings: number[] = [];
    const end = Date.now() + seconds * 1000;
    const cpu0 = fs.readFileSync(`/proc/${daemon.proc.child.pid}/stat`, 'utf8').split(' ');
    while (Date.now() < end) {
      pings.push((await timed(() => ng.request({ command: 'ping' })))[0]);
      await sleep(25);
    }
    const cpu1 = fs.readFileSync(`/proc/${daemon.proc.child.pid}/stat`, 'utf8').split(' ');
    clearInterval(trickle);
    const ticks = Number(cpu1[13]) + Number(cpu1[14]) - Number(cpu0[13]) - Number(cpu0[14]);
    const open = socks.filter((s) => !s.destroyed).length;
    const f = (x: number) => x.toFixed(1);
    console.log(
      `slowtcp: 60 connections trickling (${open} still open at the end${errors ? `; ${errors}` : ''}), UDP ping p50/p99/max ${f(pct(pings, 50))}/` +
        `${f(pct(pings, 99))}/${f(Math.max(...pings))} ms (idle: p50 ${f(pct(idle, 50))}), daemon CPU ` +
        `${((100 * ticks) / 100 / seconds).toFixed(0)} %`,
    );
  } finally {
    for (const s of socks) s.destroy();
    ng.close();
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '10'));
  const rate = Number(arg('rate', '15000'));
  const kinds = arg('kinds', 'rr,xr,bad,dtmf,slowtcp').split(',');
  const binArg = arg('bin', '');
  const bin = binArg ? path.resolve(binArg) : undefined;
  console.log(`attacks: ${seconds} s at ${rate} datagrams/s per kind, daemon ${bin ?? 'this build'}`);
  console.log(
    'kind  sent     RSS MiB before -> after (+delta)  ping p50/p99/max ms  query max  delete ms  ping after  media at B',
  );
  let slot = 0;
  for (const kind of kinds) {
    if (kind === 'slowtcp') {
      await slowTcp(seconds, bin);
      continue;
    }
    const r = await attack(kind, seconds, rate, bin, slot++);
    const f = (x: number) => x.toFixed(1);
    console.log(
      `${r.kind.padEnd(5)} ${String(r.sent).padEnd(8)} ${f(r.rssBefore)} -> ${f(r.rssAfter)} (+${f(r.rssAfter - r.rssBefore)})`.padEnd(
        50,
      ) +
        `${f(r.pingP50)}/${f(r.pingP99)}/${f(r.pingMax)}`.padEnd(21) +
        `${f(r.queryMax)}`.padEnd(11) +
        `${f(r.deleteMs)}`.padEnd(11) +
        `${f(r.pingAfter)}`.padEnd(12) +
        `${r.mediaAtB}/${r.mediaSent} (${((100 * r.mediaAtB) / r.mediaSent).toFixed(1)} %)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
