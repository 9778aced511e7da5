/**
 * SDES-SRTP (RFC 4568) against baresip's srtp module: baresip calls us
 * (RTP/SAVP and best-effort RTP/AVP + a=crypto) and we call baresip with
 * each of the other suites; a re-INVITE re-keys. Audio is checked both
 * ways: what each side decodes is the other side's tone.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ticker } from '../../lib/graph/Ticker';
import { buildSdp } from '../../lib/sdp/build';
import { parseSdp } from '../../lib/sdp/parse';
import { acceptSecureAnswer, answerSecure, offerSecure, type SecureOffer } from '../../lib/sdp/secure';
import type { SrtpSuite } from '../../lib/rtp/secure';
import { AudioPeer } from '../../lib/tools/AudioPeer';
import { readWav, tone, writeWav, type Pcm } from '../../lib/util/wav';
import { tmpDir } from '../helpers/call';
import { toneReport } from '../helpers/signal';
import { startBaresip, type Baresip } from './baresip';
import { findFreePortBlock, hasBinary, killAllPeers, sleep } from './proc';
import { SipAgent } from './sipAgent';

const haveBaresip = hasBinary('baresip');
// the sip package reads a request-URI on its own host as a flow token: our agent is on its own address
const AGENT_IP = '127.0.0.11';
const OUR_HZ = 440;
const BARESIP_HZ = 1000;

after(() => killAllPeers());

function ourSdp(
  peer: AudioPeer,
  secure: { protocol: string; mediaAttributes: string[]; sessionAttributes: string[] },
  offer?: ReturnType<typeof parseSdp>,
  index?: number,
): string {
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

function lastSeconds(pcm: Pcm, seconds: number): Pcm {
  const n = Math.round(pcm.rate * seconds) * pcm.channels;
  return { ...pcm, samples: pcm.samples.subarray(Math.max(0, pcm.samples.length - n)) };
}

describe('SDES-SRTP with baresip', { skip: haveBaresip ? false : 'baresip not installed' }, () => {
  it(
    'baresip calls us with RTP/SAVP and best-effort SRTP: audio both ways, nothing refused',
    { timeout: 60000 },
    async () => {
      const dir = tmpDir('rms-srtp-');
      const base = await findFreePortBlock(60);
      const ourWav = path.join(dir, 'ours.wav');
      const theirWav = path.join(dir, 'theirs.wav');
      writeWav(ourWav, tone(8000, 12, [OUR_HZ], 0.4));
      writeWav(theirWav, tone(8000, 2, [BARESIP_HZ], 0.4));
      const ticker = new Ticker({ name: 'srtp-uas' });
      const peers: AudioPeer[] = [];
      const agent = new SipAgent(AGENT_IP, base + 50, async (inv) => {
        const offer = parseSdp(inv.sdp);
        const m = offer.secureAudio ?? offer.audio;
        assert.ok(m, 'baresip offered audio');
        const peer = new AudioPeer({
          codec: 'PCMU',
          payloadType: 0,
          sendFile: ourWav,
          recordFile: path.join(dir, `rec-${peers.length}.wav`),
        });
        peers.push(peer);
        const ans = answerSecure(offer, m, {
          local: { address: '127.0.0.1', port: peer.endpoint.port, rtcpPort: peer.endpoint.rtcpPort },
        });
        assert.equal(ans.keying, 'sdes');
        peer.endpoint.applySecurity(ans.endpoint);
        peer.endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
        peer.start(ticker);
        return { sdp: ourSdp(peer, ans, offer, m.index) };
      });
      let b: Baresip | undefined;
      try {
        for (const [i, enc] of ['srtp-mand', 'srtp'].entries()) {
          b = await startBaresip({
            sipPort: base + i * 20,
            ctrlPort: base + i * 20 + 2,
            rtpPorts: [base + i * 20 + 10, base + i * 20 + 19],
            codecs: ['PCMU/8000/1'],
            sendWav: theirWav,
            recordDir: path.join(dir, `rec-baresip-${i}`),
            extraAccountParams: `;mediaenc=${enc}`,
            extraConfig: ['module srtp.so'],
            timeoutSec: 25,
          });
          await b.dial(`sip:test@${AGENT_IP}:${base + 50}`);
          await b.waitFor('CALL_ESTABLISHED', 10000);
          await sleep(3000);
          await b.hangup();
          await b.waitFor('CALL_CLOSED', 5000);
          const peer = peers[i];
          const st = peer.endpoint.secureStats()!;
          peer.stop();
          await b.close();
          const theirs = b.recordedFiles().decoded;
          assert.equal(theirs.length, 1, `baresip (${enc}) recorded a call`);
          const heardByThem = toneReport(readWav(theirs[0]), OUR_HZ);
          const heardByUs = toneReport(readWav(path.join(dir, `rec-${i}.wav`)), BARESIP_HZ);
          assert.equal(st.protection, 'sdes');
          assert.equal(st.sendSuite, 'AES_CM_128_HMAC_SHA1_80');
          const c = st.components[0].srtp;
          assert.ok(c.rtpUnprotected > 100, `${enc}: ${c.rtpUnprotected} SRTP packets decrypted`);
          assert.ok(c.rtpProtected > 100, `${enc}: ${c.rtpProtected} packets encrypted`);
          // nothing forged or replayed; baresip (libre) sends a short plain RTCP APP
          // packet on the RTCP port when a stream starts, which is refused as
          // malformed (otherFailures), never delivered
          assert.equal(c.authFailures + c.replays, 0, `${enc}: refusals ${JSON.stringify(c)}`);
          assert.ok(c.otherFailures <= 2, `${enc}: ${JSON.stringify(c)}`);
          assert.ok(
            heardByThem.dominantFraction > 0.8,
            `${enc}: baresip heard our tone ${JSON.stringify(heardByThem)}`,
          );
          assert.ok(heardByUs.dominantFraction > 0.8, `${enc}: we heard baresip's tone ${JSON.stringify(heardByUs)}`);
          b = undefined;
        }
      } finally {
        await b?.close();
        agent.close();
        for (const p of peers) p.close();
        ticker.close();
      }
    },
  );

  it(
    'we call baresip with the other suites it has; a re-INVITE moves it to our new key; an answer with a suite we did not offer is refused',
    { timeout: 90000 },
    async () => {
      const dir = tmpDir('rms-srtp-uac-');
      const base = await findFreePortBlock(60);
      const ourWav = path.join(dir, 'ours.wav');
      const theirWav = path.join(dir, 'theirs.wav');
      writeWav(ourWav, tone(8000, 20, [OUR_HZ], 0.4));
      writeWav(theirWav, tone(8000, 2, [BARESIP_HZ], 0.4));
      const ticker = new Ticker({ name: 'srtp-uac' });
      const agent = new SipAgent(AGENT_IP, base + 50);
      const b = await startBaresip({
        sipPort: base,
        ctrlPort: base + 2,
        rtpPorts: [base + 10, base + 39],
        codecs: ['PCMU/8000/1'],
        sendWav: theirWav,
        recordDir: path.join(dir, 'rec-baresip'),
        extraAccountParams: ';mediaenc=srtp-mand',
        extraConfig: ['module srtp.so'],
        timeoutSec: 80,
      });
      // what baresip 1.0's srtp module has (AES_256_CM is covered by test/native/secure_test)
      const suites: SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'];
      try {
        for (const [i, suite] of suites.entries()) {
          const peer = new AudioPeer({
            codec: 'PCMU',
            payloadType: 0,
            sendFile: ourWav,
            recordFile: path.join(dir, `rec-${i}.wav`),
          });
          try {
            const local = { address: '127.0.0.1', port: peer.endpoint.port, rtcpPort: peer.endpoint.rtcpPort };
            const offer: SecureOffer = offerSecure({ keying: 'sdes', suites: [suite], local });
            const call = await agent.invite(`sip:user@127.0.0.1:${base}`, ourSdp(peer, offer));
            const ans = parseSdp(call.answer);
            const m = ans.secureAudio!;
            assert.ok(m, `baresip answered ${suite} with an SRTP m-line`);
            const settings = acceptSecureAnswer(offer, m);
            peer.endpoint.applySecurity(settings);
            peer.endpoint.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
            peer.start(ticker);
            await sleep(i === 0 ? 1500 : 2500);
            let before = { rtpUnprotected: 0 };
            if (i === 0) {
              // re-INVITE with fresh keys: both directions move to new keys
              const offer2 = offerSecure({ keying: 'sdes', suites: [suite], local });
              const answer2 = parseSdp(await call.reinvite(ourSdp(peer, offer2)));
              const s2 = acceptSecureAnswer(offer2, answer2.secureAudio!);
              assert.ok(!s2.srtp!.send.key.equals(settings.srtp!.send.key), 'we sent a new key');
              peer.endpoint.applySecurity(s2);
              before = peer.endpoint.secureStats()!.components[0].srtp;
              await sleep(2000);
            }
            const st = peer.endpoint.secureStats()!;
            const c = st.components[0].srtp;
            await call.bye();
            peer.stop();
            await sleep(300);
            assert.equal(st.sendSuite, suite);
            assert.equal(st.recvSuite, suite);
            assert.ok(
              c.rtpUnprotected - before.rtpUnprotected > 40,
              `${suite}: ${c.rtpUnprotected - before.rtpUnprotected} packets decrypted lately`,
            );
            // (otherFailures: libre's plain RTCP APP packet at each stream start, refused).
            // On the re-key, baresip sends under its new key as soon as it answers:
            // the packets that reach us before its 200 OK does cannot be
            // decrypted yet (RFC 4568 7.1.4) - a packet or two.
            assert.equal(c.replays, 0, `${suite}: ${JSON.stringify(c)}`);
            assert.ok(c.authFailures <= (i === 0 ? 3 : 0), `${suite}: ${JSON.stringify(c)}`);
            assert.ok(c.otherFailures <= 4, `${suite}: ${JSON.stringify(c)}`);
            const heardByUs = toneReport(lastSeconds(readWav(path.join(dir, `rec-${i}.wav`)), 1.5), BARESIP_HZ);
            assert.ok(heardByUs.dominantFraction > 0.8, `${suite}: we heard baresip ${JSON.stringify(heardByUs)}`);
            const files = b.recordedFiles().decoded;
            assert.equal(files.length, i + 1, 'one baresip recording per call');
            const heardByThem = toneReport(lastSeconds(readWav(files[i]), 1.5), OUR_HZ);
            assert.ok(heardByThem.dominantFraction > 0.8, `${suite}: baresip heard us ${JSON.stringify(heardByThem)}`);
          } finally {
            peer.close();
          }
          await sleep(1100); // baresip names its recordings by the second
        }
        // baresip has no AES_256_CM and answers with a suite of its own: not
        // what we offered, so the answer is refused (we never fall back silently)
        const peer = new AudioPeer({ codec: 'PCMU', payloadType: 0 });
        try {
          const local = { address: '127.0.0.1', port: peer.endpoint.port, rtcpPort: peer.endpoint.rtcpPort };
          const offer = offerSecure({ keying: 'sdes', suites: ['AES_256_CM_HMAC_SHA1_80'], local });
          const call = await agent.invite(`sip:user@127.0.0.1:${base}`, ourSdp(peer, offer));
          const m = parseSdp(call.answer).secureAudio!;
          assert.throws(() => acceptSecureAnswer(offer, m), { code: 'ERR_RMS_SDP', message: /changed the suite/ });
          await call.bye();
        } finally {
          peer.close();
        }
      } finally {
        await b.close();
        agent.close();
        ticker.close();
      }
    },
  );
});
