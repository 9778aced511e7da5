import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  DuplicateOfferError,
  MediaServer,
  NoCommonCodecError,
  PortsExhaustedError,
  SdpError,
  Ticker,
  UnknownCallError,
  formatVqReport,
  parseVqReport,
  type VqIntervalReport,
  type VqSessionReport,
} from '../lib';
import { AudioPeer } from '../lib/tools/AudioPeer';
import { parseSdp } from '../lib/sdp/parse';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { phoneSdp } from './helpers/sdp';
import { toneReport } from './helpers/signal';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

describe('MediaServer: offer, answer, stop', () => {
  const ms = new MediaServer({
    address: '127.0.0.1',
    ports: mediaPorts(1000),
    tickers: 2,
    quality: { sampleMs: 200, intervalMs: 500 },
  });
  const intervals: VqIntervalReport[] = [];
  ms.on('session', (s) => s.on('interval', (r) => intervals.push(r)));
  const phones = new Ticker({ name: 'phones' });
  const dir = tmpDir('rms-session-');
  after(() => {
    ms.close();
    phones.close();
  });

  async function call(codecA: string, codecB: string, ptA: number, ptB: number, extraA: object = {}) {
    const wavA = path.join(dir, `a-${codecA}.wav`);
    const wavB = path.join(dir, `b-${codecB}.wav`);
    const rateOf = (c: string) => (c === 'G722' ? 16000 : c === 'opus' ? 48000 : 8000);
    writeWav(wavA, tone(rateOf(codecA), 1.5, [1000]));
    writeWav(wavB, tone(rateOf(codecB), 1.5, [600]));
    const a = new AudioPeer({
      codec: codecA,
      payloadType: ptA,
      sendFile: wavA,
      sendRate: rateOf(codecA),
      recordFile: path.join(dir, `a-heard-${codecA}${codecB}.wav`),
      recordRate: 8000,
    });
    const b = new AudioPeer({
      codec: codecB,
      payloadType: ptB,
      sendFile: wavB,
      sendRate: rateOf(codecB),
      recordFile: path.join(dir, `b-heard-${codecA}${codecB}.wav`),
      recordRate: codecB === 'opus' ? 16000 : undefined,
    });
    const clock = (c: string) => (c === 'opus' ? 48000 : 8000);
    const sdpA = phoneSdp({
      port: a.port,
      codecs: [{ pt: ptA, name: codecA, rate: clock(codecA), channels: codecA === 'opus' ? 2 : undefined }],
      telephoneEvent: 101,
      ...extraA,
    });
    const callId = `call-${codecA}-${codecB}-${Math.random()}`;
    const session = ms.offer(callId, sdpA, { fromTag: 'a-tag' });
    const offerToB = parseSdp(session.offerSdp);
    // B picks its own codec from our offer
    const bFormat = offerToB.audio!.formats.find((f) => f.name.toLowerCase() === codecB.toLowerCase());
    assert.ok(bFormat, `we offered ${codecB} to B: ${session.offerSdp}`);
    const sdpB = phoneSdp({
      port: b.port,
      codecs: [{ pt: bFormat.pt, name: codecB, rate: clock(codecB), channels: codecB === 'opus' ? 2 : undefined }],
      telephoneEvent: 100,
    });
    const answerForA = ms.answer(callId, sdpB, { toTag: 'b-tag' });
    const ansA = parseSdp(answerForA);
    a.endpoint.setRemote({ address: '127.0.0.1', port: ansA.audio!.port, rtcpPort: ansA.audio!.rtcpPort });
    b.endpoint.setRemote({ address: '127.0.0.1', port: offerToB.audio!.port, rtcpPort: offerToB.audio!.rtcpPort });
    a.start(phones);
    b.start(phones);
    await sleep(1800);
    a.stop();
    b.stop();
    const info = session.info();
    const summary = ms.stop(callId);
    a.close();
    b.close();
    return {
      session,
      info,
      summary,
      ansA,
      offerToB,
      heardByA: readWav(path.join(dir, `a-heard-${codecA}${codecB}.wav`)),
      heardByB: readWav(path.join(dir, `b-heard-${codecA}${codecB}.wav`)),
    };
  }

  it('same codec on both sides: relayed without decoding, audio both ways', async () => {
    const r = await call('PCMU', 'PCMU', 0, 0);
    assert.equal(r.info.relay, true);
    assert.equal(r.info.legs.a.codec, 'PCMU');
    assert.equal(r.info.legs.b!.codec, 'PCMU');
    assert.ok(toneReport(r.heardByB, 1000).marginDb > 15);
    assert.ok(toneReport(r.heardByA, 600).marginDb > 15);
    assert.equal(r.ansA.audio!.formats[0].name, 'PCMU');
    assert.ok(r.ansA.audio!.formats.some((f) => f.name === 'telephone-event' && f.pt === 101));
  });

  it('callee without the caller codec: transcoded through our offer', async () => {
    const r = await call('PCMA', 'opus', 8, 111);
    assert.equal(r.info.relay, false);
    assert.equal(r.info.legs.a.codec, 'PCMA');
    assert.equal(r.info.legs.b!.codec, 'opus');
    assert.ok(toneReport(r.heardByB, 1000).marginDb > 15, 'A->B');
    assert.ok(toneReport(r.heardByA, 600).marginDb > 15, 'B->A');
    // B was offered A's codec first, then ours for transcoding, then telephone-event
    assert.deepEqual(
      r.offerToB.audio!.formats.map((f) => f.name),
      ['PCMA', 'PCMU', 'G722', 'opus', 'G729', 'CODEC2', 'telephone-event'],
    );
    assert.ok(r.summary.stats!.a.packetsReceived > 50);
    // RFC 6035 session reports per leg, written from our own measurements
    const rep = r.summary.reports!.a;
    const text = formatVqReport(rep);
    assert.match(text, /^VQSessionReport: CallTerm\r\n/);
    const back = parseVqReport(text) as VqSessionReport;
    assert.equal(back.callId, r.info.callId);
    assert.equal(back.localMetrics.sessionDesc!.payloadDesc, 'PCMA');
    assert.equal(back.localMetrics.packetLoss!.networkLossPercent, 0);
    assert.equal(back.localMetrics.burstGapLoss!.gmin, 16);
    assert.ok(back.localMetrics.qualityEst!.moslq! >= 4.0, `MOS-LQ ${back.localMetrics.qualityEst!.moslq}`);
    assert.ok(back.localMetrics.signal!.signalLevel! > -20, 'signal level of the decoded tone');
    assert.equal(r.summary.reports!.b!.localMetrics.sessionDesc!.payloadDesc, 'opus');
    // PCMA has no concealment of its own: mediastreamer2's generic PLC (enhanced, 2);
    // the Opus decoder conceals by itself (standard, 3)
    assert.match(text, /^SessionDesc:.* PLC=2 /m);
    assert.equal(r.summary.reports!.b!.localMetrics.sessionDesc!.plc, 3);
    // interval reports while the call ran, valid RFC 6035 bodies
    const mine = intervals.filter((x) => x.callId === r.info.callId);
    assert.ok(mine.length >= 2, `${mine.length} interval reports`);
    const parsed = parseVqReport(formatVqReport(mine[mine.length - 1]));
    assert.equal(parsed.kind, 'VQIntervalReport');
  });

  it('lists sessions by Call-ID with tags, legs, codecs and ports; stop frees the ports', () => {
    const before = ms.ports.inUse;
    const s = ms.offer('list-1', phoneSdp({ port: 4000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }), {
      fromTag: 'ft',
    });
    ms.answer('list-1', phoneSdp({ port: 5000, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }] }), { toTag: 'tt' });
    const list = ms.sessions();
    const mine = list.find((x) => x.callId === 'list-1')!;
    assert.equal(mine.fromTag, 'ft');
    assert.equal(mine.toTag, 'tt');
    assert.equal(mine.state, 'answered');
    assert.equal(mine.legs.a.codec, 'PCMU');
    assert.equal(mine.legs.b!.codec, 'PCMA');
    assert.equal(mine.legs.a.remote!.port, 4000);
    assert.equal(mine.legs.b!.remote!.port, 5000);
    assert.ok(mine.legs.a.localPort % 2 === 0 && mine.legs.a.localPort >= ms.ports.min);
    assert.ok(mine.legs.a.localPort <= ms.ports.max);
    assert.equal(ms.ports.inUse, before + 2);
    s.stop();
    s.stop(); // idempotent
    assert.equal(ms.ports.inUse, before);
    assert.equal(ms.has('list-1'), false);
    assert.throws(() => ms.stop('list-1'), UnknownCallError);
  });

  it('hold and resume by re-INVITE, without tearing the call down', () => {
    const sdpA = (dir: string, v = 1) =>
      phoneSdp({ port: 4100, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }], direction: dir }).replace(
        'o=phone 123 1',
        `o=phone 123 ${v}`,
      );
    const s = ms.offer('hold-1', sdpA('sendrecv'));
    ms.answer('hold-1', phoneSdp({ port: 5100, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    const portsBefore = s.info().legs;
    const toB = parseSdp(s.reoffer(sdpA('sendonly', 2), 'a'));
    assert.equal(toB.audio!.direction, 'sendonly');
    const toA = parseSdp(
      s.answer(phoneSdp({ port: 5100, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }], direction: 'recvonly' })),
    );
    assert.equal(toA.audio!.direction, 'recvonly');
    // old RFC 2543 form: c=0.0.0.0
    const held = parseSdp(
      s.reoffer(phoneSdp({ port: 4100, address: '0.0.0.0', codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }), 'a'),
    );
    assert.equal(held.audio!.direction, 'sendonly');
    s.answer(phoneSdp({ port: 5100, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }], direction: 'recvonly' }));
    const resumed = parseSdp(s.reoffer(sdpA('sendrecv', 3), 'a'));
    assert.equal(resumed.audio!.direction, 'sendrecv');
    s.answer(phoneSdp({ port: 5100, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    assert.deepEqual(s.info().legs.a.localPort, portsBefore.a.localPort);
    assert.equal(s.state, 'answered');
    s.stop();
  });

  it('a re-INVITE that changes codec and address reconfigures the live call', () => {
    const s = ms.offer(
      'reinvite-codec',
      phoneSdp({
        port: 4200,
        codecs: [
          { pt: 0, name: 'PCMU', rate: 8000 },
          { pt: 8, name: 'PCMA', rate: 8000 },
        ],
      }),
    );
    ms.answer('reinvite-codec', phoneSdp({ port: 5200, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    assert.equal(s.relay, true);
    s.reoffer(phoneSdp({ port: 4300, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }] }), 'a');
    s.answer(phoneSdp({ port: 5200, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    const i = s.info();
    assert.equal(i.legs.a.codec, 'PCMA');
    assert.equal(i.legs.a.remote!.port, 4300);
    assert.equal(s.relay, false);
    s.stop();
  });

  it('refuses bad input with typed errors and keeps other calls', () => {
    const keep = ms.offer('keep', phoneSdp({ port: 4400, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    const inUse = ms.ports.inUse;
    assert.throws(() => ms.offer('bad-1', 'not sdp'), SdpError);
    assert.throws(() => ms.offer('bad-2', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'), /no m= line/);
    assert.throws(
      () => ms.offer('bad-3', phoneSdp({ port: 4500, codecs: [{ pt: 97, name: 'AMR-WB', rate: 16000 }] })),
      NoCommonCodecError,
    );
    assert.throws(
      () =>
        ms.offer(
          'bad-4',
          phoneSdp({ port: 4500, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }).replace(
            'c=IN IP4 127.0.0.1',
            'c=IN IP4 example.com',
          ),
        ),
      /not an IP address/,
    );
    assert.throws(() => ms.answer('nope', 'v=0'), UnknownCallError);
    // a retransmitted INVITE: same offer, same session; a different one: typed error
    const again = ms.offer('keep', phoneSdp({ port: 4400, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
    assert.equal(again, keep);
    assert.throws(
      () => ms.offer('keep', phoneSdp({ port: 4401, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] })),
      DuplicateOfferError,
    );
    assert.equal(ms.ports.inUse, inUse, 'no port leaked by the failures');
    assert.equal(ms.get('keep').state, 'offered');
    keep.stop();
  });

  it('video and other m-lines are answered with port 0, in order', () => {
    const sdp = phoneSdp({
      port: 4600,
      codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }],
      extra: ['m=video 4602 RTP/AVP 96', 'a=rtpmap:96 H264/90000'],
    });
    const s = ms.offer('video-1', sdp);
    const toA = parseSdp(ms.answer('video-1', phoneSdp({ port: 5600, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] })));
    assert.deepEqual(
      toA.media.map((m) => [m.type, m.port === 0]),
      [
        ['audio', false],
        ['video', true],
      ],
    );
    s.stop();
  });

  it('a small port range runs out with PortsExhaustedError and recovers after stop', () => {
    const small = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(4), tickers: 1 });
    try {
      const s = small.offer('p1', phoneSdp({ port: 4700, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }));
      assert.throws(
        () => small.offer('p2', phoneSdp({ port: 4702, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] })),
        PortsExhaustedError,
      );
      s.stop();
      small.offer('p3', phoneSdp({ port: 4704, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] })).stop();
    } finally {
      small.close();
    }
  });
});

describe('DTMF between legs', () => {
  it('RFC 4733 digits cross the bridge once each, with each leg its own payload type', async () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 });
    const phones = new Ticker({ name: 'dtmf-phones' });
    const dir = tmpDir('rms-dtmf-');
    const wav = path.join(dir, 'tone.wav');
    writeWav(wav, tone(8000, 3, [440]));
    const a = new AudioPeer({ codec: 'PCMU', telephoneEvent: 101, sendFile: wav });
    const b = new AudioPeer({ codec: 'PCMA', telephoneEvent: 100, sendFile: wav, recordFile: path.join(dir, 'b.wav') });
    const heard: string[] = [];
    const ended: { digit?: string; durationMs: number; endLost: boolean }[] = [];
    b.endpoint.on('telephoneEvent', (e) => heard.push(e.digit ?? `#${e.event}`));
    b.endpoint.on('telephoneEventEnd', (e) =>
      ended.push({ digit: e.digit, durationMs: e.durationMs, endLost: e.endLost }),
    );
    try {
      const s = ms.offer(
        'dtmf-1',
        phoneSdp({ port: a.port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }], telephoneEvent: 101 }),
      );
      const answer = parseSdp(
        ms.answer(
          'dtmf-1',
          phoneSdp({ port: b.port, codecs: [{ pt: 8, name: 'PCMA', rate: 8000 }], telephoneEvent: 100 }),
        ),
      );
      const seenByGateway: string[] = [];
      s.on('dtmf', (leg, d) => seenByGateway.push(`${leg.name}:${d.digit}`));
      a.endpoint.setRemote({ address: '127.0.0.1', port: answer.audio!.port });
      b.endpoint.setRemote({ address: '127.0.0.1', port: parseSdp(s.offerSdp).audio!.port });
      a.start(phones);
      b.start(phones);
      await sleep(300);
      for (const d of ['1', '5', '#']) {
        a.sendDtmf(d);
        await sleep(400);
      }
      await sleep(300);
      assert.deepEqual({ heard, seenByGateway }, { heard: ['1', '5', '#'], seenByGateway: ['a:1', 'a:5', 'a:#'] });
      assert.deepEqual(seenByGateway, ['a:1', 'a:5', 'a:#']);
      // one end per digit although MSRtpSend sends the end packet three times;
      // ms2's default digit is 100 ms long
      assert.deepEqual(
        ended.map((e) => [e.digit, e.endLost]),
        [
          ['1', false],
          ['5', false],
          ['#', false],
        ],
      );
      for (const e of ended) assert.ok(e.durationMs >= 60 && e.durationMs <= 200, `duration ${e.durationMs} ms`);
    } finally {
      a.close();
      b.close();
      ms.close();
      phones.close();
    }
  });
});

