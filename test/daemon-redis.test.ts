/**
 * The daemon keeps its calls in a real redis-server (--redis) and survives
 * SIGKILL: 20 calls (relayed and transcoded) up with phones streaming both
 * ways, the daemon killed, started again with the same options - every call
 * is back before the control socket answers, on the same ports, the phones
 * (never told) hear the same SSRCs go on; query, list, re-INVITE and delete
 * work on restored calls, and Redis is empty once they are deleted. Redis
 * going away costs no call: what changed meanwhile is written once it is back.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { parseSdp } from '../lib/sdp/parse';
import { readWav } from '../lib/util/wav';
import type { BDict } from '../lib/control/bencode';
import { tmpDir } from './helpers/call';
import { startDaemon, type DaemonProcess } from './helpers/daemonProcess';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts, sipPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { StreamingPhone } from './helpers/streamingPhone';
import { sleep, waitFor } from './helpers/wait';
import { spawnBounded, type BoundedProcess } from './peers/proc';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];
const CALLS = 20;

async function startRedis(port: number, dir: string): Promise<BoundedProcess> {
  const p = spawnBounded(
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { maxMs: 120_000 },
  );
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  await waitFor(
    async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    { what: 'redis-server to answer', timeoutMs: 10_000 },
  );
  probe.disconnect();
  return p;
}

interface Call {
  id: string;
  caller: StreamingPhone;
  callee: StreamingPhone;
  /** Our ports towards each phone. */
  aPort: number;
  bPort: number;
  transcoded: boolean;
}

