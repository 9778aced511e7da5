/**
 * What the daemon's `play media`, `stop media` and `play DTMF` use on a
 * running call: Gateway.play() feeds one leg's sender from a file player for
 * a while (graph edited while detached), Gateway.sendDtmf() injects a digit.
 * Checked on the audio a phone records, in relay and transcoding modes.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Gateway, InvalidStateError, Ticker } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { readWav, tone, writeWav, type Pcm } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { toneReport } from './helpers/signal';
import { sleep } from './helpers/wait';

const slice = (p: Pcm, from: number, to: number): Pcm => ({
  ...p,
  samples: p.samples.slice(Math.round(from * p.rate), Math.round(to * p.rate)),
});

describe('Gateway.play / stopPlay / sendDtmf on a running call', () => {
  const dir = tmpDir('rms-gw-play-');
  const phones = new Ticker({ name: 'phones' });
  after(() => phones.close());
  writeWav(path.join(dir, 'voice.wav'), tone(8000, 4, [1000]));
  // another rate than the codec: the player chain resamples
  writeWav(path.join(dir, 'prompt.wav'), tone(16000, 0.8, [440]));

  async function call(
    codecB: string,
    body: (gw: Gateway, a: AudioPeer, b: AudioPeer) => Promise<void>,
    before?: (b: AudioPeer) => void,
  ) {
    const tag = `${codecB}-${Math.random().toString(36).slice(2)}`;
    const a = new AudioPeer({ codec: 'PCMU', sendFile: path.join(dir, 'voice.wav'), telephoneEvent: 101 });
    const b = new AudioPeer({
      codec: codecB,
      recordFile: path.join(dir, `b-${tag}.wav`),
      recordRate: 8000,
      telephoneEvent: 101,
    });
    const gw = new Gateway({
      a: { local: { address: '127.0.0.1' }, codec: 'PCMU', telephoneEvent: 101 },
      b: { local: { address: '127.0.0.1' }, codec: codecB, telephoneEvent: 101 },
    });
    gw.a.setRemote({ address: '127.0.0.1', port: a.port });
    gw.b.setRemote({ address: '127.0.0.1', port: b.port });
    a.endpoint.setRemote({ address: '127.0.0.1', port: gw.a.localPort });
    b.endpoint.setRemote({ address: '127.0.0.1', port: gw.b.localPort });
    before?.(b);
    a.start(phones);
    b.start(phones);
    try {
      await body(gw, a, b);
    } finally {
      a.stop();
      b.stop();
      gw.close();
      a.close();
      b.close();
    }
    return readWav(path.join(dir, `b-${tag}.wav`));
  }

  for (const codecB of ['PCMU', 'PCMA']) {
    it(`${codecB === 'PCMU' ? 'relay' : 'transcoding'} (${codecB}): B hears the file twice, then A again`, async () => {
      let result: Awaited<ReturnType<Gateway['play']>> | undefined;
      const heard = await call(codecB, async (gw) => {
        await sleep(800);
        const p = gw.play('b', path.join(dir, 'prompt.wav'), { rate: 16000, channels: 1 }, { repeat: 2 });
        assert.equal(gw.playing('b'), true);
        result = await p;
        assert.equal(gw.playing('b'), false);
        await sleep(800);
      });
      assert.equal(result!.reason, 'eof');
      assert.ok(result!.durationMs >= 1500 && result!.durationMs < 2100, `played ${result!.durationMs} ms`);
      assert.ok(toneReport(slice(heard, 0.2, 0.7), 1000).marginDb > 15, 'A before');
      assert.ok(toneReport(slice(heard, 1.0, 2.3), 440).marginDb > 15, 'the file');
      const end = heard.samples.length / heard.rate;
      assert.ok(toneReport(slice(heard, end - 0.6, end - 0.1), 1000).marginDb > 15, 'A after');
    });
  }

  it('stopPlay ends it early with the position reached; a new play replaces the running one', async () => {
    await call('PCMA', async (gw) => {
      const first = gw.play('b', path.join(dir, 'prompt.wav'), { rate: 16000, channels: 1 }, { repeat: 100 });
      await sleep(300);
      const second = gw.play('b', path.join(dir, 'prompt.wav'), { rate: 16000, channels: 1 }, { repeat: 100 });
      assert.equal((await first).reason, 'replaced');
      await sleep(500);
      const pos = gw.stopPlay('b');
      const r = await second;
      assert.equal(r.reason, 'stopped');
      assert.ok(pos !== undefined && pos > 200 && pos <= 800, `position ${pos}`);
      assert.equal(gw.stopPlay('b'), undefined);
    });
  });

  it('a play goes on through a re-INVITE (reconfigure) where it was; close ends it', async () => {
    await call('PCMA', async (gw) => {
      const p = gw.play('a', path.join(dir, 'prompt.wav'), { rate: 16000, channels: 1 }, { repeat: 100 });
      await sleep(300);
      gw.reconfigure({ b: { codec: 'PCMU', telephoneEvent: 101 } });
      assert.equal(gw.playing('a'), true, 'the play survived the rebuild');
      await sleep(300);
      const pos = gw.stopPlay('a');
      const r = await p;
      assert.equal(r.reason, 'stopped');
      assert.ok(r.durationMs >= 500, `one promise for the whole play, across the rebuild (${r.durationMs} ms)`);
      assert.ok(pos !== undefined);
      const q = gw.play('a', path.join(dir, 'prompt.wav'), { rate: 16000, channels: 1 });
      gw.close();
      assert.equal((await q).reason, 'closed');
    });
  });

  it('sendDtmf: RFC 4733 with its duration to a leg with telephone-event', async () => {
    const got: { digit?: string; durationMs: number }[] = [];
    await call(
      'PCMA',
      async (gw) => {
        await sleep(300);
        assert.equal(gw.sendDtmf('b', '7', { durationMs: 250 }), 'rfc4733');
        await sleep(700);
        assert.throws(() => gw.sendDtmf('b', 'x'), /one DTMF digit/);
      },
      (b) => b.endpoint.on('telephoneEventEnd', (e) => got.push(e)),
    );
    assert.equal(got.length, 1);
    assert.equal(got[0].digit, '7');
    assert.ok(Math.abs(got[0].durationMs - 250) <= 30, `${got[0].durationMs} ms`);
  });

  it('sendDtmf to a relayed leg without telephone-event: InvalidStateError', () => {
    const gw = new Gateway({
      a: { local: { address: '127.0.0.1' }, codec: 'PCMU' },
      b: { local: { address: '127.0.0.1' }, codec: 'PCMU' },
      start: false,
    });
    try {
      assert.throws(() => gw.sendDtmf('a', '1'), InvalidStateError);
    } finally {
      gw.close();
    }
  });
});
