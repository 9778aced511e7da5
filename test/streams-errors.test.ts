/**
 * Audio streams refuse bad input with typed errors before anything is
 * built, refuse what their host cannot run (a conference seat, a second
 * injection, a ninth fork), and stay bounded against a WebSocket peer that
 * sends garbage, oversized messages, more audio than fits or endless marks:
 * counted or refused, and the call's media goes on.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Conference, InvalidArgumentError, InvalidStateError, MediaLeg } from '../lib';
import { bestLag, hoppingTones, rtpPhone } from './helpers/rtpPhone';
import { sleep, waitFor } from './helpers/wait';
import { wsBot } from './helpers/wsBot';

const local = { address: '127.0.0.1' };
const cleanup: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function leg(name = 'caller', remotePort = 9) {
  const l = new MediaLeg({ name, codec: 'PCMU', local, remote: { address: '127.0.0.1', port: remotePort } });
  cleanup.push(() => l.close());
  return l;
}

describe('audio streams: bad input and limits', () => {
  it('refuses bad fork and injection options with InvalidArgumentError, building nothing', () => {
    const l = leg();
    const url = 'ws://127.0.0.1:9/x';
    const bad: unknown[] = [
      undefined,
      {},
      { url, stream: true },
      { url: 'http://127.0.0.1/' },
      { url: 'ws://' },
      { url, direction: 'sideways' },
      { url, format: 'G729' },
      { url, format: 'PCMU', rate: 16000 },
      { url, rate: 11025 },
      { url, stereo: true },
      { url, frameMs: 15 },
      { url, format: 'opus', frameMs: 30 },
      { stream: true, inject: true },
      { url, metadata: 'x' },
      { url, headers: { a: 1 } },
      { url, queueMs: 10 },
      { url, reconnect: { minDelayMs: 1 } },
      { url, inject: { format: 'opus' } },
      { url, inject: { mode: 'duck' } },
      { url, inject: { jitterMs: 5000 } },
      { url, inject: { bargeIn: { voice: 'yes' } } },
    ];
    for (const o of bad)
      assert.throws(
        () => l.fork(o as never),
        (e: unknown) => e instanceof InvalidArgumentError && e.code === 'ERR_RMS_INVALID_ARGUMENT',
        JSON.stringify(o),
      );
    assert.throws(() => l.inject({ format: 'PCMU', rate: 16000 }), InvalidArgumentError);
    assert.throws(() => l.detectVoice({ hangoverMs: 1 }), InvalidArgumentError);
    // nothing was built: the leg's graph has no stream filters, and one inject still fits
    const inj = l.inject();
    inj.close();
  });

  it('refuses what the host cannot run', () => {
    const noMedia = new MediaLeg({ name: 'early', local });
    cleanup.push(() => noMedia.close());
    assert.throws(() => noMedia.fork({ stream: true }), InvalidStateError);
    const l = leg();
    const first = l.inject();
    assert.throws(() => l.inject(), InvalidStateError, 'one injection per leg');
    first.close();
    l.inject().close();
    const forks = Array.from({ length: 8 }, () => l.fork({ stream: true }));
    assert.throws(() => l.fork({ stream: true }), InvalidStateError, 'eight forks at most');
    for (const f of forks) f.stop();
    // a conference seat runs no streams
    const conf = new Conference({});
    cleanup.push(() => conf.close());
    const f = l.fork({ stream: true });
    assert.throws(() => conf.join(l), InvalidStateError, 'a leg with a fork is not seated');
    f.stop();
    conf.join(l);
    assert.equal(l.mode, 'conference');
    assert.throws(() => l.fork({ stream: true }), InvalidStateError);
    assert.throws(() => l.inject(), InvalidStateError);
    l.toAlone();
    l.fork({ stream: true }).stop();
  });

  it('stays bounded against a peer that sends garbage, oversized messages, too much audio, endless marks', async () => {
    const pa = await rtpPhone();
    const pb = await rtpPhone();
    cleanup.push(() => {
      pa.close();
      pb.close();
    });
    const a = leg('caller', pa.port);
    const b = leg('callee', pb.port);
    a.bridgeWith(b);
    const w = await wsBot();
    cleanup.push(() => w.close());
    const fork = a.fork({ url: w.url, inject: { bufferMs: 1000 }, reconnect: { minDelayMs: 50 } });
    await waitFor(() => w.connections[0]?.events.length);
    const c = w.connections[0];
    const playing = pa.play(hoppingTones(3), { address: '127.0.0.1', port: a.localPort });
    c.ws.send('not json');
    c.ws.send('[1,2]');
    c.json({ event: 'nonsense' });
    for (let i = 0; i < 300; i++) c.json({ event: 'mark', name: `m${i}` });
    c.send(Buffer.alloc(16000 * 2 * 10)); // 10 s of 16 kHz: ten times the queue
    await waitFor(() => c.events.some((e) => e.msg.event === 'error'), { what: 'the refusal of a mark' });
    const st = fork.inject!.stats();
    assert.ok(st.queuedMs <= 1000 && st.overflowMs >= 8900, JSON.stringify(st));
    assert.ok(st.pendingMarks <= 256);
    c.ws.send(Buffer.alloc(2 * 1024 * 1024)); // over the 1 MiB message limit: the connection goes
    await waitFor(() => w.connections[1]?.events.length, { what: 'the reconnection' });
    await playing;
    await sleep(100);
    // the call's own media went on
    assert.ok(bestLag(hoppingTones(3).subarray(8000, 12000), pb.received().samples, 8000).corr > 0.99);
    fork.stop();
  });
});
