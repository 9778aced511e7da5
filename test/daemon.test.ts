/**
 * The daemon over real UDP ng, in-process: our own ng client plays Kamailio,
 * AudioPeers play the phones, RTP really crosses the daemon. Offer/answer/
 * query/delete with transcoding from codec flags, retransmissions answered
 * once, late offers and callee re-INVITEs (swapped tags), play media / play
 * DTMF on a live call, the metrics endpoint, CallTerm reports to a collector,
 * and every kind of bad input answered with result: error while the daemon
 * keeps answering pings.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ticker } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { parseSdp } from '../lib/sdp/parse';
import { readWav, tone, writeWav } from '../lib/util/wav';
import type { BDict } from '../lib/control/bencode';
import { Daemon, defaultConfig, validate, type DaemonConfig } from '../lib/daemon';
import { tmpDir } from './helpers/call';
import { NgClient, str, tcpRequest, parseReply } from './helpers/ngClient';
import { phoneSdp } from './helpers/sdp';
import { toneReport } from './helpers/signal';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
const PCMA = { pt: 8, name: 'PCMA', rate: 8000 };

function scrape(address: { address: string; port: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address.address}:${address.port}/metrics`, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"=+]/g, (c) => '\\' + c)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('rtp-media-server daemon over UDP ng', { timeout: 60_000 }, () => {
  const dir = tmpDir('rms-daemon-');
  const phones = new Ticker({ name: 'phones' });
  const published: string[] = [];
  let collector: dgram.Socket;
  let daemon: Daemon;
  let ng: NgClient;
  let target: { host: string; port: number };
  const mediaRange = mediaPorts(200);

  before(async () => {
    writeWav(path.join(dir, 'a.wav'), tone(8000, 8, [1000]));
    writeWav(path.join(dir, 'b.wav'), tone(8000, 8, [600]));
    writeWav(path.join(dir, 'prompt.wav'), tone(16000, 0.6, [440]));
    collector = dgram.createSocket('udp4');
    collector.on('message', (m) => published.push(m.toString('utf8')));
    await new Promise<void>((r) => collector.bind(0, '127.0.0.1', () => r()));
    const base = defaultConfig();
    const config: DaemonConfig = validate({
      ...base,
      control: { udp: { host: '127.0.0.1', port: 0 }, tcp: { host: '127.0.0.1', port: 0 }, allow: [] },
      media: { address: '127.0.0.1', ports: mediaRange },
      tickers: 2,
      quality: {
        sampleMs: 200,
        intervalSec: 0,
        collector: `sip:collector@127.0.0.1:${collector.address().port}`,
      },
      metrics: { host: '127.0.0.1', port: 0 },
      mediaRoots: [dir],
      drainTimeoutSec: 1,
    });
    daemon = await Daemon.start(config);
    const udp = daemon.addresses().udp!;
    target = { host: udp.address, port: udp.port };
    ng = await NgClient.create(target);
  });

  after(async () => {
    ng?.close();
    await daemon?.close();
    collector?.close();
    phones.close();
  });

  /** A: PCMU phone sending 1000 Hz; B: `codecB` phone sending 600 Hz; both record. */
  function phonesFor(tag: string, codecB: typeof PCMU) {
    const a = new AudioPeer({
      codec: 'PCMU',
      sendFile: path.join(dir, 'a.wav'),
      recordFile: path.join(dir, `${tag}-a.wav`),
      telephoneEvent: 101,
    });
    const b = new AudioPeer({
      codec: codecB.name,
      payloadType: codecB.pt,
      sendFile: path.join(dir, 'b.wav'),
      recordFile: path.join(dir, `${tag}-b.wav`),
      telephoneEvent: 101,
    });
    return { a, b };
  }

  /** Offer from A (alice) and answer from B (bob) through the daemon; points the phones at it. */
  async function setUp(callId: string, a: AudioPeer, b: AudioPeer, codecB: typeof PCMU, extra: BDict = {}) {
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({ port: a.port, codecs: [PCMU], telephoneEvent: 101 }),
      flags: ['trust-address'],
      replace: ['origin', 'session-connection'],
      'received-from': ['IP4', '127.0.0.1'],
      supports: ['load limit'],
      ...extra,
    });
    assert.equal(offer.result, 'ok', JSON.stringify(offer));
    const toB = parseSdp(str(offer.sdp)!);
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: phoneSdp({ port: b.port, codecs: [codecB], telephoneEvent: 101 }),
      supports: ['load limit'],
    });
    assert.equal(answer.result, 'ok', JSON.stringify(answer));
    const toA = parseSdp(str(answer.sdp)!);
    a.endpoint.setRemote({ address: toA.audio!.address, port: toA.audio!.port });
    b.endpoint.setRemote({ address: toB.audio!.address, port: toB.audio!.port });
    return { toA, toB };
  }

  it('ping over UDP and TCP', async () => {
    assert.deepEqual(await ng.request({ command: 'ping' }), { result: 'pong' });
    const tcp = daemon.addresses().tcp!;
    const r = parseReply(await tcpRequest({ host: tcp.address, port: tcp.port }, Buffer.from('k1 d7:command4:pinge')));
    assert.equal(r.cookie, 'k1');
    assert.equal(r.dict.result, 'pong');
  });

  it('offer/answer/query/delete: RTP both ways, transcoded as the codec flags ask; ports freed, reports published', async () => {
    const callId = 'daemon-call-1@test';
    const { a, b } = phonesFor('c1', PCMA);
    try {
      const { toA, toB } = await setUp(callId, a, b, PCMA, { codec: { mask: ['PCMU'], transcode: ['PCMA'] } });
      // B was offered PCMA only (PCMU masked, PCMA added), at the daemon's address
      assert.deepEqual(
        toB.audio!.formats.map((f) => f.name),
        ['PCMA', 'telephone-event'],
      );
      assert.equal(toB.audio!.address, '127.0.0.1');
      assert.ok(toB.audio!.port >= mediaRange[0] && toB.audio!.port <= mediaRange[1]);
      assert.equal(toA.audio!.formats[0].name, 'PCMU');
      a.start(phones);
      b.start(phones);
      await sleep(1600);

      const q = await ng.request({ command: 'query', 'call-id': callId });
      assert.equal(q.result, 'ok');
      assert.equal(q.transcoded, 'yes');
      const tags = q.tags as BDict;
      const alice = tags.alice as BDict;
      const bob = tags.bob as BDict;
      assert.equal(alice.codec, 'PCMU');
      assert.equal(bob.codec, 'PCMA');
      assert.equal(alice['in dialogue with'], 'bob');
      const aStats = alice.stats as BDict;
      assert.ok((aStats['packets received'] as number) > 40, `alice sent ${aStats['packets received']}`);
      assert.ok((aStats['packets sent'] as number) > 40);
      assert.ok((aStats.MOS as number) >= 40, `MOS x10 ${aStats.MOS}`);
      const totals = (q.totals as BDict).RTP as BDict;
      assert.ok((totals.packets as number) > 80);
      assert.ok(Object.keys(q.SSRC as BDict).length >= 1, 'per-SSRC MOS for Kamailio');

      const list = await ng.request({ command: 'list' });
      assert.deepEqual(list.calls, [callId]);
      const stats = (await ng.request({ command: 'statistics' })).statistics as BDict;
      assert.equal((stats.currentstatistics as BDict).sessionsown, 1);
      assert.equal((stats.currentstatistics as BDict).transcodedmedia, 1);
      const m = await scrape(daemon.addresses().metrics!);
      assert.equal(metric(m, 'rms_calls_active'), 1);
      assert.equal(metric(m, 'rms_calls_transcoding'), 1);
      assert.ok(metric(m, 'rms_rtp_packets_received_total') > 80);
      assert.ok(metric(m, 'rms_ticker_load_ratio{ticker="0"}') >= 0);

      const del = await ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'alice' });
      assert.equal(del.result, 'ok');
      assert.ok(del.tags, 'delete carries the final statistics');
    } finally {
      a.stop();
      b.stop();
      a.close();
      b.close();
    }
    assert.equal(daemon.media.ports.inUse, 0, 'both port pairs back in the pool');
    assert.deepEqual((await ng.request({ command: 'list' })).calls, []);
    const gone = await ng.request({ command: 'query', 'call-id': callId });
    assert.deepEqual(gone, { result: 'error', 'error-reason': 'Unknown call-id' });
    assert.ok(toneReport(readWav(path.join(dir, 'c1-b.wav')), 1000).marginDb > 15, 'B heard A');
    assert.ok(toneReport(readWav(path.join(dir, 'c1-a.wav')), 600).marginDb > 15, 'A heard B');
    // one CallTerm PUBLISH per leg reached the collector
    await sleep(200);
    const mine = published.filter((p) => p.includes(callId));
    assert.equal(mine.length, 2, published.join('\n---\n'));
    for (const p of mine) {
      assert.match(p, /^PUBLISH sip:collector@127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
      assert.match(p, /\r\nEvent: vq-rtcpxr\r\n/);
      assert.match(p, /\r\n\r\nVQSessionReport: CallTerm\r\n/);
    }
    const m = await scrape(daemon.addresses().metrics!);
    assert.equal(metric(m, 'rms_calls_active'), 0);
    assert.equal(metric(m, 'rms_call_mos_count'), 2);
    assert.ok(metric(m, 'rms_call_mos_bucket{le="5"}') === 2);
  });

  it('a retransmitted request (same cookie) is answered from the cache without running again', async () => {
    const callId = 'daemon-retrans@test';
    const before = daemon.calls.totals.calls;
    const msg = NgClient.message('retrans_1', {
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
    });
    // twice at once (the second arrives while the first may still run), then once more later
    const [r1, r2] = await Promise.all([ng.raw(msg), ng.raw(msg)]);
    const r3 = await ng.raw(msg);
    assert.ok(r1 && r2 && r3);
    assert.equal(r1.dict.result, 'ok');
    assert.ok(r1.raw.equals(r2.raw) && r1.raw.equals(r3.raw), 'the very same bytes');
    assert.equal(daemon.calls.totals.calls, before + 1, 'one offer carried out');
    assert.ok(daemon.ng.stats.retransmissions >= 2);
    // an INVITE retransmission (new cookie, same SDP) gets the same offer
    const again = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
    });
    assert.equal(again.sdp, r1.dict.sdp);
    // a 200 OK seen twice: two answers, the same SDP back
    const ans = {
      command: 'answer',
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: phoneSdp({ port: 4002, codecs: [PCMU] }),
    };
    const a1 = await ng.request(ans);
    const a2 = await ng.request(ans);
    assert.equal(a1.result, 'ok');
    assert.equal(a2.sdp, a1.sdp);
    assert.equal((await ng.request({ command: 'delete', 'call-id': callId })).result, 'ok');
    assert.deepEqual(await ng.request({ command: 'delete', 'call-id': callId }), {
      result: 'ok',
      warning: 'Unknown call-id',
    });
    assert.deepEqual(await ng.request({ command: 'delete', 'call-id': callId, flags: ['fatal'] }), {
      result: 'error',
      'error-reason': 'Unknown call-id',
    });
  });

  it('late offer (tags swapped) and a re-INVITE from the callee map to the right legs', async () => {
    const callId = 'daemon-late@test';
    // INVITE without SDP; the callee's 200 OK carries the offer: Kamailio sends from-tag = To tag
    const off = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'callee',
      'to-tag': 'caller',
      sdp: phoneSdp({ port: 5000, codecs: [PCMU] }),
    });
    assert.equal(off.result, 'ok');
    // the ACK carries the answer, tags swapped the same way
    const ans = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'callee',
      'to-tag': 'caller',
      sdp: phoneSdp({ port: 5002, codecs: [PCMU] }),
    });
    assert.equal(ans.result, 'ok');
    let info = daemon.media.get(callId).info();
    assert.equal(info.legs.a.remote!.port, 5000, 'leg a faces the callee (the offerer)');
    assert.equal(info.legs.b!.remote!.port, 5002);
    // the caller (leg b) puts the call on hold with a re-INVITE: from-tag is the caller's own
    const hold = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'caller',
      'to-tag': 'callee',
      sdp: phoneSdp({ port: 5012, codecs: [PCMU], direction: 'sendonly' }),
    });
    assert.equal(hold.result, 'ok');
    assert.equal(parseSdp(str(hold.sdp)!).audio!.direction, 'sendonly', 'forwarded to the callee');
    const holdAns = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'caller',
      'to-tag': 'callee',
      sdp: phoneSdp({ port: 5000, codecs: [PCMU], direction: 'recvonly' }),
    });
    assert.equal(holdAns.result, 'ok');
    assert.equal(parseSdp(str(holdAns.sdp)!).audio!.direction, 'recvonly');
    info = daemon.media.get(callId).info();
    assert.equal(info.legs.b!.remote!.port, 5012, 'the caller moved its media port');
    assert.equal(info.legs.b!.direction, 'sendonly');
    // a tag nobody knows
    const stranger = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'mallory',
      sdp: phoneSdp({ port: 5020, codecs: [PCMU] }),
    });
    assert.equal(stranger.result, 'error');
    assert.match(str(stranger['error-reason'])!, /not a party/);
    assert.equal((await ng.request({ command: 'delete', 'call-id': callId })).result, 'ok');
  });

  it('play media, stop media and play DTMF on a running call', async () => {
    const callId = 'daemon-play@test';
    const { a, b } = phonesFor('play', PCMU);
    const digits: string[] = [];
    b.endpoint.on('telephoneEventEnd', (e) => digits.push(e.digit ?? '?'));
    try {
      await setUp(callId, a, b, PCMU);
      a.start(phones);
      b.start(phones);
      await sleep(500);
      const play = await ng.request({
        command: 'play media',
        'call-id': callId,
        'from-tag': 'bob',
        file: 'prompt.wav',
        'repeat-times': 2,
      });
      assert.equal(play.result, 'ok', JSON.stringify(play));
      assert.ok(Math.abs((play.duration as number) - 1200) <= 5, `duration ${play.duration}`);
      await sleep(1500);
      const dtmf = await ng.request({
        command: 'play DTMF',
        'call-id': callId,
        'from-tag': 'alice',
        code: '5',
        duration: 200,
      });
      assert.equal(dtmf.result, 'ok');
      const again = await ng.request({
        command: 'play media',
        'call-id': callId,
        'from-tag': 'bob',
        file: 'prompt.wav',
      });
      assert.equal(again.result, 'ok');
      await sleep(200);
      const stop = await ng.request({ command: 'stop media', 'call-id': callId, 'from-tag': 'bob' });
      assert.equal(stop.result, 'ok');
      assert.ok((stop['last-frame-pos'] as number) > 0, `position ${stop['last-frame-pos']}`);
      // refusals: outside the media roots, blob, unknown participant, not implemented
      const outside = await ng.request({
        command: 'play media',
        'call-id': callId,
        'from-tag': 'bob',
        file: '/etc/passwd',
      });
      assert.equal(outside.result, 'error');
      assert.match(str(outside['error-reason'])!, /outside the media roots/);
      // a 5-channel file is refused (it played 2.5x too many packets), the call goes on
      writeWav(path.join(dir, 'five.wav'), { rate: 8000, channels: 5, samples: new Int16Array(8000 * 5) });
      const five = await ng.request({ command: 'play media', 'call-id': callId, 'from-tag': 'bob', file: 'five.wav' });
      assert.equal(five.result, 'error');
      assert.match(str(five['error-reason'])!, /5 channels/);
      const nobody = await ng.request({ command: 'play DTMF', 'call-id': callId, 'from-tag': 'eve', code: '1' });
      assert.match(str(nobody['error-reason'])!, /Unknown from-tag/);
      // block DTMF from alice: her digit does not reach bob; unblocked, the next one does
      const block = await ng.request({ command: 'block DTMF', 'call-id': callId, 'from-tag': 'alice' });
      assert.equal(block.result, 'ok', JSON.stringify(block));
      a.sendDtmf('7');
      await sleep(400);
      const unblock = await ng.request({ command: 'unblock DTMF', 'call-id': callId, 'from-tag': 'alice' });
      assert.equal(unblock.result, 'ok');
      a.sendDtmf('8');
      await sleep(400);
      // start/stop recording: both directions into a WAV inside the media roots
      const rec = await ng.request({ command: 'start recording', 'call-id': callId });
      assert.equal(rec.result, 'ok', JSON.stringify(rec));
      await sleep(800);
      const recStop = await ng.request({ command: 'stop recording', 'call-id': callId });
      assert.equal(recStop.result, 'ok');
      const recorded = readWav(path.join(dir, 'recording-daemon-play@test.wav'));
      // never over a file: a destination naming the prompt records beside it, the prompt is untouched
      const promptBefore = fs.readFileSync(path.join(dir, 'prompt.wav'));
      const over = await ng.request({
        command: 'start recording',
        'call-id': callId,
        'output-destination': 'prompt.wav',
      });
      assert.equal(over.result, 'ok', JSON.stringify(over));
      assert.match(str(over.warning)!, /prompt\.wav exists: recording to .*prompt-2\.wav/);
      assert.equal((await ng.request({ command: 'stop recording', 'call-id': callId })).result, 'ok');
      assert.deepEqual(fs.readFileSync(path.join(dir, 'prompt.wav')), promptBefore, 'the prompt is untouched');
      assert.ok(fs.existsSync(path.join(dir, 'prompt-2.wav')), 'recorded beside it');
      assert.ok(recorded.samples.length / recorded.rate > 0.5, 'the recording holds the call');
      assert.ok(toneReport(recorded, 1000).marginDb > 5, "A's tone is in the recording");
      await sleep(300);
    } finally {
      a.stop();
      b.stop();
      a.close();
      b.close();
      await ng.request({ command: 'delete', 'call-id': callId });
    }
    const heard = readWav(path.join(dir, 'play-b.wav'));
    const seg = (from: number, to: number) => ({
      ...heard,
      samples: heard.samples.slice(Math.round(from * heard.rate), Math.round(to * heard.rate)),
    });
    assert.ok(toneReport(seg(0.1, 0.4), 1000).marginDb > 15, 'A before the prompt');
    assert.ok(toneReport(seg(0.7, 1.6), 440).marginDb > 15, 'the prompt, in place of A');
    assert.ok(toneReport(seg(2.0, 2.3), 1000).marginDb > 15, 'A again after it');
    assert.deepEqual(digits, ['5', '8'], 'the blocked 7 never reached bob');
  });

  it('malformed, mistyped, unknown and oversized requests: result error, nothing runs, ping still answers', async () => {
    const err = async (bytes: string | Buffer, cookie: string) => {
      const r = await ng.raw(bytes, cookie);
      assert.ok(r, `a reply to ${cookie}`);
      assert.equal(r.dict.result, 'error', JSON.stringify(r.dict));
      return str(r.dict['error-reason'])!;
    };
    assert.match(await err('m1 d7:command4:pi', 'm1'), /^Could not decode bencode dictionary/);
    assert.equal(await err('m2 d7:command7:explodee', 'm2'), 'Unrecognized command');
    assert.match(await err('m3 d7:command5:offer7:call-idi5e8:from-tag1:x3:sdp1:xe', 'm3'), /call-id must be a string/);
    assert.match(await err('m4 {"command":"ping"}', 'm4'), /JSON is not supported/);
    assert.equal(await err('m5 de', 'm5'), 'Dictionary contains no key "command"');
    assert.equal(await err('m6 d7:command15:pause recordinge', 'm6'), 'Unsupported command: pause recording');
    assert.equal(
      await err(
        NgClient.message('m7', { command: 'answer', 'call-id': 'nope', 'from-tag': 'a', 'to-tag': 'b', sdp: 'v=0' }),
        'm7',
      ),
      'Unknown call-id',
    );
    // an SDP that is no SDP, and one larger than 64 KiB (the datagram itself still fits)
    assert.match(
      await err(
        NgClient.message('m8', { command: 'offer', 'call-id': 'bad-sdp', 'from-tag': 'a', sdp: 'hello' }),
        'm8',
      ),
      /SDP/,
    );
    // a datagram near the UDP maximum, and over TCP (no datagram limit) an SDP past 64 KiB and a
    // message past 256 KiB (the stream cannot be followed: the connection is closed)
    const pad = (n: number) => 'v=0\r\n' + 'a=x-pad:' + 'y'.repeat(n) + '\r\n';
    assert.match(
      await err(
        NgClient.message('m9', { command: 'offer', 'call-id': 'big', 'from-tag': 'a', sdp: pad(65_000) }),
        'm9',
      ),
      /SDP/,
    );
    const tcp = daemon.addresses().tcp!;
    const tcpTarget = { host: tcp.address, port: tcp.port };
    const long = await tcpRequest(
      tcpTarget,
      NgClient.message('m10', { command: 'offer', 'call-id': 'big', 'from-tag': 'a', sdp: pad(100_000) }),
    );
    assert.deepEqual(parseReply(long).dict, { result: 'error', 'error-reason': 'sdp too long' });
    await assert.rejects(
      tcpRequest(tcpTarget, NgClient.message('m11', { command: 'ping', pad: 'z'.repeat(300_000) })),
      /closed without a reply|ECONNRESET|EPIPE/,
    );
    // no cookie: no reply at all (as rtpengine)
    assert.equal(await ng.raw('nocookie', 'nocookie', 300), undefined);
    // random bytes behind a cookie: every one answered with an error
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const body = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
        if (i % 2) body[0] = 0x64; // half of them start like a dictionary
        return ng.raw(Buffer.concat([Buffer.from(`f${i} `), body]), `f${i}`);
      }),
    );
    assert.ok(replies.every((r) => r && r.dict.result === 'error'));
    assert.equal(daemon.calls.size, 0, 'nothing was created');
    assert.equal(daemon.media.ports.inUse, 0);
    assert.deepEqual(await ng.request({ command: 'ping' }), { result: 'pong' });
  });
});
