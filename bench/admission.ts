/**
 * Admission control under overload: calls (PCMU <-> Opus, transcoded) are
 * offered one after another to a MediaServer whose admission limit is a
 * ticker load; once it refuses, 20 % more calls than it admitted are offered
 * on top. Prints how many were admitted and refused, and the delivery of the
 * admitted calls (packets their far ends received over packets sent) while
 * the extra offers came in. Phones are CallLegs on tickers of their own.
 *
 *   node dist/bench/admission.js [--max-load 50] [--seconds 20]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdmissionError, MediaLeg, MediaServer, Ticker } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { tone, writeWav } from '../lib/util/wav';
import { phoneSdp } from './lib/sdp';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const maxLoad = arg('max-load', 50);
  const seconds = arg('seconds', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-adm-'));
  writeWav(path.join(dir, 't.wav'), tone(16000, 5, [700]));
  const ms = new MediaServer({
    address: '127.0.0.1',
    ports: [48000, 49999],
    tickers: 2,
    quality: false,
    admission: { maxTickerLoad: maxLoad },
  });
  const phones = [new Ticker({ name: 'adm-phones-0' }), new Ticker({ name: 'adm-phones-1' })];
  const calls: { a: MediaLeg; b: MediaLeg }[] = [];
  let refused = 0;
  let n = 0;
  const place = (): boolean => {
    const id = `adm-${n++}`;
    const t = phones[n % 2];
    const a = new MediaLeg({
      name: `${id}a`,
      codec: 'PCMU',
      local: { address: '127.0.0.1' },
      ticker: t,
      mediaRoots: [dir],
    });
    let s;
    try {
      s = ms.offer(id, phoneSdp(a.localPort, 'PCMU', { te: false }));
    } catch (err) {
      a.close();
      if (err instanceof AdmissionError) return false;
      throw err;
    }
    const offer = parseSdp(s.offerSdp).audio!;
    const pt = offer.formats.find((f) => f.name === 'opus')!.pt;
    const b = new MediaLeg({
      name: `${id}b`,
      codec: 'opus',
      payloadType: pt,
      opus: { complexity: 0 },
      local: { address: '127.0.0.1' },
      ticker: t,
      mediaRoots: [dir],
    });
    const ans = parseSdp(ms.answer(id, phoneSdp(b.localPort, 'opus', { pt, te: false }))).audio!;
    a.setRemote({ address: '127.0.0.1', port: ans.port });
    b.setRemote({ address: '127.0.0.1', port: offer.port });
    void a.play('t.wav', { loop: true });
    void b.play('t.wav', { loop: true });
    calls.push({ a, b });
    return true;
  };
  // ramp until the first refusal (load is smoothed: give each call 400 ms)
  while (place()) await sleep(400);
  refused++;
  const admittedAtLimit = calls.length;
  const snapshot = () =>
    calls.map((c) => ({
      sa: c.a.endpoint.stats().packetsSent,
      sb: c.b.endpoint.stats().packetsSent,
      ra: c.a.endpoint.stats().packetsReceived,
      rb: c.b.endpoint.stats().packetsReceived,
    }));
  await sleep(2000);
  const before = snapshot();
  // 20 % more offers, spread over the measurement window
  const extra = Math.ceil(admittedAtLimit * 0.2);
  for (let i = 0; i < extra; i++) {
    if (!place()) refused++;
    await sleep((seconds * 1000) / extra);
  }
  const after = snapshot();
  let sent = 0;
  let got = 0;
  for (let i = 0; i < before.length; i++) {
    sent += after[i].sa - before[i].sa + (after[i].sb - before[i].sb);
    got += after[i].rb - before[i].rb + (after[i].ra - before[i].ra);
  }
  const loads = ms.tickers.tickers.map((t) => t.stats());
  console.log(
    `limit: mean ticker load ${maxLoad} %; admitted ${admittedAtLimit} calls, then ${extra} more offered (120 %): ${calls.length - admittedAtLimit} admitted, ${refused - 1} refused (+1 at the limit)`,
  );
  console.log(
    `ticker load now ${loads.map((l) => l.load.toFixed(0) + ' %').join(', ')}; late ticks ${loads.map((l) => l.lateTicks).join(', ')}`,
  );
  console.log(
    `delivery of the calls admitted at the limit over ${seconds} s of overload: ${((100 * got) / Math.max(1, sent)).toFixed(2)} % (${got} of ${sent} packets, both directions)`,
  );
  for (const c of calls) {
    c.a.close();
    c.b.close();
  }
  ms.close();
  for (const t of phones) t.close();
}

void main();
