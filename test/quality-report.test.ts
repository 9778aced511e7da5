import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgumentError, RmsError, UnknownNameError } from '../lib/errors';
import {
  EMODEL_CODEC_TABLE,
  VqReportError,
  buildVqPublish,
  burstRatioFromMarkov,
  delayImpairment,
  eModel,
  formatVqReport,
  fromRfc3611Quality,
  mosFromR,
  mosLqCq,
  parseVqReport,
  percentFromFraction,
  percentFromRfc3611Rate,
  qualityEstimate,
  rFactor,
  type VqMetrics,
  type VqReport,
} from '../lib/quality';
import { checkAbnf } from './helpers/vqAbnf';

// ---------------------------------------------------------------------------
// RFC 6035 section 4.7 example bodies, as test data in test/fixtures/ (see
// test/fixtures/rfc6035.md for where they come from). Kept as the RFC prints
// them: LF line ends, long lines folded onto indented continuation lines, no
// "0x" on the LocalAddr SSRC, a STOP that is earlier than START, the groups
// before the addresses.
// ---------------------------------------------------------------------------

const fixture = (name: string) => readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', name), 'utf8');
/** 4.7.3, F13: the end of session report. */
const RFC_SESSION_EXAMPLE = fixture('rfc6035-session-report.txt');
/** 4.7.4: the alert report, one metrics block under a bare "Metrics:". */
const RFC_ALERT_EXAMPLE = fixture('rfc6035-alert-report.txt');
/** Not an RFC example: the session example with the interval report's first line. */
const RFC_INTERVAL_EXAMPLE = RFC_SESSION_EXAMPLE.replace('VQSessionReport: CallTerm', 'VQIntervalReport');

const assertAbnf = (body: string) => assert.deepEqual(checkAbnf(body), [], body);

// ---------------------------------------------------------------------------
// Random reports (values representable exactly in the body)
// ---------------------------------------------------------------------------

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const maybe = (p = 0.6) => next() < p;
  return { next, int, pick, maybe };
}
type Rng = ReturnType<typeof prng>;

/** Sets `prop` only sometimes: an unknown metric is absent, never undefined-valued. */
function some<T extends object>(r: Rng, entries: [string, () => unknown][]): T | undefined {
  const o: Record<string, unknown> = {};
  for (const [k, f] of entries) if (r.maybe()) o[k] = f();
  return Object.keys(o).length ? (o as T) : undefined;
}

function randomMetrics(r: Rng, withExtensions: boolean): VqMetrics {
  const start = new Date(
    Date.UTC(r.int(1990, 2090), r.int(0, 11), r.int(1, 28), r.int(0, 23), r.int(0, 59), r.int(0, 59)),
  );
  if (r.maybe(0.2)) start.setUTCMilliseconds(r.int(1, 999));
  const m: VqMetrics = { start, stop: new Date(start.getTime() + r.int(0, 10_000_000)) };
  const pct = () => r.int(0, 10000) / 100;
  const ext = () =>
    withExtensions && r.maybe(0.3) ? { 'X-Foo': r.pick(['1', 'bar', 'a b=c', 'P.564']), Zed: 'z' } : undefined;
  const add = <K extends keyof VqMetrics>(k: K, v: VqMetrics[K] | undefined, e = ext()) => {
    if (v === undefined && !e) return;
    m[k] = { ...(v ?? {}), ...(e ? { extensions: e } : {}) } as VqMetrics[K];
  };
  add(
    'sessionDesc',
    some(r, [
      ['payloadType', () => r.int(0, 127)],
      ['payloadDesc', () => r.pick(['G729', 'PCMU', 'opus', 'G.711 A-law', 'CODEC2/3200'])],
      ['sampleRate', () => r.pick([8000, 16000, 48000])],
      ['frameDuration', () => r.pick([10, 20, 40])],
      ['frameOctets', () => r.int(0, 99999)],
      ['framesPerPacket', () => r.int(0, 99)],
      ['packetsPerSecond', () => r.int(0, 99999)],
      ['fmtp', () => r.pick(['annexb=no', 'minptime=10 useinbandfec=1', 'mode=3200'])],
      ['plc', () => r.int(0, 3)],
      ['silenceSuppression', () => r.maybe(0.5)],
    ]),
  );
  add(
    'jitterBuffer',
    some(r, [
      ['adaptive', () => r.int(0, 3)],
      ['rate', () => r.int(0, 15)],
      ['nominalMs', () => r.int(0, 65535)],
      ['maxMs', () => r.int(0, 65535)],
      ['absMaxMs', () => r.int(0, 65535)],
    ]),
  );
  add(
    'packetLoss',
    some(r, [
      ['networkLossPercent', pct],
      ['discardPercent', pct],
    ]),
  );
  add(
    'burstGapLoss',
    some(r, [
      ['burstLossDensityPercent', pct],
      ['burstDurationMs', () => r.int(0, 3600000)],
      ['gapLossDensityPercent', pct],
      ['gapDurationMs', () => r.int(0, 3600000)],
      ['gmin', () => r.int(1, 255)],
    ]),
  );
  add(
    'delay',
    some(
      r,
      ['roundTripMs', 'endSystemMs', 'oneWayMs', 'symmOneWayMs', 'interarrivalJitterMs', 'meanAbsJitterMs'].map(
        (k) => [k, () => r.int(0, 65535)] as [string, () => unknown],
      ),
    ),
  );
  add(
    'signal',
    some(r, [
      ['signalLevel', () => r.int(-99, 99)],
      ['noiseLevel', () => r.int(-99, 99)],
      ['rerl', () => r.int(0, 127)],
    ]),
  );
  const alg = () => r.pick(['P.564', 'G.107', 'vendor-x', 'ALG_2']);
  add(
    'qualityEst',
    some(r, [
      ['rlq', () => r.int(0, 120)],
      ['rlqEstAlg', alg],
      ['rcq', () => r.int(0, 120)],
      ['rcqEstAlg', alg],
      ['extri', () => r.int(0, 120)],
      ['extriEstAlg', alg],
      ['extro', () => r.int(0, 120)],
      ['extroEstAlg', alg],
      ['moslq', () => r.int(10, 50) / 10],
      ['moslqEstAlg', alg],
      ['moscq', () => r.int(10, 50) / 10],
      ['moscqEstAlg', alg],
      ['qoeEstAlg', alg],
    ]),
  );
  return m;
}

