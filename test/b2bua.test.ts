/**
 * The example B2BUA end to end with SIP stacks of the `sip` package as caller
 * and callee, and AudioPeers as their phones: INVITE, 200, ACK, media both
 * ways (transcoded), re-INVITE to hold and back, BYE; nothing left after.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ticker, parseVqReport } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { parseSdp } from '../lib/sdp/parse';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { B2bua } from '../examples/b2bua';
import { tmpDir } from './helpers/call';
import { phoneSdp } from './helpers/sdp';
import { toneReport } from './helpers/signal';
import { mediaPorts, sipPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

const sip = require('sip');

// reserved against every other test process (CI once saw EADDRINUSE with fixed ports)
const SIP_BASE = sipPorts(40);
const B2BUA_PORT = SIP_BASE;
const CALLEE_PORT = SIP_BASE + 10;
const CALLER_PORT = SIP_BASE + 20;
const COLLECTOR_PORT = SIP_BASE + 30;

describe('B2BUA example with SIP caller and callee', () => {
  const dir = tmpDir('rms-b2bua-');
  const phones = new Ticker({ name: 'b2bua-phones' });
  const logs: string[] = [];
  // the sip package reads a request-URI on its own host as one of its flow
  // tokens: the B2BUA gets a loopback address of its own
  const B2BUA_IP = '127.0.0.10';
  const b2bua = new B2bua({
    sipAddress: B2BUA_IP,
    sipPort: B2BUA_PORT,
    target: `sip:bob@127.0.0.1:${CALLEE_PORT}`,
    media: { address: '127.0.0.1', ports: mediaPorts(1000), tickers: 1 },
    collector: `sip:collector@127.0.0.1:${COLLECTOR_PORT}`,
    log: (l) => logs.push(l),
  });
  // an RFC 6035 collector: answers PUBLISH and keeps what it got
  const published: any[] = [];
  const collector = sip.create(
    { address: '127.0.0.1', port: COLLECTOR_PORT, publicAddress: '127.0.0.1', tcp: false },
    (rq: any) => {
      if (rq.method === 'PUBLISH') published.push(rq);
      collector.send(sip.makeResponse(rq, 200, 'OK'));
    },
  );
  writeWav(path.join(dir, 'a.wav'), tone(8000, 4, [1000]));
  writeWav(path.join(dir, 'b.wav'), tone(48000, 4, [600]));
  const bob = new AudioPeer({
    codec: 'opus',
    payloadType: 111,
    sendFile: path.join(dir, 'b.wav'),
    sendRate: 48000,
    recordFile: path.join(dir, 'b-heard.wav'),
    recordRate: 16000,
  });
  const alice = new AudioPeer({
    codec: 'PCMU',
    sendFile: path.join(dir, 'a.wav'),
    recordFile: path.join(dir, 'a-heard.wav'),
  });
  const seenByCallee: { method: string; sdp?: string; callId: string; maxForwards?: string; from: any }[] = [];

  // the callee: answers opus, and whatever direction it is offered, the complement
  const callee = sip.create(
    { address: '127.0.0.1', port: CALLEE_PORT, publicAddress: '127.0.0.1', tcp: false },
    (rq: any) => {
      seenByCallee.push({
        method: rq.method,
        sdp: rq.content,
        callId: rq.headers['call-id'],
        maxForwards: rq.headers['max-forwards'],
        from: rq.headers.from,
      });
      if (rq.method === 'INVITE') {
        const offer = parseSdp(rq.content);
        const opus = offer.audio!.formats.find((f) => f.name === 'opus')!;
        const dir = { sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive', sendrecv: 'sendrecv' }[
          offer.audio!.direction
        ];
        bob.endpoint.setRemote({ address: '127.0.0.1', port: offer.audio!.port });
        const rs = sip.makeResponse(rq, 200, 'OK');
        rs.headers.to.params.tag = rs.headers.to.params.tag ?? 'bobtag';
        rs.headers.contact = [{ uri: `sip:bob@127.0.0.1:${CALLEE_PORT}` }];
        rs.headers['content-type'] = 'application/sdp';
        rs.content = phoneSdp({
          port: bob.port,
          codecs: [{ pt: opus.pt, name: 'opus', rate: 48000, channels: 2 }],
          direction: dir,
        });
        callee.send(rs);
      } else if (rq.method !== 'ACK') callee.send(sip.makeResponse(rq, 200, 'OK'));
    },
  );
  const caller = sip.create(
    { address: '127.0.0.1', port: CALLER_PORT, publicAddress: '127.0.0.1', tcp: false },
    (rq: any) => {
      if (rq.method !== 'ACK') caller.send(sip.makeResponse(rq, 200, 'OK'));
    },
  );

  after(() => {
    alice.close();
    bob.close();
    caller.destroy();
    callee.destroy();
    collector.destroy();
    b2bua.close();
    phones.close();
  });

  function invite(callId: string, cseq: number, sdp: string, toTag?: string): Promise<any> {
    return new Promise((resolve) => {
      caller.send(
        {
          method: 'INVITE',
          uri: `sip:service@${B2BUA_IP}:${B2BUA_PORT}`,
          headers: {
            to: { uri: `sip:service@${B2BUA_IP}:${B2BUA_PORT}`, params: toTag ? { tag: toTag } : {} },
            from: { uri: `sip:alice@127.0.0.1:${CALLER_PORT}`, params: { tag: 'alicetag' } },
            'call-id': callId,
            cseq: { method: 'INVITE', seq: cseq },
            contact: [{ uri: `sip:alice@127.0.0.1:${CALLER_PORT}` }],
            'content-type': 'application/sdp',
          },
          content: sdp,
        },
        (rs: any) => {
          if (rs.status < 200) return;
          if (rs.status < 300)
            caller.send({
              method: 'ACK',
              uri: rs.headers.contact[0].uri,
              headers: {
                to: rs.headers.to,
                from: rs.headers.from,
                'call-id': callId,
                cseq: { method: 'ACK', seq: cseq },
                via: [],
              },
            });
          resolve(rs);
        },
      );
    });
  }

  it('INVITE, transcoded media both ways, hold and resume by re-INVITE, BYE', async () => {
    const callId = 'b2bua-call-1';
    const aSdp = (direction = 'sendrecv') =>
      phoneSdp({ port: alice.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }], telephoneEvent: 101, direction });
    const ok = await invite(callId, 1, aSdp());
    assert.equal(ok.status, 200, `INVITE answered ${ok.status} ${ok.reason}; log: ${logs.join(' | ')}`);
    const answer = parseSdp(ok.content);
    assert.equal(answer.audio!.formats[0].name, 'PCMU');
    // the callee was offered our SDP, not the caller's
    const firstInvite = parseSdp(seenByCallee.find((m) => m.method === 'INVITE')!.sdp!);
    assert.notEqual(firstInvite.audio!.port, alice.port);
    alice.endpoint.setRemote({ address: '127.0.0.1', port: answer.audio!.port });
    alice.start(phones);
    bob.start(phones);
    await sleep(1500);
    const [info] = b2bua.ms.sessions();
    assert.equal(info.legs.a.codec, 'PCMU');
    assert.equal(info.legs.b!.codec, 'opus');
    assert.equal(info.relay, false);

    // hold: the caller sends sendonly; the callee is asked for recvonly-compatible media
    const toTag = ok.headers.to.params.tag;
    const held = await invite(callId, 2, aSdp('sendonly'), toTag);
    assert.equal(held.status, 200);
    assert.equal(parseSdp(held.content).audio!.direction, 'recvonly');
    assert.equal(parseSdp(seenByCallee.filter((m) => m.method === 'INVITE')[1].sdp!).audio!.direction, 'sendonly');
    const resumed = await invite(callId, 3, aSdp('sendrecv'), toTag);
    assert.equal(parseSdp(resumed.content).audio!.direction, 'sendrecv');
    await sleep(500);

    // BYE from the caller
    const bye = await new Promise<any>((resolve) =>
      caller.send(
        {
          method: 'BYE',
          uri: ok.headers.contact[0].uri,
          headers: {
            to: ok.headers.to,
            from: ok.headers.from,
            'call-id': callId,
            cseq: { method: 'BYE', seq: 4 },
            contact: [{ uri: `sip:alice@127.0.0.1:${CALLER_PORT}` }],
          },
        },
        (rs: any) => resolve(rs),
      ),
    );
    assert.equal(bye.status, 200);
    await sleep(200);
    assert.ok(
      seenByCallee.some((m) => m.method === 'BYE'),
      'BYE forwarded to the callee',
    );
    assert.equal(b2bua.ms.sessions().length, 0);
    assert.equal(b2bua.ms.ports.inUse, 0);
    alice.stop();
    bob.stop();
    const heardByBob = toneReport(readWav(path.join(dir, 'b-heard.wav')), 1000);
    const heardByAlice = toneReport(readWav(path.join(dir, 'a-heard.wav')), 600);
    assert.ok(
      heardByBob.marginDb > 15 && heardByBob.blocks > 10,
      `callee heard the caller: ${JSON.stringify(heardByBob)}`,
    );
    assert.ok(
      heardByAlice.marginDb > 15 && heardByAlice.blocks > 10,
      `caller heard the callee: ${JSON.stringify(heardByAlice)}`,
    );

    // every request to the callee carried Max-Forwards (RFC 3261 8.1.1.6),
    // and the caller's identity
    for (const m of seenByCallee) assert.equal(String(m.maxForwards), '70', `${m.method} without Max-Forwards`);
    assert.equal(seenByCallee[0].from.uri, `sip:alice@127.0.0.1:${CALLER_PORT}`);
    // the collector got one VQSessionReport: CallTerm per leg, each with its own dialog's Call-ID
    await sleep(300);
    const callTerm = published.filter((rq) => /^VQSessionReport: CallTerm/.test(rq.content));
    assert.equal(callTerm.length, 2, `PUBLISH received: ${published.length}; log: ${logs.join(' | ')}`);
    for (const rq of published) {
      assert.equal(rq.headers.event, 'vq-rtcpxr');
      assert.equal(rq.headers['content-type'], 'application/vq-rtcpxr');
      assert.equal(String(rq.headers['max-forwards']), '70');
    }
    const [legA, legB] = ['PCMU', 'opus'].map((codec) =>
      callTerm.map((rq) => parseVqReport(rq.content)).find((r) => r.localMetrics.sessionDesc!.payloadDesc === codec)!,
    );
    assert.equal(legA.callId, callId);
    assert.equal(legA.dialogId?.fromTag, 'alicetag');
    assert.equal(legA.dialogId?.toTag, ok.headers.to.params.tag);
    assert.equal(legB.callId, seenByCallee[0].callId, "leg b's report carries the callee dialog's Call-ID");
    assert.equal(legB.dialogId?.toTag, 'bobtag');
    for (const r of [legA, legB]) assert.ok(r.localMetrics.qualityEst?.moscq !== undefined);
  });

  it('an offer with no common codec gets 488 and leaves nothing behind', async () => {
    const rs = await invite(
      'b2bua-call-2',
      1,
      phoneSdp({ port: 40000, codecs: [{ pt: 97, name: 'AMR', rate: 8000 }] }),
    );
    assert.equal(rs.status, 488);
    assert.equal(b2bua.ms.sessions().length, 0);
    assert.equal(b2bua.ms.ports.inUse, 0);
  });
});
