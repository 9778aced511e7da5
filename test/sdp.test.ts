import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MediaServer, NoCommonCodecError, RmsError, SdpError } from '../lib';
import { answerDirection } from '../lib/sdp/build';
import { parseSdp } from '../lib/sdp/parse';
import { chosenByAnswer, codecForA, offerForB } from '../lib/session/negotiation';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';

const corpusDir = path.join(__dirname, '..', '..', 'test', 'sdp-corpus');
const corpus = (name: string) => fs.readFileSync(path.join(corpusDir, name), 'utf8');
const PREF = ['PCMU', 'PCMA', 'G722', 'opus', 'G729', 'CODEC2'] as const;

describe('SDP corpus: parsing and what we offer to the callee', () => {
  const cases: [
    string,
    { usable: string[]; te?: number; direction?: string; extra?: (s: ReturnType<typeof parseSdp>) => void },
  ][] = [
    ['linphone.sdp', { usable: ['opus', 'PCMU', 'PCMA', 'G729'], te: 100 }], // speex unsupported; only the 8 kHz telephone-event counts
    ['baresip.sdp', { usable: ['opus', 'G722', 'PCMU', 'PCMA', 'CODEC2'], te: 101 }],
    ['asterisk.sdp', { usable: ['PCMU', 'PCMA', 'G722'], te: 101, extra: (s) => assert.equal(s.audio!.maxptime, 150) }],
    [
      'freeswitch.sdp',
      { usable: ['opus', 'G722', 'PCMU', 'PCMA'], te: 101, extra: (s) => assert.equal(s.audio!.rtcpPort, 24681) },
    ],
    ['polycom.sdp', { usable: ['G722', 'PCMU', 'PCMA', 'G729'], te: 127 }],
    ['yealink.sdp', { usable: ['G729', 'PCMU', 'PCMA', 'G722'], te: 101 }],
    ['sipp-uac.sdp', { usable: ['PCMU'] }],
    [
      'rfc4317-offer.sdp',
      {
        usable: ['PCMU', 'PCMA'],
        extra: (s) =>
          assert.deepEqual(
            s.media.map((m) => m.type),
            ['audio', 'video'],
          ),
      },
    ],
    [
      'rfc2543-hold.sdp',
      { usable: ['PCMU'], direction: 'sendonly', extra: (s) => assert.equal(s.audio!.zeroAddressHold, true) },
    ],
    [
      'ipv6-recvonly.sdp',
      { usable: ['PCMA'], direction: 'recvonly', extra: (s) => assert.equal(s.audio!.ipVersion, 6) },
    ],
  ];
  for (const [file, want] of cases) {
    it(file, () => {
      const s = parseSdp(corpus(file));
      assert.ok(s.audio, 'audio m-line');
      const usable = s.audio!.formats.filter((f) => f.codec?.mime).map((f) => f.codec!.name);
      assert.deepEqual(usable, want.usable);
      assert.equal(s.audio!.direction, want.direction ?? 'sendrecv');
      want.extra?.(s);
      const toB = offerForB(s.audio!, [...PREF], true);
      // the caller's codecs first, with its payload types, then the rest, then telephone-event
      assert.deepEqual(
        toB.slice(0, usable.length).map((f) => f.name.toLowerCase()),
        usable.map((u) => u.toLowerCase()),
      );
      const te = toB.find((f) => f.name === 'telephone-event')!;
      if (want.te !== undefined) assert.equal(te.pt, want.te);
      assert.equal(new Set(toB.map((f) => f.pt)).size, toB.length, 'payload types are unique');
      assert.ok(toB.every((f) => f.pt >= 0 && f.pt <= 127));
    });
  }

  it('RTP/SAVP only (SRTP): no usable audio', () => {
    const s = parseSdp(corpus('srtp-only.sdp'));
    assert.equal(s.audio, undefined);
  });

  it('the callee choosing a codec the caller offered means relay; another means transcoding', () => {
    const a = parseSdp(corpus('asterisk.sdp')).audio!;
    const offered = offerForB(a, [...PREF], true);
    const pcma = chosenByAnswer(
      parseSdp(phoneSdp({ port: 1, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }] })).audio!,
      offered,
    );
    assert.deepEqual(codecForA(a, pcma), { format: a.formats[1], relay: true });
    const opus = chosenByAnswer(
      parseSdp(phoneSdp({ port: 1, codecs: [{ pt: 111, name: 'opus', rate: 48000, channels: 2 }] })).audio!,
      offered,
    );
    const forA = codecForA(a, opus);
    assert.equal(forA.relay, false);
    assert.equal(forA.format.name, 'PCMU'); // the caller's first choice
    // by cost: FreeSWITCH offers opus, G722, PCMU, PCMA; B took G729: G.711 is cheapest for A's leg
    const fs2 = parseSdp(corpus('freeswitch.sdp')).audio!;
    const g729 = chosenByAnswer(
      parseSdp(phoneSdp({ port: 1, codecs: [{ pt: 18, name: 'G729', rate: 8000 }] })).audio!,
      offerForB(fs2, [...PREF], true),
    );
    assert.equal(codecForA(fs2, g729).format.name, 'opus');
    assert.equal(codecForA(fs2, g729, 'cost').format.name, 'PCMU');
    assert.throws(
      () =>
        chosenByAnswer(parseSdp(phoneSdp({ port: 1, codecs: [{ pt: 3, name: 'GSM', rate: 8000 }] })).audio!, offered),
      NoCommonCodecError,
    );
  });

  it('answer directions follow RFC 3264 6.1', () => {
    assert.equal(answerDirection('sendrecv'), 'sendrecv');
    assert.equal(answerDirection('sendonly'), 'recvonly');
    assert.equal(answerDirection('recvonly'), 'sendonly');
    assert.equal(answerDirection('inactive'), 'inactive');
    assert.equal(answerDirection('sendrecv', 'recvonly'), 'recvonly');
    assert.equal(answerDirection('sendonly', 'sendonly'), 'inactive');
  });
});