function randomReport(r: Rng, withExtensions = true): VqReport {
  const addr = () => ({
    ip: r.pick(['192.0.2.10', '198.51.100.7', '2001:db8::1', '::1', '10.0.0.255']),
    port: r.int(0, 65535),
    ssrc: r.int(0, 0xffffffff),
  });
  const base = {
    callId: r.pick(['6dg37f1890463', 'a84b4c76e66710@pc33.example.com', 'x']),
    localId: r.pick(['Alice <sip:alice@example.org>', 'sip:alice@example.org', '"A. Lice" <sips:a@example.org>']),
    remoteId: r.pick(['Bill <sip:bill@example.net>', 'tel:+15551234567', '<sip:bob@192.0.2.4:5060;transport=tcp>']),
    origId: 'Alice <sip:alice@example.org>',
    localAddr: addr(),
    remoteAddr: addr(),
    localMetrics: randomMetrics(r, withExtensions),
  } as Omit<VqReport, 'kind'> & Record<string, unknown>;
  if (r.maybe()) base.localGroup = r.pick(['example-phone-55671', 'rms gateway {eu}', 'grp=1']);
  if (r.maybe()) base.remoteGroup = 'example-gateway-09871';
  if (r.maybe()) base.localMac = '00:1f:5b:cc:21:0f';
  if (r.maybe()) base.remoteMac = '00:26:08:8E:95:02';
  if (r.maybe()) base.remoteMetrics = randomMetrics(r, withExtensions);
  if (r.maybe()) {
    const d: Record<string, unknown> = { callId: '1890463548@alice.example.org' };
    if (r.maybe()) d.toTag = '8472761';
    if (r.maybe()) d.fromTag = '9123dh311';
    if (r.maybe(0.2)) d.params = { 'x-flag': '', 'x-host': '[2001:db8::1]' };
    base.dialogId = d as never;
  }
  const kind = r.pick(['VQSessionReport', 'VQIntervalReport', 'VQAlertReport'] as const);
  if (kind === 'VQSessionReport') return { kind, callTerm: r.maybe(0.5), ...base } as VqReport;
  if (kind === 'VQIntervalReport') return { kind, ...base } as VqReport;
  return {
    kind,
    alert: {
      type: r.pick(['MOSLQ', 'NLR', 'RTD', 'MOSQ']),
      severity: r.pick(['Warning', 'Critical', 'Clear'] as const),
      direction: r.pick(['local', 'remote'] as const),
    },
    ...base,
  } as VqReport;
}

const isVqError = (e: unknown) => e instanceof VqReportError && (e as VqReportError).code === 'ERR_RMS_VQ_REPORT';

// ---------------------------------------------------------------------------
// Tests: the report body
// ---------------------------------------------------------------------------

