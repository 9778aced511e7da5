/**
 * The daemon's `start forwarding` / `stop forwarding` over real UDP ng: the
 * named participant's decoded audio forked to a WebSocket given by
 * `forward-to` (an extension key), with `inject` what the WebSocket sends
 * back plays into that leg; nobody named forwards the call (both
 * directions); refusals (no forward-to, a bad URL, an unknown call) come back
 * as result: error; deleting the call ends its forks with a stop message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSdp } from '../lib/sdp/parse';
import type { BDict } from '../lib/control/bencode';
import { Daemon, defaultConfig, validate } from '../lib/daemon';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { bestLag, hoppingTones, rtpPhone } from './helpers/rtpPhone';
import { phoneSdp } from './helpers/sdp';
import { sleep, waitFor } from './helpers/wait';
import { pcmOf, wsBot, type WsBot } from './helpers/wsBot';

const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };

describe('ng start forwarding / stop forwarding', { timeout: 60_000 }, () => {
  let daemon: Daemon;
  let ng: NgClient;
  let bot: WsBot;

  before(async () => {
    daemon = await Daemon.start(
      validate({
        ...defaultConfig(),
        control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
        metrics: null,
        media: { address: '127.0.0.1', ports: mediaPorts(100) },
        tickers: 1,
      }),
    );
    const udp = daemon.addresses().udp!;
    ng = await NgClient.create({ host: udp.address, port: udp.port });
    bot = await wsBot();
  });
  after(async () => {
    ng?.close();
    await daemon?.close();
    await bot?.close();
  });

  async function call(callId: string) {
    const pa = await rtpPhone();
    const pb = await rtpPhone();
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({ port: pa.port, codecs: [PCMU] }),
    });
    assert.equal(offer.result, 'ok', JSON.stringify(offer));
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: phoneSdp({ port: pb.port, codecs: [PCMU] }),
    });
    assert.equal(answer.result, 'ok');
    const toA = parseSdp(str(answer.sdp)!).audio!;
    const toB = parseSdp(str(offer.sdp)!).audio!;
    return { pa, pb, toA: { address: toA.address, port: toA.port }, toB: { address: toB.address, port: toB.port } };
  }

  const req = (command: string, callId: string, extra: BDict = {}) =>
    ng.request({ command, 'call-id': callId, ...extra });

  it("forks a participant's audio to a WebSocket, plays what it sends back, stops on stop forwarding", async () => {
    const { pa, pb, toA, toB } = await call('fwd-1');
    const before = bot.connections.length;
    bot.onFrame = (c, f) => {
      if (c.events[0]?.msg.call === 'fwd-1') setTimeout(() => c.send(f.data), 200); // an echo bot
    };
    const r = await req('start forwarding', 'fwd-1', {
      'from-tag': 'alice',
      'forward-to': bot.url,
      format: 'L16',
      rate: 8000,
      flags: ['inject'],
      metadata: 'queue=sales',
    });
    assert.equal(r.result, 'ok', JSON.stringify(r));
    assert.equal((r.forks as unknown[]).length, 1);
    const c = (await waitFor(() => bot.connections.slice(before).find((x) => x.events.length)))!;
    const start = c.events[0].msg;
    assert.deepEqual(
      [start.call, start.direction, start.rate, start.metadata],
      ['fwd-1', 'in', 8000, { ng: 'queue=sales' }],
    );
    const sig = hoppingTones(2);
    await Promise.all([pa.play(sig, toA), pb.play(hoppingTones(2, 8000, 0.3, 9), toB)]);
    await sleep(500);
    assert.ok(bestLag(sig.subarray(4000, 8000), pcmOf(c.frames), 8000).corr > 0.95, 'the fork is alice');
    // alice hears herself 200 ms late from the bot (replacing bob meanwhile)
    assert.ok(bestLag(sig.subarray(4000, 8000), pa.received().samples, 12000).corr > 0.9, 'the echo reached alice');
    assert.ok(bestLag(sig.subarray(4000, 8000), pb.received().samples, 8000).corr > 0.99, 'bob heard alice');
    assert.equal((await req('stop forwarding', 'fwd-1')).result, 'ok');
    await waitFor(() => c.closed, { what: 'the fork to end' });
    assert.equal(c.events.at(-1)!.msg.event, 'stop');
    assert.ok(str((await req('stop forwarding', 'fwd-1')).warning));
    bot.onFrame = undefined;
    pa.close();
    pb.close();
    await req('delete', 'fwd-1', { 'from-tag': 'alice' });
  });

  it('forwards the whole call when nobody is named; delete ends it', async () => {
    const { pa, pb, toA, toB } = await call('fwd-2');
    const before = bot.connections.length;
    assert.equal((await req('start forwarding', 'fwd-2', { 'forward-to': bot.url, flags: ['stereo'] })).result, 'ok');
    const c = (await waitFor(() => bot.connections.slice(before).find((x) => x.events.length)))!;
    assert.deepEqual([c.events[0].msg.direction, c.events[0].msg.channels], ['both', 2]);
    await Promise.all([pa.play(hoppingTones(1), toA), pb.play(hoppingTones(1, 8000, 0.3, 4), toB)]);
    await req('delete', 'fwd-2', { 'from-tag': 'alice' });
    await waitFor(() => c.closed, { what: 'the fork to end with the call' });
    assert.deepEqual([c.events.at(-1)!.msg.event, c.events.at(-1)!.msg.reason], ['stop', 'closed']);
    assert.ok(c.frames.length > 30);
    pa.close();
    pb.close();
  });

  it('refuses a request it cannot carry out, as result: error', async () => {
    const { pa, pb } = await call('fwd-3');
    const noUrl = await req('start forwarding', 'fwd-3', {});
    assert.equal(noUrl.result, 'error');
    assert.match(str(noUrl['error-reason'])!, /forward-to/);
    const badUrl = await req('start forwarding', 'fwd-3', { 'forward-to': 'http://x/' });
    assert.equal(badUrl.result, 'error');
    assert.match(str(badUrl['error-reason'])!, /ws:\/\//);
    const badFormat = await req('start forwarding', 'fwd-3', { 'forward-to': bot.url, format: 'G729' });
    assert.equal(badFormat.result, 'error');
    const unknown = await req('start forwarding', 'nope', { 'forward-to': bot.url });
    assert.equal(unknown.result, 'error');
    assert.deepEqual(await ng.request({ command: 'ping' }), { result: 'pong' });
    await req('delete', 'fwd-3', { 'from-tag': 'alice' });
    pa.close();
    pb.close();
  });
});
