/**
 * The forwarding plane over real UDP on loopback: what goes in on one
 * endpoint comes out of the other byte for byte (payload type renumbered
 * where the sides differ), the statistics match what the sender did, and
 * the latch keeps other sources out.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { RtpEndpoint } from '../lib';
import { ForwardPlane } from '../lib/forward';
import { PCMA, PCMU, Peer, nowMs, rtpPacket, sleep, te, until } from './helpers/rtpPeer';

interface Setup {
  plane: ForwardPlane;
  pa: Peer;
  pb: Peer;
  a: RtpEndpoint;
  b: RtpEndpoint;
}

async function withRelay(
  fn: (s: Setup) => Promise<void>,
  opts: { ptsA?: (typeof PCMU)[]; ptsB?: (typeof PCMU)[]; latchA?: 'strict' | 'once' | 'always' } = {},
): Promise<void> {
  const plane = new ForwardPlane({ threads: 1 });
  const pa = await Peer.create();
  const pb = await Peer.create();
  const a = pa.endpoint(opts.ptsA ?? [PCMU], { latch: opts.latchA });
  const b = pb.endpoint(opts.ptsB ?? [PCMU]);
  try {
    await fn({ plane, pa, pb, a, b });
  } finally {
    plane.close();
    a.close();
    b.close();
    pa.close();
    pb.close();
  }
}

describe('forwarding plane: identity', () => {
  it('SSRC, sequence numbers, timestamps, CSRCs, header extension and payload arrive unchanged; 30 ms stays 30 ms', async () => {
    await withRelay(async ({ plane, pa, pb, a, b }) => {
      const relay = plane.relay(a, b);
      const sentA: Buffer[] = [];
      const sentB: Buffer[] = [];
      for (let i = 0; i < 30; i++) {
        // 30 ms of PCMU: 240 samples, 240 bytes
        const pA = rtpPacket({
          pt: 0,
          seq: 65530 + i, // wraps
          ts: 0xfffff000 + i * 240,
          ssrc: 0x11223344,
          marker: i === 0,
          csrc: [0xaabbccdd],
          ext: { profile: 0xbede, words: [0x10ff0000 + i] },
          payload: crypto.randomBytes(240),
        });
        const pB = rtpPacket({
          pt: 0,
          seq: 7 + i,
          ts: 99 + i * 240,
          ssrc: 0x55667788,
          payload: crypto.randomBytes(240),
        });
        pa.sendRtp(a, pA);
        pb.sendRtp(b, pB);
        sentA.push(pA);
        sentB.push(pB);
        await sleep(30);
      }
      await until(() => pb.rtp.length >= 30 && pa.rtp.length >= 30);
      assert.equal(pb.rtp.length, 30);
      assert.equal(pa.rtp.length, 30);
      pb.rtp.forEach((r, i) => assert.ok(r.data.equals(sentA[i]), `a->b packet ${i} differs`));
      pa.rtp.forEach((r, i) => assert.ok(r.data.equals(sentB[i]), `b->a packet ${i} differs`));
      // out of the other endpoint's own port (what the peer's SDP told it)
      assert.ok(pb.rtp.every((r) => r.fromPort === b.port));
      assert.ok(pa.rtp.every((r) => r.fromPort === a.port));
      const s = relay.stats();
      assert.equal(s.aToB.forwarded, 30);
      assert.equal(s.bToA.forwarded, 30);
      assert.equal(s.aToB.ssrc, 0x11223344);
      assert.equal(s.aToB.lost, 0);
      assert.equal(s.aToB.expected, 30);
      assert.equal(s.aToB.source, `127.0.0.1:${pa.port}`);
      relay.close();
      assert.equal(relay.closed, true);
      relay.close(); // idempotent
      assert.equal(plane.relays, 0);
    });
  });

  it('rewrites the payload type where the sides number a codec differently, telephone-event included, both ways', async () => {
    await withRelay(
      async ({ plane, pa, pb, a, b }) => {
        const relay = plane.relay(a, b);
        const kinds = [0, 101, 8, 0];
        for (let i = 0; i < kinds.length; i++) {
          pa.sendRtp(
            a,
            rtpPacket({ pt: kinds[i], seq: i, ts: i * 160, ssrc: 1, marker: i === 1, payload: Buffer.alloc(4, i) }),
          );
          await sleep(5);
        }
        for (let i = 0; i < 3; i++) {
          pb.sendRtp(
            b,
            rtpPacket({ pt: [96, 0, 8][i], seq: 50 + i, ts: i * 160, ssrc: 2, payload: Buffer.alloc(4, 9) }),
          );
          await sleep(5);
        }
        await until(() => pb.rtp.length >= 4 && pa.rtp.length >= 3);
        // A: PCMU 0, PCMA 8, telephone-event 101; B: PCMU 0, PCMA 18 (!), telephone-event 96
        assert.deepEqual(
          pb.rtp.map((r) => r.data[1]),
          [0, 0x80 | 96, 18, 0],
        );
        assert.deepEqual(
          pa.rtp.map((r) => r.data[1] & 0x7f),
          [101, 0, 8],
        );
        // nothing else changed
        assert.ok(
          pb.rtp[1].data
            .subarray(2)
            .equals(rtpPacket({ pt: 101, seq: 1, ts: 160, ssrc: 1, payload: Buffer.alloc(4, 1) }).subarray(2)),
        );
        relay.close();

        // an explicit map wins: A's PCMU goes out as B's PCMA number (a test of the map, not of sense)
        const r2 = plane.relay(a, b, { ptMap: { 0: 18 } });
        const before = pb.rtp.length;
        pa.sendRtp(a, rtpPacket({ pt: 0, seq: 10, ts: 0, ssrc: 1, payload: Buffer.alloc(4) }));
        await until(() => pb.rtp.length > before);
        assert.equal(pb.rtp[before].data[1], 18);
        r2.close();
        assert.throws(() => plane.relay(a, b, { ptMap: { 0: 200 } }), { code: 'ERR_RMS_INVALID_ARGUMENT' });
        assert.throws(() => plane.relay(a, b, { ptMap: { 0: 18, 8: 18 } }), { code: 'ERR_RMS_INVALID_ARGUMENT' });
      },
      { ptsA: [PCMU, PCMA, te(101)], ptsB: [PCMU, { ...PCMA, pt: 18 }, te(96)] },
    );
  });
});

/** RFC 3550 A.8 over (arrival ms, RTP timestamp) pairs, in RTP units at 8 kHz. */
function rfcJitter(points: { at: number; ts: number }[]): number {
  let j = 0;
  for (let i = 1; i < points.length; i++) {
    const d = (points[i].at - points[i - 1].at) * 8 - (points[i].ts - points[i - 1].ts);
    j += (Math.abs(d) - j) / 16;
  }
  return j;
}