describe('vq-rtcpxr body: RFC 6035 examples', () => {
  it('parses the session report example with the values the RFC gives', () => {
    const r = parseVqReport(RFC_SESSION_EXAMPLE);
    assert.equal(r.kind, 'VQSessionReport');
    assert.equal(r.kind === 'VQSessionReport' && r.callTerm, true);
    assert.equal(r.callId, '6dg37f1890463');
    assert.equal(r.localId, 'Alice <sip:alice@example.org>');
    assert.equal(r.remoteId, 'Bill <sip:bill@example.net>');
    assert.equal(r.origId, 'Alice <sip:alice@example.org>');
    assert.equal(r.localGroup, 'example-phone-55671');
    assert.equal(r.remoteGroup, 'example-gateway-09871');
    assert.deepEqual(r.localAddr, { ip: '10.10.1.100', port: 5000, ssrc: 0x1a3b5c7d });
    assert.deepEqual(r.remoteAddr, { ip: '11.1.1.150', port: 5002, ssrc: 0x2468abcd });
    assert.equal(r.localMac, '00:1f:5b:cc:21:0f');
    assert.equal(r.remoteMac, '00:26:08:8e:95:02');
    const l = r.localMetrics;
    assert.deepEqual(l.start, new Date('2004-10-10T18:23:43Z'));
    assert.deepEqual(l.stop, new Date('2004-10-01T18:26:02Z'), 'the RFC prints a STOP before START; it still parses');
    assert.deepEqual(l.sessionDesc, {
      payloadType: 18,
      payloadDesc: 'G729',
      sampleRate: 8000,
      frameDuration: 20,
      frameOctets: 20,
      framesPerPacket: 2,
      packetsPerSecond: 50,
      fmtp: 'annexb=no',
      plc: 3,
      silenceSuppression: true,
    });
    assert.deepEqual(l.jitterBuffer, { adaptive: 3, rate: 2, nominalMs: 40, maxMs: 80, absMaxMs: 120 });
    assert.deepEqual(l.packetLoss, { networkLossPercent: 5, discardPercent: 2 });
    assert.deepEqual(l.burstGapLoss, {
      burstLossDensityPercent: 0,
      burstDurationMs: 0,
      gapLossDensityPercent: 2,
      gapDurationMs: 500,
      gmin: 16,
    });
    assert.deepEqual(l.delay, {
      roundTripMs: 200,
      endSystemMs: 140,
      symmOneWayMs: 200,
      interarrivalJitterMs: 2,
      meanAbsJitterMs: 10,
    });
    assert.deepEqual(l.signal, { signalLevel: -21, noiseLevel: -50, rerl: 55 });
    assert.deepEqual(l.qualityEst, { rlq: 90, rcq: 85, extri: 90, moslq: 4.2, moscq: 4.3, qoeEstAlg: 'P.564' });
    const rm = r.remoteMetrics!;
    assert.equal(rm.signal!.noiseLevel, -45);
    assert.deepEqual(rm.qualityEst, { rlq: 90, rcq: 85, moslq: 4.3, moscq: 4.2, qoeEstAlg: 'P.564' });
    assert.deepEqual(r.dialogId, { callId: '1890463548@alice.example.org', toTag: '8472761', fromTag: '9123dh311' });
    assert.equal(r.extraLines, undefined);
  });

  it('parses the alert example, whose local block is a bare "Metrics:"', () => {
    const r = parseVqReport(RFC_ALERT_EXAMPLE);
    assert.equal(r.kind, 'VQAlertReport');
    assert.deepEqual(r.kind === 'VQAlertReport' && r.alert, {
      type: 'MOSLQ',
      severity: 'Critical',
      direction: 'local',
    });
    assert.equal(r.localMetrics.qualityEst!.moslq, 4.2);
    assert.equal(r.remoteMetrics, undefined);
  });

  it('parses the interval form (no CallTerm, no HCOLON)', () => {
    const r = parseVqReport(RFC_INTERVAL_EXAMPLE);
    assert.equal(r.kind, 'VQIntervalReport');
    assert.equal('callTerm' in r, false);
  });

  it('re-serializes each example into a body that passes the ABNF check and parses back equal', () => {
    for (const text of [RFC_SESSION_EXAMPLE, RFC_ALERT_EXAMPLE, RFC_INTERVAL_EXAMPLE]) {
      const first = parseVqReport(text);
      const body = formatVqReport(first);
      assertAbnf(body);
      assert.deepEqual(parseVqReport(body), first);
    }
  });

  it('writes every line of each RFC example back with the same parameters, in the same order within a line', () => {
    // The RFC's text and ours differ only where the ABNF leaves a choice or
    // the example departs from it: folding (unfolded here), "Name: value" vs
    // "Name:value", "BLD=0" vs "BLD=0.0", the "0x" the ABNF wants on the SSRC,
    // and the order of the session lines (compared by name).
    const unfold = (text: string) =>
      text
        .replace(/\r?\n[ \t]+/g, ' ')
        .split(/\r?\n/)
        .filter(Boolean)
        .map((l) => {
          const colon = l.indexOf(':');
          return { name: l.slice(0, colon).trim(), value: l.slice(colon + 1).trim() };
        });
    const params = (v: string) =>
      v.split(/\s+/).map((p) => {
        const [k, x] = p.split('=');
        return `${k}=${x !== undefined && /^-?[0-9.]+$/.test(x) ? Number(x) : x}`;
      });
    const session = new Set(['CallID', 'LocalID', 'RemoteID', 'OrigID', 'LocalGroup', 'RemoteGroup', 'LocalMAC']);
    session.add('RemoteMAC').add('LocalAddr').add('RemoteAddr');
    for (const text of [RFC_SESSION_EXAMPLE, RFC_ALERT_EXAMPLE]) {
      const rfc = unfold(text);
      const ours = unfold(formatVqReport(parseVqReport(text)));
      assert.equal(ours.length, rfc.length, 'as many lines');
      const byName = (ls: typeof rfc) => new Map(ls.filter((l) => session.has(l.name)).map((l) => [l.name, l.value]));
      const want = byName(rfc);
      want.set('LocalAddr', want.get('LocalAddr')!.replace('SSRC=1a3b5c7d', 'SSRC=0x1a3b5c7d'));
      assert.deepEqual(byName(ours), want);
      const rest = (ls: typeof rfc) => ls.filter((l) => !session.has(l.name));
      const a = rest(ours);
      const b = rest(rfc);
      // the alert example heads its block "Metrics:"; we write "LocalMetrics:"
      if (b[1].name === 'Metrics') b[1] = { name: 'LocalMetrics', value: '' };
      assert.deepEqual(
        a.map((l) => l.name),
        b.map((l) => l.name),
      );
      for (let i = 0; i < a.length; i++) {
        if (a[i].name === 'DialogID') assert.equal(a[i].value, b[i].value.replace(/\s+/g, ''));
        else if (i > 0) assert.deepEqual(params(a[i].value), params(b[i].value), a[i].name);
        else assert.equal(a[i].value, b[i].value, 'report type line');
      }
    }
  });

  it('writes the SSRC the ABNF way ("0x" + hex) and the RFC line order', () => {
    const body = formatVqReport(parseVqReport(RFC_SESSION_EXAMPLE));
    assert.match(body, /^LocalAddr: IP=10\.10\.1\.100 PORT=5000 SSRC=0x1a3b5c7d\r$/m);
    const names = body
      .split('\r\n')
      .filter(Boolean)
      .map((l) => l.split(':')[0]);
    assert.deepEqual(names, [
      'VQSessionReport',
      'CallID',
      'LocalID',
      'RemoteID',
      'OrigID',
      'LocalGroup',
      'RemoteGroup',
      'LocalAddr',
      'LocalMAC',
      'RemoteAddr',
      'RemoteMAC',
      'LocalMetrics',
      'Timestamps',
      'SessionDesc',
      'JitterBuffer',
      'PacketLoss',
      'BurstGapLoss',
      'Delay',
      'Signal',
      'QualityEst',
      'RemoteMetrics',
      'Timestamps',
      'SessionDesc',
      'JitterBuffer',
      'PacketLoss',
      'BurstGapLoss',
      'Delay',
      'Signal',
      'QualityEst',
      'DialogID',
    ]);
    assert.match(
      body,
      /^SessionDesc:PT=18 PD=G729 SR=8000 FD=20 FO=20 FPP=2 PPS=50 FMTP="annexb=no" PLC=3 SSUP=on\r$/m,
    );
    assert.match(body, /^PacketLoss:NLR=5\.0 JDR=2\.0\r$/m);
  });
});

