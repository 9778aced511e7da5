/**
 * Kamailio 5.6.3's rtpengine module driving `rtp-media-server serve` over ng:
 * sipp UAC -> Kamailio -> sipp UAS. The SDP each side gets names the
 * daemon's address and ports, RTP crosses the daemon both ways, the flags
 * `codec-strip-PCMU codec-transcode-PCMA` make the callee (which can only do
 * PCMA) see PCMA alone while the caller keeps PCMU, and the BYE deletes the
 * call (no session left, ports back).
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { tone } from '../../lib/util/wav';
import { tmpDir } from '../helpers/call';
import { startDaemon, type DaemonProcess } from '../helpers/daemonProcess';
import { NgClient } from '../helpers/ngClient';
import { toneReport } from '../helpers/signal';
import { startKamailio, type Kamailio } from './kamailio';
import { alawToLinear, ulawToLinear, writeRtpPcap } from './pcap';
import { findFreePortBlock, hasBinary, killAllPeers, sleep } from './proc';
import { PCMA, PCMU, parseSdp, telephoneEvent } from './sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './sipp';

const isRoot = process.getuid?.() === 0;
const skip = !hasBinary('kamailio')
  ? 'kamailio not installed (apt-get install -y --no-install-recommends kamailio)'
  : !hasBinary('sipp')
    ? 'sipp not installed'
    : !isRoot
      ? 'sipp play_pcap_audio needs root'
      : false;

after(() => killAllPeers());

/** A UDP socket standing in for a peer's media port: RTP payload types and G.711 audio. */
async function mediaTap(port: number) {
  const s = dgram.createSocket('udp4');
  const pts: number[] = [];
  const pcm: number[] = [];
  s.on('message', (m) => {
    if (m.length < 12 || m[0] >> 6 !== 2) return;
    const pt = m[1] & 0x7f;
    pts.push(pt);
    const payload = m.subarray(12 + 4 * (m[0] & 0x0f));
    if (pt === 0) for (const b of payload) pcm.push(ulawToLinear(b));
    if (pt === 8) for (const b of payload) pcm.push(alawToLinear(b));
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return { pts, audio: () => ({ rate: 8000, channels: 1, samples: Int16Array.from(pcm) }), close: () => s.close() };
}

function scrape(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address}/metrics`, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const metricValue = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('Kamailio (rtpengine module) with the rtp-media-server daemon', { skip }, () => {
  it(
    'sipp -> Kamailio -> sipp: SDP rewritten, media both ways through the daemon, transcoded by flags, BYE deletes',
    {
      timeout: 45_000,
    },
    async () => {
      const dir = tmpDir('rms-kamailio-');
      const base = await findFreePortBlock(20);
      const [uasSip, uacSip, uasMedia, uacMedia, uasTap, uacTap, kamSip] = [
        base,
        base + 2,
        base + 4,
        base + 8,
        base + 12,
        base + 14,
        base + 16,
      ];
      let daemon: DaemonProcess | undefined;
      let kam: Kamailio | undefined;
      let uas: SippUas | undefined;
      const toUac = await mediaTap(uacTap);
      const toUas = await mediaTap(uasTap);
      const ng: NgClient[] = [];
      try {
        daemon = await startDaemon([
          '--control-udp=127.0.0.1:0',
          '--metrics=127.0.0.1:0',
          '--ports=35000-35099',
          '--tickers=1',
          '--quality-sample-ms=500',
        ]);
        kam = await startKamailio({
          sipPort: kamSip,
          nodes: [daemon.udp],
          flags:
            'trust-address replace-origin replace-session-connection ICE=remove codec-strip-PCMU codec-transcode-PCMA',
        });
        const uacPcap = path.join(dir, 'uac.pcap');
        const uasPcap = path.join(dir, 'uas.pcap');
        writeRtpPcap(uacPcap, tone(8000, 3, [1000]).samples, { codec: 'PCMU', ptimeMs: 20 });
        writeRtpPcap(uasPcap, tone(8000, 3, [600]).samples, { codec: 'PCMA', ptimeMs: 20 });
        uas = await startSippUas({
          sipPort: uasSip,
          mediaPort: uasMedia,
          sdpMediaPort: uasTap,
          codecs: [PCMA, telephoneEvent(101)],
          ptime: 20,
          pcap: uasPcap,
          timeoutSec: 20,
          workDir: path.join(dir, 'uas'),
        });
        const callId = 'kamailio-media-1@127.0.0.1';
        const uacDone = runSippUac({
          remoteHost: '127.0.0.1',
          remotePort: uasSip,
          // everything goes to Kamailio; the Request-URI still names the UAS
          extraArgs: ['-rsa', `127.0.0.1:${kamSip}`, '-cid_str', 'kamailio-media-%u@127.0.0.1'],
          sipPort: uacSip,
          mediaPort: uacMedia,
          sdpMediaPort: uacTap,
          codecs: [PCMU, telephoneEvent(101)],
          ptime: 20,
          pcap: uacPcap,
          durationMs: 2500,
          timeoutSec: 20,
          workDir: path.join(dir, 'uac'),
        });
        // mid-call, the daemon has the call: PCMU towards the caller, PCMA towards the callee
        // (waits for the call to be answered: on a loaded machine set-up can take a while)
        await sleep(800);
        const client = await NgClient.create(daemon.udp);
        ng.push(client);
        for (let i = 0; i < 40; i++) {
          const l = await client.request({ command: 'list' });
          if ((l.calls as unknown[] | undefined)?.map(String).includes(callId)) break;
          await sleep(100);
        }
        await sleep(300);
        const q = await client.request({ command: 'query', 'call-id': callId });
        assert.equal(q.result, 'ok', JSON.stringify(q));
        const codecs = Object.values(q.tags as Record<string, { codec: string }>).map((t) => t.codec);
        assert.deepEqual(codecs.sort(), ['PCMA', 'PCMU']);
        assert.equal(q.transcoded, 'yes');

        const uac = await uacDone;
        const uasRes = await uas.result;
        assert.equal(uac.exitCode, 0, describeSippResult(uac) + '\n' + kam.log().slice(-3000));
        assert.equal(uasRes.exitCode, 0, describeSippResult(uasRes));

        // Kamailio put the daemon's address and ports into both SDPs
        const offerToUas = parseSdp(uasRes.sdpReceived[0]);
        const answerToUac = parseSdp(uac.sdpReceived[0]);
        for (const sdp of [offerToUas, answerToUac]) {
          assert.equal(sdp.audio!.ip, '127.0.0.1');
          assert.ok(sdp.audio!.port >= 35000 && sdp.audio!.port <= 35099, `port ${sdp.audio!.port}`);
        }
        assert.notEqual(offerToUas.audio!.port, answerToUac.audio!.port);
        // codec-strip-PCMU codec-transcode-PCMA: the callee saw PCMA only; the caller keeps PCMU
        assert.deepEqual(
          offerToUas.audio!.codecs.map((c) => c.name),
          ['PCMA', 'telephone-event'],
        );
        assert.equal(answerToUac.audio!.codecs[0].name, 'PCMU');

        // on the wire, through the daemon: each side gets its own codec and hears the other
        assert.deepEqual([...new Set(toUas.pts)], [8], `payload types to the callee: ${[...new Set(toUas.pts)]}`);
        assert.deepEqual([...new Set(toUac.pts)], [0], `payload types to the caller: ${[...new Set(toUac.pts)]}`);
        assert.ok(toUas.pts.length > 80 && toUac.pts.length > 80, `${toUas.pts.length} / ${toUac.pts.length} packets`);
        const atUas = toneReport(toUas.audio(), 1000);
        const atUac = toneReport(toUac.audio(), 600);
        assert.ok(atUas.marginDb > 15 && atUas.blocks > 10, `callee hears 1 kHz: ${JSON.stringify(atUas)}`);
        assert.ok(atUac.marginDb > 15 && atUac.blocks > 10, `caller hears 600 Hz: ${JSON.stringify(atUac)}`);

        // the BYE went through rtpengine_manage(): delete; nothing left in the daemon
        assert.deepEqual((await client.request({ command: 'list' })).calls, []);
        const m = await scrape(daemon.ready.metrics!);
        assert.equal(metricValue(m, 'rms_calls_active'), 0);
        assert.equal(metricValue(m, 'rms_port_pairs_in_use'), 0);
        assert.equal(metricValue(m, 'rms_calls_finished_total'), 1);
        assert.ok(metricValue(m, 'rms_ng_requests_total{command="ping"}') >= 1, 'Kamailio pinged the node');
        assert.equal(metricValue(m, 'rms_ng_requests_total{command="delete"}'), 1);
      } finally {
        for (const c of ng) c.close();
        await uas?.stop();
        await kam?.stop();
        await daemon?.stop();
        toUac.close();
        toUas.close();
      }
    },
  );
});
