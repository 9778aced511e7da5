/**
 * The forwarding plane's controls over real UDP on loopback: RTCP both ways
 * (forwarded and kept), RFC 4733 events reported to JS, block and silence,
 * misuse refused with typed errors, and handing the endpoints to an ms2
 * graph and back without a gap in the media.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Factory, Graph, Ticker } from '../lib';
import { InUseError, InvalidStateError, UnsupportedError } from '../lib/errors';
import { ForwardPlane, type RelayDtmfEvent } from '../lib/forward';
import { PCMU, Peer, dtmfPayload, nowMs, rtcpRr, rtcpSrSdes, rtpPacket, sleep, te, until } from './helpers/rtpPeer';

async function pair(ptsA = [PCMU], ptsB = [PCMU]) {
  const plane = new ForwardPlane({ threads: 2 });
  const pa = await Peer.create();
  const pb = await Peer.create();
  const a = pa.endpoint(ptsA);
  const b = pb.endpoint(ptsB);
  const close = () => {
    plane.close();
    a.close();
    b.close();
    pa.close();
    pb.close();
  };
  return { plane, pa, pb, a, b, close };
}

describe('forwarding plane: RTCP', () => {
  it('forwards each side’s reports to the other and keeps the latest SR/RR per side', async () => {
    const { plane, pa, pb, a, b, close } = await pair();
    try {
      const relay = plane.relay(a, b);
      const sr = rtcpSrSdes(0x1111, 50, 8000, 'alice@example');
      const rr = rtcpRr(0x2222, 0x1111, 3, 77);
      pa.sendRtcp(a, sr);
      pb.sendRtcp(b, rr);
      await until(() => pb.rtcp.length >= 1 && pa.rtcp.length >= 1);
      assert.ok(pb.rtcp[0].data.equals(sr), 'A’s SR reached B’s peer unchanged');
      assert.ok(pa.rtcp[0].data.equals(rr), 'B’s RR reached A’s peer unchanged');
      assert.equal(pb.rtcp[0].fromPort, b.rtcpPort);
      assert.equal(pa.rtcp[0].fromPort, a.rtcpPort);
      const kept = relay.rtcp();
      const srPkt = kept.a.sr?.find((p) => p.type === 'SR');
      assert.ok(srPkt && srPkt.type === 'SR');
      assert.equal(srPkt.ssrc, 0x1111);
      assert.deepEqual(srPkt.sender, { packets: 50, octets: 8000 });
      const rrPkt = kept.b.rr?.find((p) => p.type === 'RR');
      assert.ok(rrPkt && rrPkt.type === 'RR');
      assert.equal(rrPkt.reports[0].ssrc, 0x1111);
      assert.equal(rrPkt.reports[0].cumulativeLost, 3);
      assert.equal(rrPkt.reports[0].jitter, 77);
      assert.equal(kept.a.rr, null);
      assert.equal(kept.b.xr, null);
      const s = relay.stats();
      assert.equal(s.aToB.rtcp.sr, 1);
      assert.equal(s.aToB.rtcp.other, 1); // the SDES
      assert.equal(s.aToB.rtcp.forwarded, 1);
      assert.equal(s.bToA.rtcp.rr, 1);
      assert.equal(s.bToA.rtcp.bytes, rr.length);
      // RTCP multiplexed on the RTP port (RFC 5761) goes out of the other RTP port
      pa.sendRtp(a, rr);
      await until(() => pb.rtp.length >= 1);
      assert.ok(pb.rtp[0].data.equals(rr));
      assert.equal(relay.stats().aToB.rtcp.rr, 1);
      assert.equal(relay.stats().aToB.packets, 0, 'RTCP is not counted as RTP');
      // RTCP from elsewhere is refused like RTP
      const stranger = await Peer.create();
      try {
        stranger.sendRtcp(a, sr);
        await sleep(50);
        // refused by the latch, or by the kernel (the RTCP socket is connected to the peer)
        assert.ok(relay.stats().aToB.rtcp.refused <= 1);
        assert.equal(pb.rtcp.length, 1);
      } finally {
        stranger.close();
      }
    } finally {
      close();
    }
  });
});

describe('forwarding plane: telephone events', () => {
  it('reports each RFC 4733 event once (start, end), with its duration, and forwards every packet', async () => {
    const { plane, pa, pb, a, b, close } = await pair([PCMU, te(101)], [PCMU, te(96)]);
    try {
      const relay = plane.relay(a, b);
      const events: RelayDtmfEvent[] = [];
      relay.on('dtmf', (e) => events.push(e));
      let seq = 0;
      const send = (ev: number, end: boolean, dur: number, ts: number) =>
        pa.sendRtp(
          a,
          rtpPacket({ pt: 101, seq: seq++, ts, ssrc: 5, marker: dur === 160, payload: dtmfPayload(ev, end, 10, dur) }),
        );
      // '5' for 480 units (60 ms), its end sent three times; then '#' whose end is lost; then '1'
      for (const d of [160, 320, 480]) {
        send(5, false, d, 8000);
        await sleep(5);
      }
      for (let i = 0; i < 3; i++) {
        send(5, true, 480, 8000);
        await sleep(5);
      }
      for (const d of [160, 320]) {
        send(11, false, d, 16000);
        await sleep(5);
      }
      send(1, false, 160, 24000);
      await sleep(5);
      send(1, true, 800, 24000);
      await until(() => events.length >= 6);
      await sleep(50);
      assert.deepEqual(
        events.map((e) => [e.phase, e.digit, e.durationMs]),
        [
          ['start', '5', 20],
          ['end', '5', 60],
          ['start', '#', 20],
          ['endLost', '#', 40],
          ['start', '1', 20],
          ['end', '1', 100],
        ],
      );
      assert.ok(events.every((e) => e.direction === 'aToB' && e.volume === 10));
      await until(() => pb.rtp.length >= seq);
      assert.equal(pb.rtp.length, seq);
      assert.ok(pb.rtp.every((r) => (r.data[1] & 0x7f) === 96));
      assert.deepEqual(relay.stats().events, { queued: 6, dropped: 0 });
    } finally {
      close();
    }
  });
});

describe('forwarding plane: a flood of events while JS is busy', () => {
  it('queues at most the channel’s 32, drops and counts the rest, and forwards every packet', async () => {
    const { plane, pb, a, b, close } = await pair([PCMU, te(101)], [PCMU, te(101)]);
    try {
      // the child sends from a port of its own: 'always' lets it in
      const relay = plane.relay(a, b, { latch: { a: 'always' } });
      let got = 0;
      relay.on('dtmf', () => got++);
      // 150 RFC 4733 packets, each a new event (its start, and the inferred
      // end of the one before), sent while this event loop is blocked
      const sender = `
        const s = require('node:dgram').createSocket('udp4');
        s.bind(0, '127.0.0.1', async () => {
          for (let i = 0; i < 150; i++) {
            const p = Buffer.alloc(16);
            p[0] = 0x80; p[1] = 101; p.writeUInt16BE(i, 2); p.writeUInt32BE(1000 + i * 800, 4); p.writeUInt32BE(7, 8);
            p[12] = i % 16; p[13] = 10; p.writeUInt16BE(160, 14);
            s.send(p, ${a.port}, '127.0.0.1');
            await new Promise((r) => setTimeout(r, 2));
          }
          setTimeout(() => s.close(), 50);
        });`;
      const r = spawnSync(process.execPath, ['-e', sender], { timeout: 10_000 });
      assert.equal(r.status, 0, String(r.stderr));
      await until(() => pb.rtp.length >= 150);
      await sleep(50);
      const ev = relay.stats().events;
      assert.equal(pb.rtp.length, 150, 'every packet forwarded');
      assert.ok(ev.queued <= 32, `queued ${ev.queued}`);
      assert.equal(ev.queued + ev.dropped, 2 * 150 - 1, 'every event either queued or counted as dropped');
      assert.equal(got, ev.queued);
    } finally {
      close();
    }
  });
});

describe('forwarding plane: block and silence', () => {
  it('block drops a direction’s RTP and counts it; silence writes G.711 silence; other codecs are refused', async () => {
    const { plane, pa, pb, a, b, close } = await pair();
    try {
      const relay = plane.relay(a, b);
      const pkt = (seq: number) => rtpPacket({ pt: 0, seq, ts: seq * 160, ssrc: 9, payload: Buffer.alloc(160, 0x17) });
      relay.setBlocked('aToB', true);
      for (let i = 0; i < 5; i++) {
        pa.sendRtp(a, pkt(i));
        pb.sendRtp(b, pkt(i));
      }
      await until(() => relay.stats().aToB.dropped.blocked >= 5 && pa.rtp.length >= 5);
      assert.equal(pb.rtp.length, 0);
      assert.equal(pa.rtp.length, 5, 'the other direction still flows');
      assert.equal(relay.stats().aToB.packets, 5, 'blocked packets are still measured');
      relay.setBlocked('aToB', false);
      relay.setSilenced('aToB', true);
      pa.sendRtp(a, pkt(5));
      await until(() => pb.rtp.length >= 1);
      const got = pb.rtp[0].data;
      assert.ok(got.subarray(0, 12).equals(pkt(5).subarray(0, 12)), 'header unchanged');
      assert.ok(got.subarray(12).equals(Buffer.alloc(160, 0xff)), 'PCMU silence (0xff)');
      relay.setSilenced('aToB', false);
      pa.sendRtp(a, pkt(6));
      await until(() => pb.rtp.length >= 2);
      assert.ok(pb.rtp[1].data.equals(pkt(6)));
      assert.equal(relay.stats().aToB.silencedPackets, 1);
      assert.throws(() => relay.setBlocked('sideways' as never, true), { code: 'ERR_RMS_INVALID_ARGUMENT' });
    } finally {
      close();
    }
    const opus = { pt: 111, mime: 'opus', clockRate: 48000, channels: 2 };
    const o = await pair([opus], [opus]);
    try {
      const relay = o.plane.relay(o.a, o.b);
      assert.throws(() => relay.setSilenced('aToB', true), UnsupportedError);
      relay.setSilenced('aToB', false);
    } finally {
      o.close();
    }
  });
});

describe('forwarding plane: ownership of the endpoints', () => {
  it('refuses a running graph, a second relay, closing a relayed endpoint; follows setRemote; plane.close() frees all', async () => {
    const { plane, pa, pb, a, b, close } = await pair();
    const factory = new Factory();
    const ticker = new Ticker({ name: 'fwd-own' });
    const other = await Peer.create();
    try {
      const relay = plane.relay(a, b);
      assert.throws(() => plane.relay(a, b), InUseError);
      assert.throws(() => a.close(), InUseError);
      assert.throws(() => plane.relay(a, a), { code: 'ERR_RMS_INVALID_ARGUMENT' });
      // a new remote from signalling: B's media goes there now
      a.setRemote(other.address);
      pb.sendRtp(b, rtpPacket({ pt: 0, seq: 1, ts: 0, ssrc: 3, payload: Buffer.alloc(4) }));
      await until(() => other.rtp.length >= 1);
      assert.equal(other.rtp.length, 1);
      assert.equal(pa.rtp.length, 0);
      plane.close();
      assert.equal(relay.closed, true);
      assert.throws(() => relay.stats(), InvalidStateError);
      assert.throws(() => plane.relay(a, b), InvalidStateError);
      // a graph runs on an endpoint: it cannot be relayed
      const p2 = new ForwardPlane({ threads: 1 });
      const g = new Graph();
      const recv = g.add(factory.rtpReceiver());
      recv.setEndpoint(a);
      const send = g.add(factory.rtpSender());
      send.setEndpoint(b);
      recv.link(send);
      g.attach(ticker, [recv]);
      assert.throws(() => p2.relay(a, b), InvalidStateError);
      g.close();
      p2.close();
    } finally {
      other.close();
      ticker.close();
      factory.close();
      close();
    }
  });
});

describe('forwarding plane: handover to a graph and back', () => {
  it('relay -> ms2 graph on the same endpoints -> relay: every packet arrives, no gap over a ptime', async () => {
    const { plane, pa, pb, a, b, close } = await pair();
    const factory = new Factory();
    const ticker = new Ticker({ name: 'fwd-handover' });
    try {
      let relay = plane.relay(a, b);
      const graph = new Graph();
      const recv = graph.add(factory.rtpReceiver());
      recv.setEndpoint(a);
      const send = graph.add(factory.rtpSender());
      send.setEndpoint(b);
      recv.link(send);
      // A's peer streams 20 ms PCMU; each payload starts with its index
      const N = 150;
      let t = nowMs();
      // the relay hands the sockets back, then a graph starts on them (what
      // arrived in between waits in the socket: MSRtpRecv's start-up flush
      // must not drop it); back: the graph stops, the relay takes what waits
      const sentAt: number[] = [];
      for (let i = 0; i < N; i++) {
        if (i === 40) relay.close();
        if (i === 90) {
          graph.detach();
          relay = plane.relay(a, b);
        }
        const payload = Buffer.alloc(160, 0xff);
        payload.writeUInt32BE(i, 0);
        sentAt.push(nowMs());
        pa.sendRtp(a, rtpPacket({ pt: 0, seq: 300 + i, ts: 1000 + i * 160, ssrc: 0x77, payload }));
        if (i === 40) {
          await sleep(5); // packet 40 arrives with nobody reading
          graph.attach(ticker, [recv]);
        }
        t += 20;
        const wait = t - nowMs();
        if (wait > 0) await sleep(wait);
      }
      await sleep(100);
      const idx = pb.rtp.map((r) => r.data.readUInt32BE(12));
      const missing = [...Array(N).keys()].filter((i) => !idx.includes(i));
      assert.deepEqual(missing, [], 'packets lost across the handovers');
      // the graph renumbers (its own SSRC); the relay does not
      const ssrcs = new Set(pb.rtp.map((r) => r.data.readUInt32BE(8)));
      assert.equal(ssrcs.size, 2);
      assert.ok(ssrcs.has(0x77));
      // each arrival gap over the sender's own gap between the two packets:
      // a packet lost would add a ptime (20 ms) and more; a graph's 10 ms
      // tick adds up to 10, a loaded machine some more (seen: 24)
      const extra = pb.rtp.slice(1).map((r, i) => {
        const prev = pb.rtp[i];
        return r.atMs - prev.atMs - (sentAt[r.data.readUInt32BE(12)] - sentAt[prev.data.readUInt32BE(12)]);
      });
      const worst = Math.max(...extra);
      assert.ok(worst < 35, `an arrival gap ${worst.toFixed(1)} ms longer than the sender's`);
      assert.equal(relay.stats().aToB.packets, N - 90);
      relay.close();
      graph.close();
    } finally {
      ticker.close();
      factory.close();
      close();
    }
  });
});