describe('vq-rtcpxr body: round trips and the ABNF', () => {
  it('round-trips a minimal report and omits every unknown metric', () => {
    const report: VqReport = {
      kind: 'VQSessionReport',
      callTerm: false,
      callId: 'abc@host',
      localId: 'sip:rms@example.org',
      remoteId: 'sip:peer@example.org',
      origId: 'sip:peer@example.org',
      localAddr: { ip: '192.0.2.1', port: 4000, ssrc: 1 },
      remoteAddr: { ip: '2001:db8::2', port: 5000, ssrc: 0xffffffff },
      localMetrics: { start: new Date('2024-01-02T03:04:05Z'), stop: new Date('2024-01-02T03:05:05.250Z') },
    };
    const body = formatVqReport(report);
    assert.equal(
      body,
      [
        'VQSessionReport',
        'CallID: abc@host',
        'LocalID: sip:rms@example.org',
        'RemoteID: sip:peer@example.org',
        'OrigID: sip:peer@example.org',
        'LocalAddr: IP=192.0.2.1 PORT=4000 SSRC=0x00000001',
        'RemoteAddr: IP=2001:db8::2 PORT=5000 SSRC=0xffffffff',
        'LocalMetrics:',
        'Timestamps:START=2024-01-02T03:04:05Z STOP=2024-01-02T03:05:05.250Z',
        '',
      ].join('\r\n'),
    );
    assert.doesNotMatch(body, /=0(\s|$)/, 'no made-up zeros');
    assertAbnf(body);
    assert.deepEqual(parseVqReport(body), report);
  });

  it('round-trips 500 random reports, and every body passes the ABNF check', () => {
    const r = prng(6035);
    for (let n = 0; n < 500; n++) {
      const report = randomReport(r);
      const body = formatVqReport(report);
      assertAbnf(body);
      assert.deepEqual(parseVqReport(body), report, body);
    }
  });

  it('keeps extension parameters and unknown lines through a round trip', () => {
    const text = [
      'VQSessionReport : CallTerm',
      'CallID: 3c26a8de500f-12ct7zov3kjs',
      'x-UserAgent: snom360/8.2.sf',
      'LocalID: <sip:446@example.org>',
      'RemoteID: <sip:447@example.org;user=phone>',
      'OrigID: <sip:446@example.org>',
      'LocalAddr: IP=192.0.2.5 PORT=62754 SSRC=0xCBE3450E',
      'RemoteAddr: IP=192.0.2.233 PORT=54018 SSRC=0xB80B52F3',
      'LocalMetrics:',
      'Timestamps:START=2010-02-17T13:59:42Z STOP=2010-02-17T13:59:46Z',
      'x-SIPterm:SDC=OK',
      'Delay:RTD=0 ESD=0 IAJ=4 X-PDV=7 X-Note="two words"',
    ].join('\r\n');
    const r = parseVqReport(text);
    assert.deepEqual(r.extraLines, ['x-UserAgent: snom360/8.2.sf']);
    assert.deepEqual(r.localMetrics.extraLines, ['x-SIPterm:SDC=OK']);
    assert.deepEqual(r.localMetrics.delay, {
      roundTripMs: 0,
      endSystemMs: 0,
      interarrivalJitterMs: 4,
      extensions: { 'X-PDV': '7', 'X-Note': 'two words' },
    });
    assert.deepEqual(parseVqReport(formatVqReport(r)), r);
  });

  it('is tolerant where the RFC is: LF ends, folding, any session-line order, case of names', () => {
    const text = [
      'vqintervalreport',
      'LocalAddr: IP=[2001:db8::7] PORT=1 SSRC=0xA',
      'callid: x',
      'LocalID: sip:a@b',
      'RemoteID: sip:c@d',
      'OrigID: sip:a@b',
      'RemoteAddr:IP=192.0.2.1 PORT=2 SSRC=b',
      'localmetrics:',
      'TimeStamps:START=2010-02-17T14:59:42+01:00',
      '  STOP=2010-02-17T13:59:46.5Z',
      'SessionDesc:pt=0 pd="PCMU" SSUP=Off FMTP="mode=30" ppS=50',
    ].join('\n');
    const r = parseVqReport(text);
    assert.equal(r.kind, 'VQIntervalReport');
    assert.deepEqual(r.localAddr, { ip: '2001:db8::7', port: 1, ssrc: 10 });
    assert.deepEqual(r.localMetrics.start, new Date('2010-02-17T13:59:42Z'));
    assert.equal(r.localMetrics.stop.getTime(), Date.parse('2010-02-17T13:59:46.500Z'));
    assert.deepEqual(r.localMetrics.sessionDesc, {
      payloadType: 0,
      payloadDesc: 'PCMU',
      silenceSuppression: false,
      fmtp: 'mode=30',
      packetsPerSecond: 50,
    });
  });

  it('accepts alert parameters on the line after VQAlertReport, as some reporters write them', () => {
    const text = RFC_ALERT_EXAMPLE.replace(
      'VQAlertReport: Type=MOSLQ Severity=Critical Dir=local',
      'VQAlertReport\nType=MOSQ Severity=warning Dir=Remote',
    );
    const r = parseVqReport(text);
    assert.deepEqual(r.kind === 'VQAlertReport' && r.alert, { type: 'MOSQ', severity: 'Warning', direction: 'remote' });
  });

  it('rounds decimals to what the ABNF allows and writes "5.0" rather than "5"', () => {
    const r = parseVqReport(RFC_SESSION_EXAMPLE);
    r.localMetrics.packetLoss = { networkLossPercent: 1.23456, discardPercent: 100 };
    r.localMetrics.qualityEst = { moslq: 4.26, moscq: 1 };
    const body = formatVqReport(r);
    assert.match(body, /^PacketLoss:NLR=1\.23 JDR=100\.0\r$/m);
    assert.match(body, /^QualityEst:MOSLQ=4\.3 MOSCQ=1\.0\r$/m);
    assertAbnf(body);
  });
});

