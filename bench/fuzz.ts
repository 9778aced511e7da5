/**
 * Long fuzz runs of every parser that takes outside input: SDP (through
 * MediaServer.offer, so ports are checked too), ng control messages
 * (bencode + request model), RFC 6035 bodies, IVR flow documents. Each case
 * is a seeded mutation of a valid seed; a case must be accepted or refused
 * with the parser's typed error. Prints cases, refusals, the slowest case
 * and any finding (with the input, to keep as a regression case).
 *
 *   node dist/bench/fuzz.js [--cases 50000] [--seed 1]
 *
 * The test suite runs smaller seeded versions of the same (sdp, ng-protocol,
 * quality-report, ivr-flow tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MediaServer, RmsError, formatVqReport, parseVqReport, validateFlow } from '../lib';
import { FlowError, BencodeError, ControlProtocolError } from '../lib/errors';
import { VqReportError } from '../lib/quality/vq/model';
import * as ng from '../lib/control/ng';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s * 1103515245 + 12345) & 0x7fffffff;
    return this.s / 0x7fffffff;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)];
  }
}

const TOKENS = [
  '0',
  '-1',
  '4294967296',
  '',
  ' ',
  '\r\n',
  ':',
  '=',
  '/',
  'RTP/AVP',
  'IN IP6 ::1',
  'a=',
  'x'.repeat(3000),
  '\u0000',
  'é',
  '999999999999',
];

function mutateText(r: Rng, s: string): string {
  const ops = r.int(1, 4);
  for (let k = 0; k < ops; k++) {
    const at = r.int(0, s.length);
    const op = r.int(0, 5);
    if (op === 0) s = s.slice(0, at) + s.slice(at + r.int(1, 20));
    else if (op === 1) s = s.slice(0, at) + r.pick(TOKENS) + s.slice(at);
    else if (op === 2) s = s.slice(0, at);
    else if (op === 3) {
      const lines = s.split('\n');
      const i = r.int(0, lines.length - 1);
      lines.splice(r.int(0, lines.length), 0, lines[i]);
      s = lines.join('\n');
    } else if (op === 4) s = s.slice(0, at) + String.fromCharCode(r.int(0, 255)) + s.slice(at + 1);
    else {
      const lines = s.split('\n');
      lines.splice(r.int(0, lines.length - 1), 1);
      s = lines.join('\n');
    }
  }
  return s;
}

function mutateBytes(r: Rng, b: Buffer): Buffer {
  const ops = r.int(1, 4);
  let x: Buffer = Buffer.from(b);
  for (let k = 0; k < ops; k++) {
    const at = r.int(0, x.length);
    const op = r.int(0, 3);
    if (op === 0 && x.length) x[Math.min(at, x.length - 1)] = r.int(0, 255);
    else if (op === 1) {
      const tok = Buffer.from(r.pick(['i', 'e', 'l', 'd', '9:', '0:', '-', 'i-0e', ':']));
      x = Buffer.concat([x.subarray(0, at), tok, x.subarray(at)]);
    } else if (op === 2) x = x.subarray(0, at);
    else x = Buffer.concat([x.subarray(0, at), x.subarray(at + r.int(1, 8))]);
  }
  return x;
}

interface Result {
  name: string;
  cases: number;
  refused: number;
  findings: { input: string; error: string }[];
  slowestMs: number;
}

function run(
  name: string,
  cases: number,
  seed: number,
  gen: (r: Rng) => string | Buffer,
  check: (input: any) => void,
  typed: (e: unknown) => boolean,
): Result {
  const r = new Rng(seed);
  const res: Result = { name, cases, refused: 0, findings: [], slowestMs: 0 };
  for (let i = 0; i < cases; i++) {
    const input = gen(r);
    const t = process.hrtime.bigint();
    try {
      check(input);
    } catch (e) {
      if (typed(e)) res.refused++;
      else if (res.findings.length < 10)
        res.findings.push({
          input: Buffer.isBuffer(input) ? input.toString('base64') : JSON.stringify(input),
          error: String((e as Error)?.stack ?? e),
        });
    }
    res.slowestMs = Math.max(res.slowestMs, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return res;
}

function main() {
  const cases = arg('cases', 50000);
  const seed = arg('seed', 1);
  const root = path.join(__dirname, '..', '..');
  const sdpSeeds = fs
    .readdirSync(path.join(root, 'test', 'sdp-corpus'))
    .map((f) => fs.readFileSync(path.join(root, 'test', 'sdp-corpus', f), 'utf8'));
  const ngSeeds = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'ng', 'kamailio-5.6.3.json'), 'utf8'));
  const ngMessages: Buffer[] = [];
  const collect = (v: unknown) => {
    if (typeof v === 'string' && /^\S+ d/.test(v)) ngMessages.push(Buffer.from(v, 'latin1'));
    else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
  };
  collect(ngSeeds);
  if (!ngMessages.length) ngMessages.push(Buffer.from('1 d7:command4:pinge'));
  const vqSeed = fs.readFileSync(path.join(root, 'test', 'fixtures', 'rfc6035-session-report.txt'), 'utf8');
  const flowSeed = fs.readFileSync(path.join(root, 'examples', 'flows', 'voicemail.json'), 'utf8');

  const ms = new MediaServer({ address: '127.0.0.1', ports: [43000, 43999], tickers: 1, quality: false });
  const results: Result[] = [];
  let n = 0;
  results.push(
    run(
      'SDP via MediaServer.offer',
      cases,
      seed,
      (r) => mutateText(r, r.pick(sdpSeeds)),
      (text: string) => {
        ms.offer(`fuzz-${n++}`, text).stop();
      },
      (e) => e instanceof RmsError,
    ),
  );
  if (ms.ports.inUse !== 0) console.log(`!! SDP fuzz leaked ${ms.ports.inUse} ports`);
  ms.close();
  results.push(
    run(
      'ng request (bencode + model)',
      cases,
      seed,
      (r) => mutateBytes(r, r.pick(ngMessages)),
      (b: Buffer) => {
        ng.parseRequest(b);
      },
      (e) => e instanceof ControlProtocolError || e instanceof BencodeError,
    ),
  );
  results.push(
    run(
      'RFC 6035 body',
      cases,
      seed,
      (r) => mutateText(r, vqSeed),
      (text: string) => {
        formatVqReport(parseVqReport(text));
      },
      (e) => e instanceof VqReportError,
    ),
  );
  results.push(
    run(
      'IVR flow (JSON)',
      cases,
      seed,
      (r) => mutateText(r, flowSeed),
      (text: string) => {
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          return; // not JSON: loadFlow turns this into a FlowError
        }
        validateFlow(doc);
      },
      (e) => e instanceof FlowError,
    ),
  );
  console.log('parser                        cases  refused  findings  slowest_ms');
  for (const r of results)
    console.log(
      `${r.name.padEnd(28)} ${String(r.cases).padStart(6)}  ${String(r.refused).padStart(7)}  ${String(r.findings.length).padStart(8)}  ${r.slowestMs.toFixed(2).padStart(10)}`,
    );
  for (const r of results)
    for (const f of r.findings)
      console.log(`FINDING ${r.name}: ${f.error.split('\n')[0]}\n  input: ${f.input.slice(0, 300)}`);
  process.exitCode = results.some((r) => r.findings.length) ? 1 : 0;
}

main();
