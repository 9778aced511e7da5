/**
 * Forks of a call's audio to a WebSocket (a `ws` server standing in for a
 * speech recogniser), over real UDP RTP from phones in this process: the
 * start metadata, sample rate and format, content (correlated with what the
 * phone sent), timing (frame arrival against the send time of the RTP packet
 * that carried its last sample: reported, bounded generously), stereo and
 * mixed forks of both directions, PCMU and Opus frames, a consumer that
 * stops reading (frames dropped and counted while the call's media is
 * delivered), reconnection, and the stop message at the end of the call.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MediaLeg, MediaServer } from '../lib';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { bestLag, hoppingTones, resample, rtpPhone } from './helpers/rtpPhone';
import { sleep, waitFor } from './helpers/wait';
import { pcmOf, percentiles, wsBot, type WsBot } from './helpers/wsBot';
import { ulawToLinear } from './peers/pcap';

const local = { address: '127.0.0.1' };
const cleanup: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Two PCMU legs, each with a phone, bridged (relayed: same codec). */
async function call(opts: { codecB?: string } = {}) {
  const pa = await rtpPhone();
  const pb = await rtpPhone(opts.codecB === 'PCMA' ? 'PCMA' : 'PCMU');
  const a = new MediaLeg({ name: 'caller', codec: 'PCMU', local, remote: { address: '127.0.0.1', port: pa.port } });
  const b = new MediaLeg({
    name: 'callee',
    codec: opts.codecB ?? 'PCMU',
    local,
    remote: { address: '127.0.0.1', port: pb.port },
  });
  const bridge = a.bridgeWith(b);
  cleanup.push(() => {
    a.close();
    b.close();
    pa.close();
    pb.close();
  });
  return { a, b, pa, pb, bridge };
}

async function bot(): Promise<WsBot> {
  const w = await wsBot();
  cleanup.push(() => w.close());
  return w;
}

const to = (leg: MediaLeg) => ({ address: '127.0.0.1', port: leg.localPort });

