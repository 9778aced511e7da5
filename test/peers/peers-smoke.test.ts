/**
 * Smoke tests of the SIP peer harness itself, without the media server:
 * sipp calls sipp, baresip calls baresip, all on 127.0.0.1.
 *
 *   node --test dist/test/peers/peers-smoke.test.js
 *
 * Needs the Debian packages of test/peers/debian-packages.txt, and root (or
 * CAP_NET_RAW) for sipp's play_pcap_audio. Skips when sipp/baresip are absent.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWav, tone, writeWav } from '../../lib/util/wav';
import { startBaresip, type Baresip } from './baresip';
import { writeG711Raw, writeRtpPcap } from './pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './proc';
import { PCMA, PCMU, parseSdp, telephoneEvent } from './sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './sipp';

after(() => killAllPeers());

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

interface Counter {
  port: number;
  packets: { pt: number; seq: number; ssrc: number; len: number; fromPort: number }[];
  close(): void;
}

async function udpCounter(port: number): Promise<Counter> {
  const s = dgram.createSocket('udp4');
  const packets: Counter['packets'] = [];
  s.on('message', (m, r) => {
    if (m.length >= 12 && m[0] >> 6 === 2)
      packets.push({
        pt: m[1] & 0x7f,
        seq: m.readUInt16BE(2),
        ssrc: m.readUInt32BE(8),
        len: m.length,
        fromPort: r.port,
      });
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return { port, packets, close: () => s.close() };
}

/** Goertzel power of `f` over the samples, normalised like mean square. */
function powerAt(x: Int16Array, rate: number, f: number): number {
  const w = (2 * Math.PI * f) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] / 32768 + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return (2 * p) / (x.length * x.length);
}

function meanSquare(x: Int16Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += (x[i] / 32768) ** 2;
  return e / Math.max(1, x.length);
}

const haveSipp = hasBinary('sipp');
const haveBaresip = hasBinary('baresip');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

