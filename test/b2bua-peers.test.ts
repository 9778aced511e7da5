/**
 * The example B2BUA between real SIP peers: sipp (Debian sip-tester) on both
 * sides, and two baresip instances with different codecs. Media crosses the
 * media server, is checked on the wire (payload types, packet counts) and in
 * the decoded audio, and BYE leaves no session and no port behind.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseVqReport } from '../lib';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { B2bua } from '../examples/b2bua';
import { tmpDir } from './helpers/call';
import { mediaTap } from './helpers/mediaTap';
import { pitchReport, toneReport, voiced } from './helpers/signal';
import { startBaresip, type Baresip } from './peers/baresip';
import { writeRtpPcap } from './peers/pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';
import { PCMA, PCMU, parseSdp, telephoneEvent } from './peers/sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './peers/sipp';
import { mediaPorts } from './helpers/ports';

const sip = require('sip');

const haveSipp = hasBinary('sipp');
const haveBaresip = hasBinary('baresip');
const isRoot = process.getuid?.() === 0;
// the sip package reads a request-URI on its own host as a flow token: the B2BUA
// gets a loopback address no peer uses
const B2BUA_IP = '127.0.0.10';

after(() => killAllPeers());

describe(
  'B2BUA between sipp peers',
  { skip: !haveSipp ? 'sipp not installed' : !isRoot ? 'sipp play_pcap_audio needs root' : false },
  () => {
    for (const uasCodec of ['PCMU', 'PCMA'] as const) {
      const transcoded = uasCodec !== 'PCMU';
      it(
        `sipp UAC (PCMU) -> B2BUA -> sipp UAS (${uasCodec}): ${transcoded ? 'transcoded' : 'relayed'}, hold and resume, BYE frees everything`,
        { timeout: 40000 },
        async () => {
          const dir = tmpDir('rms-sipp-');
          const base = await findFreePortBlock(24);
          const [uasSip, uacSip, b2buaSip] = [base, base + 2, base + 20];
          const [uasMedia, uacMedia] = [base + 4, base + 8];
          const [uasTap, uacTap] = [base + 12, base + 14];
          // an RFC 6035 collector next to the B2BUA
          const published: { event?: string; content?: string }[] = [];
          const collector = sip.create(
            { address: '127.0.0.1', port: base + 22, publicAddress: '127.0.0.1', tcp: false },
            (rq: { method: string; headers: Record<string, string>; content?: string }) => {
              if (rq.method === 'PUBLISH') published.push({ event: rq.headers.event, content: rq.content });
              collector.send(sip.makeResponse(rq, 200, 'OK'));
            },
          );
          const b2bua = new B2bua({
            sipAddress: B2BUA_IP,
            sipPort: b2buaSip,
            collector: `sip:collector@127.0.0.1:${base + 22}`,
            target: `sip:service@127.0.0.1:${uasSip}`,
            media: {
              address: '127.0.0.1',
              ports: [37000 + (transcoded ? 500 : 0), 37499 + (transcoded ? 500 : 0)],
              tickers: 1,
            },
          });
          const toUac = await mediaTap(uacTap); // what the B2BUA sends to the caller
          const toUas = await mediaTap(uasTap); // what the B2BUA sends to the callee
          const uacPcap = path.join(dir, 'uac.pcap');
          const uasPcap = path.join(dir, 'uas.pcap');
          writeRtpPcap(uacPcap, tone(8000, 3, [1000]).samples, { codec: 'PCMU', ptimeMs: 20 });
          writeRtpPcap(uasPcap, tone(8000, 3, [600]).samples, { codec: uasCodec, ptimeMs: 20 });
          let uas: SippUas | undefined;
          try {
            uas = await startSippUas({
              sipPort: uasSip,
              mediaPort: uasMedia,
              sdpMediaPort: uasTap,
              codecs: [uasCodec === 'PCMU' ? PCMU : PCMA, telephoneEvent(101)],
              ptime: 20,
              pcap: uasPcap,
              timeoutSec: 20,
              workDir: path.join(dir, 'uas'),
            });
            const uac = await runSippUac({
              remoteHost: B2BUA_IP,
              remotePort: b2buaSip,
              sipPort: uacSip,
              mediaPort: uacMedia,
              sdpMediaPort: uacTap,
              codecs: [PCMU, telephoneEvent(101)],
              ptime: 20,
              pcap: uacPcap,
              durationMs: 2800,
              hold: { afterMs: 1800, forMs: 500 },
              timeoutSec: 20,
              workDir: path.join(dir, 'uac'),
            });
            const uasRes = await uas.result;
            assert.equal(uac.exitCode, 0, describeSippResult(uac));
            assert.equal(uasRes.exitCode, 0, describeSippResult(uasRes));

            // the callee was offered our ports, with the caller's codec first
            const offerToUas = parseSdp(uasRes.sdpReceived[0]);
            assert.notEqual(offerToUas.audio!.port, uacTap);
            assert.equal(offerToUas.audio!.codecs[0].name, 'PCMU');
            // hold crossed the B2BUA: sendonly offered to the callee, recvonly answered to the caller
            assert.deepEqual(
              uasRes.sdpReceived.map((s) => parseSdp(s).audio!.direction),
              ['sendrecv', 'sendonly', 'sendrecv'],
            );
            assert.deepEqual(
              uac.sdpReceived.map((s) => parseSdp(s).audio!.direction),
              ['sendrecv', 'recvonly', 'sendrecv'],
            );

            // on the wire: each side gets its own codec, ~1.8 s+ of 20 ms packets
            const ptsToUas = new Set(toUas.packets.map((p) => p.pt));
            const ptsToUac = new Set(toUac.packets.map((p) => p.pt));
            assert.deepEqual(
              [...ptsToUas],
              [uasCodec === 'PCMU' ? 0 : 8],
              `payload types to the callee: ${[...ptsToUas]}`,
            );
            assert.deepEqual([...ptsToUac], [0], `payload types to the caller: ${[...ptsToUac]}`);
            assert.ok(toUas.packets.length > 80, `${toUas.packets.length} packets to the callee`);
            assert.ok(toUac.packets.length > 80, `${toUac.packets.length} packets to the caller`);
            // in the audio: each hears the other's tone
            const atUas = toneReport(toUas.audio(), 1000);
            const atUac = toneReport(toUac.audio(), 600);
            assert.ok(atUas.marginDb > 15 && atUas.blocks > 10, `callee hears 1 kHz: ${JSON.stringify(atUas)}`);
            assert.ok(atUac.marginDb > 15 && atUac.blocks > 10, `caller hears 600 Hz: ${JSON.stringify(atUac)}`);
            // BYE: no session, no port
            assert.equal(b2bua.ms.sessions().length, 0);
            assert.equal(b2bua.ms.ports.inUse, 0);
            // and the collector got each leg's VQSessionReport: CallTerm
            await new Promise((r) => setTimeout(r, 300));
            assert.equal(published.length, 2, 'PUBLISH per leg');
            for (const p of published) {
              assert.equal(p.event, 'vq-rtcpxr');
              const rep = parseVqReport(p.content ?? '');
              assert.equal(rep.kind, 'VQSessionReport');
              assert.notEqual(rep.localMetrics.packetLoss?.networkLossPercent, undefined);
            }
          } finally {
            await uas?.stop();
            toUac.close();
            toUas.close();
            b2bua.close();
            collector.destroy();
          }
        },
      );
    }

    it('an offer without a common codec is refused with 488 and leaves nothing', { timeout: 20000 }, async () => {
      const base = await findFreePortBlock(24);
      const b2bua = new B2bua({
        sipAddress: B2BUA_IP,
        sipPort: base + 20,
        target: `sip:service@127.0.0.1:${base}`,
        media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
      });
      try {
        const uac = await runSippUac({
          remoteHost: B2BUA_IP,
          remotePort: base + 20,
          sipPort: base + 2,
          mediaPort: base + 8,
          codecs: [{ pt: 3, name: 'GSM', rate: 8000 }],
          expectStatus: 488,
          timeoutSec: 10,
        });
        assert.equal(uac.exitCode, 0, describeSippResult(uac));
        assert.equal(b2bua.ms.sessions().length, 0);
        assert.equal(b2bua.ms.ports.inUse, 0);
      } finally {
        b2bua.close();
      }
    });
  },
);

describe(
  'B2BUA between two baresip instances with different codecs',
  { skip: haveBaresip ? false : 'baresip not installed' },
  () => {
    const cases = [
      { a: 'PCMU/8000/1', b: 'opus/48000/2', signal: 'tone' as const },
      { a: 'G722/16000/1', b: 'CODEC2/8000/1', signal: 'voiced' as const },
    ];
    for (const c of cases) {
      it(
        `baresip ${c.a} -> B2BUA -> baresip ${c.b}: audio from a file arrives recognisably`,
        { timeout: 45000 },
        async () => {
          const dir = tmpDir('rms-baresip-');
          const base = await findFreePortBlock(100);
          const wav = path.join(dir, 'send.wav');
          writeWav(wav, c.signal === 'tone' ? tone(8000, 1, [1000], 0.4) : voiced(8000, 2, 140));
          const b2bua = new B2bua({
            sipAddress: B2BUA_IP,
            sipPort: base + 90,
            target: `sip:bob@127.0.0.1:${base + 40}`,
            media: { address: '127.0.0.1', ports: mediaPorts(200), tickers: 1 },
          });
          let a: Baresip | undefined;
          let b: Baresip | undefined;
          try {
            [a, b] = await Promise.all([
              startBaresip({
                sipPort: base,
                ctrlPort: base + 2,
                rtpPorts: [base + 10, base + 29],
                codecs: [c.a],
                sendWav: wav,
                recordDir: path.join(dir, 'rec-a'),
                user: 'alice',
                timeoutSec: 35,
              }),
              startBaresip({
                sipPort: base + 40,
                ctrlPort: base + 42,
                rtpPorts: [base + 50, base + 69],
                codecs: [c.b],
                recordDir: path.join(dir, 'rec-b'),
                user: 'bob',
                timeoutSec: 35,
              }),
            ]);
            await a.dial(`sip:bob@${B2BUA_IP}:${base + 90}`);
            await a.waitFor('CALL_ESTABLISHED', 10000);
            await b.waitFor('CALL_ESTABLISHED', 10000);
            await b.waitFor('CALL_RTPESTAB', 5000);
            const [info] = b2bua.ms.sessions();
            assert.equal(info.legs.a.codec, c.a.split('/')[0]);
            assert.equal(info.legs.b!.codec, c.b.split('/')[0]);
            assert.equal(info.relay, false);
            await new Promise((r) => setTimeout(r, 3000));
            await a.hangup();
            await a.waitFor('CALL_CLOSED', 5000);
            await b.waitFor('CALL_CLOSED', 5000);
            const recB = b.recordedFiles();
            assert.equal(recB.decoded.length, 1, JSON.stringify(recB));
            const got = readWav(recB.decoded[0]);
            // mono view of what B decoded (opus is recorded as 48 kHz stereo)
            const mono =
              got.channels === 1
                ? got.samples
                : Int16Array.from(
                    { length: got.samples.length / got.channels },
                    (_, i) => got.samples[i * got.channels],
                  );
            const pcm = { rate: got.rate, channels: 1, samples: mono.subarray(Math.round(got.rate * 0.3)) };
            if (c.signal === 'tone') {
              const t = toneReport(pcm, 1000);
              assert.ok(t.blocks > 15 && t.marginDb > 15, `B heard A's 1 kHz tone: ${JSON.stringify(t)}`);
            } else {
              const p = pitchReport(pcm, 140);
              assert.ok(p.blocks > 15 && p.matchFraction > 0.5, `B heard A's voice at 140 Hz: ${JSON.stringify(p)}`);
            }
            await new Promise((r) => setTimeout(r, 300));
            assert.equal(b2bua.ms.sessions().length, 0);
            assert.equal(b2bua.ms.ports.inUse, 0);
          } finally {
            await Promise.all([a?.close(), b?.close()]);
            b2bua.close();
          }
        },
      );
    }
  },
);