describe('audio forks', () => {
  it('sends a relayed leg decoded: metadata, L16 16 kHz frames, content and timing', async (t) => {
    const { a, b, pa, pb, bridge } = await call();
    assert.equal(bridge.relayed, true);
    const w = await bot();
    const fork = a.fork({ url: w.url, call: 'call-1', metadata: { tenant: 'x' }, rate: 16000 });
    await waitFor(() => w.connections[0]?.events.length, { what: 'the start message' });
    const sig = hoppingTones(3);
    const other = hoppingTones(3, 8000, 0.3, 99);
    await Promise.all([pa.play(sig, to(a)), pb.play(other, to(b))]);
    await sleep(200);
    const c = w.connections[0];
    const start = c.events[0].msg;
    assert.equal(start.event, 'start');
    assert.deepEqual(
      [start.call, start.leg, start.direction, start.format, start.rate, start.channels, start.frameMs],
      ['call-1', 'caller', 'in', 'L16', 16000, 1, 20],
    );
    assert.deepEqual(start.metadata, { tenant: 'x' });
    assert.ok(
      c.frames.every((f) => f.data.length === 640),
      'every frame is 20 ms of 16-bit 16 kHz mono',
    );
    assert.ok(c.frames.length >= 140 && c.frames.length <= 152, `${c.frames.length} frames for 3 s`);
    // content: the fork is what the phone sent (through G.711)
    const got = pcmOf(c.frames);
    const ref = resample(sig.subarray(4000, 12000), 8000, 16000);
    const { lag, corr } = bestLag(ref, got, 16000 + 8000);
    assert.ok(corr > 0.95, `correlation ${corr.toFixed(3)}`);
    // timing: each frame against the RTP packet carrying its last sample
    const startLag = lag - 8000; // the fork sample of source sample 0 (ref starts at source sample 4000)
    const lat: number[] = [];
    c.frames.forEach((f, i) => {
      const src = Math.floor(((i + 1) * 320 - 1 - startLag) / 2);
      const pkt = pa.sent[Math.floor(src / 160)];
      if (pkt && src >= 0) lat.push(f.at - pkt.at);
    });
    const p = percentiles(lat);
    t.diagnostic(
      `fork latency (frame arrival - RTP send): p50 ${p.p50} ms, p95 ${p.p95} ms, max ${p.max} ms over ${p.n}`,
    );
    assert.ok(p.p95 < 200, `p95 ${p.p95} ms`);
    // the call itself: B heard A
    const heard = pb.received().samples;
    assert.ok(bestLag(sig.subarray(4000, 8000), heard, 8000).corr > 0.99);
    assert.equal(fork.stats().nativeDroppedFrames + fork.stats().queueDroppedFrames, 0);
    fork.stop();
    await waitFor(() => c.closed, { what: 'the close' });
    const stop = c.events.at(-1)!.msg;
    assert.equal(stop.event, 'stop');
    assert.equal(stop.reason, 'stopped');
    assert.equal(stop.stats.framesSent, c.frames.length);
  });

  it('forks both directions as a stereo pair (in left, out right) and mixed, transcoded', async () => {
    const { a, b, pa, pb, bridge } = await call({ codecB: 'PCMA' });
    assert.equal(bridge.relayed, false);
    const w = await bot();
    const stereo = a.fork({ url: w.url, direction: 'both', stereo: true, rate: 8000 });
    const mixed = a.fork({ url: w.url, direction: 'both', rate: 8000 });
    const out = a.fork({ stream: true, direction: 'out', rate: 8000 });
    const outFrames: Buffer[] = [];
    out.readable!.on('data', (d: Buffer) => outFrames.push(d));
    await waitFor(() => w.connections.length === 2 && w.connections.every((c) => c.events.length));
    const sigA = hoppingTones(2.5, 8000, 0.2, 5);
    const sigB = hoppingTones(2.5, 8000, 0.2, 11);
    await Promise.all([pa.play(sigA, to(a)), pb.play(sigB, to(b))]);
    await sleep(300);
    const byFork = (id: string) => w.connections.find((c) => c.events[0].msg.fork === id)!;
    const s = byFork(stereo.id);
    assert.equal(s.events[0].msg.channels, 2);
    assert.equal(s.events[0].msg.layout, 'in-left-out-right');
    assert.ok(
      s.frames.every((f) => f.data.length === 640),
      '20 ms of 8 kHz stereo',
    );
    const left = pcmOf(s.frames, 0, 2);
    const right = pcmOf(s.frames, 1, 2);
    const seg = (x: Int16Array) => x.subarray(4000, 10000);
    assert.ok(bestLag(seg(sigA), left, 8000).corr > 0.9, 'left is the caller');
    assert.ok(bestLag(seg(sigB), right, 8000).corr > 0.9, 'right is what the caller hears');
    assert.ok(bestLag(seg(sigB), left, 8000).corr < 0.3, 'no callee in the left channel');
    const m = pcmOf(byFork(mixed.id).frames);
    assert.ok(bestLag(seg(sigA), m, 8000).corr > 0.5 && bestLag(seg(sigB), m, 8000).corr > 0.5, 'both in the mix');
    const o = new Int16Array(Buffer.concat(outFrames).buffer.slice(0));
    assert.ok(outFrames.every((f) => f.length === 320));
    assert.ok(bestLag(seg(sigB), o, 8000).corr > 0.9, "the readable 'out' fork is the callee");
    for (const f of [stereo, mixed, out]) f.stop();
  });

  it('sends PCMU and Opus frames', async () => {
    const { a, pa } = await call();
    const w = await bot();
    const mu = a.fork({ url: w.url, format: 'PCMU' });
    const op = a.fork({ url: w.url, format: 'opus', rate: 48000, frameMs: 20 });
    await waitFor(() => w.connections.length === 2 && w.connections.every((c) => c.events.length));
    const sig = hoppingTones(2);
    await pa.play(sig, to(a));
    await sleep(200);
    const byFork = (id: string) => w.connections.find((c) => c.events[0].msg.fork === id)!;
    const u = byFork(mu.id);
    assert.deepEqual([u.events[0].msg.format, u.events[0].msg.rate], ['PCMU', 8000]);
    assert.ok(u.frames.every((f) => f.data.length === 160));
    const pcm = Int16Array.from(Buffer.concat(u.frames.map((f) => f.data)), ulawToLinear);
    assert.ok(bestLag(sig.subarray(4000, 8000), pcm, 8000).corr > 0.95);
    const o = byFork(op.id);
    assert.ok(o.frames.length >= 90, `${o.frames.length} Opus packets for 2 s`);
    // RFC 6716 TOC byte: configs 0-31 with code 0 (one frame); 20 ms configs are 1, 5, 9, 13, 15, 17, 19...
    const ms = (toc: number) => [10, 20, 40, 60][(toc >> 3) % 4] ?? 0;
    assert.ok(
      o.frames.every((f) => (f.data[0] & 3) === 0 && (ms(f.data[0]) === 20 || f.data[0] >> 3 >= 12)),
      'one 20 ms frame per packet',
    );
    mu.stop();
    op.stop();
  });

  it('drops and counts frames for a consumer that stops reading; the call keeps its media', async (t) => {
    const { a, b, pa, pb } = await call();
    const w = await bot();
    const fork = a.fork({ url: w.url, format: 'L16', rate: 48000, direction: 'both', stereo: true, queueMs: 200 });
    const idle = a.fork({ stream: true, queueMs: 200 }); // a Readable nobody reads
    await waitFor(() => w.connections[0]?.events.length);
    w.connections[0].pause();
    const sig = hoppingTones(4);
    await Promise.all([pa.play(sig, to(a)), pb.play(hoppingTones(4, 8000, 0.3, 3), to(b))]);
    await sleep(200);
    const s = fork.stats();
    const r = idle.stats();
    t.diagnostic(
      `paused WebSocket: ${s.framesSent} frames sent, ${s.queueDroppedFrames} dropped in the queue, ${s.nativeDroppedFrames} in the ring`,
    );
    t.diagnostic(`unread Readable: ${r.framesSent} pushed, ${r.queueDroppedFrames} dropped`);
    assert.ok(s.queueDroppedFrames > 0, 'the WebSocket fork dropped frames');
    assert.ok(r.queueDroppedFrames > 150, 'the unread Readable dropped frames');
    assert.ok(r.queued <= 10, 'bounded');
    const delivered = pb.received().samples.length / 160 / pa.sent.length;
    t.diagnostic(`call media delivered: ${(delivered * 100).toFixed(2)} %`);
    assert.ok(delivered >= 0.995, `${(delivered * 100).toFixed(2)} % of the caller's packets reached the callee`);
    fork.stop();
    idle.stop();
  });

  it('reconnects when the WebSocket drops, and stops with a final message when the leg closes', async () => {
    const { a, pa } = await call();
    const w = await bot();
    const fork = a.fork({ url: w.url, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    const seen: string[] = [];
    fork.on('open', (resumed) => seen.push(resumed ? 'resumed' : 'open'));
    fork.on('disconnect', () => seen.push('down'));
    await waitFor(() => w.connections[0]?.events.length);
    const playing = pa.play(hoppingTones(2), to(a));
    await sleep(500);
    w.connections[0].ws.terminate();
    await waitFor(() => w.connections[1]?.events.length, { what: 'the second connection' });
    await playing;
    assert.deepEqual(seen, ['open', 'down', 'resumed']);
    assert.equal(fork.stats().reconnects, 1);
    assert.ok(w.connections[1].frames.length > 20, 'audio flows again');
    a.close();
    await waitFor(() => w.connections[1].closed, { what: 'the close at the end of the call' });
    const last = w.connections[1].events.at(-1)!.msg;
    assert.deepEqual([last.event, last.reason], ['stop', 'closed']);
    assert.equal(fork.stopped, true);
  });
});

describe('audio forks on a bridge the forwarding plane relays', () => {
  it('moves the bridge to graphs while a fork runs and back to the relay when it stops', async () => {
    const pa = await rtpPhone();
    const pb = await rtpPhone();
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(20), tickers: 1 });
    cleanup.push(() => {
      ms.close();
      pa.close();
      pb.close();
    });
    const s = ms.offer('fwd-plane-1', phoneSdp({ port: pa.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    ms.answer('fwd-plane-1', phoneSdp({ port: pb.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    const bridge = s.bridge!;
    assert.equal(bridge.engine, 'relay', 'same codec: the forwarding plane carries it');
    const w = await bot();
    const fork = s.a.fork({ url: w.url, rate: 8000 });
    assert.equal(bridge.engine, 'graph', 'a fork needs decoded audio: graphs');
    await waitFor(() => w.connections[0]?.events.length);
    const sig = hoppingTones(1.5);
    await pa.play(sig, to(s.a));
    await sleep(200);
    assert.ok(bestLag(sig.subarray(4000, 8000), pcmOf(w.connections[0].frames), 6000).corr > 0.95);
    fork.stop();
    assert.equal(bridge.engine, 'relay', 'back to the relay once nothing needs the graphs');
  });
});