describe('vq-rtcpxr body: errors', () => {
  const valid = formatVqReport(parseVqReport(RFC_SESSION_EXAMPLE));

  it('throws VqReportError (an InvalidArgumentError) with what was expected, for bad bodies', () => {
    const cases: [string, RegExp][] = [
      ['', /empty body/],
      ['hello world\r\n', /expected VQSessionReport, VQIntervalReport or VQAlertReport/],
      ['VQSessionReport: Maybe\r\n', /CallTerm/],
      ['VQAlertReport\r\nCallID: x\r\n', /Type=\.\.\. Severity=\.\.\. Dir=/],
      [valid.slice(0, valid.indexOf('LocalMetrics')), /expected a LocalMetrics: block/],
      [valid.replace(/^CallID: .*\r\n/m, ''), /expected a CallID line/],
      [valid.replace('PT=18', 'PT=128'), /PT: expected 1 to 3 digits, 0-127/],
      [valid.replace('NLR=5.0', 'NLR=100.5'), /NLR: expected a percentage 0-100/],
      [valid.replace('NLR=5.0', 'NLR=5.123'), /NLR: expected a percentage/],
      [valid.replace('JBR=2', 'JBR=16'), /JBR: expected 1 to 2 digits, 0-15/],
      [valid.replace('GMIN=16', 'GMIN=0'), /GMIN: expected 1 to 3 digits, 1-255/],
      [valid.replace('RTD=200', 'RTD=65536'), /RTD: expected 1 to 5 digits, 0-65535/],
      [valid.replace('SL=-21', 'SL=-100'), /SL: expected an optional "-" and 1 to 2 digits/],
      [valid.replace('MOSLQ=4.2', 'MOSLQ=5.5'), /MOSLQ: expected a MOS 1\.0-5\.0/],
      [valid.replace('RLQ=90', 'RLQ=121'), /RLQ: expected 1 to 3 digits, 0-120/],
      [valid.replace('PLC=3', 'PLC=4'), /PLC: expected one digit/],
      [valid.replace('SSUP=on', 'SSUP=yes'), /SSUP: expected "on" or "off"/],
      [valid.replace('PT=18', 'PT="18"'), /PT: expected 1 to 3 digits/],
      [valid.replace('SSRC=0x1a3b5c7d', 'SSRC=0x1a3b5c7d9'), /SSRC: expected "0x" and 1 to 8 hex digits/],
      [valid.replace('PORT=5000', 'PORT=70000'), /PORT: expected a port 0-65535/],
      [valid.replace('IP=10.10.1.100', 'IP=10.10.1.300'), /IP: expected an IPv4 or IPv6 address/],
      [valid.replace('START=2004-10-10T18:23:43Z', 'START=2004-02-30T18:23:43Z'), /real calendar date/],
      [valid.replace('START=2004-10-10T18:23:43Z', 'START=yesterday'), /RFC 3339 date-time/],
      [valid.replace('SSUP=on', 'SSUP="on'), /closing double quote/],
      [valid.replace('FMTP="annexb=no"', 'FMTP="annexb=no; x=1"'), /FMTP: expected text in double quotes/],
      [valid.replace('PT=18 ', 'PT=18 PT=19 '), /expected PT once/],
      [valid.replace(/^Delay:.*\r\n/m, (l) => l + l), /one Delay line per block/],
      [valid.replace('LocalMAC: 00:1f:5b:cc:21:0f', 'LocalMAC: 00:1f:5b'), /six hex pairs/],
      [valid.replace('LocalID: Alice <sip:alice@example.org>', 'LocalID: Alice'), /SIP name-addr or addr-spec/],
      [valid.replace(/^Timestamps:.*\r\n/m, ''), /expected a Timestamps line/],
      [valid.replace('to-tag=8472761', 'to-tag=84 72761'), /DialogID/],
    ];
    for (const [text, re] of cases) {
      assert.throws(
        () => parseVqReport(text),
        (e: unknown) =>
          isVqError(e) && e instanceof InvalidArgumentError && e instanceof RmsError && re.test((e as Error).message),
        `${re} for ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
    assert.throws(() => parseVqReport(42 as unknown as string), isVqError);
  });

  it('throws VqReportError on serialize for values out of range, never clamping into a made-up value', () => {
    const base = parseVqReport(RFC_SESSION_EXAMPLE);
    const bad: [string, (r: VqReport) => void, RegExp][] = [
      [
        'NLR > 100',
        (r) => (r.localMetrics.packetLoss = { networkLossPercent: 100.5 }),
        /NLR: expected a percentage 0 to 100/,
      ],
      ['NLR NaN', (r) => (r.localMetrics.packetLoss = { networkLossPercent: NaN }), /NLR/],
      ['JDR < 0', (r) => (r.localMetrics.packetLoss = { discardPercent: -1 }), /JDR/],
      ['RTD fraction', (r) => (r.localMetrics.delay = { roundTripMs: 12.5 }), /RTD: expected an integer 0 to 65535/],
      ['JBN 65536', (r) => (r.localMetrics.jitterBuffer = { nominalMs: 65536 }), /JBN/],
      ['MOS 0', (r) => (r.localMetrics.qualityEst = { moslq: 0 }), /MOSLQ: expected a MOS 1\.0 to 5\.0/],
      ['RCQ 121', (r) => (r.localMetrics.qualityEst = { rcq: 121 }), /RCQ: expected an integer 0 to 120/],
      ['GMIN 0', (r) => (r.localMetrics.burstGapLoss = { gmin: 0 }), /GMIN: expected an integer 1 to 255/],
      ['PT 300', (r) => (r.localMetrics.sessionDesc = { payloadType: 300 }), /PT/],
      ['FMTP quote', (r) => (r.localMetrics.sessionDesc = { fmtp: 'a"b' }), /FMTP/],
      ['alg space', (r) => (r.localMetrics.qualityEst = { qoeEstAlg: 'P 564' }), /QoEEstAlg/],
      ['SSRC', (r) => (r.localAddr = { ...r.localAddr, ssrc: 2 ** 32 }), /LocalAddr SSRC/],
      ['IP', (r) => (r.remoteAddr = { ...r.remoteAddr, ip: 'example.org' }), /RemoteAddr IP/],
      ['date', (r) => (r.localMetrics.start = new Date(NaN)), /LocalMetrics START: expected a valid Date/],
      ['CR in ID', (r) => (r.localId = 'sip:a@b\r\nRemoteID: sip:x@y'), /LocalID/],
      ['extension name', (r) => (r.localMetrics.delay = { extensions: { RTD: '1' } }), /RFC 6035 does not define/],
      ['extra line', (r) => (r.extraLines = ['CallID: again']), /line RFC 6035 defines/],
      [
        'severity',
        (r) => Object.assign(r, { kind: 'VQAlertReport', alert: { type: 'NLR', severity: 'Bad', direction: 'local' } }),
        /Severity/,
      ],
      ['unknown prop', (r) => (r.localMetrics.delay = { rtd: 5 } as never), /unexpected property rtd/],
    ];
    for (const [what, change, re] of bad) {
      const r = structuredClone(base);
      change(r);
      assert.throws(
        () => formatVqReport(r),
        (e: unknown) => isVqError(e) && re.test((e as Error).message),
        what,
      );
    }
  });

  it('fuzz: 2000 mutated bodies each parse or throw VqReportError, nothing else', (t) => {
    const r = prng(3611);
    const seeds = [RFC_SESSION_EXAMPLE, RFC_ALERT_EXAMPLE, valid];
    for (let n = 0; n < 20; n++) seeds.push(formatVqReport(randomReport(r)));
    const alphabet = [
      ':',
      '=',
      '"',
      ' ',
      '\t',
      '\r',
      '\n',
      ';',
      '-',
      '.',
      '0',
      '9',
      'x',
      'Z',
      'T',
      '@',
      '<',
      '>',
      '\u00e9',
      '\u0000',
      '\\',
    ];
    const mutate = (s: string): string => {
      const lines = s.split(/(?<=\n)/);
      switch (r.int(0, 9)) {
        case 0:
          return s.slice(0, r.int(0, s.length));
        case 1: {
          const i = r.int(0, s.length);
          return s.slice(0, i) + r.pick(alphabet) + s.slice(i);
        }
        case 2: {
          const i = r.int(0, s.length - 1);
          return s.slice(0, i) + s.slice(i + 1);
        }
        case 3: {
          const i = r.int(0, s.length - 1);
          return s.slice(0, i) + r.pick(alphabet) + s.slice(i + 1);
        }
        case 4:
          lines.splice(r.int(0, lines.length - 1), 1);
          return lines.join('');
        case 5: {
          const i = r.int(0, lines.length - 1);
          lines.splice(i, 0, lines[r.int(0, lines.length - 1)]);
          return lines.join('');
        }
        case 6: {
          const i = r.int(0, lines.length - 1);
          const j = r.int(0, lines.length - 1);
          [lines[i], lines[j]] = [lines[j], lines[i]];
          return lines.join('');
        }
        case 7:
          return s.replace(/[0-9]+/g, (d) => (r.maybe(0.1) ? String(r.pick([-1, 1e9, 256, 65536, 3600001, 128])) : d));
        case 8:
          return s.replace(/=/g, (e) => (r.maybe(0.05) ? r.pick(['==', ' = ', '="', '']) : e));
        default:
          return Array.from({ length: r.int(1, 200) }, () =>
            r.pick(alphabet.concat(['a', 'VQ', 'Metrics:', 'CallID:'])),
          ).join('');
      }
    };
    let parsed = 0;
    let rejected = 0;
    for (let n = 0; n < 2000; n++) {
      let text = r.pick(seeds);
      for (let k = r.int(1, 3); k > 0; k--) text = mutate(text);
      let report: VqReport;
      try {
        report = parseVqReport(text);
      } catch (e) {
        assert.ok(isVqError(e), `not a VqReportError for ${JSON.stringify(text)}: ${e}`);
        rejected++;
        continue;
      }
      parsed++;
      try {
        parseVqReport(formatVqReport(report));
      } catch (e) {
        assert.ok(isVqError(e), `re-serializing threw ${e}`);
      }
    }
    assert.equal(parsed + rejected, 2000);
    assert.ok(parsed > 50 && rejected > 50, `parsed ${parsed}, rejected ${rejected}`);
    t.diagnostic(`parsed ${parsed}, rejected ${rejected}`);
  });
});

describe('unit conversions', () => {
  it('RFC 3611 rates and a 0-1 fraction become percentages; 127 means unavailable', () => {
    assert.equal(percentFromRfc3611Rate(64), 25);
    assert.equal(percentFromRfc3611Rate(0), 0);
    assert.equal(percentFromFraction(0.05), 5);
    assert.throws(() => percentFromRfc3611Rate(256), InvalidArgumentError);
    assert.throws(() => percentFromFraction(5), InvalidArgumentError);
    assert.equal(fromRfc3611Quality('MOS', 42), 4.2);
    assert.equal(fromRfc3611Quality('MOS', 127), undefined);
    assert.equal(fromRfc3611Quality('R', 127), undefined);
    assert.equal(fromRfc3611Quality('R', 93), 93);
  });
});

// ---------------------------------------------------------------------------
// E-model
// ---------------------------------------------------------------------------

describe('E-model (G.107)', () => {
  const near = (a: number, b: number, tol: number, what: string) =>
    assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

  it('gives R = 93.2 without impairment and MOS(93.2) = 4.41', () => {
    near(rFactor({ codec: 'PCMU', lossPercent: 0 }), 93.2, 1e-9, 'R');
    near(mosFromR(93.2), 4.41, 0.005, 'MOS');
    assert.equal(mosFromR(-5), 1);
    assert.equal(mosFromR(100), 4.5);
    assert.equal(mosFromR(150), 4.5);
    near(mosFromR(50), 2.58, 0.01, 'MOS(50)');
  });

  it('gives G.729 about 82 at no loss', () => {
    near(rFactor({ codec: 'G729', lossPercent: 0 }), 82.2, 1e-9, 'R');
    near(rFactor({ codec: 'g729a', lossPercent: 0 }), 82, 0.5, 'alias');
  });

  it('MOS falls monotonically with loss and with delay', () => {
    for (const codec of ['PCMU', 'PCMA', 'G729', 'G722', 'opus', 'CODEC2']) {
      let prev = Infinity;
      for (let loss = 0; loss <= 40; loss += 0.5) {
        const mos = mosFromR(rFactor({ codec, lossPercent: loss }));
        assert.ok(mos <= prev, `${codec} at ${loss}%`);
        prev = mos;
      }
      assert.ok(mosFromR(rFactor({ codec, lossPercent: 0 })) > mosFromR(rFactor({ codec, lossPercent: 10 })), codec);
      prev = Infinity;
      for (let d = 0; d <= 800; d += 10) {
        const mos = mosFromR(rFactor({ codec, lossPercent: 1, oneWayDelayMs: d }));
        assert.ok(mos <= prev, `${codec} at ${d} ms`);
        prev = mos;
      }
    }
    assert.ok(
      rFactor({ codec: 'PCMU', lossPercent: 0, oneWayDelayMs: 400 }) <
        rFactor({ codec: 'PCMU', lossPercent: 0, oneWayDelayMs: 150 }),
    );
    assert.equal(delayImpairment(100), 0);
    near(delayImpairment(300), 14.8, 0.2, 'Idd(300 ms)');
  });

  it('bursty loss (BurstR > 1) costs more than random loss of the same rate', () => {
    for (const loss of [1, 2, 5, 10]) {
      const random = rFactor({ codec: 'PCMA', lossPercent: loss, burstRatio: 1 });
      const bursty = rFactor({ codec: 'PCMA', lossPercent: loss, burstRatio: 2 });
      assert.ok(bursty < random, `${loss}%: ${bursty} vs ${random}`);
    }
    assert.equal(burstRatioFromMarkov(0.1, 0.9), 1);
    assert.equal(burstRatioFromMarkov(0.05, 0.45), 2);
  });

  it('PLC matters for G.711; the table says where every value comes from', () => {
    assert.ok(rFactor({ codec: 'PCMU', lossPercent: 2, plc: false }) < rFactor({ codec: 'PCMU', lossPercent: 2 }));
    const e = eModel({ codec: 'PCMU', lossPercent: 2, plc: false });
    assert.equal(e.bpl, 4.3);
    near(e.ieEff, (95 * 2) / (2 + 4.3), 1e-9, 'Ie,eff');
    for (const row of EMODEL_CODEC_TABLE) assert.ok(row.source.length > 20, row.codec);
    assert.deepEqual(
      [...new Set(EMODEL_CODEC_TABLE.map((r) => r.codec))],
      ['PCMU', 'PCMA', 'G729', 'G722', 'opus', 'CODEC2'],
    );
    assert.throws(() => rFactor({ codec: 'speex', lossPercent: 0 }), UnknownNameError);
    assert.throws(() => rFactor({ codec: 'PCMU', lossPercent: 101 }), InvalidArgumentError);
    assert.throws(() => rFactor({ codec: 'PCMU', lossPercent: 1, burstRatio: 0 }), InvalidArgumentError);
  });

  it('MOS-LQ leaves delay out, MOS-CQ takes it in (RFC 3611 4.7.5); QualityEst is a valid report line', () => {
    const q = mosLqCq({ codec: 'PCMU', lossPercent: 1, oneWayDelayMs: 350 });
    assert.ok(q.mosLq > q.mosCq);
    assert.equal(q.rLq, rFactor({ codec: 'PCMU', lossPercent: 1 }));
    const noDelay = mosLqCq({ codec: 'PCMU', lossPercent: 1 });
    assert.equal(noDelay.mosLq, noDelay.mosCq);
    const est = qualityEstimate({ codec: 'G729', lossPercent: 3, oneWayDelayMs: 200 });
    assert.equal(est.qoeEstAlg, 'G.107');
    const report = parseVqReport(RFC_SESSION_EXAMPLE);
    report.localMetrics.qualityEst = est;
    const body = formatVqReport(report);
    assertAbnf(body);
    assert.deepEqual(parseVqReport(body).localMetrics.qualityEst, est);
  });
});

// ---------------------------------------------------------------------------
// PUBLISH
// ---------------------------------------------------------------------------

describe('SIP PUBLISH (RFC 6035 / RFC 3903)', () => {
  const options = {
    collectorUri: 'sip:collector@example.org',
    fromUri: 'sip:rms@example.com',
    viaHost: '192.0.2.10',
    viaPort: 5062,
    transport: 'udp' as const,
  };

  it('builds a complete request whose Content-Length is the body in bytes', () => {
    const report = parseVqReport(RFC_SESSION_EXAMPLE);
    report.localMetrics.sessionDesc!.payloadDesc = 'G.729 Annex A';
    const req = buildVqPublish(report, options);
    const [head, body] = req.text.split('\r\n\r\n');
    assert.equal(body, formatVqReport(report));
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'PUBLISH sip:collector@example.org SIP/2.0');
    const header = (name: string) => {
      const l = lines.find((x) => x.toLowerCase().startsWith(name.toLowerCase() + ':'));
      assert.ok(l, `${name} header`);
      return l!.slice(name.length + 1).trim();
    };
    assert.match(header('Via'), /^SIP\/2\.0\/UDP 192\.0\.2\.10:5062;branch=z9hG4bK[0-9a-f]+;rport$/);
    assert.equal(header('Max-Forwards'), '70');
    assert.match(header('From'), /^<sip:rms@example\.com>;tag=[0-9a-f]+$/);
    assert.equal(header('To'), '<sip:collector@example.org>');
    assert.equal(header('Call-ID'), req.callId);
    assert.equal(header('CSeq'), '1 PUBLISH');
    assert.equal(header('Contact'), '<sip:rms@192.0.2.10:5062>');
    assert.equal(header('Event'), 'vq-rtcpxr');
    assert.equal(header('Content-Type'), 'application/vq-rtcpxr');
    assert.equal(Number(header('Content-Length')), Buffer.byteLength(body));
    assert.equal(
      lines.some((l) => l.startsWith('Expires:')),
      false,
    );
  });

  it('counts bytes, not characters, and makes a new Call-ID, tag and branch per PUBLISH', () => {
    const body = formatVqReport(parseVqReport(RFC_SESSION_EXAMPLE)).replace('example-phone-55671', 'téléphone');
    const a = buildVqPublish(body, {
      ...options,
      transport: 'tls',
      viaHost: '2001:db8::5',
      viaPort: undefined,
      expires: 0,
      cseq: 7,
    });
    const b = buildVqPublish(body, options);
    assert.notEqual(a.callId, b.callId);
    assert.notEqual(a.fromTag, b.fromTag);
    assert.notEqual(a.branch, b.branch);
    assert.match(a.text, /\r\nContent-Length: (\d+)\r\n/);
    assert.equal(Number(/Content-Length: (\d+)/.exec(a.text)![1]), Buffer.byteLength(body, 'utf8'));
    assert.notEqual(Buffer.byteLength(body), body.length);
    assert.match(a.text, /\r\nVia: SIP\/2\.0\/TLS \[2001:db8::5\];branch=z9hG4bK/);
    assert.match(a.text, /\r\nContact: <sip:rms@\[2001:db8::5\];transport=tls>\r\n/);
    assert.match(a.text, /\r\nExpires: 0\r\n/);
    assert.match(a.text, /\r\nCSeq: 7 PUBLISH\r\n/);
  });

  it('refuses bad options with InvalidArgumentError', () => {
    const body = 'VQIntervalReport\r\n';
    assert.throws(() => buildVqPublish(body, { ...options, collectorUri: 'http://x' }), InvalidArgumentError);
    assert.throws(() => buildVqPublish(body, { ...options, viaHost: 'bad host' }), InvalidArgumentError);
    assert.throws(() => buildVqPublish(body, { ...options, viaPort: 70000 }), InvalidArgumentError);
    assert.throws(() => buildVqPublish(body, { ...options, transport: 'QUIC' as never }), InvalidArgumentError);
    assert.throws(() => buildVqPublish('', options), InvalidArgumentError);
  });
});
