/**
 * ZRTP (RFC 6189) against linphonec (liblinphone 5.1, bzrtp): it calls us
 * with ZRTP mandatory; our leg runs ZRTP through mediastreamer2 and gets the
 * same SAS as linphonec prints, and media flows under the keys ZRTP agreed
 * (we decode linphonec's tone).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ticker } from '../../lib/graph/Ticker';
import type { ZrtpStateEvent } from '../../lib/rtp/secure';
import { buildSdp } from '../../lib/sdp/build';
import { parseSdp } from '../../lib/sdp/parse';
import { AudioPeer } from '../../lib/tools/AudioPeer';
import { readWav, tone, writeWav } from '../../lib/util/wav';
import { tmpDir } from '../helpers/call';
import { toneReport } from '../helpers/signal';
import { haveLinphonec, Linphonec } from './linphonec';
import { findFreePortBlock, killAllPeers, sleep, waitUntil } from './proc';
import { SipAgent } from './sipAgent';

const AGENT_IP = '127.0.0.13';

after(() => killAllPeers());

describe(
  'ZRTP with linphonec',
  { skip: haveLinphonec ? false : 'linphonec (linphone-cli) or script not installed' },
  () => {
    it(
      'linphonec calls us with ZRTP mandatory: both ends show the same SAS, SRTP flows',
      { timeout: 60000 },
      async () => {
        const dir = tmpDir('rms-zrtp-');
        const base = await findFreePortBlock(40);
        const wav = path.join(dir, 'ours.wav');
        writeWav(wav, tone(8000, 20, [440], 0.4));
        const ticker = new Ticker({ name: 'zrtp' });
        let peer: AudioPeer | undefined;
        const events: ZrtpStateEvent[] = [];
        const agent = new SipAgent(AGENT_IP, base + 30, async (inv) => {
          const offer = parseSdp(inv.sdp);
          const m = offer.audio;
          assert.ok(m, 'linphonec offered RTP/AVP audio (ZRTP is in-band)');
          const pcmu = m.formats.find((f) => f.name === 'PCMU');
          assert.ok(pcmu, 'PCMU offered');
          peer = new AudioPeer({
            codec: 'PCMU',
            payloadType: pcmu.pt,
            sendFile: wav,
            recordFile: path.join(dir, 'rec.wav'),
          });
          peer.endpoint.on('zrtpState', (e) => events.push(e));
          peer.endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
          peer.endpoint.setZrtp();
          peer.start(ticker);
          const sdp = buildSdp({
            sessionId: String(Date.now()),
            version: 1,
            address: '127.0.0.1',
            audio: {
              address: '127.0.0.1',
              port: peer.endpoint.port,
              rtcpPort: peer.endpoint.rtcpPort,
              formats: [{ pt: pcmu.pt, name: 'PCMU', clockRate: 8000 }],
              direction: 'sendrecv',
            },
            offerMedia: offer.media,
            audioIndex: m.index,
          });
          return { sdp };
        });
        const theirWav = path.join(dir, 'theirs.wav');
        writeWav(theirWav, tone(8000, 20, [1000], 0.4));
        const lp = await Linphonec.start({
          sipPort: base,
          rtpPort: base + 10,
          mediaEncryption: 'zrtp',
          mandatory: true,
        });
        try {
          // no sound card: it sends this file and records what it hears
          lp.command(`play ${theirWav}`);
          lp.command(`record ${path.join(dir, 'theirs-rec.wav')}`);
          lp.command(`call sip:test@${AGENT_IP}:${base + 30}`);
          await waitUntil(() => lp.sas() !== undefined, 20000, 'linphonec to print the SAS', lp.proc).catch(
            (e: Error) => {
              const st = JSON.stringify(peer?.endpoint.secureStats());
              throw new Error(`${e.message}\nlinphonec: ${lp.output().slice(-3000)}\nours: ${st}`);
            },
          );
          await waitUntil(() => !!peer?.endpoint.secureStats()?.zrtp?.secure, 5000, 'our leg to be secure');
          await sleep(1500);
          const st = peer!.endpoint.secureStats()!;
          const theirSas = lp.sas();
          assert.equal(st.protection, 'zrtp');
          assert.ok(st.zrtp?.sas, `we have a SAS: ${JSON.stringify(st.zrtp)}`);
          assert.equal(st.zrtp!.sas, theirSas, `our SAS ${st.zrtp!.sas}, linphonec's ${theirSas}`);
          assert.ok(events.some((e) => e.state === 'sas' && e.sas === theirSas));
          assert.ok(events.some((e) => e.state === 'secure'));
          assert.match(lp.output(), /is fully encrypted/);
          // media under the ZRTP keys: what oRTP got came through ms2's SRTP
          const rtp = peer!.endpoint.stats();
          assert.ok(rtp.packetsReceived > 30 && rtp.packetsSent > 30, JSON.stringify(rtp));
          peer!.stop();
          const heard = toneReport(readWav(path.join(dir, 'rec.wav')), 1000);
          assert.ok(heard.dominantFraction > 0.8, `we heard linphonec's tone: ${JSON.stringify(heard)}`);
        } finally {
          await lp.close();
          agent.close();
          peer?.close();
          ticker.close();
        }
      },
    );
  },
);
