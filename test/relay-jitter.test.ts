import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { Gateway, MediaServer, RtpEndpoint, Ticker } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

const nominal = (e: RtpEndpoint) => {
  const jb = e.jitterBuffer;
  return jb ? jb.nominalMs : undefined;
};

describe('relayed legs skip the jitter buffer', () => {
  it('relay: none on either leg; transcoding: the legs own; back again after a re-INVITE', () => {
    const ticker = new Ticker({ name: 'jb' });
    const a = new RtpEndpoint({ address: '127.0.0.1', jitterBuffer: { nominalMs: 40 } });
    const b = new RtpEndpoint({ address: '127.0.0.1' });
    try {
      const gw = new Gateway({
        ticker,
        start: false,
        a: { endpoint: a, codec: 'PCMU' },
        b: { endpoint: b, codec: 'PCMU' },
      });
      assert.ok(gw.directions.every((d) => d.relay));
      assert.equal(nominal(a), undefined);
      assert.equal(nominal(b), undefined);
      gw.reconfigure({ b: { codec: 'PCMA' } });
      assert.ok(gw.directions.every((d) => !d.relay));
      assert.equal(nominal(a), 40);
      assert.equal(nominal(b), 60);
      gw.reconfigure({ b: { codec: 'PCMU' } });
      assert.equal(nominal(a), undefined);
      // a lent endpoint gets its own buffer back when the gateway closes (a MediaLeg after a bridge)
      gw.close();
      assert.equal(nominal(a), 40);
      assert.equal(nominal(b), 60);
      // relayJitterBuffer keeps them
      const kept = new Gateway({
        ticker,
        start: false,
        relayJitterBuffer: true,
        a: { endpoint: a, codec: 'PCMU' },
        b: { endpoint: b, codec: 'PCMU' },
      });
      assert.equal(nominal(a), 40);
      kept.close();
    } finally {
      a.close();
      b.close();
      ticker.close();
    }
  });

  it('a relayed call forwards within a few ms, and its reports carry no jitter buffer', async () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 });
    const pa = dgram.createSocket('udp4');
    const pb = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => pa.bind(0, '127.0.0.1', r));
      await new Promise<void>((r) => pb.bind(0, '127.0.0.1', r));
      const pcmu = [{ pt: 0, name: 'PCMU', rate: 8000 }];
      const s = ms.offer('relay-jb', phoneSdp({ port: pa.address().port, codecs: pcmu }));
      assert.ok(parseSdp(s.offerSdp).audio);
      ms.answer('relay-jb', phoneSdp({ port: pb.address().port, codecs: pcmu }));
      assert.equal(s.relay, true);
      const delays: number[] = [];
      const sentAt = new Map<number, bigint>();
      pb.on('message', (m) => {
        const payloadKey = m.readUInt32BE(12); // our own marker, carried unchanged
        const t = sentAt.get(payloadKey);
        if (t !== undefined) delays.push(Number(process.hrtime.bigint() - t) / 1e6);
      });
      const aPort = s.info().legs.a.localPort;
      for (let i = 0; i < 40; i++) {
        const p = Buffer.alloc(172, 0xff);
        p[0] = 0x80;
        p[1] = 0; // PCMU
        p.writeUInt16BE(i, 2);
        p.writeUInt32BE(i * 160, 4);
        p.writeUInt32BE(0x4242, 8);
        p.writeUInt32BE(1000 + i, 12);
        sentAt.set(1000 + i, process.hrtime.bigint());
        pa.send(p, aPort, '127.0.0.1');
        await sleep(20);
      }
      await sleep(100);
      assert.ok(delays.length >= 35, `${delays.length} packets forwarded`);
      delays.sort((x, y) => x - y);
      const median = delays[Math.floor(delays.length / 2)];
      // one ticker period at most, not the 60 ms of a jitter buffer
      assert.ok(median < 25, `median forwarding delay ${median.toFixed(1)} ms`);
      const summary = s.stop();
      // no jitter buffer: described as a fixed one of 0 ms, in the report as in our XR
      assert.deepEqual(summary.reports!.a.localMetrics.jitterBuffer, {
        adaptive: 2,
        nominalMs: 0,
        maxMs: 0,
        absMaxMs: 0,
      });
    } finally {
      pa.close();
      pb.close();
      ms.close();
    }
  });
});
