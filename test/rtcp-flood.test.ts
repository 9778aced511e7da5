/**
 * An RTCP flood against a MediaServer call: ~15 000 well-formed RRs/s (and
 * some malformed ones) for 3 s at leg a's RTCP port. oRTP's RTCP events are
 * taken off its queue by the ticker into a bounded store (native/core/
 * rtcp_store.h), so the call's memory stays flat, the excess and the garbage
 * are counted in the leg's stats, pollRtcp() returns at most its bound, and
 * media keeps flowing. (Latency of control commands during such a flood:
 * bench/attacks.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MediaServer, Ticker } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { parseSdp } from '../lib/sdp/parse';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

const PER_KIND = 8; // RtcpStore::kPerKind

// The flooder: RR+SDES compounds, every 16th datagram an SR whose report
// count claims a block the datagram does not have. Bounded by `ms`.
const FLOODER = `
const dgram = require('node:dgram');
const [port, ms, perMs] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const rr = Buffer.alloc(8 + 24 + 16);
rr.writeUInt32BE(0x81c90007, 0); rr.writeUInt32BE(0x5eed5eed, 4); rr.writeUInt32BE(0x12345678, 8);
rr.writeUInt32BE(0x81ca0003, 32); rr.writeUInt32BE(0x5eed5eed, 36); rr.writeUInt32BE(0x01036162, 40); rr.writeUInt32BE(0x63000000, 44);
const bad = Buffer.alloc(28);
bad.writeUInt32BE(0x81c80006, 0);
const end = Date.now() + ms;
let n = 0;
function tick() {
  for (let i = 0; i < perMs * 5; i++, n++) s.send(n % 16 === 15 ? bad : rr, port, '127.0.0.1');
  if (Date.now() < end) setTimeout(tick, 5); else setTimeout(() => { s.close(); process.stdout.write(String(n)); }, 20);
}
tick();
`;

function flood(port: number, ms: number, perMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', FLOODER, String(port), String(ms), String(perMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill(), ms + 10000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Number(out));
      else reject(new Error(`flooder exited ${code}`));
    });
  });
}

describe('RTCP flood against a MediaServer call', () => {
  it('memory stays bounded, excess and garbage are counted, pollRtcp() is bounded, media flows', async () => {
    // 'always': the flood reaches oRTP whatever its source port (with
    // 'strict' the receive gate would drop it before oRTP, see security.md)
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 1, latch: 'always' });
    const phones = new Ticker({ name: 'flood-phones' });
    const dir = tmpDir('rms-rtcp-flood-');
    const wav = path.join(dir, 'tone.wav');
    writeWav(wav, tone(8000, 10, [440]));
    const a = new AudioPeer({ codec: 'PCMU', sendFile: wav, recordFile: path.join(dir, 'a.wav') });
    // a transcoded call: its legs' sockets are oRTP's (a relayed one's are the forwarding plane's)
    const b = new AudioPeer({ codec: 'PCMA', sendFile: wav, recordFile: path.join(dir, 'b.wav') });
    try {
      const s = ms.offer('flood-1', phoneSdp({ port: a.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
      const answer = parseSdp(
        ms.answer('flood-1', phoneSdp({ port: b.port, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }] })),
      );
      const legA = parseSdp(s.offerSdp).audio!;
      a.endpoint.setRemote({ address: '127.0.0.1', port: answer.audio!.port });
      b.endpoint.setRemote({ address: '127.0.0.1', port: legA.port });
      a.start(phones);
      b.start(phones);
      await sleep(1000);
      const legA0 = s.a;
      legA0.endpoint.pollRtcp();
      const rss0 = process.memoryUsage.rss();
      const bRecv0 = b.endpoint.stats().packetsReceived;
      const sent = await flood(legA0.localRtcpPort, 3000, 15); // ~15 000 datagrams/s
      await sleep(200);
      const rss1 = process.memoryUsage.rss();
      const st = legA0.stats();
      const bRecv = b.endpoint.stats().packetsReceived - bRecv0;
      const grew = (rss1 - rss0) / 1048576;
      // before the store, 45 000 queued events held ~75 MiB until the call ended
      assert.ok(grew < 10, `RSS grew ${grew.toFixed(1)} MiB during a flood of ${sent} datagrams`);
      assert.ok(st.rtcpInvalid > 0, 'malformed RTCP counted');
      assert.ok(st.rtcpInvalid <= sent / 16 + 1, `${st.rtcpInvalid} refused of ${Math.ceil(sent / 16)} malformed`);
      assert.ok(st.rtcpOverflow > sent / 4, `${st.rtcpOverflow} pushed out of the store of ${sent} sent`);
      const polled = legA0.endpoint.pollRtcp().filter((p) => p.direction === 'received');
      assert.ok(polled.length > 0 && polled.length <= 7 * PER_KIND, `${polled.length} packets polled`);
      // leg b -> phone b kept flowing: ~3.2 s at 50 packets/s
      assert.ok(bRecv >= 140, `phone b received ${bRecv} packets during the flood`);
    } finally {
      a.close();
      b.close();
      ms.close();
      phones.close();
    }
  });
});
