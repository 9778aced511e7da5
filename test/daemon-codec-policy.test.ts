/**
 * The per-call codec policy the daemon passes from the ng protocol's `codec`
 * options (strip, mask, transcode, offer, except) to MediaServer.offer():
 * what the callee is offered, and which codec the caller's leg then uses.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InvalidArgumentError, MediaServer, NoCommonCodecError, type CodecPolicy } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';

const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
const PCMA = { pt: 8, name: 'PCMA', rate: 8000 };
const G722 = { pt: 9, name: 'G722', rate: 8000 };

describe('codec policy of a call (MediaServer.offer codecs)', () => {
  // transcode: false is the daemon's default: the callee gets the caller's
  // codecs plus only what the proxy asks for
  const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(200), tickers: 1, transcode: false });
  const wide = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(200), tickers: 1 });
  after(() => {
    ms.close();
    wide.close();
  });
  let n = 0;
  const offered = (server: MediaServer, codecs: (typeof PCMU)[], policy?: CodecPolicy) => {
    const id = `policy-${++n}`;
    const s = server.offer(id, phoneSdp({ port: 4000 + 2 * n, codecs, telephoneEvent: 101 }), { codecs: policy });
    const names = parseSdp(s.offerSdp).audio!.formats.map((f) => f.name);
    return { id, names, session: s };
  };

  it('no policy: the caller codecs only (transcoding off server-wide)', () => {
    assert.deepEqual(offered(ms, [PCMU, PCMA]).names, ['PCMU', 'PCMA', 'telephone-event']);
  });

  it('transcode adds codecs after the caller ones, in the order given, with free payload types', () => {
    const { names, session } = offered(ms, [PCMU], { transcode: ['opus/48000/2', 'PCMA', 'G722'] });
    assert.deepEqual(names, ['PCMU', 'opus', 'PCMA', 'G722', 'telephone-event']);
    const opus = parseSdp(session.offerSdp).audio!.formats.find((f) => f.name === 'opus')!;
    assert.ok(opus.pt >= 96 && opus.pt !== 101);
  });

  it('strip and mask remove codecs from the callee offer (names without regard to case, or payload types)', () => {
    assert.deepEqual(offered(ms, [PCMU, PCMA, G722], { strip: ['pcmu'] }).names, ['PCMA', 'G722', 'telephone-event']);
    assert.deepEqual(offered(ms, [PCMU, PCMA, G722], { mask: ['8'] }).names, ['PCMU', 'G722', 'telephone-event']);
    assert.deepEqual(offered(ms, [PCMU, PCMA, G722], { strip: ['all'], except: ['G722'] }).names, ['G722']);
  });

  it('a stripped or masked codec is not added back by the server-wide transcoding list', () => {
    assert.deepEqual(offered(wide, [PCMU], { strip: ['PCMU'], mask: ['G729'] }).names, [
      'PCMA',
      'G722',
      'opus',
      'CODEC2',
      'telephone-event',
    ]);
  });

  // what rtpengine 10.5 answers to the same offers (PCMU, PCMA, telephone-event)
  it('strip/mask all take telephone-event too, unless spared; by name as well', () => {
    const te = [PCMU, PCMA];
    assert.deepEqual(offered(ms, te, { mask: ['all'], transcode: ['G722'] }).names, ['G722']);
    assert.deepEqual(offered(ms, te, { strip: ['all'], except: ['PCMA'] }).names, ['PCMA']);
    assert.deepEqual(offered(ms, te, { mask: ['all'], offer: ['PCMA'] }).names, ['PCMA']);
    assert.deepEqual(offered(ms, te, { mask: ['all'], transcode: ['G722'], except: ['telephone-event'] }).names, [
      'G722',
      'telephone-event',
    ]);
    assert.deepEqual(offered(ms, te, { mask: ['telephone-event'] }).names, ['PCMU', 'PCMA']);
    assert.deepEqual(offered(ms, te, { strip: ['telephone-event'] }).names, ['PCMU', 'PCMA']);
  });

  it('an `all` that would leave nothing is not applied (rtpengine keeps the offer as it came)', () => {
    assert.deepEqual(offered(ms, [PCMU, PCMA], { mask: ['all'] }).names, ['PCMU', 'PCMA', 'telephone-event']);
    assert.deepEqual(offered(ms, [PCMU, PCMA], { strip: ['all'] }).names, ['PCMU', 'PCMA', 'telephone-event']);
  });

  it('telephone-event masked towards the callee: the caller still gets its codec, the call is set up', () => {
    const { id, names, session } = offered(ms, [PCMU], { mask: ['all'], transcode: ['PCMA'] });
    assert.deepEqual(names, ['PCMA']);
    const forA = parseSdp(ms.answer(id, phoneSdp({ port: 5006, codecs: [PCMA] }), { toTag: 't' }));
    assert.equal(forA.audio!.formats[0].name, 'PCMU');
    assert.equal(session.info().legs.b!.codec, 'PCMA');
    ms.stop(id);
  });

  it('offer brings back stripped codecs in its order and moves nothing else (as rtpengine)', () => {
    assert.deepEqual(offered(ms, [PCMU, PCMA], { transcode: ['G722'], offer: ['G722', 'PCMA'] }).names, [
      'PCMU',
      'PCMA',
      'G722',
      'telephone-event',
    ]);
    assert.deepEqual(offered(ms, [PCMU, PCMA], { strip: ['all'], offer: ['PCMA', 'PCMU'] }).names, ['PCMA', 'PCMU']);
  });

  it('mask PCMU + transcode PCMA: the callee gets PCMA only, the caller keeps PCMU (transcoded)', () => {
    const { id, names, session } = offered(ms, [PCMU], { mask: ['PCMU'], transcode: ['PCMA'] });
    assert.deepEqual(names, ['PCMA', 'telephone-event']);
    const forA = parseSdp(ms.answer(id, phoneSdp({ port: 5000, codecs: [PCMA] }), { toTag: 't' }));
    assert.equal(forA.audio!.formats[0].name, 'PCMU');
    assert.equal(session.info().legs.b!.codec, 'PCMA');
    assert.equal(session.relay, false);
    ms.stop(id);
  });

  it('strip keeps a codec from the caller leg when the caller offered another one', () => {
    const { id, session } = offered(ms, [PCMU, PCMA], { strip: ['PCMU'], transcode: ['G722'] });
    ms.answer(id, phoneSdp({ port: 5002, codecs: [G722] }), { toTag: 't' });
    assert.equal(session.info().legs.a.codec, 'PCMA');
    ms.stop(id);
    // the only codec of the caller stripped: still its leg's codec (an answer needs one of its own)
    const only = offered(ms, [PCMU], { strip: ['PCMU'], transcode: ['PCMA'] });
    assert.deepEqual(only.names, ['PCMA', 'telephone-event']);
    ms.answer(only.id, phoneSdp({ port: 5004, codecs: [PCMA] }), { toTag: 't' });
    assert.equal(only.session.info().legs.a.codec, 'PCMU');
    ms.stop(only.id);
  });

  it('nothing left to offer, or a codec we cannot transcode: typed errors, no ports kept', () => {
    const before = ms.ports.inUse;
    assert.throws(
      () => ms.offer('policy-none', phoneSdp({ port: 4900, codecs: [PCMU] }), { codecs: { strip: ['PCMU'] } }),
      NoCommonCodecError,
    );
    assert.throws(
      () => ms.offer('policy-bad', phoneSdp({ port: 4902, codecs: [PCMU] }), { codecs: { transcode: ['AMR'] } }),
      (e: unknown) => e instanceof InvalidArgumentError && /AMR/.test(e.message),
    );
    assert.equal(ms.has('policy-none'), false);
    assert.equal(ms.ports.inUse, before);
  });
});
