/**
 * DTLS-SRTP (RFC 5763/5764) against baresip's dtls_srtp module: baresip
 * calls us (UDP/TLS/RTP/SAVPF, a=setup:actpass, no rtcp-mux: a handshake on
 * the RTP and on the RTCP port), we call it (we offer actpass, it picks);
 * audio checked both ways. With the fingerprint in its offer altered, the
 * handshake is refused, counted, and no media flows either way.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ticker } from '../../lib/graph/Ticker';
import { DtlsCertificate, type DtlsStateEvent } from '../../lib/rtp/secure';
import { buildSdp } from '../../lib/sdp/build';
import { parseSdp } from '../../lib/sdp/parse';
import { acceptSecureAnswer, answerSecure, offerSecure } from '../../lib/sdp/secure';
import { AudioPeer } from '../../lib/tools/AudioPeer';
import { readWav, tone, writeWav } from '../../lib/util/wav';
import { tmpDir } from '../helpers/call';
import { toneReport } from '../helpers/signal';
import { startBaresip, type Baresip } from './baresip';
import { findFreePortBlock, hasBinary, killAllPeers, sleep } from './proc';
import { SipAgent } from './sipAgent';

const haveBaresip = hasBinary('baresip');
const AGENT_IP = '127.0.0.12';
const OUR_HZ = 440;
const BARESIP_HZ = 1000;

after(() => killAllPeers());

type Secure = { protocol: string; mediaAttributes: string[]; sessionAttributes: string[] };

function ourSdp(peer: AudioPeer, secure: Secure, offer?: ReturnType<typeof parseSdp>, index?: number): string {
  return buildSdp({
    sessionId: String(Date.now()),
    version: 1,
    address: '127.0.0.1',
    sessionAttributes: secure.sessionAttributes,
    audio: {
      address: '127.0.0.1',
      port: peer.endpoint.port,
      rtcpPort: peer.endpoint.rtcpPort,
      formats: [{ pt: 0, name: 'PCMU', clockRate: 8000 }],
      direction: 'sendrecv',
      ptime: 20,
      protocol: secure.protocol,
      attributes: secure.mediaAttributes,
    },
    offerMedia: offer?.media,
    audioIndex: index,
  });
}

/** Flips one hex digit of a fingerprint: another certificate's, as far as anyone can tell. */
function otherFingerprint(value: string): string {
  const last = value[value.length - 1];
  return value.slice(0, -1) + (last === '0' ? '1' : '0');
}

