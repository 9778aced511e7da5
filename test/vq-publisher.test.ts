/**
 * VqPublisher: RFC 6035 PUBLISH in an RFC 3261 17.1.2 non-INVITE client
 * transaction over UDP, against a collector socket of ours. Timers are
 * node:test's mock timers, so the T1/T2 schedule is checked exactly without
 * waiting for it.
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { afterEach, describe, it, mock } from 'node:test';
import { VqPublisher, formatVqReport, parseVqReport, type VqReport } from '../lib/quality';
import { checkAbnf } from './helpers/vqAbnf';

const report: VqReport = {
  kind: 'VQSessionReport',
  callTerm: true,
  callId: 'abc@example.org',
  localId: '"rms" <sip:rms@127.0.0.1>',
  remoteId: '<sip:peer@127.0.0.1>',
  origId: '<sip:peer@127.0.0.1>',
  localAddr: { ip: '127.0.0.1', port: 4000, ssrc: 1 },
  remoteAddr: { ip: '127.0.0.1', port: 5000, ssrc: 2 },
  localMetrics: { start: new Date(0), stop: new Date(1000) },
};

/** A collector that answers the n-th transmission (0: never), with an optional 100 first. */
async function collector(answerOn: number, provisional = false) {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const got: string[] = [];
  s.on('message', (m, rinfo) => {
    const text = m.toString();
    got.push(text);
    const head = text.split('\r\n\r\n')[0];
    const copy = (name: string) =>
      head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const reply = (status: string) =>
      s.send(
        [
          `SIP/2.0 ${status}`,
          ...copy('Via'),
          ...copy('From'),
          ...copy('To'),
          ...copy('Call-ID'),
          ...copy('CSeq'),
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
        rinfo.port,
        rinfo.address,
      );
    if (provisional && got.length === 1) reply('100 Trying');
    if (got.length === answerOn) reply('200 OK');
  });
  return { port: s.address().port, got, close: () => s.close() };
}

/** Lets real I/O (the UDP round trips) happen while timers are mocked. */
async function io(rounds = 20) {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

afterEach(() => mock.timers.reset());

describe('VqPublisher: PUBLISH as an RFC 3261 non-INVITE client transaction', () => {
  it('a 200 at once: one transmission, the report intact', async () => {
    const c = await collector(1);
    const pub = await VqPublisher.create({
      collectorUri: `sip:collector@127.0.0.1:${c.port}`,
      collector: { host: '127.0.0.1', port: c.port },
      localAddress: '127.0.0.1',
    });
    try {
      const o = await pub.publish(report);
      assert.equal(o.status, 200);
      assert.equal(o.transmissions, 1);
      const body = c.got[0].split('\r\n\r\n')[1];
      assert.deepEqual(checkAbnf(body), []);
      assert.equal(formatVqReport(parseVqReport(body)), formatVqReport(report));
      assert.match(c.got[0], /^Max-Forwards: 70\r$/m);
      assert.match(c.got[0], /^Event: vq-rtcpxr\r$/m);
    } finally {
      pub.close();
      c.close();
    }
  });

  it('no answer: retransmitted after 0.5, 1, 2 s, then every 4 s (T2), until Timer F at 32 s gives 408', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const c = await collector(0);
    const pub = await VqPublisher.create({
      collectorUri: `sip:collector@127.0.0.1:${c.port}`,
      collector: { host: '127.0.0.1', port: c.port },
      localAddress: '127.0.0.1',
    });
    try {
      const done = pub.publish(report);
      for (let t = 0; t < 33_000; t += 250) {
        mock.timers.tick(250);
        await io(2);
      }
      const o = await done;
      assert.equal(o.status, 408);
      assert.deepEqual(o.intervalsMs, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
      await io();
      assert.equal(c.got.length, 11, 'every transmission reached the collector');
    } finally {
      pub.close();
      c.close();
    }
  });

  it('a provisional response: retransmissions every T2 from then on, until the final response', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 2_000_000 });
    const c = await collector(4, true);
    const pub = await VqPublisher.create({
      collectorUri: `sip:collector@127.0.0.1:${c.port}`,
      collector: { host: '127.0.0.1', port: c.port },
      localAddress: '127.0.0.1',
    });
    try {
      const done = pub.publish(report);
      let outcome: Awaited<typeof done> | undefined;
      void done.then((o) => (outcome = o));
      for (let t = 0; t < 20_000 && !outcome; t += 100) {
        await io(4);
        mock.timers.tick(100);
      }
      await io();
      assert.ok(outcome, 'the transaction ended');
      assert.equal(outcome.status, 200);
      // the 100 came for the first transmission: Timer E, already running,
      // fires at T1, and is reset to T2 from then on (RFC 3261 17.1.2.2)
      assert.deepEqual(outcome.intervalsMs, [500, 4000, 4000]);
    } finally {
      pub.close();
      c.close();
    }
  });
});