test(
  'sipp UAC calls sipp UAS: SDP both ways, RTP both ways, DTMF, hold/resume by re-INVITE, rtp_echo',
  {
    timeout: 30000,
    skip: !haveSipp
      ? 'sipp not installed (apt-get install sip-tester)'
      : !isRoot
        ? 'play_pcap_audio needs root/CAP_NET_RAW'
        : false,
  },
  async () => {
    const dir = tmp('peers-sipp-');
    // Ports: base+0 UAS SIP, +2 UAC SIP, +4/+6 UAS media (and +2 each), +8/+10 UAC media, +12/+14 test sockets.
    const base = await findFreePortBlock(20);
    const uasSip = base;
    const uacSip = base + 2;
    const uasMedia = base + 4; // sipp binds +4 and +6
    const uacMedia = base + 8; // sipp binds +8 and +10
    const uasAdvertised = base + 12; // our socket: what the UAC sends to the UAS
    const uacAdvertised = base + 14; // our socket: what the UAS sends to the UAC

    // 3 s of 1 kHz PCMU, with a '5' at 1 s, as RTP in a pcap.
    const pcm = tone(8000, 3, [1000]).samples;
    const pcap = path.join(dir, 'pcmu-1k.pcap');
    const info = writeRtpPcap(pcap, pcm, {
      codec: 'PCMU',
      ptimeMs: 20,
      dtmf: [{ digit: '5', atMs: 1000, durationMs: 100 }],
    });
    assert.equal(info.durationMs, 3000);

    const toUas = await udpCounter(uasAdvertised);
    const toUac = await udpCounter(uacAdvertised);
    let uas: SippUas | undefined;
    try {
      uas = await startSippUas({
        sipPort: uasSip,
        mediaPort: uasMedia,
        sdpMediaPort: uasAdvertised,
        codecs: [PCMU, telephoneEvent(101)],
        ptime: 20,
        pcap,
        timeoutSec: 15,
        workDir: path.join(dir, 'uas'),
      });
      const uac = await runSippUac({
        remotePort: uasSip,
        sipPort: uacSip,
        mediaPort: uacMedia,
        sdpMediaPort: uacAdvertised,
        codecs: [PCMU, telephoneEvent(101)],
        ptime: 20,
        pcap,
        durationMs: 2500,
        hold: { afterMs: 800, forMs: 800 },
        timeoutSec: 15,
        workDir: path.join(dir, 'uac'),
      });
      const uasRes = await uas.result;
      assert.equal(uac.exitCode, 0, describeSippResult(uac));
      assert.equal(uasRes.exitCode, 0, describeSippResult(uasRes));

      // SDP: offer, hold offer, resume offer; answers mirror the direction.
      assert.equal(uasRes.sdpReceived.length, 3);
      assert.equal(uac.sdpReceived.length, 3);
      const offers = uasRes.sdpReceived.map(parseSdp);
      const answers = uac.sdpReceived.map(parseSdp);
      assert.deepEqual(
        offers.map((s) => s.audio?.direction),
        ['sendrecv', 'sendonly', 'sendrecv'],
      );
      assert.deepEqual(
        answers.map((s) => s.audio?.direction),
        ['sendrecv', 'recvonly', 'sendrecv'],
      );
      assert.deepEqual(
        answers.map((s) => s.origin?.version),
        ['1', '2', '3'],
      );
      assert.equal(offers[0].audio?.port, uacAdvertised);
      assert.equal(answers[0].audio?.port, uasAdvertised);
      assert.equal(answers[0].audio?.ip, '127.0.0.1');
      assert.deepEqual(
        answers[0].audio?.codecs.map((c) => c.name),
        ['PCMU', 'telephone-event'],
      );
      assert.equal(answers[0].audio?.ptime, 20);
      assert.deepEqual(
        uac.messages.map((m) => m.method ?? m.status),
        ['INVITE', 100, 200, 'ACK', 'INVITE', 200, 'ACK', 'INVITE', 200, 'ACK', 'BYE', 200],
      );

      // RTP both ways: ~2.5 s of 20 ms packets, PCMU plus telephone-event,
      // sent from the advertised port (the pcap source is [media_port+n]).
      for (const [name, c] of [
        ['UAC->UAS', toUas],
        ['UAS->UAC', toUac],
      ] as const) {
        assert.ok(c.packets.length > 80, `${name}: ${c.packets.length} RTP packets`);
        assert.ok(c.packets.filter((p) => p.pt === 0).length > 70, `${name}: PCMU packets`);
        assert.ok(c.packets.filter((p) => p.pt === 101).length >= 5, `${name}: telephone-event packets`);
        assert.ok(
          c.packets.every((p) => p.fromPort === (c === toUas ? uacAdvertised : uasAdvertised)),
          `${name}: source port`,
        );
      }
    } finally {
      await uas?.stop();
      toUas.close();
      toUac.close();
    }

    // -rtp_echo: the UAS echoes what it receives back to the sender.
    const echoBack = await udpCounter(uacAdvertised);
    let echoUas: SippUas | undefined;
    try {
      echoUas = await startSippUas({
        sipPort: uasSip,
        mediaPort: uasMedia,
        codecs: [PCMU],
        rtpEcho: true,
        timeoutSec: 10,
        workDir: path.join(dir, 'echo-uas'),
      });
      const uac = await runSippUac({
        remotePort: uasSip,
        sipPort: uacSip,
        mediaPort: uacMedia,
        sdpMediaPort: uacAdvertised,
        codecs: [PCMU],
        pcap,
        durationMs: 1000,
        timeoutSec: 10,
        workDir: path.join(dir, 'echo-uac'),
      });
      assert.equal(uac.exitCode, 0, describeSippResult(uac));
      assert.equal((await echoUas.result).exitCode, 0);
      assert.ok(echoBack.packets.length > 30, `echoed packets: ${echoBack.packets.length}`);
      assert.ok(
        echoBack.packets.every((p) => p.fromPort === uasMedia),
        'echo comes from [media_port]',
      );
    } finally {
      await echoUas?.stop();
      echoBack.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
);

test(
  'sipp rtp_stream (no raw socket): PCMU one way, PCMA the other',
  { timeout: 30000, skip: haveSipp ? false : 'sipp not installed (apt-get install sip-tester)' },
  async () => {
    const dir = tmp('peers-sipp-stream-');
    const base = await findFreePortBlock(20);
    const pcm = tone(8000, 2, [1000]).samples;
    writeG711Raw(path.join(dir, 't.ulaw'), pcm, 'PCMU');
    writeG711Raw(path.join(dir, 't.alaw'), pcm, 'PCMA');
    const toUas = await udpCounter(base + 12);
    const toUac = await udpCounter(base + 14);
    let uas: SippUas | undefined;
    try {
      uas = await startSippUas({
        sipPort: base,
        mediaPort: base + 4,
        sdpMediaPort: base + 12,
        codecs: [PCMA],
        stream: { file: path.join(dir, 't.alaw'), payloadType: 8 },
        timeoutSec: 10,
      });
      const uac = await runSippUac({
        remotePort: base,
        sipPort: base + 2,
        mediaPort: base + 8,
        sdpMediaPort: base + 14,
        codecs: [PCMU, PCMA],
        stream: { file: path.join(dir, 't.ulaw'), payloadType: 0 },
        durationMs: 1500,
        timeoutSec: 10,
      });
      assert.equal(uac.exitCode, 0, describeSippResult(uac));
      assert.equal((await uas.result).exitCode, 0);
      assert.ok(
        toUas.packets.length > 50 && toUas.packets.every((p) => p.pt === 0 && p.len === 172),
        'PCMU 20 ms to UAS',
      );
      assert.ok(
        toUac.packets.length > 50 && toUac.packets.every((p) => p.pt === 8 && p.len === 172),
        'PCMA 20 ms to UAC',
      );
      // rtp_stream sends from the socket sipp bound on [media_port].
      assert.ok(toUas.packets.every((p) => p.fromPort === base + 8));
    } finally {
      await uas?.stop();
      toUas.close();
      toUac.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
);

test(
  'baresip A dials baresip B with PCMU: both established, B records A’s 1 kHz tone',
  { timeout: 30000, skip: haveBaresip ? false : 'baresip not installed (apt-get install baresip-core)' },
  async () => {
    const dir = tmp('peers-baresip-');
    const base = await findFreePortBlock(70);
    const wav = path.join(dir, 'tone-1k.wav');
    writeWav(wav, tone(8000, 1, [1000], 0.4)); // 1 s: the harness loops it
    let a: Baresip | undefined;
    let b: Baresip | undefined;
    try {
      [a, b] = await Promise.all([
        startBaresip({
          sipPort: base,
          ctrlPort: base + 2,
          rtpPorts: [base + 10, base + 29],
          codecs: ['PCMU/8000/1'],
          sendWav: wav,
          recordDir: path.join(dir, 'rec-a'),
          user: 'alice',
          timeoutSec: 25,
        }),
        startBaresip({
          sipPort: base + 40,
          ctrlPort: base + 42,
          rtpPorts: [base + 50, base + 69],
          codecs: ['PCMU/8000/1'],
          recordDir: path.join(dir, 'rec-b'),
          user: 'bob',
          timeoutSec: 25,
        }),
      ]);
      await a.dial(`sip:bob@127.0.0.1:${base + 40}`);
      const estA = await a.waitFor('CALL_ESTABLISHED', 8000);
      const estB = await b.waitFor('CALL_ESTABLISHED', 8000);
      assert.equal(estA.direction, 'outgoing');
      assert.equal(estB.direction, 'incoming');
      await b.waitFor('CALL_RTPESTAB', 5000); // B receives RTP
      await new Promise((r) => setTimeout(r, 2000));
      await a.hangup();
      await a.waitFor('CALL_CLOSED', 5000);
      await b.waitFor('CALL_CLOSED', 5000);

      const recB = b.recordedFiles();
      assert.equal(recB.decoded.length, 1, `B's recordings: ${JSON.stringify(recB)}`);
      const got = readWav(recB.decoded[0]);
      assert.equal(got.rate, 8000);
      assert.equal(got.channels, 1);
      assert.ok(got.samples.length > 8000 * 1.5, `B decoded ${got.samples.length} samples`);
      const x = got.samples.subarray(1600); // skip the first 200 ms
      const ms = meanSquare(x);
      const rms = Math.sqrt(ms);
      assert.ok(rms > 0.2, `RMS ${rms.toFixed(3)} of full scale (tone sent at 0.4 peak = 0.28 RMS)`);
      const p1k = powerAt(x, 8000, 1000);
      assert.ok(p1k / ms > 0.9, `1 kHz carries ${((100 * p1k) / ms).toFixed(1)}% of the energy`);
      for (const f of [500, 1500, 2000, 3000]) assert.ok(powerAt(x, 8000, f) < p1k / 100, `${f} Hz well below 1 kHz`);
      // A received B's default silence.
      const recA = a.recordedFiles();
      assert.equal(recA.decoded.length, 1);
      assert.ok(Math.sqrt(meanSquare(readWav(recA.decoded[0]).samples)) < 0.01, 'A hears silence');
    } finally {
      await Promise.all([a?.close(), b?.close()]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  },
);