describe('daemon calls in Redis survive SIGKILL', () => {
  const dir = tmpDir('rms-redis-');
  const redisPort = sipPorts(1);
  const ports = mediaPorts(4 * CALLS + 40);
  let redis: BoundedProcess;
  let client: Redis;
  const phones: StreamingPhone[] = [];
  const args = [
    '--control-udp',
    '127.0.0.1:0',
    '--metrics',
    'off',
    '--ports',
    `${ports[0]}-${ports[1]}`,
    '--tickers',
    '1',
    '--redis',
    `127.0.0.1:${redisPort}/2`,
    '--redis-prefix',
    'test:',
    '--media-root',
    dir,
    '--log-level',
    'info',
  ];
  let daemon: DaemonProcess | undefined;

  before(async () => {
    redis = await startRedis(redisPort, dir);
    client = new Redis({ port: redisPort, db: 2 });
    client.on('error', () => undefined); // Redis is stopped on purpose in the second test
  });
  after(async () => {
    for (const p of phones) p.close();
    await daemon?.stop(2000);
    client.disconnect();
    await redis.stop(2000);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const keys = () => client.keys('test:call:*');

  it('restores 20 calls after SIGKILL: same ports, same streams, commands work', { timeout: 90_000 }, async () => {
    daemon = await startDaemon(args, { maxMs: 80_000, name: 'rms-daemon-1' });
    let ng = await NgClient.create(daemon.udp);
    const calls: Call[] = [];
    for (let i = 0; i < CALLS; i++) {
      const caller = await StreamingPhone.create(0x10000 + i);
      const callee = await StreamingPhone.create(0x20000 + i);
      phones.push(caller, callee);
      const transcoded = i % 2 === 1;
      const id = `redis-call-${i}@test`;
      const offer = await ng.request({
        command: 'offer',
        'call-id': id,
        'from-tag': `f${i}`,
        sdp: phoneSdp({ port: caller.port, codecs: PCMU }),
        ...(transcoded ? { codec: { transcode: ['PCMA'] } } : {}),
      });
      assert.equal(str(offer.result), 'ok', str(offer['error-reason']));
      const bPort = parseSdp(str(offer.sdp)!).audio!.port;
      const answer = await ng.request({
        command: 'answer',
        'call-id': id,
        'from-tag': `f${i}`,
        'to-tag': `t${i}`,
        sdp: phoneSdp({ port: callee.port, codecs: transcoded ? PCMA : PCMU }),
      });
      assert.equal(str(answer.result), 'ok', str(answer['error-reason']));
      const aPort = parseSdp(str(answer.sdp)!).audio!.port;
      caller.start(aPort, 0, 70_000);
      callee.start(bPort, transcoded ? 8 : 0, 70_000);
      calls.push({ id, caller, callee, aPort, bPort, transcoded });
    }
    for (const c of calls) {
      await waitFor(() => c.caller.received.length > 10 && c.callee.received.length > 10, {
        what: `${c.id}: media both ways`,
      });
    }
    await waitFor(async () => (await keys()).length === CALLS, { what: 'every call in Redis' });
    // block DTMF on one call: a flag that must come back with it
    assert.equal(
      str((await ng.request({ command: 'block DTMF', 'call-id': calls[1].id, 'from-tag': 'f1' })).result),
      'ok',
    );
    // and a recording on another: it goes on after the restart, beside the file the killed process wrote
    const rec = await ng.request({
      command: 'start recording',
      'call-id': calls[3].id,
      'from-tag': 'f3',
      'output-destination': 'kept',
    });
    assert.equal(str(rec.result), 'ok', str(rec['error-reason']));
    await sleep(600);
    const before = new Map(calls.map((c) => [c.id, c.caller.received[c.caller.received.length - 1]]));
    daemon.proc.child.kill('SIGKILL');
    await daemon.exited;
    const killedAt = Date.now();
    await sleep(300);
    const startAt = Date.now();
    daemon = await startDaemon(args, { maxMs: 60_000, name: 'rms-daemon-2' });
    const readyAt = Date.now();
    const ready = daemon.events.find((e) => e.event === 'ready')!;
    assert.equal(ready.restored, CALLS, 'every call restored before the daemon said ready');
    ng.close();
    ng = await NgClient.create(daemon.udp);
    let firstMedia = Infinity;
    for (const c of calls) {
      await waitFor(() => c.caller.since(startAt).length > 5 && c.callee.since(startAt).length > 5, {
        what: `${c.id}: media again both ways`,
      });
      const first = c.caller.since(startAt)[0];
      firstMedia = Math.min(firstMedia, first.at, c.callee.since(startAt)[0].at);
      const was = before.get(c.id)!;
      if (c.transcoded) {
        assert.equal(first.ssrc, was.ssrc, `${c.id}: our stream to the caller goes on (same SSRC)`);
        const step = (first.seq - was.seq + 0x10000) & 0xffff;
        assert.ok(step >= 1 && step < 3000, `${c.id}: sequence forward by ${step}`);
      } else {
        assert.equal(first.ssrc, c.callee.ssrc, `${c.id}: relayed, the callee's packets untouched`);
      }
    }
    // diagnostics (the restart time is measured by bench/restart.ts)
    const line = daemon.proc
      .stderr()
      .split('\n')
      .find((l) => l.includes('call(s) restored'));
    if (line) {
      const j = JSON.parse(line) as Record<string, number>;
      console.log(
        `# restore: read ${j.readMs?.toFixed(1)} ms, replay ${j.restoreMs?.toFixed(1)} ms, ` +
          `done ${j.uptimeMs?.toFixed(0)} ms after the process started`,
      );
    }
    console.log(
      `# killed -> restarted: ready ${readyAt - startAt} ms after spawn, first media ${firstMedia - startAt} ms after spawn, ` +
        `${firstMedia - killedAt} ms after the kill`,
    );
    const list = await ng.request({ command: 'list' });
    assert.deepEqual(((list.calls as Buffer[]) ?? []).map(String).sort(), calls.map((c) => c.id).sort());
    const q = await ng.request({ command: 'query', 'call-id': calls[0].id });
    assert.equal(str(q.result), 'ok');
    // a re-INVITE (hold) from the caller on a restored call, and its answer
    const re = await ng.request({
      command: 'offer',
      'call-id': calls[1].id,
      'from-tag': 'f1',
      'to-tag': 't1',
      sdp: phoneSdp({ port: calls[1].caller.port, codecs: PCMU, direction: 'sendonly' }),
    });
    assert.equal(str(re.result), 'ok', str(re['error-reason']));
    assert.equal(parseSdp(str(re.sdp)!).audio!.port, calls[1].bPort, 'the same port towards the callee');
    const reAns = await ng.request({
      command: 'answer',
      'call-id': calls[1].id,
      'from-tag': 'f1',
      'to-tag': 't1',
      sdp: phoneSdp({ port: calls[1].callee.port, codecs: PCMA, direction: 'recvonly' }),
    });
    assert.equal(str(reAns.result), 'ok', str(reAns['error-reason']));
    assert.equal(parseSdp(str(reAns.sdp)!).audio!.port, calls[1].aPort, 'the same port towards the caller');
    await waitFor(() => fs.existsSync(path.join(dir, 'kept-2.wav')), { what: 'the recording going on' });
    await sleep(500);
    for (const c of calls) {
      const d = (await ng.request({ command: 'delete', 'call-id': c.id, 'from-tag': 'f' })) as BDict;
      assert.equal(str(d.result), 'ok', str(d['error-reason']));
    }
    await waitFor(async () => (await keys()).length === 0, { what: 'Redis empty after the deletes' });
    // the killed process's file is a valid WAV now (its sizes match its length), the new one has the rest
    const old = path.join(dir, 'kept.wav');
    const oldPcm = readWav(old);
    assert.ok(
      oldPcm.samples.length > 8000 * 0.3,
      `the first part holds the audio before the kill (${oldPcm.samples.length})`,
    );
    assert.equal(fs.readFileSync(old).readUInt32LE(40), fs.statSync(old).size - 44, 'data size from the real length');
    const rest = readWav(path.join(dir, 'kept-2.wav'));
    assert.ok(rest.samples.length > 8000 * 0.3, `the second part holds the audio after it (${rest.samples.length})`);
    ng.close();
    for (const p of phones) p.stop();
  });

  it('a Redis that goes away costs no call; what changed is written once it is back', { timeout: 60_000 }, async () => {
    daemon ??= await startDaemon(args, { maxMs: 50_000 });
    const ng = await NgClient.create(daemon.udp);
    await redis.stop(2000);
    const caller = await StreamingPhone.create(0x30000);
    const callee = await StreamingPhone.create(0x30001);
    phones.push(caller, callee);
    const offer = await ng.request({
      command: 'offer',
      'call-id': 'while-redis-away',
      'from-tag': 'fa',
      sdp: phoneSdp({ port: caller.port, codecs: PCMU }),
    });
    assert.equal(str(offer.result), 'ok');
    const answer = await ng.request({
      command: 'answer',
      'call-id': 'while-redis-away',
      'from-tag': 'fa',
      'to-tag': 'ta',
      sdp: phoneSdp({ port: callee.port, codecs: PCMU }),
    });
    assert.equal(str(answer.result), 'ok');
    callee.start(parseSdp(str(offer.sdp)!).audio!.port, 0, 20_000);
    await waitFor(() => caller.received.length > 10, { what: 'media while Redis is away' });
    redis = await startRedis(redisPort, dir);
    const c2 = new Redis({ port: redisPort, db: 2 });
    try {
      await waitFor(async () => (await c2.keys('test:call:*')).includes('test:call:while-redis-away'), {
        what: 'the call written once Redis is back',
        timeoutMs: 15_000,
      });
      const stored = JSON.parse((await c2.get('test:call:while-redis-away'))!);
      assert.equal(stored.session.kind, 'bridged');
      assert.equal(stored.session.ops.length, 1, 'the answer is in it');
      await ng.request({ command: 'delete', 'call-id': 'while-redis-away', 'from-tag': 'fa' });
      await waitFor(async () => (await c2.keys('test:call:*')).length === 0, { what: 'deleted from Redis' });
    } finally {
      c2.disconnect();
      ng.close();
    }
  });
});