describe('DTLS-SRTP with baresip', { skip: haveBaresip ? false : 'baresip not installed' }, () => {
  let cert: DtlsCertificate;
  before(async () => {
    cert = await DtlsCertificate.generate('dtls-baresip-test');
  });

  for (const tamper of [false, true]) {
    it(
      tamper
        ? 'a wrong fingerprint: handshake refused and counted, no media either way'
        : 'baresip calls us: handshakes on the RTP and RTCP ports, audio both ways',
      { timeout: 40000 },
      async () => {
        const dir = tmpDir('rms-dtls-');
        const base = await findFreePortBlock(60);
        const ourWav = path.join(dir, 'ours.wav');
        const theirWav = path.join(dir, 'theirs.wav');
        writeWav(ourWav, tone(8000, 12, [OUR_HZ], 0.4));
        writeWav(theirWav, tone(8000, 2, [BARESIP_HZ], 0.4));
        const ticker = new Ticker({ name: 'dtls-uas' });
        let peer: AudioPeer | undefined;
        const events: DtlsStateEvent[] = [];
        const agent = new SipAgent(AGENT_IP, base + 50, async (inv) => {
          const offer = parseSdp(inv.sdp);
          const m = offer.secureAudio!;
          assert.ok(m?.security.dtlsProfile, 'baresip offered UDP/TLS/RTP/SAVPF');
          if (tamper) m.security.fingerprint!.value = otherFingerprint(m.security.fingerprint!.value);
          peer = new AudioPeer({
            codec: 'PCMU',
            payloadType: 0,
            sendFile: ourWav,
            recordFile: path.join(dir, 'rec.wav'),
          });
          peer.endpoint.on('dtlsState', (e) => events.push(e));
          const ans = answerSecure(offer, m, {
            certificate: cert,
            local: { address: '127.0.0.1', port: peer.endpoint.port, rtcpPort: peer.endpoint.rtcpPort },
          });
          assert.equal(ans.keying, 'dtls');
          assert.equal(ans.endpoint.dtls!.role, 'client', 'actpass is answered active: we connect');
          assert.ok(ans.mediaAttributes.includes('a=setup:active'));
          peer.endpoint.applySecurity(ans.endpoint);
          peer.endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
          peer.start(ticker);
          return { sdp: ourSdp(peer, ans, offer, m.index) };
        });
        let b: Baresip | undefined;
        try {
          b = await startBaresip({
            sipPort: base,
            ctrlPort: base + 2,
            rtpPorts: [base + 10, base + 19],
            codecs: ['PCMU/8000/1'],
            sendWav: theirWav,
            recordDir: path.join(dir, 'rec-baresip'),
            extraAccountParams: ';mediaenc=dtls_srtp',
            extraConfig: ['module dtls_srtp.so'],
            timeoutSec: 30,
          });
          await b.dial(`sip:test@${AGENT_IP}:${base + 50}`);
          await b.waitFor('CALL_ESTABLISHED', 10000);
          await sleep(4000);
          const st = peer!.endpoint.secureStats()!;
          await b.hangup();
          await b.waitFor('CALL_CLOSED', 5000).catch(() => undefined);
          peer!.stop();
          await b.close();
          const [rtp, rtcp] = st.components;
          const theirs = b.recordedFiles().decoded;
          if (!tamper) {
            assert.equal(rtp.dtls?.state, 'connected', JSON.stringify(rtp.dtls));
            assert.equal(rtcp.dtls?.state, 'connected', `the RTCP port's own handshake: ${JSON.stringify(rtcp.dtls)}`);
            assert.equal(st.sendSuite, 'AES_CM_128_HMAC_SHA1_80');
            assert.ok(rtp.srtp.rtpUnprotected > 100, JSON.stringify(rtp.srtp));
            assert.equal(rtp.srtp.authFailures + rtp.srtp.replays, 0, JSON.stringify(rtp.srtp));
            assert.ok(events.some((e) => e.state === 'connected' && e.component === 0));
            const heardByUs = toneReport(readWav(path.join(dir, 'rec.wav')), BARESIP_HZ);
            assert.ok(heardByUs.dominantFraction > 0.8, `we heard baresip ${JSON.stringify(heardByUs)}`);
            assert.equal(theirs.length, 1);
            const heardByThem = toneReport(readWav(theirs[0]), OUR_HZ);
            assert.ok(heardByThem.dominantFraction > 0.8, `baresip heard us ${JSON.stringify(heardByThem)}`);
          } else {
            assert.equal(rtp.dtls?.state, 'failed', JSON.stringify(rtp.dtls));
            assert.equal(rtp.dtls?.fingerprintMismatches, 1);
            assert.match(rtp.dtls?.failure ?? '', /fingerprint/);
            assert.ok(events.some((e) => e.state === 'failed' && /fingerprint/.test(e.reason ?? '')));
            // no keys, no media: nothing decrypted, nothing sent
            assert.equal(rtp.srtp.rtpUnprotected, 0);
            assert.equal(rtp.srtp.rtpProtected, 0);
            assert.ok(st.beforeKeysOut > 100, `our packets were held back: ${st.beforeKeysOut}`);
            const heardByUs = toneReport(readWav(path.join(dir, 'rec.wav')), BARESIP_HZ);
            assert.equal(heardByUs.blocks, 0, `we decoded nothing audible: ${JSON.stringify(heardByUs)}`);
            if (theirs.length) {
              const heardByThem = toneReport(readWav(theirs[0]), OUR_HZ);
              assert.equal(heardByThem.blocks, 0, `baresip got nothing audible: ${JSON.stringify(heardByThem)}`);
            }
          }
          b = undefined;
        } finally {
          await b?.close();
          agent.close();
          peer?.close();
          ticker.close();
        }
      },
    );
  }

  it(
    'we call baresip with a DTLS offer (actpass): it picks the role, audio both ways',
    { timeout: 40000 },
    async () => {
      const dir = tmpDir('rms-dtls-uac-');
      const base = await findFreePortBlock(60);
      const ourWav = path.join(dir, 'ours.wav');
      const theirWav = path.join(dir, 'theirs.wav');
      writeWav(ourWav, tone(8000, 12, [OUR_HZ], 0.4));
      writeWav(theirWav, tone(8000, 2, [BARESIP_HZ], 0.4));
      const ticker = new Ticker({ name: 'dtls-uac' });
      const agent = new SipAgent(AGENT_IP, base + 50);
      const b = await startBaresip({
        sipPort: base,
        ctrlPort: base + 2,
        rtpPorts: [base + 10, base + 19],
        codecs: ['PCMU/8000/1'],
        sendWav: theirWav,
        recordDir: path.join(dir, 'rec-baresip'),
        extraAccountParams: ';mediaenc=dtls_srtp',
        extraConfig: ['module dtls_srtp.so'],
        timeoutSec: 30,
      });
      const peer = new AudioPeer({
        codec: 'PCMU',
        payloadType: 0,
        sendFile: ourWav,
        recordFile: path.join(dir, 'rec.wav'),
      });
      try {
        const local = { address: '127.0.0.1', port: peer.endpoint.port, rtcpPort: peer.endpoint.rtcpPort };
        const offer = offerSecure({ keying: 'dtls', avpf: true, certificate: cert, local });
        const call = await agent.invite(`sip:user@127.0.0.1:${base}`, ourSdp(peer, offer));
        const m = parseSdp(call.answer).secureAudio!;
        const settings = acceptSecureAnswer(offer, m);
        peer.endpoint.applySecurity(settings);
        peer.endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
        peer.start(ticker);
        await sleep(4000);
        const st = peer.endpoint.secureStats()!;
        await call.bye();
        peer.stop();
        await sleep(300);
        assert.equal(st.components[0].dtls?.state, 'connected', JSON.stringify(st.components[0].dtls));
        assert.equal(st.components[0].dtls?.role, settings.dtls!.role);
        assert.ok(st.components[0].srtp.rtpUnprotected > 100);
        const heardByUs = toneReport(readWav(path.join(dir, 'rec.wav')), BARESIP_HZ);
        assert.ok(heardByUs.dominantFraction > 0.8, `we heard baresip ${JSON.stringify(heardByUs)}`);
        const theirs = b.recordedFiles().decoded;
        assert.equal(theirs.length, 1);
        const heardByThem = toneReport(readWav(theirs[0]), OUR_HZ);
        assert.ok(heardByThem.dominantFraction > 0.8, `baresip heard us ${JSON.stringify(heardByThem)}`);
      } finally {
        peer.close();
        await b.close();
        agent.close();
        ticker.close();
      }
    },
  );
});
