/**
 * lib/sdp/secure.ts on its own: what it reads from real offers (Chromium's,
 * baresip's), what it answers, and what it refuses.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { DtlsCertificate, generateSrtpKey } from '../lib/rtp/secure';
import { parseSdp } from '../lib/sdp/parse';
import { acceptSecureAnswer, answerSecure, answerSetup, offerSecure } from '../lib/sdp/secure';

const corpusDir = path.join(__dirname, '..', '..', 'test', 'sdp-corpus');
const corpus = (name: string) => fs.readFileSync(path.join(corpusDir, name), 'utf8');
const local = { address: '127.0.0.1', port: 40000, rtcpPort: 40001 };

const sdes = (lines: string[], proto = 'RTP/SAVP') =>
  [
    'v=0',
    'o=- 1 1 IN IP4 10.0.0.1',
    's=-',
    'c=IN IP4 10.0.0.1',
    't=0 0',
    `m=audio 30000 ${proto} 0`,
    'a=rtpmap:0 PCMU/8000',
    ...lines,
    '',
  ].join('\r\n');
const key30 = () => generateSrtpKey('AES_CM_128_HMAC_SHA1_80').key.toString('base64');

describe('lib/sdp/secure', () => {
  let cert: DtlsCertificate;
  before(async () => {
    cert = await DtlsCertificate.generate('sdp-secure-test');
  });

  it("reads Chromium 156's offer: DTLS, ICE, mid, BUNDLE, rtcp-mux/rsize, feedback", () => {
    const s = parseSdp(corpus('chromium-156.sdp'));
    assert.equal(s.audio, undefined, 'not a plain m-line');
    const m = s.secureAudio!;
    const sec = m.security;
    assert.ok(sec.srtpProfile && sec.dtlsProfile && sec.avpf);
    assert.equal(sec.setup, 'actpass');
    assert.equal(sec.fingerprint?.algorithm, 'sha-256');
    assert.equal(sec.mid, '0');
    assert.deepEqual(s.bundle, [['0']]);
    assert.equal(sec.ice?.ufrag, 'lxvQ');
    assert.ok(sec.ice!.candidates.some((c) => c.address === '127.0.0.1' && c.transport === 'udp'));
    assert.ok(sec.rtcpRsize && m.rtcpMux);
    assert.deepEqual(sec.rtcpFb, [{ payload: '111', type: 'transport-cc', subtype: undefined }]);
    assert.equal(m.direction, 'sendrecv');
    assert.ok(m.formats.some((f) => f.name === 'opus' && f.pt === 111));
  });

  it('answers it as a browser needs: same profile, active, fingerprint, ice-lite, candidates, mid, BUNDLE, mux', () => {
    const s = parseSdp(corpus('chromium-156.sdp'));
    const a = answerSecure(s, s.secureAudio!, { certificate: cert, local });
    assert.equal(a.keying, 'dtls');
    assert.equal(a.protocol, 'UDP/TLS/RTP/SAVPF');
    assert.deepEqual(a.sessionAttributes, ['a=ice-lite', 'a=group:BUNDLE 0']);
    assert.ok(a.mediaAttributes.includes('a=setup:active'));
    assert.ok(a.mediaAttributes.includes(`a=fingerprint:sha-256 ${cert.fingerprint()}`));
    assert.ok(a.mediaAttributes.includes('a=mid:0') && a.mediaAttributes.includes('a=rtcp-mux'));
    assert.ok(a.mediaAttributes.includes('a=rtcp-rsize'));
    // one host candidate (rtcp-mux: no component 2), then end-of-candidates
    assert.deepEqual(
      a.mediaAttributes.filter((l) => l.startsWith('a=candidate') || l === 'a=end-of-candidates'),
      [`a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host`, 'a=end-of-candidates'],
    );
    // no feedback is answered: none is used, so none is sent to us
    assert.ok(!a.mediaAttributes.some((l) => l.startsWith('a=rtcp-fb')));
    assert.equal(a.endpoint.dtls?.role, 'client');
    assert.equal(a.endpoint.ice?.remoteUfrag, 'lxvQ');
    assert.ok(a.endpoint.ice!.localPwd.length >= 22);
    assert.equal(a.endpoint.rtcpMux, true);
    // the pre-ICE remote: its best IPv4 UDP candidate (not ::1, not tcp)
    assert.equal(a.endpoint.remote?.address, '127.0.0.1');
    // a re-offer that changes nothing keeps the DTLS settings and the ICE credentials
    const again = answerSecure(s, s.secureAudio!, { certificate: cert, local, previous: a.endpoint });
    assert.equal(again.endpoint.dtls, a.endpoint.dtls);
    assert.equal(again.endpoint.ice?.localPwd, a.endpoint.ice?.localPwd);
  });

  it('DTLS roles: actpass and passive are answered active (we connect), active passive; holdconn refused', () => {
    assert.deepEqual(answerSetup('actpass'), { role: 'client', setup: 'active' });
    assert.deepEqual(answerSetup('passive'), { role: 'client', setup: 'active' });
    assert.deepEqual(answerSetup('active'), { role: 'server', setup: 'passive' });
    assert.deepEqual(answerSetup(undefined), { role: 'server', setup: 'passive' }, 'RFC 4145: absent is active');
    assert.throws(() => answerSetup('holdconn'), { code: 'ERR_RMS_SDP' });
  });

  it('SDES: picks the first usable line, answers its tag with a fresh key; keeps it on a repeated offer', () => {
    const k = key30();
    const s = parseSdp(
      sdes([
        'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' + k + '|2^20|1:4',
        'a=crypto:2 F8_128_HMAC_SHA1_80 inline:' + k,
        'a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:' + k + ' UNENCRYPTED_SRTP',
        'a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:' + k + '|2^31',
      ]),
    );
    const a = answerSecure(s, s.secureAudio!, { local });
    assert.equal(a.keying, 'sdes');
    // 1 has an MKI, 2 an unknown suite, 3 turns encryption off: 4 it is
    const line = a.mediaAttributes.find((l) => l.startsWith('a=crypto:'))!;
    assert.match(line, /^a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    assert.equal(a.endpoint.srtp?.recv.key.toString('base64'), k);
    assert.ok(!a.endpoint.srtp!.send.key.equals(a.endpoint.srtp!.recv.key));
    const again = answerSecure(s, s.secureAudio!, { local, previous: a.endpoint });
    assert.ok(again.endpoint.srtp!.send.key.equals(a.endpoint.srtp!.send.key), 'no needless re-key');
  });

  it('refuses what cannot be secured, saying why (and never printing a key)', () => {
    const k = key30();
    const noKey = parseSdp(sdes(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' + k + '|2^20|1:4']));
    assert.throws(
      () => answerSecure(noKey, noKey.secureAudio!, { local }),
      (e: Error) => {
        assert.equal((e as { code?: string }).code, 'ERR_RMS_SDP');
        assert.match(e.message, /MKI/);
        assert.ok(!e.message.includes(k));
        return true;
      },
    );
    const short = parseSdp(sdes(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' + k.slice(0, 20)]));
    assert.throws(() => answerSecure(short, short.secureAudio!, { local }), /needs 30 octets/);
    const dtls = parseSdp(corpus('chromium-156.sdp'));
    assert.throws(() => answerSecure(dtls, dtls.secureAudio!, { local }), /no certificate/);
    assert.throws(() => parseSdp(sdes(['a=fingerprint:md5 00:11'])), { code: 'ERR_RMS_SDP' });
    assert.throws(() => parseSdp(sdes(['a=setup:sometimes'])), { code: 'ERR_RMS_SDP' });
  });

  it('best-effort SRTP (RTP/AVP + a=crypto) is answered with SDES, or plain when asked', () => {
    const s = parseSdp(
      sdes(
        ['a=crypto:1 AEAD_AES_128_GCM inline:' + generateSrtpKey('AEAD_AES_128_GCM').key.toString('base64')],
        'RTP/AVP',
      ),
    );
    assert.ok(s.audio && !s.secureAudio);
    assert.equal(answerSecure(s, s.audio, { local }).keying, 'sdes');
    const plain = answerSecure(s, s.audio, { local, bestEffortSrtp: false });
    assert.equal(plain.keying, 'none');
    assert.deepEqual(plain.mediaAttributes, []);
  });

  it('offers SDES and DTLS, and reads the answers back', () => {
    const o = offerSecure({ keying: 'sdes', local, suites: ['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80'] });
    assert.equal(o.protocol, 'RTP/SAVP');
    assert.equal(o.mediaAttributes.filter((l) => l.startsWith('a=crypto:')).length, 2);
    const theirs = generateSrtpKey('AES_CM_128_HMAC_SHA1_80').key.toString('base64');
    const ans = parseSdp(sdes([`a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${theirs}`]));
    const st = acceptSecureAnswer(o, ans.secureAudio!);
    assert.equal(st.srtp?.send.suite, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(st.srtp?.recv.key.toString('base64'), theirs);
    const wrongTag = parseSdp(sdes([`a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${theirs}`]));
    assert.throws(() => acceptSecureAnswer(o, wrongTag.secureAudio!), /answers no crypto line we offered/);

    const d = offerSecure({ keying: 'dtls', avpf: true, local, certificate: cert, ice: true, rtcpMux: true, mid: 'a' });
    assert.equal(d.protocol, 'UDP/TLS/RTP/SAVPF');
    assert.ok(d.mediaAttributes.includes('a=setup:actpass') && d.sessionAttributes.includes('a=ice-lite'));
    const fp = 'AB:'.repeat(31) + 'AB';
    const dans = parseSdp(
      sdes(
        [
          `a=fingerprint:sha-256 ${fp}`,
          'a=setup:active',
          'a=rtcp-mux',
          'a=ice-ufrag:them',
          'a=ice-pwd:0123456789012345678901',
          'a=candidate:1 1 udp 1 10.0.0.1 30000 typ host',
        ],
        'UDP/TLS/RTP/SAVPF',
      ),
    );
    const ds = acceptSecureAnswer(d, dans.secureAudio!);
    assert.equal(ds.dtls?.role, 'server', 'the answerer went active: we serve');
    assert.equal(ds.dtls?.remoteFingerprint.value, fp);
    assert.equal(ds.ice?.remoteUfrag, 'them');
    assert.equal(ds.rtcpMux, true);
    assert.deepEqual(ds.remote, { address: '10.0.0.1', port: 30000, rtcpPort: 30000 });
  });
});
