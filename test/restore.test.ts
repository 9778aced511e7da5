/**
 * Calls that outlive their MediaServer: session.snapshot() as JSON, the
 * server gone (its ports free), a new server restores the calls - on the
 * same ports, the phones never told - and the phones get the same streams
 * back: the same SSRC, sequence numbers that go on, timestamps moved on by
 * the time the calls were away; a relayed call's packets still untouched; a
 * re-INVITE after it answered with the next o= version of the same session.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MediaServer, type MediaSession } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import type { SessionSnapshot } from '../lib/session/snapshot';
import * as path from 'node:path';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { StreamingPhone } from './helpers/streamingPhone';
import { sleep, waitFor } from './helpers/wait';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];

interface Call {
  id: string;
  caller: StreamingPhone;
  callee?: StreamingPhone;
  session: MediaSession;
}

const origin = (sdp: string) => {
  const m = /^o=\S+ (\d+) (\d+) /m.exec(sdp)!;
  return { id: m[1], version: Number(m[2]) };
};

describe('sessions restored from their snapshots', () => {
  const ports = mediaPorts(40);
  const dir = tmpDir('rms-restore-');
  writeWav(path.join(dir, 'tone.wav'), tone(8000, 20, [600]));
  const opts = { address: '127.0.0.1', ports, tickers: 1, quality: { sampleMs: 250 }, mediaRoots: [dir] };
  let ms = new MediaServer(opts);
  const phones: StreamingPhone[] = [];
  after(() => {
    ms.close();
    for (const p of phones) p.close();
  });
  const phone = async (ssrc: number) => {
    const p = await StreamingPhone.create(ssrc);
    phones.push(p);
    return p;
  };

  it('come back on their ports with the same streams going on', { timeout: 30_000 }, async () => {
    const calls: Call[] = [];
    // a transcoded call, a relayed one, a forked one whose losing branch was freed, an IVR call
    for (const [id, calleeCodecs] of [
      ['transcoded', PCMA],
      ['relayed', PCMU],
    ] as const) {
      const caller = await phone(0x1000 + calls.length);
      const callee = await phone(0x2000 + calls.length);
      const s = ms.offer(id, phoneSdp({ port: caller.port, codecs: PCMU }), { fromTag: 'from-a' });
      const toCaller = s.answer(phoneSdp({ port: callee.port, codecs: calleeCodecs }), { toTag: 'to-b' });
      caller.start(parseSdp(toCaller).audio!.port, 0);
      callee.start(parseSdp(s.offerSdp).audio!.port, calleeCodecs[0].pt);
      calls.push({ id, caller, callee, session: s });
    }
    {
      const caller = await phone(0x3000);
      const callee = await phone(0x3001);
      const loser = await phone(0x3002);
      const s = ms.offer('forked', phoneSdp({ port: caller.port, codecs: PCMU }), { fromTag: 'from-a', branch: 'z1' });
      const second = parseSdp(s.offerBranch('z2')).audio!.port;
      s.answer(phoneSdp({ port: loser.port, codecs: PCMA }), { toTag: 'loser', branch: 'z2', provisional: true });
      const toCaller = s.answer(phoneSdp({ port: callee.port, codecs: PCMA }), { toTag: 'winner', branch: 'z1' });
      assert.equal(s.info().branches.length, 0, 'the losing branch is gone');
      assert.notEqual(second, parseSdp(s.offerSdp).audio!.port);
      caller.start(parseSdp(toCaller).audio!.port, 0);
      callee.start(parseSdp(s.offerSdp).audio!.port, 8);
      calls.push({ id: 'forked', caller, callee, session: s });
    }
    {
      const caller = await phone(0x4000);
      const { session, answerSdp } = ms.ivr('ivr', phoneSdp({ port: caller.port, codecs: PCMU }));
      caller.start(parseSdp(answerSdp).audio!.port, 0);
      void session.a.play('tone.wav').catch(() => undefined); // ends with the server; not part of the snapshot
      calls.push({ id: 'ivr', caller, session });
    }
    // media both ways on every call
    for (const c of calls) {
      await waitFor(() => c.caller.received.length > 20, { what: `${c.id}: media to the caller` });
      if (c.callee) await waitFor(() => c.callee!.received.length > 20, { what: `${c.id}: media to the callee` });
    }
    const infoBefore = new Map(calls.map((c) => [c.id, c.session.info()]));
    const lastAnswer = new Map(calls.map((c) => [c.id, c.session.answerSdp!]));
    const snapshots = calls.map((c) => JSON.parse(JSON.stringify(c.session.snapshot())) as SessionSnapshot);
    await sleep(300); // the calls run on past their snapshot, as they do between two commands
    const lastSeen = new Map(calls.map((c) => [c.id, c.caller.received[c.caller.received.length - 1]]));
    const goneAt = Date.now();
    ms.close(); // every port free: as after a crash
    await sleep(400);
    ms = new MediaServer(opts);
    const restoredAt = Date.now();
    const { restored, failed } = ms.restore(snapshots);
    assert.deepEqual(
      failed.map((f) => `${f.callId}: ${f.error.message}`),
      [],
    );
    assert.equal(restored.length, calls.length);
    for (const c of calls) {
      const s = ms.get(c.id);
      const before = infoBefore.get(c.id)!;
      const now = s.info();
      assert.equal(now.state, before.state, `${c.id}: state`);
      assert.equal(now.legs.a.localPort, before.legs.a.localPort, `${c.id}: caller-side port`);
      assert.equal(now.legs.b?.localPort, before.legs.b?.localPort, `${c.id}: callee-side port`);
      assert.equal(now.legs.a.codec, before.legs.a.codec);
      assert.equal(now.relay, before.relay, `${c.id}: relayed as before`);
      assert.equal(s.createdAt.getTime(), c.session.createdAt.getTime());
    }
    // the phones, sending all along to the same ports, hear the calls again (the IVR once it plays)
    void ms.get('ivr').a.play('tone.wav').catch(() => undefined);
    for (const c of calls) {
      await waitFor(() => c.caller.since(restoredAt).length > 10, { what: `${c.id}: media again` });
      const first = c.caller.since(restoredAt)[0];
      const last = lastSeen.get(c.id)!;
      if (c.id === 'relayed') {
        assert.equal(first.ssrc, c.callee!.ssrc, 'relayed: the callee phone stream, untouched');
        continue;
      }
      assert.equal(first.ssrc, last.ssrc, `${c.id}: the same SSRC goes on`);
      const seqStep = (first.seq - last.seq + 0x10000) & 0xffff;
      assert.ok(seqStep >= 1 && seqStep < 3000, `${c.id}: the sequence goes on forward (+${seqStep})`);
      const tsStepMs = (((first.ts - last.ts) >>> 0) / 8000) * 1000;
      const awayMs = first.at - last.at;
      assert.ok(
        Math.abs(tsStepMs - awayMs) < 250,
        `${c.id}: timestamps moved on by the time away (${tsStepMs.toFixed(0)} ms of timestamps, ${awayMs} ms away)`,
      );
    }
    assert.ok(goneAt < restoredAt);
    // a re-INVITE on a restored call: our answer is the next version of the same o= session
    const t = ms.get('transcoded');
    const hold = t.reoffer(
      phoneSdp({ port: calls[0].caller.port, codecs: PCMU, direction: 'sendonly' }).replace(
        'o=phone 123 1',
        'o=phone 123 2',
      ),
      'a',
    );
    assert.ok(hold.includes('a=sendonly') || hold.includes('a=recvonly') || hold.length > 0);
    const reply = t.answer(phoneSdp({ port: calls[0].callee!.port, codecs: PCMA, direction: 'recvonly' }));
    const was = origin(lastAnswer.get('transcoded')!);
    const nowO = origin(reply);
    assert.equal(nowO.id, was.id, 'the same o= session id');
    assert.equal(nowO.version, was.version + 1, 'the next o= version');
    for (const c of calls) ms.stop(c.id);
    assert.equal(ms.sessions().length, 0);
  });

  it('refuses a snapshot it cannot restore and restores the others', () => {
    const { restored, failed } = ms.restore([{ v: 99 }, 'junk', null]);
    assert.equal(restored.length, 0);
    assert.equal(failed.length, 3);
    for (const f of failed) assert.equal((f.error as { code?: string }).code, 'ERR_RMS_INVALID_ARGUMENT');
  });

  it('does not restore a call onto a port pair another call holds', async () => {
    const caller = await phone(0x5000);
    const s = ms.offer('holder', phoneSdp({ port: caller.port, codecs: PCMU }));
    const snap = JSON.parse(JSON.stringify(s.snapshot())) as SessionSnapshot;
    snap.callId = 'intruder';
    const { restored, failed } = ms.restore([snap]);
    assert.equal(restored.length, 0);
    assert.equal(failed.length, 1);
    assert.match(failed[0].error.message, /in use/);
    assert.ok(ms.has('holder') && !ms.has('intruder'));
    ms.stop('holder');
  });
});
