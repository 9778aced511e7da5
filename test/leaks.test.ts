/**
 * The short CI version of bench/leaks.ts: calls (sessions through the
 * MediaServer, IVR legs with play, record, DTMF and a bridge) are created and
 * closed; afterwards the process has the same file descriptors and threads as
 * before (RSS is printed, not asserted: the allocator keeps what it freed).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MediaServer, Ticker } from '../lib';
import { tone, writeWav } from '../lib/util/wav';
import { churn, processCounts } from '../bench/leaks';
import { tmpDir } from './helpers/call';
import { mediaPorts } from './helpers/ports';

describe('no leaks', () => {
  it('200 calls and 50 IVR exchanges leave fds, threads and ports where they were', async () => {
    const dir = tmpDir('rms-leaks-');
    writeWav(path.join(dir, 'p.wav'), tone(8000, 0.05, [500]));
    const ticker = new Ticker({ name: 'leaks' });
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(1000), tickers: 2, quality: false });
    try {
      // warm-up: first use of tickers, codecs and the TSFN machinery
      await churn(ms, dir, ticker, 8);
      await new Promise((r) => setTimeout(r, 200));
      const before = processCounts();
      await churn(ms, dir, ticker, 200);
      await new Promise((r) => setTimeout(r, 300));
      const after = processCounts();
      console.log(`# before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
      assert.equal(ms.ports.inUse, 0);
      assert.deepEqual(ms.sessions(), []);
      assert.ok(after.fds <= before.fds, `fds ${before.fds} -> ${after.fds}`);
      assert.ok(after.threads <= before.threads, `threads ${before.threads} -> ${after.threads}`);
    } finally {
      ms.close();
      ticker.close();
    }
  });
});