describe('SDP corpus through the MediaServer', () => {
  const ms = new MediaServer({
    address: '127.0.0.1',
    advertisedAddress: '203.0.113.5',
    address6: '::1',
    ports: mediaPorts(1000),
    tickers: 1,
  });
  after(() => ms.close());

  for (const file of [
    'linphone.sdp',
    'baresip.sdp',
    'asterisk.sdp',
    'freeswitch.sdp',
    'polycom.sdp',
    'yealink.sdp',
    'rfc4317-offer.sdp',
    'ipv6-recvonly.sdp',
  ]) {
    it(`${file}: offer to B, B answers PCMU, answer to A`, () => {
      const offerA = parseSdp(corpus(file));
      const s = ms.offer(`corpus-${file}`, corpus(file));
      const toB = parseSdp(s.offerSdp);
      assert.equal(toB.audio!.address, '203.0.113.5', 'advertised address in c=');
      assert.equal(toB.media.length, 1, 'B gets audio only');
      const pcmuPt = toB.audio!.formats.find((f) => f.name === 'PCMU')!.pt;
      const toA = parseSdp(
        ms.answer(
          `corpus-${file}`,
          phoneSdp({ port: 40000, codecs: [{ pt: pcmuPt, name: 'PCMU', rate: 8000 }], telephoneEvent: 101 }),
        ),
      );
      // every m-line of the offer is answered, in order; only audio has a port
      assert.deepEqual(
        toA.media.map((m) => m.type),
        offerA.media.map((m) => m.type),
      );
      assert.ok(toA.media.filter((m) => m.type !== 'audio').every((m) => m.port === 0));
      // A gets one of its own codecs with its own payload type
      const first = toA.audio!.formats[0];
      const mine = offerA.audio!.formats.find((f) => f.pt === first.pt);
      assert.ok(mine && mine.name.toLowerCase() === first.name.toLowerCase(), `answered ${first.name}/${first.pt}`);
      assert.equal(toA.audio!.direction, answerDirection(offerA.audio!.direction));
      if (offerA.audio!.ipVersion === 6)
        assert.equal(toA.audio!.address, '::1', 'an IPv6 caller gets our IPv6 address');
      const info = s.info();
      // relayed when A has PCMU and, like B, telephone-event (else DTMF is
      // interworked: RFC 4733 from B becomes in-band tones to A, so we decode)
      assert.equal(
        info.relay,
        offerA.audio!.formats.some((f) => f.name === 'PCMU') &&
          offerA.audio!.formats.some((f) => f.name.toLowerCase() === 'telephone-event'),
      );
      s.stop();
    });
  }

  it('malformed, truncated and fuzzed SDP: a typed error or a valid session, never anything else, and no port leaked', () => {
    const seeds = fs.readdirSync(corpusDir).map((f) => corpus(f));
    let s = 12345;
    const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const before = ms.ports.inUse;
    let typed = 0;
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const base = seeds[i % seeds.length];
      let text: string;
      const kind = i % 5;
      if (kind === 0) text = base.slice(0, Math.floor(rand() * base.length));
      else if (kind === 1) {
        const lines = base.split('\r\n');
        const k = Math.floor(rand() * lines.length);
        lines[k] =
          lines[k].slice(0, Math.floor(rand() * lines[k].length)) + String.fromCharCode(Math.floor(rand() * 128));
        text = lines.join('\r\n');
      } else if (kind === 2) text = base.replace(/\d+/g, (d) => (rand() < 0.2 ? String(Math.floor(rand() * 1e6)) : d));
      else if (kind === 3)
        text = Array.from({ length: Math.floor(rand() * 400) }, () =>
          String.fromCharCode(Math.floor(rand() * 256)),
        ).join('');
      else {
        const lines = base.split('\r\n');
        lines.splice(Math.floor(rand() * lines.length), 1);
        text = lines.join('\r\n');
      }
      try {
        ms.offer(`fuzz-${i}`, text).stop();
        ok++;
      } catch (err) {
        assert.ok(err instanceof RmsError, `case ${i}: ${String(err)} for ${JSON.stringify(text.slice(0, 200))}`);
        typed++;
      }
    }
    assert.ok(typed > 500 && ok > 100, `typed ${typed}, ok ${ok}`);
    assert.equal(ms.ports.inUse, before);
  });

  it('an IPv6 caller on a server without an IPv6 address: typed error, nothing bound', () => {
    const v4only = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(10), tickers: 1 });
    try {
      assert.throws(
        () => v4only.offer('v6', corpus('ipv6-recvonly.sdp')),
        (e: unknown) => e instanceof SdpError && /no IPv6 address/.test((e as Error).message),
      );
      assert.equal(v4only.ports.inUse, 0);
    } finally {
      v4only.close();
    }
  });

  it('oversized SDP and non-string input', () => {
    assert.throws(() => ms.offer('big', 'v=0\r\n' + 'a=x\r\n'.repeat(20000)), SdpError);
    assert.throws(() => ms.offer('nul', undefined as unknown as string), SdpError);
  });
});