describe('forwarding plane: statistics', () => {
  it('counts loss, bursts, duplicates and reordering as the sender made them; jitter as RFC 3550', async () => {
    await withRelay(async ({ plane, pa, pb, a, b }) => {
      const relay = plane.relay(a, b);
      const N = 140;
      const lost = new Set([10, 40, 41, 43, 44, 46]); // 10 isolated; 40..46 a burst (5 of 7 lost)
      const order: number[] = [];
      for (let i = 0; i < N; i++) if (!lost.has(i)) order.push(i);
      // 70 arrives after 71, 90 after 93 (reordered, not lost); 100 and 120 twice
      const swap = (x: number, y: number) => {
        const ix = order.indexOf(x);
        const iy = order.indexOf(y);
        [order[ix], order[iy]] = [order[iy], order[ix]];
      };
      swap(70, 71);
      order.splice(order.indexOf(90), 1);
      order.splice(order.indexOf(93) + 1, 0, 90);
      order.splice(order.indexOf(100) + 1, 0, 100);
      order.splice(order.indexOf(120) + 1, 0, 120);
      const sentAt: { at: number; ts: number; seq: number }[] = [];
      const seen = new Set<number>();
      let t = nowMs();
      for (const seq of order) {
        // 20 ms apart on average, 0..16 ms of random extra delay
        t += 20;
        const wait = t + Math.random() * 16 - nowMs();
        if (wait > 0) await sleep(wait);
        const p = rtpPacket({
          pt: 0,
          seq: 1000 + seq,
          ts: 5000 + seq * 160,
          ssrc: 0xabc,
          payload: Buffer.alloc(160, 0x55),
        });
        const at = nowMs();
        pa.sendRtp(a, p);
        if (!seen.has(seq)) sentAt.push({ at, ts: 5000 + seq * 160, seq });
        seen.add(seq);
      }
      await until(() => pb.rtp.length >= order.length);
      const s = relay.stats().aToB;
      assert.equal(s.packets, order.length);
      assert.equal(s.forwarded, order.length);
      assert.equal(s.expected, N);
      assert.equal(s.lost, lost.size);
      assert.equal(s.duplicates, 2);
      assert.equal(s.reordered, 2);
      assert.equal(s.late, 0);
      assert.equal(s.highestSeq, 1000 + N - 1);
      // RFC 3611 burst/gap with Gmin 16, over what left the 16-packet reorder window
      assert.equal(s.burst.lost, lost.size);
      assert.equal(s.burst.bursts, 1);
      assert.equal(s.burst.burstLost, 5);
      assert.equal(s.burst.burstPackets, 7);
      assert.equal(s.burst.packets, N - 16);
      // the same packets' jitter as computed by the RFC on our send times
      const ref = rfcJitter(sentAt);
      assert.ok(ref > 20, `the test's own jitter is too small to compare (${ref})`);
      assert.ok(Math.abs(s.jitter - ref) <= 0.15 * ref, `jitter ${s.jitter} vs RFC 3550 ${ref}`);
      assert.equal(s.clockRate, 8000);
      assert.ok(Math.abs(s.jitterMs - s.jitter / 8) < 1e-9);
      assert.ok(s.lastArrivalMs !== null && Math.abs(s.lastArrivalMs - Date.now()) < 5000);
    });
  });
});

