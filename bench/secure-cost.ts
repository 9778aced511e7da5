/**
 * CPU cost of a secured leg, the package beside rtpengine 10.5 (userspace).
 *
 * 1. Steady state: N relayed PCMU calls, leg a plain or SDES-SRTP
 *    (AES_CM_128_HMAC_SHA1_80), leg b plain, driven by bench/native/srtpgen
 *    (libsrtp2; it checks that what comes back on a authenticates). Server
 *    CPU per call (percent of one core) over the measuring window; the SRTP
 *    leg's cost is the difference between the two runs. A DTLS-SRTP/ICE leg
 *    carries the same AES-CM contexts once keyed (plus a STUN consent check
 *    every few seconds), so its steady state is this figure too.
 * 2. Set-up: CPU per DTLS handshake side, between pairs of our own
 *    endpoints, with bctoolbox's RSA-3072 certificate and with an ECDSA
 *    P-256 one (PEM made by the openssl CLI, when present).
 *
 *   node dist/bench/secure-cost.js [calls=100] [seconds=12]
 *
 * rtpengine's DTLS and ICE are not driven (the generator would need a
 * DTLS/ICE client of its own); that comparison is steady-state SRTP only.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as bencode from '../lib/control/bencode';
import { Ticker } from '../lib/graph/Ticker';
import { DtlsCertificate } from '../lib/rtp/secure';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { cpuSeconds, sleep } from './lib/proc';
import { BUILD, ROOT } from './lib/tools';

const CALLS = Number(process.argv[2] ?? 100);
const SECONDS = Number(process.argv[3] ?? 12);
const WARMUP = 3;
const NG_PORT = 22299;

function buildGenerator(): string {
  const src = path.join(ROOT, 'bench', 'native', 'srtpgen.c');
  const out = path.join(BUILD, 'srtpgen');
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(BUILD, { recursive: true });
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libsrtp2'], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, src, ...flags], { stdio: 'inherit' });
  }
  return out;
}

interface Lines {
  next(): Promise<string>;
}
function lines(p: ChildProcessWithoutNullStreams): Lines {
  const rl = readline.createInterface({ input: p.stdout });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  return { next: () => new Promise((r) => (queue.length ? r(queue.shift()!) : waiters.push(r))) };
}

interface Setup {
  pid: number;
  legs: { a: number; b: number; key?: { genSend: string; srvSend: string } }[];
  stop(): Promise<void>;
}

const key30 = () => randomBytes(30).toString('base64');

async function packageServer(gen: { a: number; b: number }, secure: boolean): Promise<Setup> {
  const keys = secure ? Array.from({ length: CALLS }, () => ({ genSend: key30(), srvSend: key30() })) : undefined;
  const p = spawn(process.execPath, [
    path.join(ROOT, 'dist', 'bench', 'targets', 'secure-server.js'),
    JSON.stringify({ calls: CALLS, gen, keys }),
  ]);
  p.stderr.on('data', () => {});
  const r = JSON.parse(await lines(p).next()) as { pid: number; legs: { a: number; b: number }[] };
  return {
    pid: r.pid,
    legs: r.legs.map((l, i) => ({ ...l, key: keys?.[i] })),
    async stop() {
      p.stdin.end();
      await new Promise((res) => p.once('exit', res));
    },
  };
}

function ng(sock: dgram.Socket, d: Record<string, unknown>): Promise<bencode.BDict> {
  const cookie = randomBytes(4).toString('hex');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sock.off('message', on);
      reject(new Error(`rtpengine: no reply to ${String(d.command)}`));
    }, 3000);
    const on = (m: Buffer) => {
      if (!m.subarray(0, cookie.length).equals(Buffer.from(cookie))) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(bencode.decode(m.subarray(cookie.length + 1)) as bencode.BDict);
    };
    sock.on('message', on);
    sock.send(Buffer.concat([Buffer.from(cookie + ' '), bencode.encode(d)]), NG_PORT, '127.0.0.1');
  });
}

const txt = (v: unknown) => (Buffer.isBuffer(v) ? v.toString() : String(v));
const sdp = (port: number, proto: string, extra: string[] = []) =>
  [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} ${proto} 0`,
    'a=rtpmap:0 PCMU/8000',
    ...extra,
    'a=sendrecv',
    '',
  ].join('\r\n');

async function rtpengineServer(gen: { a: number; b: number }, secure: boolean): Promise<Setup> {
  const p = spawn('/usr/bin/rtpengine', [
    '--table=-1',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${NG_PORT}`,
    // its other ports too: another rtpengine on this machine may hold the defaults
    `--listen-cli=127.0.0.1:${NG_PORT + 1}`,
    `--listen-http=127.0.0.1:${NG_PORT + 2}`,
    `--listen-tcp=127.0.0.1:${NG_PORT + 3}`,
    '--foreground',
    '--log-stderr',
    '--log-level=3',
    '--port-min=30000',
    '--port-max=40000',
    '--timeout=600',
    '--delete-delay=0',
  ]);
  p.stdout.on('data', () => {});
  p.stderr.on('data', () => {});
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  for (let i = 0; ; i++) {
    try {
      if (txt((await ng(sock, { command: 'ping' })).result) === 'pong') break;
    } catch {
      if (i > 30) throw new Error('rtpengine did not start');
    }
    await sleep(100);
  }
  const legs: Setup['legs'] = [];
  for (let i = 0; i < CALLS; i++) {
    const genSend = key30();
    const offer = await ng(sock, {
      command: 'offer',
      'call-id': `sec-${i}`,
      'from-tag': `a${i}`,
      sdp: secure
        ? sdp(gen.a, 'RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${genSend}`])
        : sdp(gen.a, 'RTP/AVP'),
      ...(secure ? { 'transport-protocol': 'RTP/AVP' } : {}),
    });
    const toB = txt(offer.sdp);
    const answer = await ng(sock, {
      command: 'answer',
      'call-id': `sec-${i}`,
      'from-tag': `a${i}`,
      'to-tag': `b${i}`,
      sdp: sdp(gen.b, 'RTP/AVP'),
    });
    const toA = txt(answer.sdp);
    const port = (s: string) => Number(/^m=audio (\d+)/m.exec(s)![1]);
    const srvSend = /a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)/.exec(toA)?.[1];
    if (secure && !srvSend) throw new Error(`rtpengine answered no AES_CM_128_HMAC_SHA1_80 key:\n${toA}`);
    legs.push({ a: port(toA), b: port(toB), key: secure ? { genSend, srvSend: srvSend! } : undefined });
  }
  return {
    pid: p.pid!,
    legs,
    async stop() {
      sock.close();
      p.kill('SIGTERM');
      await new Promise((res) => p.once('exit', res));
    },
  };
}

interface Run {
  cpuPerCall: number;
  delivery: { a: number; b: number };
  bad: number;
}

async function run(engine: 'package' | 'rtpengine', secure: boolean, genBin: string): Promise<Run> {
  const gen = spawn(genBin, []);
  gen.stderr.on('data', (d) => process.stderr.write(d));
  const out = lines(gen);
  const ports = (JSON.parse(await out.next()) as { ports: { a: number; b: number } }).ports;
  const server = engine === 'package' ? await packageServer(ports, secure) : await rtpengineServer(ports, secure);
  try {
    gen.stdin.write(`duration_ms ${SECONDS * 1000}\nwarmup_ms ${WARMUP * 1000}\n`);
    for (const l of server.legs)
      gen.stdin.write(`call ${l.a} ${l.key?.genSend ?? '-'} ${l.key?.srvSend ?? '-'} ${l.b}\n`);
    gen.stdin.write('go\n');
    await sleep(WARMUP * 1000);
    const c0 = cpuSeconds(server.pid);
    const t0 = Date.now();
    await sleep((SECONDS - WARMUP - 1) * 1000);
    const cpu = cpuSeconds(server.pid) - c0;
    const wall = (Date.now() - t0) / 1000;
    const res = JSON.parse(await out.next()) as Record<'a' | 'b', { expected: number; received: number; bad: number }>;
    return {
      cpuPerCall: (100 * cpu) / wall / CALLS,
      delivery: { a: res.a.received / res.a.expected, b: res.b.received / res.b.expected },
      bad: res.a.bad,
    };
  } finally {
    await server.stop();
    gen.kill();
  }
}

/** CPU per DTLS handshake side between pairs of our endpoints. */
async function handshakeCost(cert: DtlsCertificate, pairs = 20): Promise<number> {
  const ticker = new Ticker({ name: 'dtls-bench' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-dtls-bench-'));
  const peers: AudioPeer[] = [];
  for (let i = 0; i < pairs * 2; i++)
    peers.push(new AudioPeer({ codec: 'PCMU', payloadType: 0, recordFile: path.join(dir, `${i}.wav`) }));
  const fp = { algorithm: 'sha-256', value: cert.fingerprint() };
  const before = process.cpuUsage();
  for (let i = 0; i < pairs; i++) {
    const [c, s] = [peers[2 * i], peers[2 * i + 1]];
    c.endpoint.setRemote({ address: '127.0.0.1', port: s.port });
    s.endpoint.setRemote({ address: '127.0.0.1', port: c.port });
    c.endpoint.applySecurity({ rtcpMux: true, dtls: { certificate: cert, role: 'client', remoteFingerprint: fp } });
    s.endpoint.applySecurity({ rtcpMux: true, dtls: { certificate: cert, role: 'server', remoteFingerprint: fp } });
    c.start(ticker);
    s.start(ticker);
  }
  for (let t = 0; t < 200; t++) {
    if (peers.every((p) => p.endpoint.secureStats()?.components[0].dtls?.state === 'connected')) break;
    await sleep(50);
  }
  const used = process.cpuUsage(before);
  const connected = peers.filter((p) => p.endpoint.secureStats()?.components[0].dtls?.state === 'connected').length;
  for (const p of peers) p.close();
  ticker.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (connected !== peers.length) throw new Error(`only ${connected}/${peers.length} handshakes completed`);
  return (used.user + used.system) / 1000 / (pairs * 2);
}

function ecdsaCertificate(): DtlsCertificate | undefined {
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-ec-'));
    const key = path.join(dir, 'key.pem');
    const crt = path.join(dir, 'crt.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
    execFileSync(
      'openssl',
      ['req', '-new', '-x509', '-key', key, '-out', crt, '-days', '30', '-subj', '/CN=rms-bench'],
      { stdio: 'ignore' },
    );
    const c = DtlsCertificate.fromPem(fs.readFileSync(crt, 'utf8'), fs.readFileSync(key, 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    return c;
  } catch {
    return undefined;
  }
}

async function main() {
  const genBin = buildGenerator();
  console.log(`secure-cost: ${CALLS} relayed PCMU calls, ${SECONDS - WARMUP - 1} s measured, ${os.cpus().length} CPUs`);
  const results: Record<string, Run> = {};
  for (const engine of ['package', 'rtpengine'] as const) {
    if (engine === 'rtpengine' && !fs.existsSync('/usr/bin/rtpengine')) continue;
    for (const secure of [false, true]) {
      const r = await run(engine, secure, genBin);
      results[`${engine}/${secure ? 'sdes' : 'plain'}`] = r;
      console.log(
        `  ${engine.padEnd(9)} leg a ${secure ? 'SDES-SRTP' : 'plain    '}: ${r.cpuPerCall.toFixed(3)} % of a core per call,` +
          ` delivered a ${(100 * r.delivery.a).toFixed(1)} % b ${(100 * r.delivery.b).toFixed(1)} %, ${r.bad} failed authentication`,
      );
    }
  }
  const cost = (e: string) => results[`${e}/sdes`].cpuPerCall - results[`${e}/plain`].cpuPerCall;
  if (results['package/sdes']) console.log(`  SRTP leg, package:   +${cost('package').toFixed(3)} % per call`);
  if (results['rtpengine/sdes']) {
    console.log(`  SRTP leg, rtpengine: +${cost('rtpengine').toFixed(3)} % per call`);
    console.log(
      `  ratio package/rtpengine: secured call ${(results['package/sdes'].cpuPerCall / results['rtpengine/sdes'].cpuPerCall).toFixed(2)}, SRTP part ${(cost('package') / cost('rtpengine')).toFixed(2)}`,
    );
  }
  const rsa = await DtlsCertificate.generate('rms-bench');
  console.log(`  DTLS handshake, RSA-3072 certificate: ${(await handshakeCost(rsa)).toFixed(2)} ms CPU per side`);
  const ec = ecdsaCertificate();
  if (ec)
    console.log(`  DTLS handshake, ECDSA P-256 certificate: ${(await handshakeCost(ec)).toFixed(2)} ms CPU per side`);
  process.exit(0);
}

void main();
