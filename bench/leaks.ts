/**
 * Leak check: creates and closes many calls, with IVR play, record, DTMF and
 * transfer in the mix, and prints RSS, open file descriptors and threads as
 * it goes. Flat fds and threads and a flat RSS after warm-up mean nothing
 * leaks per call.
 *
 *   node dist/bench/leaks.js --calls 10000
 *
 * test/leaks.test.ts runs a short version of the same loop in CI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MediaLeg, MediaServer, Ticker } from '../lib';
import { tone, writeWav } from '../lib/util/wav';
import { phoneSdp } from './lib/sdp';

export interface ProcessCounts {
  rssKiB: number;
  fds: number;
  threads: number;
}

export function processCounts(): ProcessCounts {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssKiB: num('VmRSS'), fds: fs.readdirSync('/proc/self/fd').length, threads: num('Threads') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One round: a transcoded session through the MediaServer (offer, answer,
 * a little media, stop) and, every `ivrEvery` rounds, two IVR legs that play,
 * record, exchange DTMF, get bridged and closed.
 */
export async function churn(
  ms: MediaServer,
  dir: string,
  ticker: Ticker,
  rounds: number,
  onRound?: (i: number) => void,
  ivrEvery = 4,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const id = `leak-${i}`;
    ms.offer(id, phoneSdp(20000 + (i % 1000) * 2, 'PCMU'));
    ms.answer(id, phoneSdp(22000 + (i % 1000) * 2, i % 2 ? 'opus' : 'PCMA'));
    await sleep(5);
    ms.stop(id);
    if (i % ivrEvery === 0) {
      const a = new MediaLeg({
        name: 'a',
        codec: 'PCMU',
        telephoneEvent: 101,
        local: { address: '127.0.0.1' },
        ticker,
        mediaRoots: [dir],
      });
      const b = new MediaLeg({ name: 'b', codec: 'G722', local: { address: '127.0.0.1' }, ticker, mediaRoots: [dir] });
      a.setRemote({ address: '127.0.0.1', port: b.localPort });
      b.setRemote({ address: '127.0.0.1', port: a.localPort });
      // a recording never overwrites: each round writes its own file, then removes it
      const rec = b.record(`rec-${i}.wav`, { maxDurationMs: 60 });
      const play = a.play('p.wav');
      void a.sendDtmf('1', { durationMs: 40, gapMs: 0 });
      fs.rmSync((await rec).path, { force: true });
      a.bridgeWith(b);
      await sleep(5);
      a.unbridge();
      a.close();
      b.close();
      await play;
    }
    onRound?.(i);
  }
}

async function main() {
  const i = process.argv.indexOf('--calls');
  const calls = i > 0 ? Number(process.argv[i + 1]) : 10000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-leaks-'));
  writeWav(path.join(dir, 'p.wav'), tone(8000, 0.05, [500]));
  const ms = new MediaServer({ address: '127.0.0.1', ports: [42000, 42999], tickers: 2, quality: false });
  const ticker = new Ticker({ name: 'leaks' });
  const start = processCounts();
  const t0 = Date.now();
  console.log(`calls  rss_KiB  fds  threads  elapsed_s   (start: ${JSON.stringify(start)})`);
  const report = (n: number) => {
    const c = processCounts();
    console.log(
      `${String(n).padStart(5)}  ${String(c.rssKiB).padStart(7)}  ${String(c.fds).padStart(3)}  ${String(c.threads).padStart(7)}  ${((Date.now() - t0) / 1000).toFixed(0).padStart(9)}`,
    );
  };
  await churn(ms, dir, ticker, calls, (n) => {
    if ((n + 1) % Math.max(1, Math.floor(calls / 20)) === 0) report(n + 1);
  });
  ms.close();
  ticker.close();
  global.gc?.();
  await sleep(200);
  const end = processCounts();
  console.log(
    `end: ${JSON.stringify(end)}; per call: ${(((end.rssKiB - start.rssKiB) * 1024) / calls).toFixed(0)} bytes of RSS growth`,
  );
}

if (require.main === module) void main();