describe('forwarding plane: latch', () => {
  for (const mode of ['strict', 'once'] as const) {
    it(`${mode}: a hijacker from another port gets nothing in and nothing back`, async () => {
      await withRelay(
        async ({ plane, pa, pb, a, b }) => {
          const hijacker = await Peer.create();
          try {
            const relay = plane.relay(a, b);
            const pkt = (seq: number, ssrc: number) =>
              rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc, payload: Buffer.alloc(160, ssrc & 0xff) });
            for (let i = 0; i < 10; i++) {
              pa.sendRtp(a, pkt(i, 0x0a));
              await sleep(3);
              hijacker.sendRtp(a, pkt(i, 0x0b));
              pb.sendRtp(b, pkt(i, 0x0c));
              await sleep(10);
            }
            await until(() => pb.rtp.length >= 10 && pa.rtp.length >= 10);
            await sleep(30);
            assert.equal(pb.rtp.length, 10);
            assert.ok(
              pb.rtp.every((r) => r.data.readUInt32BE(8) === 0x0a),
              'only the latched source reached B',
            );
            assert.equal(pa.rtp.length, 10);
            assert.equal(hijacker.rtp.length, 0, 'the hijacker got B’s media');
            const s = relay.stats().aToB;
            // refused by the latch, or by the kernel once the socket is connected to the source
            assert.ok(s.sourceConnected, 'a locked latch on an explicit port connects the socket');
            assert.ok(s.dropped.refused <= 10);
            assert.equal(s.source, `127.0.0.1:${pa.port}`);
          } finally {
            hijacker.close();
          }
        },
        { latchA: mode },
      );
    });
  }

  it('once with handover, and always: the new source takes the stream, and B’s media follows it', async () => {
    for (const opts of [{ latch: 'once' as const, handover: true }, { latch: 'always' as const }]) {
      await withRelay(async ({ plane, pa, pb, a, b }) => {
        const other = await Peer.create();
        try {
          const relay = plane.relay(a, b, { latch: { a: opts.latch }, handover: opts.handover });
          const pkt = (seq: number, ssrc: number) =>
            rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc, payload: Buffer.alloc(8) });
          pa.sendRtp(a, pkt(1, 0x0a));
          await until(() => pb.rtp.length >= 1);
          other.sendRtp(a, pkt(2, 0x0b));
          await until(() => pb.rtp.length >= 2);
          pb.sendRtp(b, pkt(1, 0x0c));
          await until(() => other.rtp.length >= 1);
          assert.equal(pb.rtp.length, 2);
          assert.equal(other.rtp.length, 1, `${opts.latch}: B's media did not follow the new source`);
          assert.equal(pa.rtp.length, 0);
          const s = relay.stats().aToB;
          assert.equal(s.source, `127.0.0.1:${other.port}`);
          assert.ok(s.sourceMoves >= 1);
        } finally {
          other.close();
        }
      });
    }
  });
});
