/**
 * Soak: a bounded run with call churn, reporting over time RSS, file
 * descriptors, threads, late ticks and packet delivery. Calls go through a
 * MediaServer (offer/answer, transcoded between random codec pairs); the
 * phones are CallLegs on tickers of their own that loop a tone. Each call
 * lasts 10-40 s and is replaced when it ends, keeping `--calls` up.
 *
 *   node dist/bench/soak.js --minutes 30 --calls 20
 *
 * Prints one line a minute and a summary; stops by itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MediaLeg, MediaServer, Ticker } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { tone, writeWav } from '../lib/util/wav';
import { processCounts } from './leaks';
import { phoneSdp } from './lib/sdp';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const CODECS = [{ name: 'PCMU' }, { name: 'PCMA' }, { name: 'G722' }, { name: 'opus' }] as const;

interface Call {
  id: string;
  a: MediaLeg;
  b: MediaLeg;
  endsAt: number;
}

async function main() {
  const minutes = arg('minutes', 30);
  const target = arg('calls', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-soak-'));
  writeWav(path.join(dir, 't.wav'), tone(16000, 5, [700]));
  const ms = new MediaServer({ address: '127.0.0.1', ports: [46000, 47999], tickers: 2, quality: false });
  const phones = [new Ticker({ name: 'soak-phones-0' }), new Ticker({ name: 'soak-phones-1' })];
  const calls = new Map<string, Call>();
  let made = 0;
  let ended = 0;
  let sentTotal = 0;
  let recvTotal = 0;
  const t0 = Date.now();
  const stopAt = t0 + minutes * 60_000;
  const start = processCounts();

  const place = () => {
    const id = `soak-${made++}`;
    const ca = CODECS[made % CODECS.length];
    const cb = CODECS[(made * 7 + 1) % CODECS.length];
    const ticker = phones[made % 2];
    const a = new MediaLeg({
      name: `${id}-a`,
      codec: ca.name,
      telephoneEvent: 101,
      local: { address: '127.0.0.1' },
      ticker,
      mediaRoots: [dir],
    });
    const b = new MediaLeg({
      name: `${id}-b`,
      codec: cb.name,
      telephoneEvent: 101,
      local: { address: '127.0.0.1' },
      ticker,
      mediaRoots: [dir],
    });
    const s = ms.offer(id, phoneSdp(a.localPort, ca.name));
    const offer = parseSdp(s.offerSdp).audio!;
    const fmt = offer.formats.find((f) => f.name.toLowerCase() === cb.name.toLowerCase())!;
    const answer = parseSdp(ms.answer(id, phoneSdp(b.localPort, cb.name, { pt: fmt.pt }))).audio!;
    a.setRemote({ address: '127.0.0.1', port: answer.port });
    b.setRemote({ address: '127.0.0.1', port: offer.port });
    void a.play('t.wav', { loop: true });
    void b.play('t.wav', { loop: true });
    calls.set(id, { id, a, b, endsAt: Date.now() + 10_000 + Math.random() * 30_000 });
  };

  const end = (c: Call) => {
    const sa = c.a.endpoint.stats();
    const sb = c.b.endpoint.stats();
    sentTotal += sa.packetsSent + sb.packetsSent;
    recvTotal += sa.packetsReceived + sb.packetsReceived;
    ms.stop(c.id);
    c.a.close();
    c.b.close();
    calls.delete(c.id);
    ended++;
  };

  const lateBefore = () => ms.tickers.tickers.reduce((n, t) => n + t.stats().lateTicks, 0);
  let lastLate = lateBefore();
  let lastSent = 0;
  let lastRecv = 0;
  console.log(
    `minute  calls  done  rss_MiB  fds  threads  late_ticks  max_late_ms  delivery  (start ${JSON.stringify(start)})`,
  );
  let minute = 0;
  while (Date.now() < stopAt) {
    while (calls.size < target) place();
    const now = Date.now();
    for (const c of [...calls.values()]) if (c.endsAt <= now) end(c);
    await new Promise((r) => setTimeout(r, 250));
    if (Date.now() - t0 >= (minute + 1) * 60_000) {
      minute++;
      const p = processCounts();
      const late = lateBefore();
      const maxLate = Math.max(...ms.tickers.tickers.map((t) => t.stats().maxLateMs));
      const dSent = sentTotal - lastSent;
      const dRecv = recvTotal - lastRecv;
      lastSent = sentTotal;
      lastRecv = recvTotal;
      console.log(
        `${String(minute).padStart(6)}  ${String(calls.size).padStart(5)}  ${String(ended).padStart(4)}  ${(p.rssKiB / 1024).toFixed(1).padStart(7)}  ${String(p.fds).padStart(3)}  ${String(p.threads).padStart(7)}  ${String(late - lastLate).padStart(10)}  ${maxLate.toFixed(1).padStart(11)}  ${dSent ? ((100 * dRecv) / dSent).toFixed(2) + ' %' : '-'}`,
      );
      lastLate = late;
    }
  }
  for (const c of [...calls.values()]) end(c);
  ms.close();
  for (const t of phones) t.close();
  const p = processCounts();
  console.log(
    `summary: ${made} calls in ${minutes} min, delivery ${((100 * recvTotal) / Math.max(1, sentTotal)).toFixed(2)} % of ${sentTotal} packets (phone to phone, both ways, through the server), end ${JSON.stringify(p)}`,
  );
}

void main();
