/**
 * Audio played into calls: from a WebSocket bot on the fork's connection
 * (the far RTP phone hears it; content checked), marks reported once their
 * audio played, clear stopping it within a frame (measured, bounded
 * generously), mixed with or replacing the other side on a bridge, an
 * in-process Writable with back-pressure, barge-in on the caller's voice
 * and digits, and forks and injections carried over graph rebuilds.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MediaLeg } from '../lib';
import { tone } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { bestLag, hoppingTones, resample, rtpPhone } from './helpers/rtpPhone';
import { rms } from './helpers/signal';
import { sleep, waitFor } from './helpers/wait';
import { wsBot } from './helpers/wsBot';

const local = { address: '127.0.0.1' };
const cleanup: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function leg(name: string, codec = 'PCMU') {
  const phone = await rtpPhone(codec === 'PCMA' ? 'PCMA' : 'PCMU');
  const l = new MediaLeg({ name, codec, local, remote: { address: '127.0.0.1', port: phone.port } });
  cleanup.push(() => {
    l.close();
    phone.close();
  });
  return { leg: l, phone, to: { address: '127.0.0.1', port: l.localPort } };
}

async function bot() {
  const w = await wsBot();
  cleanup.push(() => w.close());
  return w;
}

const pcm16 = (x: Int16Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
/** `x` as 20 ms chunks of 16-bit PCM at `rate`. */
function chunks(x: Int16Array, rate: number): Buffer[] {
  const n = rate / 50;
  const out: Buffer[] = [];
  for (let i = 0; i < x.length; i += n) out.push(pcm16(x.subarray(i, i + n)));
  return out;
}
/** When the phone last received a packet with audio above -40 dBFS. */
function lastLoud(p: Awaited<ReturnType<typeof rtpPhone>>): number {
  const { samples, arrivals } = p.received();
  let at = 0;
  for (const a of arrivals) if (rms(samples, a.sample, 160) > 330) at = a.at;
  return at;
}

