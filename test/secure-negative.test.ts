/**
 * What a secured leg refuses, over real UDP between two endpoints: replayed
 * and duplicated SRTP, forged tags, plain RTP injected from the peer's own
 * address, STUN checks with the wrong password, media from a source no
 * check came from, and sending after ICE consent expired. Each refusal is
 * counted, nothing refused reaches oRTP, and the audio stays clean.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Ticker } from '../lib/graph/Ticker';
import { generateIceCredentials, generateSrtpKey, type IceStateEvent } from '../lib/rtp/secure';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { UdpRelay } from './helpers/relay';
import { toneReport } from './helpers/signal';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('secured legs refuse what they must', () => {
  it(
    'replays, duplicates, forged tags and injected plain RTP: refused, counted, never delivered',
    { timeout: 30000 },
    async () => {
      const dir = tmpDir('rms-srtp-neg-');
      const wav = path.join(dir, 'tone.wav');
      writeWav(wav, tone(8000, 10, [800], 0.4));
      const ticker = new Ticker({ name: 'srtp-neg' });
      const sender = new AudioPeer({ codec: 'PCMU', payloadType: 0, sendFile: wav });
      const receiver = new AudioPeer({ codec: 'PCMU', payloadType: 0, recordFile: path.join(dir, 'rec.wav') });
      const relay = await UdpRelay.create({ gateway: { address: '127.0.0.1', port: receiver.port } });
      try {
        const k1 = generateSrtpKey('AES_CM_128_HMAC_SHA1_80');
        const k2 = generateSrtpKey('AES_CM_128_HMAC_SHA1_80');
        sender.endpoint.setSrtp({ send: k1, recv: k2 });
        receiver.endpoint.setSrtp({ send: k2, recv: k1 });
        sender.endpoint.setRemote({ address: '127.0.0.1', port: relay.farPort });
        // strict latching on the relay's address: what the relay sends is "from the peer"
        receiver.endpoint.setRemote({ address: '127.0.0.1', port: relay.nearPort });
        relay.setPeer({ address: '127.0.0.1', port: sender.port });
        relay.duplicateToGateway = (n) => n % 4 === 1;
        relay.corruptToGateway = (n) => n % 5 === 2;
        relay.keepToGateway = [];
        receiver.start(ticker);
        sender.start(ticker);
        await sleep(1500);
        // plain RTP at full scale, from the peer's own address
        for (let i = 0; i < 50; i++) {
          const p = Buffer.alloc(172);
          p[0] = 0x80;
          p.writeUInt16BE(40000 + i, 2);
          p.writeUInt32BE(0xdeadbeef, 8);
          randomBytes(160).copy(p, 12);
          relay.injectToGateway(p);
        }
        // the first 30 packets again, a second later: a replay
        const captured = relay.keepToGateway.slice(0, 30);
        for (const p of captured) relay.injectToGateway(p);
        await sleep(1500);
        sender.stop();
        await sleep(200);
        const st = receiver.endpoint.secureStats()!;
        const c = st.components[0].srtp;
        const rtp = receiver.endpoint.stats();
        receiver.stop();
        const sent = relay.toGateway.length;
        const duplicates = Array.from({ length: sent }, (_, n) => n % 4 === 1).filter(Boolean).length;
        const corrupted = Array.from({ length: sent }, (_, n) => n % 5 === 2).filter(Boolean).length;
        const ctx = JSON.stringify({ c, sent, duplicates, corrupted, rtp });
        // every forged tag and every injected plain packet fails authentication
        assert.ok(c.authFailures >= corrupted + 50, ctx);
        // duplicates (those whose first copy was intact) and the replay burst are replays
        assert.ok(c.replays >= 30 && c.replays <= 30 + duplicates + 2, ctx);
        // what reached oRTP is exactly what authenticated, once each
        assert.equal(rtp.packetsReceived, c.rtpUnprotected, ctx);
        assert.equal(rtp.duplicatesReceived, 0, ctx);
        assert.ok(c.rtpUnprotected >= sent - corrupted - 2 && c.rtpUnprotected <= sent, ctx);
        // and the audio is the tone, with no noise burst in it
        const heard = toneReport(readWav(path.join(dir, 'rec.wav')), 800);
        assert.ok(heard.dominantFraction > 0.9, JSON.stringify(heard));
      } finally {
        relay.close();
        sender.close();
        receiver.close();
        ticker.close();
      }
    },
  );

  it(
    'ICE-lite: wrong password refused (401), unvalidated sources dropped, no sending after consent expires',
    { timeout: 20000 },
    async () => {
      const ticker = new Ticker({ name: 'ice-neg' });
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      const stranger = dgram.createSocket('udp4');
      await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
      const dir = tmpDir('rms-ice-neg-');
      const wav = path.join(dir, 'tone.wav');
      writeWav(wav, tone(8000, 10, [800], 0.4));
      // (STUN and DTLS are read by the leg's receiver: an ICE leg's graph has one)
      const peer = new AudioPeer({
        codec: 'PCMU',
        payloadType: 0,
        sendFile: wav,
        recordFile: path.join(dir, 'rec.wav'),
      });
      const ice = generateIceCredentials();
      const events: IceStateEvent[] = [];
      peer.endpoint.on('iceState', (e) => events.push(e));
      const keyIn = generateSrtpKey('AEAD_AES_128_GCM');
      peer.endpoint.applySecurity({
        rtcpMux: true,
        ice: { localUfrag: ice.ufrag, localPwd: ice.pwd, remoteUfrag: 'them', consentTimeoutMs: 1000 },
        srtp: { send: generateSrtpKey('AEAD_AES_128_GCM'), recv: keyIn },
        remote: { address: '127.0.0.1', port: sock.address().port },
      });
      const got: Buffer[] = [];
      sock.on('message', (m) => got.push(m));
      const to = { port: peer.port, address: '127.0.0.1' };
      const check = (pwd: string, from = sock) =>
        new Promise<Buffer>((resolve, reject) => {
          const req = bindingRequest(`${ice.ufrag}:them`, pwd);
          const t = setTimeout(() => reject(new Error('no STUN response')), 2000);
          const onMsg = (m: Buffer) => {
            if (m.length >= 20 && m.readUInt16BE(0) >= 0x0100 && m.subarray(8, 20).equals(req.subarray(8, 20))) {
              clearTimeout(t);
              from.off('message', onMsg);
              resolve(m);
            }
          };
          from.on('message', onMsg);
          from.send(req, to.port, to.address);
        });
      try {
        peer.start(ticker);
        await sleep(300);
        // nothing is sent before a check validates a pair
        assert.equal(got.filter((m) => m[0] >= 128).length, 0, 'no media before ICE');
        const bad = await check('not-the-password-1234567');
        assert.equal(bad.readUInt16BE(0), 0x0111, 'an error response');
        assert.equal(errorCode(bad), 401);
        // SRTP from a source that passed no check is dropped unread
        const p = Buffer.alloc(200, 0x55);
        p[0] = 0x80;
        for (let i = 0; i < 10; i++) stranger.send(p, to.port, to.address);
        const ok = await check(ice.pwd);
        assert.equal(ok.readUInt16BE(0), 0x0101, 'a success response');
        assert.ok(integrityValid(ok, ice.pwd), 'signed with our password');
        assert.equal(xorMappedPort(ok), sock.address().port);
        await sleep(400);
        const media = got.filter((m) => m[0] >= 128).length;
        assert.ok(media >= 10, `media flows to the validated pair: ${media}`);
        // no more checks: consent expires after 1 s and sending stops
        await sleep(1500);
        const before = got.filter((m) => m[0] >= 128).length;
        await sleep(500);
        const after = got.filter((m) => m[0] >= 128).length;
        const st = peer.endpoint.secureStats()!.components[0].ice!;
        assert.equal(after, before, 'nothing sent without consent');
        assert.equal(st.state, 'disconnected');
        assert.ok(st.consentLost >= 1 && st.sendsRefused > 10, JSON.stringify(st));
        assert.ok(st.badAuth === 1 && st.unvalidated >= 10, JSON.stringify(st));
        assert.ok(events.some((e) => e.state === 'connected') && events.some((e) => e.state === 'disconnected'));
        // a new valid check brings consent back
        await check(ice.pwd);
        await sleep(300);
        assert.ok(got.filter((m) => m[0] >= 128).length > after, 'sending resumed');
      } finally {
        peer.close();
        sock.close();
        stranger.close();
        ticker.close();
      }
    },
  );
});

// --- a STUN Binding request as a browser writes it (RFC 8489, RFC 8445) ---

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc(pad)]);
}

function bindingRequest(username: string, pwd: string): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(header, 8);
  const prio = Buffer.alloc(4);
  prio.writeUInt32BE(0x6e7f1eff);
  let body = Buffer.concat([
    attr(0x0006, Buffer.from(username)),
    attr(0x0024, prio),
    attr(0x802a, randomBytes(8)),
    attr(0x0025, Buffer.alloc(0)),
  ]);
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', pwd)
    .update(Buffer.concat([header, body]))
    .digest();
  body = Buffer.concat([body, attr(0x0008, mac)]);
  header.writeUInt16BE(body.length + 8, 2);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(Buffer.concat([header, body])) ^ 0x5354554e) >>> 0);
  return Buffer.concat([header, body, attr(0x8028, fp)]);
}

function attrs(m: Buffer): Map<number, { off: number; value: Buffer }> {
  const out = new Map<number, { off: number; value: Buffer }>();
  for (let off = 20; off + 4 <= m.length;) {
    const type = m.readUInt16BE(off);
    const len = m.readUInt16BE(off + 2);
    out.set(type, { off, value: m.subarray(off + 4, off + 4 + len) });
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}

function errorCode(m: Buffer): number {
  const v = attrs(m).get(0x0009)?.value;
  return v ? v[2] * 100 + v[3] : 0;
}

function xorMappedPort(m: Buffer): number {
  const v = attrs(m).get(0x0020)?.value;
  return v ? v.readUInt16BE(2) ^ 0x2112 : 0;
}

function integrityValid(m: Buffer, pwd: string): boolean {
  const mi = attrs(m).get(0x0008);
  if (!mi) return false;
  const pre = Buffer.from(m.subarray(0, mi.off));
  pre.writeUInt16BE(mi.off + 24 - 20, 2);
  return createHmac('sha1', pwd).update(pre).digest().equals(mi.value);
}
