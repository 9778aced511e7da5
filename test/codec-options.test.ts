import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatCodec2Fmtp,
  formatOpusFmtp,
  formatTelephoneEventFmtp,
  parseCodec2Fmtp,
  parseG729Fmtp,
  parseOpusFmtp,
  parseTelephoneEventFmtp,
} from '../lib/codecs/fmtp';
import { Factory, Gateway, InvalidArgumentError, Ticker } from '../lib';
import { UnknownNameError } from '../lib/errors';
import { runCall } from './helpers/call';
import { streamSummary } from './helpers/relay';
import { toneReport } from './helpers/signal';

const leg = (codec: string, extra: object = {}) => ({ local: { address: '127.0.0.1' }, codec, ...extra });

describe('codec options are validated with typed errors', () => {
  it('unknown codec names the supported ones', () => {
    assert.throws(
      () => new Gateway({ a: leg('AMR'), b: leg('PCMU') }),
      (e: unknown) => {
        assert.ok(e instanceof UnknownNameError);
        assert.match((e as Error).message, /Unknown codec AMR.*supported: PCMU, PCMA, G722, G729, opus, CODEC2/);
        return true;
      },
    );
  });

  it('unsupported Codec2 mode names the supported modes', () => {
    assert.throws(
      () => new Gateway({ a: leg('CODEC2', { fmtp: 'mode=999' }), b: leg('PCMU') }),
      /mode=999 is not supported; supported modes: 3200, 2400, 1600, 1400, 1300, 1200, 700/,
    );
  });

  it('bad fmtp values and ptimes say what is allowed', () => {
    assert.throws(
      () => new Gateway({ a: leg('opus', { fmtp: 'useinbandfec=2' }), b: leg('PCMU') }),
      /useinbandfec=2: expected 0 or 1/,
    );
    assert.throws(
      () => new Gateway({ a: leg('G729', { fmtp: 'annexb=maybe' }), b: leg('PCMU') }),
      /annexb=maybe: expected yes or no/,
    );
    assert.throws(
      () => new Gateway({ a: leg('PCMU', { ptime: 25 }), b: leg('PCMA') }),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        /ptime 25 is not allowed for PCMU.*allowed: 10, 20, 30, 40, 50, 60/.test((e as Error).message),
    );
    assert.throws(
      () => new Gateway({ a: leg('CODEC2', { fmtp: 'mode=1200', ptime: 20 }), b: leg('PCMU') }),
      /ptime 20 is not allowed for CODEC2 \(mode=1200\).*allowed: 40, 80, 120/,
    );
    assert.throws(
      () => new Gateway({ a: leg('PCMU', { opus: { complexity: 3 } }), b: leg('opus') }),
      /opus settings given for leg a, whose codec is PCMU/,
    );
  });

  it('a failed gateway leaves no socket behind', () => {
    for (let i = 0; i < 20; i++)
      assert.throws(
        () => new Gateway({ a: leg('PCMU', { local: { address: '127.0.0.1', port: 40000 } }), b: leg('nope') }),
        UnknownNameError,
      );
    // the fixed port of leg a is free again
    const gw = new Gateway({
      a: leg('PCMU', { local: { address: '127.0.0.1', port: 40000 } }),
      b: leg('PCMA'),
      start: false,
    });
    assert.equal(gw.a.localPort, 40000);
    gw.close();
  });
});

describe('fmtp parsing and generation', () => {
  it('Opus (RFC 7587) round-trips', () => {
    const o = parseOpusFmtp('minptime=10; useinbandfec=1;maxaveragebitrate=24000;stereo=0;sprop-stereo=0;usedtx=0');
    assert.deepEqual(
      { ...o },
      {
        ...o,
        minptime: 10,
        useinbandfec: true,
        maxaveragebitrate: 24000,
        stereo: false,
        spropStereo: false,
        usedtx: false,
      },
    );
    assert.deepEqual(parseOpusFmtp(formatOpusFmtp(o)), o);
    assert.throws(() => parseOpusFmtp('maxplaybackrate=100'), /expected 8000..48000/);
  });

  it('Codec2, G.729 annexb and telephone-event', () => {
    assert.equal(parseCodec2Fmtp(undefined).mode, 2400); // no fmtp: 2400, as peers assume
    assert.equal(parseCodec2Fmtp('mode=700C').mode, 700);
    assert.equal(formatCodec2Fmtp({ mode: 1200 }), 'mode=1200');
    assert.equal(parseG729Fmtp(undefined).annexb, true); // RFC 4856: absent means yes
    assert.equal(parseG729Fmtp('annexb=no').annexb, false);
    assert.deepEqual(parseTelephoneEventFmtp('0-15,66,70-71').slice(-4), [15, 66, 70, 71]);
    assert.equal(formatTelephoneEventFmtp(parseTelephoneEventFmtp('0-11,12,13,14,15,66')), '0-15,66');
    assert.equal(parseTelephoneEventFmtp(undefined).length, 16);
    assert.throws(() => parseTelephoneEventFmtp('0-300'), /0..255/);
  });
});