describe('audio injection', () => {
  it("plays a bot's audio into an IVR leg, reports marks, and clear stops it within a frame", async (t) => {
    const { leg: l, phone } = await leg('ivr');
    const w = await bot();
    const fork = l.fork({ url: w.url, inject: { format: 'L16', rate: 16000 } });
    await waitFor(() => w.connections[0]?.events.length);
    const c = w.connections[0];
    assert.deepEqual(c.events[0].msg.inject, { format: 'L16', rate: 16000, mode: 'replace' });
    // 1.5 s sent in real time, then a mark
    const s1 = hoppingTones(1.5, 16000, 0.3, 21);
    for (const b of chunks(s1, 16000)) {
      c.send(b);
      await sleep(20);
    }
    c.json({ event: 'mark', name: 'first' });
    const mark = (await waitFor(() => c.events.find((e) => e.msg.event === 'mark'), { what: 'the mark' }))!;
    assert.deepEqual(mark.msg, { event: 'mark', name: 'first' });
    await sleep(100);
    const heard = phone.received().samples;
    const ref = resample(s1.subarray(8000, 16000), 16000, 8000);
    const { corr } = bestLag(ref, heard, 8000);
    assert.ok(corr > 0.9, `the phone heard the bot (correlation ${corr.toFixed(3)})`);
    const markLead = lastLoud(phone) - mark.at;
    t.diagnostic(`mark reported ${markLead} ms before the chunk's last packet reached the phone`);
    assert.ok(markLead < 200, 'the mark came once its audio played, not earlier');
    // 3 s at once, then clear after a second: the phone hears no more of it within a frame or so
    let clearedAt = 0;
    fork.inject!.on('cleared', () => (clearedAt = Date.now()));
    for (const b of chunks(hoppingTones(3, 16000, 0.3, 22), 16000)) c.send(b);
    c.json({ event: 'mark', name: 'second' });
    await sleep(1000);
    c.json({ event: 'clear' });
    const cleared = (await waitFor(() => c.events.find((e) => e.msg.name === 'second'), { what: 'the cleared mark' }))!;
    assert.equal(cleared.msg.cleared, true);
    await sleep(300);
    const stopLag = lastLoud(phone) - clearedAt;
    t.diagnostic(
      `last packet with injected audio reached the phone ${stopLag} ms after the clear (negative: before it; one frame is 20 ms)`,
    );
    assert.ok(clearedAt > 0 && stopLag < 150, `${stopLag} ms`);
    const st = fork.inject!.stats();
    assert.ok(st.clearedMs > 1500 && st.queuedMs === 0, JSON.stringify(st));
    fork.stop();
  });

  it('replaces or mixes with what the other side sends, on a bridge', async () => {
    const A = await leg('caller');
    const B = await leg('callee', 'PCMA');
    const bridge = A.leg.bridgeWith(B.leg);
    const inj = A.leg.inject({ format: 'L16', rate: 8000, mode: 'mix', jitterMs: 0 });
    assert.ok(bridge.directions.find((d) => d.to === 'a')!.chain.includes('RmsAudioMix'));
    const sigB = hoppingTones(2, 8000, 0.2, 31);
    const sigI = hoppingTones(1.5, 8000, 0.2, 32);
    const played = B.phone.play(sigB, B.to);
    await sleep(300);
    inj.write(pcm16(sigI));
    await played;
    await sleep(200);
    const heard = A.phone.received().samples;
    const cB = bestLag(sigB.subarray(4000, 8000), heard, 8000).corr;
    const cI = bestLag(sigI.subarray(2000, 6000), heard, 12000).corr;
    assert.ok(cB > 0.4 && cI > 0.4, `mixed: callee ${cB.toFixed(2)}, injected ${cI.toFixed(2)}`);
    inj.close();
    // replace: only the injected audio while it plays
    const rep = A.leg.inject({ format: 'PCMU', mode: 'replace', jitterMs: 0 });
    const before = A.phone.received().samples.length;
    const played2 = B.phone.play(sigB, B.to);
    await sleep(300);
    rep.write(Buffer.from(Array.from(sigI.subarray(0, 8000), (v) => linearToUlawByte(v))));
    await played2;
    await sleep(200);
    const after = A.phone.received().samples.subarray(before);
    // where the injected second sits in what A heard: it alone (mixed with the callee it would correlate ~0.7)
    const found = bestLag(sigI.subarray(1000, 7000), after, after.length - 6000);
    assert.ok(found.corr > 0.95, `only the injected audio while it plays (correlation ${found.corr.toFixed(3)})`);
    // and the callee comes back after it (100 ms of its tail, wherever a jitter buffer put it; taken
    // 0.45 s after the injected second ends: in two full-suite runs 13000..13800, 0.33 s after it,
    // read 0.761 while it passed alone)
    const tail = bestLag(sigB.subarray(14000, 14800), after, after.length - 800);
    assert.ok(tail.corr > 0.8, `the callee after it (${tail.corr.toFixed(3)})`);
    rep.close();
    assert.equal(bridge.directions.find((d) => d.to === 'a')!.chain.includes('RmsAudioMix'), false);
  });

  it('takes audio from a Writable with back-pressure: all of it plays, nothing overflows', async () => {
    const { leg: l, phone } = await leg('ivr');
    const inj = l.inject({ format: 'L16', rate: 8000, bufferMs: 300 });
    const sig = hoppingTones(2, 8000, 0.3, 41);
    await new Promise<void>((resolve, reject) =>
      inj.writable.end(pcm16(sig), (e?: Error | null) => (e ? reject(e) : resolve())),
    );
    await waitFor(() => inj.stats().queuedMs === 0, { what: 'the queue to play out' });
    await sleep(100);
    const st = inj.stats();
    assert.equal(st.overflowMs, 0);
    assert.ok(st.playedMs >= 1990, `${st.playedMs} ms played`);
    const heard = phone.received().samples;
    assert.ok(heard.length >= 15800, `${heard.length} samples heard`);
    assert.ok(bestLag(sig.subarray(4000, 12000), heard, 4000).corr > 0.95);
    inj.close();
  });

  it("clears on the caller's voice and digits (barge-in) and tells the bot", async () => {
    const { leg: l, phone, to } = await leg('ivr');
    const w = await bot();
    const fork = l.fork({ url: w.url, inject: { format: 'L16', rate: 8000, bargeIn: { voice: true, dtmf: true } } });
    const voices: boolean[] = [];
    l.on('voice', (v) => voices.push(v.speaking));
    const reasons: string[] = [];
    fork.inject!.on('cleared', (r) => reasons.push(r));
    await waitFor(() => w.connections[0]?.events.length);
    const c = w.connections[0];
    c.send(pcm16(hoppingTones(5, 8000, 0.3, 51)));
    await sleep(300);
    // the caller talks over it: 0.5 s of silence then 0.6 s of "speech"
    const talk = new Int16Array(8800);
    talk.set(tone(8000, 0.6, [220, 440], 0.3).samples, 4000);
    await phone.play(talk, to);
    await waitFor(() => reasons.length, { what: 'the barge-in' });
    assert.deepEqual(reasons, ['voice']);
    assert.equal(voices[0], true);
    assert.ok(
      c.events.some((e) => e.msg.event === 'voice' && e.msg.speaking === true),
      'the bot was told the caller speaks',
    );
    assert.equal(fork.inject!.stats().queuedMs, 0);
    // a digit (in-band: the leg has no telephone-event) clears the next answer
    c.send(pcm16(hoppingTones(3, 8000, 0.3, 52)));
    await waitFor(() => fork.inject!.stats().playing, { what: 'the second answer' });
    await sleep(600); // the voice detector's hangover ends the first speech
    const digit = new Int16Array(1600);
    digit.set(tone(8000, 0.1, [770, 1336], 0.3).samples, 400); // '5'
    await phone.play(digit, to);
    await waitFor(() => reasons.length === 2, { what: 'the digit barge-in' });
    assert.equal(reasons[1], 'dtmf');
    assert.ok(c.events.some((e) => e.msg.event === 'dtmf' && e.msg.digit === '5'));
    fork.stop();
  });

  it('carries forks and injections over graph rebuilds (a recording starts, a re-INVITE)', async () => {
    const dir = tmpDir('rms-streams-');
    const A = await leg('caller');
    const B = await leg('callee', 'PCMA');
    const bridge = A.leg.bridgeWith(B.leg);
    const w = await bot();
    const fork = A.leg.fork({ url: w.url, inject: { format: 'L16', rate: 8000 } });
    await waitFor(() => w.connections[0]?.events.length);
    const c = w.connections[0];
    c.send(pcm16(hoppingTones(2, 8000, 0.3, 61)));
    const playing = A.phone.play(hoppingTones(2, 8000, 0.3, 62), A.to);
    await sleep(700);
    bridge.startRecording(path.join(dir, 'call.wav'));
    await sleep(300);
    A.leg.setMedia({ codec: 'PCMU', ptime: 20 }); // same media: nothing rebuilt
    B.leg.setMedia({ codec: 'PCMA', ptime: 30 }); // a re-INVITE changing ptime: rebuilt
    await playing;
    await sleep(600);
    const s = fork.stats();
    assert.equal(s.nativeDroppedFrames, 0);
    assert.ok(c.frames.length >= 95, `${c.frames.length} frames: the fork went on`);
    const st = fork.inject!.stats();
    assert.ok(st.playedMs >= 1990 && st.clearedMs === 0, `the injection played through: ${JSON.stringify(st)}`);
    bridge.stopRecording();
    assert.ok(fs.statSync(path.join(dir, 'call.wav')).size > 8000);
    fork.stop();
  });
});

function linearToUlawByte(v: number): number {
  const BIAS = 0x84;
  let s = Math.min(Math.abs(v), 32635) + BIAS;
  const sign = v < 0 ? 0x80 : 0;
  let exp = 7;
  for (let m = 0x4000; (s & m) === 0 && exp > 0; m >>= 1) exp--;
  s = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | s) & 0xff;
}