describe('SDP edge cases: duplicate payload types, the last port', () => {
  const head = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n';
  const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 });
  after(() => ms.close());

  it('a payload type listed twice on the m= line is one format, and the offer goes through', () => {
    const sdp = `${head}m=audio 5000 RTP/AVP 0 8 0\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n`;
    assert.deepEqual(
      parseSdp(sdp).audio!.formats.map((f) => f.pt),
      [0, 8],
    );
    const s = ms.offer('dup-1', sdp);
    assert.ok(parseSdp(s.offerSdp).audio!.formats.length > 0, 'offered on to B');
    ms.stop('dup-1');
  });

  it('one payload type with two different rtpmaps is refused with SdpError', () => {
    const sdp = `${head}m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:96 PCMU/8000\r\n`;
    assert.throws(
      () => parseSdp(sdp),
      (e: unknown) => e instanceof SdpError && /payload type 96 has 2 different a=rtpmap/.test(e.message),
    );
    assert.throws(() => ms.offer('dup-2', sdp), SdpError);
    assert.equal(ms.has('dup-2'), false);
  });

  it('m=audio 65535: refused naming RTCP port 65536; accepted with a=rtcp or a=rtcp-mux', () => {
    const bare = `${head}m=audio 65535 RTP/AVP 0\r\n`;
    assert.throws(
      () => parseSdp(bare),
      (e: unknown) =>
        e instanceof SdpError && /port 65535 leaves no port for RTCP \(it would be 65536\)/.test(e.message),
    );
    assert.throws(() => ms.offer('last-1', bare), SdpError);
    const withRtcp = parseSdp(`${head}m=audio 65535 RTP/AVP 0\r\na=rtcp:65534\r\n`).audio!;
    assert.deepEqual([withRtcp.port, withRtcp.rtcpPort], [65535, 65534]);
    const mux = parseSdp(`${head}m=audio 65535 RTP/AVP 0\r\na=rtcp-mux\r\n`).audio!;
    assert.deepEqual([mux.port, mux.rtcpPort], [65535, 65535]);
    const s = ms.offer('last-2', `${head}m=audio 65535 RTP/AVP 0\r\na=rtcp:65534\r\n`);
    assert.equal(s.state, 'offered');
    ms.stop('last-2');
  });
});