describe('packetization and encoder settings on the wire', () => {
  it('ptime 30 (PCMU) <-> 60 (opus), honoured in both directions', async () => {
    const r = await runCall({ codec: 'PCMU', ptime: 30, toneHz: 1000 }, { codec: 'opus', ptime: 60, toneHz: 600 }, 2);
    const a = streamSummary(r.relayA.fromGateway);
    const b = streamSummary(r.relayB.fromGateway);
    assert.equal(a.mainStep, 240);
    assert.equal(a.mainSize, 240);
    assert.equal(b.mainStep, 2880);
    assert.ok(toneReport(r.receivedByB, 1000).marginDb > 15);
    assert.ok(toneReport(r.receivedByA, 600).marginDb > 15);
  });

  it('ptime 40 (G722) <-> 10 (G729)', async () => {
    const r = await runCall({ codec: 'G722', ptime: 40, toneHz: 1000 }, { codec: 'G729', ptime: 10, toneHz: 600 }, 2);
    const a = streamSummary(r.relayA.fromGateway);
    const b = streamSummary(r.relayB.fromGateway);
    assert.equal(a.mainStep, 320); // 40 ms at G722's 8000 Hz RTP clock
    assert.equal(a.mainSize, 320);
    assert.equal(b.mainStep, 80);
    assert.equal(b.mainSize, 10);
    assert.ok(toneReport(r.receivedByB, 1000).marginDb > 15);
    assert.ok(toneReport(r.receivedByA, 600).marginDb > 15);
  });

  it('Opus bit rate and complexity are applied per leg', async () => {
    const low = await runCall(
      { codec: 'PCMU', toneHz: 1000 },
      { codec: 'opus', toneHz: 600, leg: { opus: { bitrate: 12000, complexity: 0, vbr: false } } },
      1.5,
    );
    const high = await runCall(
      { codec: 'PCMU', toneHz: 1000 },
      { codec: 'opus', toneHz: 600, leg: { opus: { bitrate: 48000, complexity: 10, vbr: false } } },
      1.5,
    );
    const mean = (r: typeof low) =>
      r.relayB.fromGateway.reduce((s, p) => s + p.payloadBytes, 0) / r.relayB.fromGateway.length;
    // CBR: bytes per 20 ms packet = bitrate / 8 / 50
    assert.ok(Math.abs(mean(low) - 30) <= 4, `12 kbit/s: mean payload ${mean(low)}`);
    assert.ok(Math.abs(mean(high) - 120) <= 8, `48 kbit/s: mean payload ${mean(high)}`);
    assert.ok(toneReport(low.receivedByB, 1000).marginDb > 15);
  });

  it('Opus DTX sends (almost) nothing for silence', async () => {
    // a 0 Hz "tone" is silence
    const r = await runCall(
      { codec: 'PCMU', toneHz: 0 },
      { codec: 'opus', toneHz: 600, leg: { opus: { dtx: true } } },
      2,
    );
    const noDtx = await runCall({ codec: 'PCMU', toneHz: 0 }, { codec: 'opus', toneHz: 600 }, 2);
    assert.ok(noDtx.relayB.fromGateway.length > 80, `without DTX ${noDtx.relayB.fromGateway.length} packets`);
    assert.ok(
      r.relayB.fromGateway.length < noDtx.relayB.fromGateway.length / 4,
      `with DTX ${r.relayB.fromGateway.length} packets`,
    );
  });
});

describe('live changes to a running encoder', () => {
  it('an fmtp ptime change on a running Opus encoder is ignored, not a heap overflow', async () => {
    const f = new Factory();
    const t = new Ticker({ name: 'opus-live' });
    try {
      const src = f.createFilter('MSVoidSource');
      const enc = f.opusEncoder();
      enc.setSampleRate(8000);
      src.link(enc).link(f.createFilter('MSVoidSink'));
      t.attach(src);
      for (let i = 0; i < 20; i++) {
        enc.addFmtp('ptime=60');
        enc.setBitrate(12000 + i * 1000); // settings that may change live are taken under the filter lock
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(enc.getPtime(), 20);
      assert.ok(t.stats().ticks > 5);
    } finally {
      t.close();
      f.close();
    }
  });
});
