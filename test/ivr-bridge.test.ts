/**
 * Bridge and transfer between IVR legs, with the gap on the wire measured
 * from the RTP stream a phone receives (timestamps and arrival times), and
 * DTMF interworking between a leg with telephone-event and one without.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, Ticker } from '../lib';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { UdpRelay, type RtpHeader } from './helpers/relay';
import { toneReport } from './helpers/signal';
import { sleep } from './helpers/wait';

let root: string;
let ticker: Ticker;

before(() => {
  root = tmpDir('rms-bridge-');
  ticker = new Ticker({ name: 'bridge-test' });
  for (const f of [500, 1000, 1500]) writeWav(path.join(root, `t${f}.wav`), tone(16000, 6, [f], 0.3));
});
after(() => ticker.close());

interface Side {
  phone: MediaLeg;
  server: MediaLeg;
  relay: UdpRelay;
}

/** phone <-> relay (records what the server sends) <-> server leg */
async function side(codec: string, te?: number, phoneTe = te): Promise<Side> {
  const server = new MediaLeg({
    name: `srv-${codec}`,
    codec,
    telephoneEvent: te,
    local: { address: '127.0.0.1' },
    ticker,
    mediaRoots: [root],
  });
  const phone = new MediaLeg({
    name: `phone-${codec}`,
    codec,
    telephoneEvent: phoneTe,
    local: { address: '127.0.0.1' },
    ticker,
    mediaRoots: [root],
  });
  const relay = await UdpRelay.create({
    gateway: { address: '127.0.0.1', port: server.localPort },
    peer: { address: '127.0.0.1', port: phone.localPort },
  });
  server.setRemote({ address: '127.0.0.1', port: relay.nearPort });
  phone.setRemote({ address: '127.0.0.1', port: relay.farPort });
  return { phone, server, relay };
}

function closeAll(...sides: Side[]) {
  for (const s of sides) {
    s.phone.close();
    s.server.close();
    s.relay.close();
  }
}

/** Largest gap in the stream around time `at`: from RTP timestamps (media time) and from arrival. */
function gapAround(pkts: RtpHeader[], at: number, clock: number, ptimeMs: number) {
  let tsGap = 0;
  let arrivalGap = 0;
  for (let i = 1; i < pkts.length; i++) {
    if (Math.abs(pkts[i].at - at) > 400) continue;
    if (pkts[i].pt !== pkts[i - 1].pt) continue;
    const dts = (((pkts[i].ts - pkts[i - 1].ts) >>> 0) / clock) * 1000 - ptimeMs;
    const dseq = (pkts[i].seq - pkts[i - 1].seq) & 0xffff;
    if (dseq === 1) tsGap = Math.max(tsGap, dts);
    arrivalGap = Math.max(arrivalGap, pkts[i].at - pkts[i - 1].at - ptimeMs);
  }
  return { tsGap, arrivalGap };
}

describe('bridge and transfer', () => {
  it('IVR -> bridge A-B -> transfer to A-C -> back to IVR, with the gap on the wire measured', async () => {
    const a = await side('PCMU', 101);
    const b = await side('opus', 101);
    const c = await side('G722', 101);
    try {
      void b.phone.play('t1000.wav');
      void c.phone.play('t1500.wav');
      void a.server.play('t500.wav');
      await sleep(500);
      const t1 = Date.now();
      const gw = a.server.bridgeWith(b.server);
      assert.equal(a.server.mode, 'bridged');
      assert.equal(a.server.peer, b.server);
      assert.equal(gw.directions[0].relay, false, 'PCMU <-> opus is transcoded');
      await sleep(700);
      const t2 = Date.now();
      a.server.bridgeWith(c.server); // transfer: B goes back to IVR
      assert.equal(b.server.mode, 'alone');
      assert.equal(a.server.peer, c.server);
      await sleep(700);
      const t3 = Date.now();
      a.server.unbridge();
      assert.equal(a.server.mode, 'alone');
      assert.equal(c.server.mode, 'alone');
      void a.server.play('t500.wav');
      await sleep(500);
      const pkts = a.relay.fromGateway;
      const seqOk = pkts.every((p, i) => i === 0 || ((p.seq - pkts[i - 1].seq) & 0xffff) === 1);
      assert.ok(seqOk, 'one RTP stream: sequence numbers continue across every move');
      assert.ok(new Set(pkts.map((p) => p.ssrc)).size === 1, 'same SSRC throughout');
      const gaps = [t1, t2, t3].map((t) => gapAround(pkts, t, 8000, 20));
      console.log(
        `# gap on the wire (ms beyond one ptime): ivr->bridge ${gaps[0].tsGap.toFixed(0)}/${gaps[0].arrivalGap.toFixed(0)}, ` +
          `transfer ${gaps[1].tsGap.toFixed(0)}/${gaps[1].arrivalGap.toFixed(0)}, ` +
          `bridge->ivr ${gaps[2].tsGap.toFixed(0)}/${gaps[2].arrivalGap.toFixed(0)} (RTP timestamps / arrival)`,
      );
      for (const g of gaps.slice(0, 2)) assert.ok(g.tsGap <= 40, `media gap ${g.tsGap} ms at a move`);
      // and A heard B, then C
      const chunks = (from: number, to: number) => pkts.filter((p) => p.at >= from && p.at < to).length;
      assert.ok(chunks(t1 + 100, t2) > 20 && chunks(t2 + 100, t3) > 20, 'media flowed in both bridges');
    } finally {
      closeAll(a, b, c);
    }
  });

  it('audio crosses the bridge both ways', async () => {
    const a = await side('PCMA', 101);
    const b = await side('G722', 101);
    try {
      a.server.bridgeWith(b.server);
      const ra = a.phone.record('a-hears.wav', { maxDurationMs: 1200 });
      const rb = b.phone.record('b-hears.wav', { maxDurationMs: 1200 });
      void a.phone.play('t500.wav');
      void b.phone.play('t1500.wav');
      const [ha, hb] = await Promise.all([ra, rb]);
      assert.ok(toneReport(readWav(ha.path), 1500).marginDb > 15, 'A hears B');
      assert.ok(toneReport(readWav(hb.path), 500).marginDb > 15, 'B hears A');
    } finally {
      closeAll(a, b);
    }
  });
});

describe('DTMF interworking across a bridge', () => {
  it('RFC 4733 from one side becomes an in-band tone for the other, and in-band becomes RFC 4733', async () => {
    const a = await side('PCMU', 101); // phone and leg with telephone-event
    const b = await side('PCMU', undefined); // neither has it
    try {
      const gw = a.server.bridgeWith(b.server);
      assert.equal(gw.directions[0].relay, false, 'decoded: only one side has telephone-event');
      const atB: [string, string][] = [];
      const atA: [string, string][] = [];
      b.phone.on('dtmf', (d) => atB.push([d.digit, d.source]));
      a.phone.on('dtmf', (d) => atA.push([d.digit, d.source]));
      await sleep(200);
      await a.phone.sendDtmf('47', { durationMs: 120, gapMs: 150 });
      await sleep(300);
      await b.phone.sendDtmf('3*', { mode: 'inband', durationMs: 100, gapMs: 150 });
      await sleep(400);
      assert.deepEqual(atB, [
        ['4', 'inband'],
        ['7', 'inband'],
      ]);
      assert.deepEqual(atA, [
        ['3', 'rfc4733'],
        ['*', 'rfc4733'],
      ]);
    } finally {
      closeAll(a, b);
    }
  });
});
