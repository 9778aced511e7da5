import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaServer } from '../lib';
import { TickerPool } from '../lib/session/TickerPool';
import { parseSdp } from '../lib/sdp/parse';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';

describe('TickerPool: calls placed by expected cost', () => {
  it('MediaServer tickIntervalMs reaches every ticker of the pool', () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(101), tickers: 2, tickIntervalMs: 20 });
    try {
      assert.deepEqual(
        ms.tickers.tickers.map((t) => t.stats().intervalMs),
        [20, 20],
      );
    } finally {
      ms.close();
    }
    const d = new TickerPool(1);
    try {
      assert.equal(d.tickers[0].stats().intervalMs, 10);
    } finally {
      d.close();
    }
  });

  it('alike calls alternate; costly ones are balanced by cost, not by count', () => {
    const pool = new TickerPool(2);
    try {
      // idle tickers tie: which one comes first depends on measured load
      const x = pool.acquire();
      const y = pool.acquire();
      assert.notEqual(x, y);
      pool.acquire();
      assert.deepEqual([...pool.callsPerTicker()].sort(), [1, 2]);
      for (const t of pool.tickers) while (pool.callsPerTicker()[pool.tickers.indexOf(t)] > 0) pool.release(t);
      assert.deepEqual(pool.costPerTicker(), [0, 0]);
      // one Opus call weighs as much as several relayed ones
      const o = pool.acquire(90);
      const r = pool.tickers.find((t) => t !== o)!;
      const at = (t: typeof o) => pool.tickers.indexOf(t);
      for (let i = 0; i < 4; i++) assert.equal(pool.acquire(20), r);
      assert.equal(pool.costPerTicker()[at(o)], 90);
      assert.equal(pool.costPerTicker()[at(r)], 80);
      assert.equal(pool.acquire(20), r);
      assert.equal(pool.acquire(20), o);
      assert.equal(pool.callsPerTicker()[at(o)], 2);
      assert.equal(pool.callsPerTicker()[at(r)], 5);
      pool.release(r, 20);
      assert.equal(pool.costPerTicker()[at(r)], 80);
      // a re-INVITE from relay to transcoding
      pool.reweigh(r, 20, 90);
      assert.equal(pool.costPerTicker()[at(r)], 150);
      assert.throws(() => pool.acquire(-1), RangeError);
      assert.throws(() => pool.acquire(Number.NaN), RangeError);
    } finally {
      pool.close();
    }
  });

  it('an empty ticker is exactly idle again, whatever the float sums did', () => {
    const pool = new TickerPool(1);
    try {
      const [t] = pool.tickers;
      pool.acquire(0.1);
      pool.acquire(0.2);
      pool.release(t, 0.1);
      pool.release(t, 0.2);
      assert.deepEqual(pool.costPerTicker(), [0]);
      pool.release(t, 5); // more releases than calls change nothing
      assert.deepEqual(pool.callsPerTicker(), [0]);
    } finally {
      pool.close();
    }
  });

  it('MediaServer puts relayed calls beside a transcoded one, and IVR legs give their share back', () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 2, quality: false });
    try {
      const call = (id: string, codecB: 'PCMU' | 'opus') => {
        const s = ms.offer(id, phoneSdp({ port: 4000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
        const pt = parseSdp(s.offerSdp).audio!.formats.find((f) => f.name === codecB)!.pt;
        ms.answer(
          id,
          phoneSdp({
            port: 5000,
            codecs: [
              { pt, name: codecB, rate: codecB === 'opus' ? 48000 : 8000, channels: codecB === 'opus' ? 2 : undefined },
            ],
          }),
        );
        return s;
      };
      const opus = call('t-opus', 'opus');
      assert.equal(opus.relay, false);
      const relays = [1, 2, 3].map((i) => call(`t-relay-${i}`, 'PCMU'));
      assert.ok(relays.every((s) => s.relay));
      // by count the third relay would go beside the Opus call; by cost all three fit on the other ticker
      const withOpus = ms.tickers.tickers.indexOf(opus.a.ticker);
      assert.deepEqual(ms.tickers.callsPerTicker()[withOpus], 1);
      assert.ok(relays.every((s) => s.a.ticker !== opus.a.ticker));
      const costs = ms.tickers.costPerTicker();
      assert.ok(costs[withOpus] > costs[1 - withOpus], `costs ${costs}`);
      for (const s of [opus, ...relays]) s.stop();
      assert.deepEqual(ms.tickers.costPerTicker(), [0, 0]);
      const ivr = ms.ivr('t-ivr', phoneSdp({ port: 4002, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
      assert.ok(ms.tickers.costPerTicker().some((c) => c > 0));
      ivr.leg.close();
      assert.deepEqual(ms.tickers.costPerTicker(), [0, 0]);
      assert.deepEqual(ms.tickers.callsPerTicker(), [0, 0]);
    } finally {
      ms.close();
    }
  });
});
