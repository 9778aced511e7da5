/**
 * Out of file descriptors: binding an endpoint (or offering a call) in a
 * process at its RLIMIT_NOFILE fails with DescriptorsExhaustedError
 * (ERR_RMS_DESCRIPTORS), not a generic bind error, and the ng layer answers
 * it as this node's session limit. descriptorUsage() tells how close a
 * process is. The exhaustion runs in a child under `ulimit -n`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { errorReplyFor } from '../lib/control/ng';
import { DescriptorsExhaustedError } from '../lib/errors';
import { descriptorUsage } from '../lib/util/descriptors';

const LIB = path.resolve(__dirname, '../lib');

// Binds endpoints until the descriptors run out, then tries an offer on a
// MediaServer; prints what it saw as JSON.
const CHILD = `
const lib = require(${JSON.stringify(LIB)});
const { descriptorUsage } = require(${JSON.stringify(path.join(LIB, 'util/descriptors'))});
const errors = require(${JSON.stringify(path.join(LIB, 'errors'))});
const ms = new lib.MediaServer({ address: '127.0.0.1', ports: [34600, 34699], tickers: 1 });
const eps = [];
let first;
for (let i = 0; i < 1000 && !first; i++) {
  try { eps.push(new lib.RtpEndpoint({ address: '127.0.0.1' })); }
  catch (err) { first = err; }
}
const usage = descriptorUsage();
let offer;
try {
  ms.offer('x', 'v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\ns=-\\r\\nc=IN IP4 127.0.0.1\\r\\nt=0 0\\r\\nm=audio 5000 RTP/AVP 0\\r\\n');
} catch (err) { offer = err; }
const pick = (e) => e && { name: e.constructor.name, code: e.code, message: e.message, reason: e.reason,
  descriptors: e instanceof errors.DescriptorsExhaustedError, bind: e instanceof errors.BindError };
process.stdout.write(JSON.stringify({ bound: eps.length, first: pick(first), offer: pick(offer), usage }));
for (const e of eps) e.close();
ms.close();
`;

describe('out of file descriptors', () => {
  it('binding fails with DescriptorsExhaustedError, admission refuses the offer, and ng answers it as the session limit', () => {
    const r = spawnSync('bash', ['-c', 'ulimit -n 96 && exec "$0" -e "$1"', process.execPath, CHILD], {
      encoding: 'utf8',
      timeout: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.bound > 5 && out.bound < 48, `${out.bound} endpoints (2 sockets each) under a limit of 96`);
    assert.deepEqual(
      [out.first.code, out.first.descriptors, out.first.bind],
      ['ERR_RMS_DESCRIPTORS', true, true],
      JSON.stringify(out.first),
    );
    assert.match(out.first.message, /Too many open files \(\d+ open, limit 96\)/);
    // admission sees the descriptors run out before any bind is tried
    assert.deepEqual(
      [out.offer.code, out.offer.reason],
      ['ERR_RMS_ADMISSION', 'descriptors'],
      JSON.stringify(out.offer),
    );
    assert.equal(out.usage.limit, 96);
    assert.ok(out.usage.open >= 90 && out.usage.open <= 96, `open ${out.usage.open} at exhaustion`);
    assert.equal(out.usage.free, 96 - out.usage.open);
    assert.deepEqual(
      { ...errorReplyFor(new DescriptorsExhaustedError('x')) },
      {
        result: 'error',
        'error-reason': 'Parallel session limit reached',
      },
    );
  });

  it('descriptorUsage() counts descriptors as they open and close', async () => {
    const fs = await import('node:fs');
    const before = descriptorUsage();
    assert.ok(before.open > 0 && before.open < before.limit);
    const fds = Array.from({ length: 10 }, () => fs.openSync(__filename, 'r'));
    assert.equal(descriptorUsage().open, before.open + 10);
    for (const fd of fds) fs.closeSync(fd);
    assert.equal(descriptorUsage().open, before.open);
  });
});