describe('MediaServer options', () => {
  it('opus: encoder settings for every leg that sends Opus', async () => {
    // CBR at 8 kbit/s is 20 bytes per 20 ms packet, whatever the audio (the default, 16 kbit/s VBR, gives 35-40 here)
    const ms = new MediaServer({
      address: '127.0.0.1',
      ports: mediaPorts(100),
      tickers: 1,
      opus: { bitrate: 8000, vbr: false },
    });
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => a.bind(0, '127.0.0.1', r));
      await new Promise<void>((r) => b.bind(0, '127.0.0.1', r));
      const s = ms.offer(
        'opus-opts',
        phoneSdp({ port: a.address().port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
      );
      const pt = parseSdp(s.offerSdp).audio!.formats.find((f) => f.name === 'opus')!.pt;
      ms.answer(
        'opus-opts',
        phoneSdp({ port: b.address().port, codecs: [{ pt, name: 'opus', rate: 48000, channels: 2 }] }),
      );
      const sizes: number[] = [];
      b.on('message', (m) => {
        if ((m[1] & 0x7f) === pt) sizes.push(m.length - 12);
      });
      const aPort = s.info().legs.a.localPort;
      const pcmu = Buffer.alloc(172);
      pcmu[0] = 0x80;
      for (let i = 0; i < 60; i++) {
        pcmu.writeUInt16BE(i, 2);
        pcmu.writeUInt32BE(i * 160, 4);
        pcmu.writeUInt32BE(0x1234, 8);
        for (let k = 12; k < 172; k++) pcmu[k] = (k * 37 + i * 11) & 0xff; // noise-like µ-law
        a.send(pcmu, aPort, '127.0.0.1');
        await sleep(20);
      }
      await sleep(200);
      assert.ok(sizes.length > 30, `${sizes.length} Opus packets`);
      const mean = sizes.reduce((x, y) => x + y, 0) / sizes.length;
      assert.ok(Math.abs(mean - 20) <= 2, `mean Opus payload ${mean} bytes`);
    } finally {
      a.close();
      b.close();
      ms.close();
    }
  });
});
