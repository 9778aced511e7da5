/**
 * One registry for every call: bridged, IVR and outbound sessions are listed,
 * found and stopped alike; a second offer on any Call-ID is a typed error;
 * early media and forks are legs of the session, with their own reports and
 * their ports back in the pool when the branch loses.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DuplicateOfferError, InvalidStateError, MediaServer, UnknownCallError, type MediaLeg } from '../lib';
import { parseSdp } from '../lib/sdp/parse';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';

const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];

describe('one session registry', () => {
  const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(200), tickers: 1, quality: { sampleMs: 200 } });
  after(() => ms.close());

  it('sessions() lists bridged, IVR and outbound calls alike; stop() ends each', () => {
    ms.offer('reg-bridged', phoneSdp({ port: 4000, codecs: PCMU }));
    ms.answer('reg-bridged', phoneSdp({ port: 5000, codecs: PCMU }), { toTag: 'b' });
    const ivr = ms.ivr('reg-ivr', phoneSdp({ port: 4100, codecs: PCMU }));
    const out = ms.outbound('reg-out');
    const kinds = Object.fromEntries(ms.sessions().map((s) => [s.callId, s.kind]));
    assert.deepEqual(kinds, { 'reg-bridged': 'bridged', 'reg-ivr': 'ivr', 'reg-out': 'outbound' });
    assert.equal(ms.get('reg-ivr'), ivr.session);
    assert.equal(ivr.session.a, ivr.leg);
    assert.equal(ms.get('reg-out'), out);
    assert.match(out.offerSdp, /^m=audio \d+ RTP\/AVP /m);
    for (const id of ['reg-bridged', 'reg-ivr', 'reg-out']) {
      const summary = ms.stop(id);
      assert.equal(summary.state, 'stopped');
      assert.equal(ms.has(id), false);
      assert.throws(() => ms.get(id), UnknownCallError);
    }
    assert.equal(ms.ports.inUse, 0);
  });

  it('a second offer on an IVR or outbound Call-ID is a DuplicateOfferError; the call goes on', () => {
    ms.ivr('dup-ivr', phoneSdp({ port: 4200, codecs: PCMU }));
    ms.outbound('dup-out');
    assert.throws(() => ms.offer('dup-ivr', phoneSdp({ port: 4202, codecs: PCMU })), DuplicateOfferError);
    assert.throws(() => ms.ivr('dup-ivr', phoneSdp({ port: 4202, codecs: PCMU })), DuplicateOfferError);
    assert.throws(() => ms.offer('dup-out', phoneSdp({ port: 4204, codecs: PCMU })), DuplicateOfferError);
    assert.equal(ms.get('dup-ivr').state, 'answered');
    ms.stop('dup-ivr');
    ms.stop('dup-out');
  });

  it('closing an IVR leg ends its session and frees its ports', () => {
    const { leg } = ms.ivr('close-ivr', phoneSdp({ port: 4300, codecs: PCMU }));
    leg.close();
    assert.equal(ms.has('close-ivr'), false);
    assert.equal(ms.ports.inUse, 0);
  });

  it('early media then the final answer from the same to-tag: one leg, the same answer to the caller', () => {
    const s = ms.offer('em-1', phoneSdp({ port: 4400, codecs: PCMU }));
    const early = s.answer(phoneSdp({ port: 5400, codecs: PCMU }), { toTag: 't1', provisional: true });
    assert.equal(s.state, 'early');
    assert.equal(s.relay, true, 'media flows (relayed) during early media');
    const final = s.answer(phoneSdp({ port: 5400, codecs: PCMU }), { toTag: 't1' });
    assert.equal(s.state, 'answered');
    assert.equal(final, early, 'the same SDP (o= version unchanged): nothing changed');
    assert.deepEqual(
      s.legs.map((l) => l.name),
      ['a', 'b'],
    );
    ms.stop('em-1');
  });

  it('forks: answers from two to-tags are two legs; media follows the latest; the final answer frees the loser', () => {
    const ends: { leg: MediaLeg; callId?: string }[] = [];
    const s = ms.offer('fork-1', phoneSdp({ port: 4500, codecs: PCMU }));
    s.on('legEnd', (leg, report) => ends.push({ leg, callId: report?.callId }));
    const toCaller1 = parseSdp(s.answer(phoneSdp({ port: 5500, codecs: PCMU }), { toTag: 'x', provisional: true }));
    const toCaller2 = parseSdp(s.answer(phoneSdp({ port: 5600, codecs: PCMA }), { toTag: 'y', provisional: true }));
    assert.equal(toCaller1.audio!.port, toCaller2.audio!.port, 'one port pair towards the caller');
    assert.deepEqual(
      s.legs.map((l) => [l.name, s.tagOf(l)]),
      [
        ['a', undefined],
        ['b', 'x'],
        ['b2', 'y'],
      ],
    );
    assert.equal(s.b!.name, 'b2', 'media follows the latest answer');
    assert.equal(s.relay, false, 'PCMU caller, PCMA branch: transcoded');
    assert.equal(s.info().branches.length, 1);
    s.answer(phoneSdp({ port: 5600, codecs: PCMA }), { toTag: 'y' });
    assert.deepEqual(
      ends.map((e) => [e.leg.name, e.callId]),
      [['b', 'fork-1']],
    );
    assert.equal(ends[0].leg.closed, true);
    assert.deepEqual(
      s.legs.map((l) => l.name),
      ['a', 'b2'],
    );
    ms.stop('fork-1');
  });

  it('per-branch offers get their own port pair; the loser gives it back', () => {
    const s = ms.offer('branch-1', phoneSdp({ port: 4600, codecs: PCMU }), { branch: 'v1' });
    const offer2 = parseSdp(
      ms.offer('branch-1', phoneSdp({ port: 4600, codecs: PCMU }), { branch: 'v2' }).offerBranch('v2'),
    );
    const offer1 = parseSdp(s.offerBranch('v1'));
    assert.notEqual(offer1.audio!.port, offer2.audio!.port);
    const used = ms.ports.inUse;
    s.answer(phoneSdp({ port: 5700, codecs: PCMU }), { toTag: 't1', branch: 'v1', provisional: true });
    s.answer(phoneSdp({ port: 5800, codecs: PCMU }), { toTag: 't2', branch: 'v2' });
    assert.ok(ms.ports.inUse < used, `the losing branch's ports are back (${ms.ports.inUse} < ${used})`);
    assert.throws(() => s.offerBranch('v3'), InvalidStateError);
    ms.stop('branch-1');
    assert.equal(ms.ports.inUse, 0);
  });
});
