/**
 * Faults a media server must survive: a listener that throws, close() from
 * inside a callback, closing the server with live calls and IVR legs. No
 * crash, no hang, ports back in the pool.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, MediaServer, Ticker } from '../lib';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

let root: string;
let ticker: Ticker;

before(() => {
  root = tmpDir('rms-faults-');
  ticker = new Ticker({ name: 'faults' });
  writeWav(path.join(root, 'tone.wav'), tone(8000, 3, [700]));
});
after(() => ticker.close());

function pair() {
  const mk = (name: string) =>
    new MediaLeg({
      name,
      codec: 'PCMU',
      telephoneEvent: 101,
      local: { address: '127.0.0.1' },
      ticker,
      mediaRoots: [root],
    });
  const s = mk('s');
  const p = mk('p');
  s.setRemote({ address: '127.0.0.1', port: p.localPort });
  p.setRemote({ address: '127.0.0.1', port: s.localPort });
  return { s, p };
}

describe('fault survival', () => {
  it('a dtmf listener that throws goes to the listenererror event; later digits still arrive', async () => {
    const { s, p } = pair();
    try {
      const errors: unknown[] = [];
      const digits: string[] = [];
      s.on('listenererror', (_event, e) => errors.push(e));
      s.on('dtmf', (d) => {
        digits.push(d.digit);
        if (d.digit === '1') throw new Error('listener bug');
      });
      await sleep(100);
      await p.sendDtmf('12');
      await sleep(200);
      assert.deepEqual(digits, ['1', '2']);
      assert.equal(errors.length, 1);
      assert.match(String(errors[0]), /listener bug/);
    } finally {
      s.close();
      p.close();
    }
  });

  it('close() from inside a dtmf callback ends play and collect with "closed"', async () => {
    const { s, p } = pair();
    try {
      s.on('dtmf', () => s.close());
      const play = s.play('tone.wav', { loop: true });
      const rec = s.record('faults-rec.wav');
      await sleep(200);
      void p.sendDtmf('5');
      const [pr, rr] = await Promise.all([play, rec]);
      assert.equal(pr.reason, 'closed');
      assert.equal(rr.reason, 'closed');
      assert.ok(s.closed);
      await assert.rejects(s.play('tone.wav'), /closed/);
    } finally {
      s.close();
      p.close();
    }
  });

  it('closing the MediaServer with live sessions and IVR legs frees every port', async () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 2 });
    const sessions = [];
    for (let i = 0; i < 3; i++) {
      sessions.push(
        ms.offer(`live-${i}`, phoneSdp({ port: 4000 + i * 2, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] })),
      );
      ms.answer(`live-${i}`, phoneSdp({ port: 5000 + i * 2, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }] }));
    }
    const ivr = ms.ivr('ivr-1', phoneSdp({ port: 6000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }), {
      mediaRoots: [root],
    });
    const playing = ivr.leg.play('tone.wav', { loop: true });
    await sleep(300);
    assert.equal(ms.ports.inUse, 7);
    ms.close();
    assert.equal(ms.ports.inUse, 0);
    assert.equal((await playing).reason, 'closed');
    assert.ok(sessions.every((s) => s.state === 'stopped'));
    ms.close(); // idempotent
  });

  it('an IVR leg whose bridge peer closes goes back to IVR and keeps working', async () => {
    const { s, p } = pair();
    const other = new MediaLeg({
      name: 'o',
      codec: 'PCMA',
      local: { address: '127.0.0.1' },
      ticker,
      mediaRoots: [root],
    });
    try {
      s.bridgeWith(other);
      other.close();
      assert.equal(s.mode, 'alone');
      const rec = p.record('after-peer-closed.wav', { maxDurationMs: 600 });
      const r = await s.play('tone.wav', { maxDurationMs: 500 });
      assert.equal(r.reason, 'max-duration');
      assert.ok((await rec).durationMs > 300, 'the phone heard the prompt after the bridge ended');
    } finally {
      s.close();
      p.close();
      other.close();
    }
  });
});
