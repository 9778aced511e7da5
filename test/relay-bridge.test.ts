/**
 * A same-codec call through MediaServer relays on the forwarding plane:
 * packets leave exactly as they came (SSRC, sequence numbers, timestamps,
 * payload), the legs' figures and digits are still seen, and a play into the
 * call moves it to graphs and back without losing the stream.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MediaServer } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { mediaTap } from './helpers/mediaTap';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { sleep, waitFor } from './helpers/wait';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];

/** Sends `n` RTP packets (PCMU, 20 ms apart, a fixed SSRC) from a socket, with RFC 4733 digit `digit` in the middle. */
async function sendStream(to: number, from: dgram.Socket, n: number, ssrc: number, digit?: number): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  let seq = 5000; // one sequence space for audio and events, as a phone sends them
  for (let i = 0; i < n; i++) {
    const p = Buffer.alloc(12 + 160);
    p[0] = 0x80;
    p[1] = 0;
    p.writeUInt16BE(seq++ & 0xffff, 2);
    p.writeUInt32BE((160000 + i * 160) >>> 0, 4);
    p.writeUInt32BE(ssrc, 8);
    for (let k = 0; k < 160; k++) p[12 + k] = (i * 7 + k) & 0xff;
    sent.push(p);
    from.send(p, to, '127.0.0.1');
    if (digit !== undefined && i === Math.floor(n / 2)) {
      // one event: 3 packets, the last one with the end bit (RFC 4733), 100 ms long
      for (const [dur, end] of [
        [160, 0],
        [480, 0],
        [800, 0x80],
      ] as const) {
        const e = Buffer.alloc(16);
        e[0] = 0x80;
        e[1] = 101;
        e.writeUInt16BE(seq++ & 0xffff, 2);
        e.writeUInt32BE((160000 + i * 160) >>> 0, 4);
        e.writeUInt32BE(ssrc, 8);
        e[12] = digit;
        e[13] = end | 10;
        e.writeUInt16BE(dur, 14);
        from.send(e, to, '127.0.0.1');
      }
    }
    await sleep(20);
  }
  return sent;
}

describe('relayed calls on the forwarding plane', () => {
  const dir = tmpDir('rms-relaybridge-');
  const ms = new MediaServer({
    address: '127.0.0.1',
    ports: mediaPorts(100),
    tickers: 1,
    quality: { sampleMs: 200 },
    mediaRoots: [dir],
  });
  writeWav(path.join(dir, 'beep.wav'), tone(8000, 0.5, [700]));
  after(() => ms.close());

  it('packets cross untouched, figures and digits are still counted', async () => {
    const alice = await mediaTap(0);
    const bob = await mediaTap(0);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const aPort = (sock.address() as { port: number }).port;
      const s = ms.offer('relay-1', phoneSdp({ port: aPort, codecs: PCMU, telephoneEvent: 101 }));
      // alice sends where our answer to her says
      const toAlice = parseSdp(
        s.answer(phoneSdp({ port: bob.port, codecs: PCMU, telephoneEvent: 101 }), { toTag: 'b' }),
      ).audio!;
      assert.equal(s.bridge!.engine, 'relay');
      const digits: string[] = [];
      s.on('dtmf', (leg, d) => digits.push(`${leg.name}:${d.digit}`));
      const sent = await sendStream(toAlice.port, sock, 50, 0xa11ce, 5);
      await waitFor(() => bob.packets.filter((p) => p.pt === 0).length >= 50, { what: 'bob to get the stream' });
      // identity: every audio packet bob got is byte for byte what alice sent
      const got = bob.frames.filter((f) => f.header.pt === 0);
      assert.equal(got.length, 50);
      assert.ok(
        got.every((f) => f.header.ssrc === 0xa11ce),
        'same SSRC',
      );
      assert.deepEqual(
        got.map((f) => f.header.seq),
        sent.map((p) => p.readUInt16BE(2)),
        'same sequence numbers',
      );
      assert.deepEqual(
        got.map((f) => f.header.ts),
        sent.map((p) => p.readUInt32BE(4)),
        'same timestamps',
      );
      await waitFor(() => digits.length > 0, { what: 'the digit' });
      assert.deepEqual(digits, ['a:5'], 'the relayed digit reached leg a once');
      const st = s.a.stats();
      assert.ok(st.packetsReceived >= 50, `leg a counted what the relay took (${st.packetsReceived})`);
      assert.equal(s.a.lossMetrics().lost, 0);
      const summary = s.stop();
      assert.ok(summary.stats!.a.packetsReceived >= 50);
      assert.equal(summary.reports!.a.localMetrics.packetLoss?.networkLossPercent, 0);
    } finally {
      alice.close();
      bob.close();
      sock.close();
    }
  });

  it('a prompt played into a relayed call moves it to graphs and back to the relay', async () => {
    const bob = await mediaTap(0);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const aPort = (sock.address() as { port: number }).port;
      const s = ms.offer('relay-2', phoneSdp({ port: aPort, codecs: PCMU }));
      const toAlice = parseSdp(s.answer(phoneSdp({ port: bob.port, codecs: PCMU }), { toTag: 'b' })).audio!;
      const engines: string[] = [];
      s.bridge!.on('engine', (e) => engines.push(e));
      const stream = sendStream(toAlice.port, sock, 60, 0xb0b, undefined);
      await sleep(300);
      const played = await s.b!.play('beep.wav');
      assert.equal(played.reason, 'eof');
      await stream;
      await waitFor(() => s.bridge!.engine === 'relay', { what: 'the relay to come back' });
      assert.deepEqual(engines, ['graph', 'relay']);
      // bob heard alice, then the prompt (our SSRC), then alice again (hers)
      const ssrcs = bob.packets.map((p) => p.ssrc);
      const runs = ssrcs.filter((x, i) => i === 0 || x !== ssrcs[i - 1]);
      assert.equal(runs[0], 0xb0b);
      assert.ok(runs.includes(0xb0b) && runs.some((x) => x !== 0xb0b), `SSRC runs ${runs.map((x) => x.toString(16))}`);
      assert.equal(runs[runs.length - 1], 0xb0b, 'alice again, untouched, after the prompt');
      s.stop();
    } finally {
      bob.close();
      sock.close();
    }
  });
});
