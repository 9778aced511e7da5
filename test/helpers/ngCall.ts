/**
 * One call through an ng media server (ours or rtpengine) the way Kamailio
 * drives it, for comparing replies: offer and answer over ng, then two
 * phones on real UDP send PCMU to each other (the callee drops every 50th
 * packet) with an RTCP SR + SDES every second whose report block echoes the
 * last SR the other phone sent (LSR/DLSR, so a relaying server can work out
 * round trips and MOS from it), then query, statistics, delete, statistics.
 */
import * as dgram from 'node:dgram';
import type { BDict } from '../../lib/control/bencode';
import type { NgClient } from './ngClient';
import { str } from './ngClient';
import { sipPorts } from './ports';
import { sleep } from './wait';

export interface NgCallResult {
  callId: string;
  query: BDict;
  statistics: BDict;
  deleted: BDict;
  /** The statistics reply after the delete. */
  after: BDict;
  ssrc: { caller: number; callee: number };
  /** RTCP compounds each phone sent, and the bytes of each. */
  rtcpSent: { caller: number; callee: number };
  rtcpBytes: number;
  /** RTP packets each phone sent. */
  rtpSent: { caller: number; callee: number };
  /** Each phone's RTP port (RTCP on the next). */
  ports: { caller: number; callee: number };
  startMs: number;
  endMs: number;
}

const sdp = (port: number, id: number) =>
  `v=0\r\no=- ${id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
  `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n` +
  `a=fmtp:101 0-15\r\na=sendrecv\r\n`;

const mediaPort = (reply: BDict) => Number(/^m=audio (\d+)/m.exec(str(reply.sdp) ?? '')?.[1]);

function bind(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** NTP time now as [seconds, fraction]. */
function ntpNow(): [number, number] {
  const ms = Date.now() + 2_208_988_800_000;
  return [Math.floor(ms / 1000) >>> 0, Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0];
}

/** SR (one report block about `about`) + SDES CNAME: 72 bytes. */
export function senderReport(
  ssrc: number,
  packets: number,
  rtpTs: number,
  about: number,
  lastSrOfOther: [number, number] | undefined,
  sentAt: (ntp: [number, number]) => void,
): Buffer {
  const b = Buffer.alloc(72);
  b.writeUInt8(0x81, 0);
  b.writeUInt8(200, 1);
  b.writeUInt16BE(12, 2);
  b.writeUInt32BE(ssrc, 4);
  const ntp = ntpNow();
  sentAt(ntp);
  b.writeUInt32BE(ntp[0], 8);
  b.writeUInt32BE(ntp[1], 12);
  b.writeUInt32BE(rtpTs >>> 0, 16);
  b.writeUInt32BE(packets, 20);
  b.writeUInt32BE(packets * 160, 24);
  b.writeUInt32BE(about, 28);
  b.writeUInt32BE((2 << 24) | 3, 32); // fraction lost 2/256, 3 lost
  b.writeUInt32BE(0x10000 + packets, 36);
  b.writeUInt32BE(40, 40); // jitter, timestamp units
  const lsr = lastSrOfOther ? (((lastSrOfOther[0] & 0xffff) << 16) | (lastSrOfOther[1] >>> 16)) >>> 0 : 0;
  b.writeUInt32BE(lsr, 44);
  b.writeUInt32BE(lastSrOfOther ? 6554 : 0, 48); // 100 ms in 1/65536 s
  b.writeUInt8(0x81, 52);
  b.writeUInt8(202, 53);
  b.writeUInt16BE(4, 54);
  b.writeUInt32BE(ssrc, 56);
  b.writeUInt8(1, 60);
  b.writeUInt8(5, 61);
  b.write('a@ngc', 62, 'latin1');
  return b;
}

/** Runs the call; `seconds` of media. Every socket is closed before it returns. */
export async function ngCall(ng: NgClient, seconds: number, label = 'ngcall'): Promise<NgCallResult> {
  const base = sipPorts(4);
  const socks = await Promise.all([0, 1, 2, 3].map((i) => bind(base + i)));
  const [aRtp, aRtcp, bRtp, bRtcp] = socks;
  try {
    const callId = `${label}-${process.pid}-${Date.now()}`;
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'caller-tag',
      sdp: sdp(base, 1),
      label: 'caller',
      'received-from': ['IP4', '127.0.0.1'],
    });
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'caller-tag',
      'to-tag': 'callee-tag',
      sdp: sdp(base + 2, 2),
      label: 'callee',
    });
    if (str(offer.result) !== 'ok' || str(answer.result) !== 'ok')
      throw new Error(`offer/answer failed: ${str(offer['error-reason']) ?? str(answer['error-reason'])}`);
    const toCallee = mediaPort(offer);
    const toCaller = mediaPort(answer);
    const ssrc = { caller: 0x11223344, callee: 0x55667788 };
    const lastSr = new Map<number, [number, number]>();
    const rtcpSent = { caller: 0, callee: 0 };
    const rtpSent = { caller: 0, callee: 0 };
    const startMs = Date.now();
    const packets = seconds * 50;
    for (let seq = 0; seq < packets; seq++) {
      for (const [who, sock, port, own] of [
        ['caller', aRtp, toCaller, ssrc.caller],
        ['callee', bRtp, toCallee, ssrc.callee],
      ] as const) {
        if (who === 'callee' && seq % 50 === 7) continue; // the callee's stream loses 2 %
        const p = Buffer.alloc(172, 0xff);
        p.writeUInt8(0x80, 0);
        p.writeUInt8(seq === 0 ? 0x80 : 0, 1);
        p.writeUInt16BE(seq, 2);
        p.writeUInt32BE(seq * 160, 4);
        p.writeUInt32BE(own, 8);
        sock.send(p, port, '127.0.0.1');
        rtpSent[who]++;
      }
      if (seq % 50 === 10)
        for (const [who, sock, port, own, other] of [
          ['caller', aRtcp, toCaller + 1, ssrc.caller, ssrc.callee],
          ['callee', bRtcp, toCallee + 1, ssrc.callee, ssrc.caller],
        ] as const) {
          const sr = senderReport(own, seq, seq * 160, other, lastSr.get(other), (t) => lastSr.set(own, t));
          sock.send(sr, port, '127.0.0.1');
          rtcpSent[who]++;
        }
      await sleep(Math.max(0, startMs + (seq + 1) * 20 - Date.now()));
    }
    await sleep(300);
    const endMs = Date.now();
    const query = await ng.request({ command: 'query', 'call-id': callId, 'from-tag': 'caller-tag' });
    const statistics = await ng.request({ command: 'statistics' });
    const deleted = await ng.request({ command: 'delete', 'call-id': callId, 'from-tag': 'caller-tag' });
    const after = await ng.request({ command: 'statistics' });
    const ports = { caller: base, callee: base + 2 };
    return { callId, query, statistics, deleted, after, ssrc, rtcpSent, rtcpBytes: 72, rtpSent, ports, startMs, endMs };
  } finally {
    for (const s of socks) s.close();
  }
}
