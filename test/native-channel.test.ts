/**
 * The bounded ticker -> JS channel (native/channel.h): a peer that makes a
 * ticker post faster than JS takes (here: RFC 4733 packets, each with a new
 * timestamp, while the event loop is blocked) gets at most the channel's
 * capacity queued; the rest is dropped and counted, and the session goes on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Ticker } from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { sleep } from './helpers/wait';

const CAPACITY = 256; // kMaxPendingTelephoneEvents in native/rtp_session.cc

// Runs in a child while this process's event loop is blocked (spawnSync):
// telephone-event packets for `ms`, each a new event (new timestamp), 600/s.
// oRTP hands MSRtpRecv about one packet per tick (it discards the older ones
// of a burst), so the ticker posts ~2 reports per 10 ms tick: 4 s of JS
// blocked is ~600 reports for a channel of 256. The child then idles 1.5 s
// so that what oRTP still queued is read (and reported) before JS runs.
const SENDER = `
const dgram = require('node:dgram');
const [port, ms, first] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const end = Date.now() + ms;
let i = 0;
function burst() {
  for (let k = 0; k < 3; k++, i++) {
    const p = Buffer.alloc(16);
    p[0] = 0x80; p[1] = 101;
    p.writeUInt16BE((first + i) & 0xffff, 2);
    p.writeUInt32BE((1000 + (first + i) * 4) >>> 0, 4);
    p.writeUInt32BE(0x4733, 8);
    p[12] = i % 16; p[13] = 10; p.writeUInt16BE(160, 14);
    s.send(p, port, '127.0.0.1');
  }
  if (Date.now() < end) setTimeout(burst, 5); else setTimeout(() => s.close(), 1500);
}
burst();
`;

function flood(port: number, ms: number, first: number): void {
  const r = spawnSync(process.execPath, ['-e', SENDER, String(port), String(ms), String(first)], {
    timeout: 30000,
  });
  assert.equal(r.status, 0, `sender: ${r.stderr}`);
}

describe('bounded ticker -> JS channel', () => {
  it('a telephone-event flood while JS is blocked queues at most the capacity, counts the rest, and events flow after', async () => {
    const dir = tmpDir('rms-chan-');
    const wav = path.join(dir, 't.wav');
    writeWav(wav, tone(8000, 1, [440]));
    const t = new Ticker({ name: 'chan' });
    const peer = new AudioPeer({ codec: 'PCMU', telephoneEvent: 101, recordFile: path.join(dir, 'r.wav') });
    let reports = 0;
    const starts: number[] = [];
    peer.endpoint.on('telephoneEvent', (e) => {
      reports++;
      starts.push(e.event);
    });
    peer.endpoint.on('telephoneEventEnd', () => reports++);
    try {
      // read every packet as it comes (a jitter buffer would hold and discard
      // a burst of timestamps far ahead)
      peer.endpoint.setJitterBuffer(false);
      peer.start(t);
      await sleep(100);
      flood(peer.port, 3000, 0); // blocks this thread while the ticker reads
      await sleep(300);
      const stats = peer.endpoint.stats();
      const dropped = stats.telephoneEventsDropped;
      const packets = stats.bytesDelivered / 16; // 12-byte header and one event block each
      // each packet starts an event and (from the second on) ends the last one
      assert.ok(reports <= CAPACITY, `${reports} reports delivered, capacity ${CAPACITY}`);
      assert.ok(dropped > 0, `drops are counted (${reports} delivered from ${packets} packets)`);
      assert.ok(
        reports + dropped >= packets && reports + dropped <= 2 * packets,
        `${reports} + ${dropped} reports from ${packets} packets`,
      );
      // the channel still works: one burst (3 events), JS not blocked, arrives in full
      reports = 0;
      starts.length = 0;
      flood(peer.port, 1, 100000);
      await sleep(300);
      assert.equal(starts.length, 3, `after the flood: ${starts.length} starts`);
      assert.equal(peer.endpoint.stats().telephoneEventsDropped, dropped, 'no new drops');
    } finally {
      peer.stop();
      peer.close();
      t.close();
    }
  });
});
