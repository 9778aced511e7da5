/**
 * The published types (dist/lib/index.d.ts, what `types` in package.json
 * points at): small programs that use the API as an application would must
 * compile, and misuse (wrong option types, unknown option names, wrong
 * argument types, a leg 'c') must fail with the expected type error on the
 * expected line. Every snippet is checked in one in-memory TypeScript program
 * with the package's own compiler options, so nothing is written to disk.
 *
 * Each snippet is a module of its own that imports from '../lib' (it sits in
 * dist/test beside this file). A line that must fail ends with
 * `// error: CODE[,CODE]`; every such line needs one of those errors, and no
 * other line may have any.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ts from 'typescript';

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package root above ${start}`);
  }
}

const root = findRoot(__dirname);
const distTest = path.join(root, 'dist', 'test');
const typesEntry = path.join(root, 'dist', 'lib', 'index.d.ts');

// Error codes, named
const NOT_ASSIGNABLE = [2322, 2820]; // Type 'X' is not assignable to type 'Y' (2820: "did you mean")
const BAD_ARGUMENT = [2345]; // Argument of type 'X' is not assignable to parameter of type 'Y'
const UNKNOWN_PROPERTY = [2353, 2561]; // Object literal may only specify known properties (2561: "did you mean")
const NO_SUCH_MEMBER = [2339, 2551]; // Property 'x' does not exist on type 'Y' (2551: "did you mean")
const MISSING_PROPERTY = [2741]; // Property 'x' is missing in type
const ARG_COUNT = [2554]; // Expected N arguments, but got M

const PRELUDE = `const sdp = 'v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\ns=-\\r\\nc=IN IP4 127.0.0.1\\r\\nt=0 0\\r\\nm=audio 4000 RTP/AVP 0\\r\\n';\n`;

/** Usages that must compile. */
const good: Record<string, string> = {
  'media-server': `
import { MediaServer, MediaSession, UnknownCallError, type MediaServerOptions, type SessionSummary, type SessionInfo, type IvrAnswer, type MediaLeg } from '../lib';
${PRELUDE}
const opts: MediaServerOptions = {
  address: '127.0.0.1',
  advertisedAddress: '203.0.113.5',
  ports: [30000, 30099],
  tickers: 1,
  codecs: ['PCMU', 'opus', 'G722'],
  transcode: true,
  prefer: 'cost',
  quality: { sampleMs: 500, intervalMs: 5000, thresholds: { mosWarning: 3.5 } },
  rtcp: true,
  latch: 'once',
};
const ms = new MediaServer(opts);
const session: MediaSession = ms.offer('call-1', sdp, { fromTag: 'a' });
const toCallee: string = session.offerSdp;
const toCaller: string = ms.answer('call-1', sdp, { toTag: 'b' });
const list: SessionInfo[] = ms.sessions();
const summary: SessionSummary = ms.stop('call-1');
const durationMs: number = summary.durationMs;
const answered: IvrAnswer = ms.ivr('call-2', sdp, { mediaRoots: ['/srv/prompts'], codecs: ['PCMA'] });
const leg: MediaLeg = answered.leg;
const answerSdp: string = answered.answerSdp;
const ivrSession: MediaSession = answered.session;
const again: MediaLeg | undefined = ms.get('call-2').leg('a');
const calls: string[] = ms.sessions().map((i) => i.callId);
ms.on('session', (s) => void s.callId);
ms.on('error', (err) => void err);
ms.on('listenererror', (event, err) => void [event, err]);
ms.close();
void MediaServer.create({ address: '::1' });
void [toCallee, toCaller, list, durationMs, leg, answerSdp, ivrSession, again, calls, UnknownCallError];
`,
  'early media, forks, outbound': `
import { MediaServer, type MediaSession, type MediaLeg, type LegInfo } from '../lib';
${PRELUDE}
async function run(ms: MediaServer): Promise<void> {
  const s: MediaSession = ms.offer('call-1', sdp, { fromTag: 'a', dialog: { remote: '"Alice" <sip:alice@example.com>' } });
  const early: string = s.answer(sdp, { toTag: 'b1', provisional: true });
  const forked: string = s.answer(sdp, { toTag: 'b2', provisional: true });
  const final: string = s.answer(sdp, { toTag: 'b2' });
  const branches: LegInfo[] = s.info().branches;
  const callee: MediaLeg | undefined = s.b;
  s.on('legEnd', (leg, report) => void [leg.name, report?.callId]);
  s.on('dtmf', (leg, d) => void [leg.name, d.digit]);
  await s.a.play('hello.wav');
  await callee?.record('b.wav', { bothDirections: true });
  s.a.mute();
  s.bridge?.blockDtmf(s.a);
  const out: MediaSession = ms.outbound('call-2');
  const offer: string = out.offerSdp;
  out.answer(sdp, { toTag: 'x' });
  const reInvite: string = out.reoffer(sdp, 'a');
  s.close();
  void [early, forked, final, branches, offer, reInvite];
}
void run;
`,
  'call-leg': `
import { MediaLeg, Ticker, type PlayResult, type RecordResult, type CollectResult, type DtmfDigit } from '../lib';
async function ivr(leg: MediaLeg): Promise<void> {
  const played: PlayResult = await leg.play('welcome.wav');
  const list: PlayResult = await leg.play(['a.wav', 'b.wav'], { loop: true, bargeIn: true, maxDurationMs: 30000 });
  if (played.reason === 'dtmf') void played.digit;
  const rec: RecordResult = await leg.record('msg.wav', {
    maxDurationMs: 60000,
    silenceTimeoutMs: 3000,
    silenceThresholdDbm0: -45,
    stopDigits: '#',
    bothDirections: false,
  });
  const path: string = rec.path;
  const got: CollectResult = await leg.collect({
    min: 4,
    max: 4,
    timeoutMs: 5000,
    interDigitTimeoutMs: 2000,
    terminators: '#',
    prompt: ['enter-pin.wav'],
  });
  const digits: string = got.digits;
  await leg.sendDtmf('123#', { mode: 'rfc4733', durationMs: 100, gapMs: 80 });
  leg.on('dtmf', (d: DtmfDigit) => void d.digit);
  leg.stopPlay();
  leg.close();
  void [list, path, digits];
}
const leg = new MediaLeg({
  codec: 'PCMU',
  local: { address: '127.0.0.1' },
  remote: { address: '127.0.0.1', port: 4000 },
  mediaRoots: ['/srv/prompts'],
  inbandDtmf: 'auto',
  digitBuffer: 16,
  ticker: new Ticker({ name: 'ivr', priority: 'high' }),
});
void ivr(leg);
`,
  gateway: `
import { Gateway, type GatewayOptions, type LegLossMetrics, type PlcKind } from '../lib';
const opts: GatewayOptions = {
  a: { codec: 'PCMU', local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: 4000 }, telephoneEvent: 101 },
  b: { codec: 'opus', ptime: 20, opus: { complexity: 5, fec: true, dtx: false }, local: { address: '127.0.0.1', port: 0 } },
  start: false,
  relay: 'never',
  plc: true,
  inbandDtmf: { a: true },
};
const gw = new Gateway(opts);
gw.start();
const loss: LegLossMetrics = gw.lossMetrics('a');
const plc: PlcKind = gw.plc('b');
const rate: number = loss.lossRate;
gw.setSending('b', false);
gw.reconfigure({ a: { codec: 'PCMA' } });
gw.on('dtmf', (leg, digit, info) => void [leg, digit, info.source]);
const pps: number = gw.stats().a.packetsReceived;
gw.close();
void [plc, rate, pps];
`,
  flow: `
import { runFlow, validateFlow, type MediaLeg, type Flow, type FlowResult } from '../lib';
const flow: Flow = validateFlow({ start: 'hello', nodes: { hello: { type: 'hangup' } } });
async function run(leg: MediaLeg): Promise<string[]> {
  const r: FlowResult = await runFlow(leg, flow, {
    vars: { callId: 'x' },
    maxSteps: 50,
    onNode: (id, node) => void [id, node.type],
    transfer: async (target) => void target,
    hangup: () => undefined,
  });
  return r.path;
}
void run;
`,
  'vq-report': `
import { formatVqReport, parseVqReport, type VqReport, type VqSessionReport } from '../lib';
const start = new Date(0);
const report: VqSessionReport = {
  kind: 'VQSessionReport',
  callTerm: true,
  callId: 'abc@host',
  localId: '<sip:a@example.com>',
  remoteId: '<sip:b@example.com>',
  origId: '<sip:a@example.com>',
  localAddr: { ip: '192.0.2.1', port: 5004, ssrc: 0x1234 },
  remoteAddr: { ip: '192.0.2.2', port: 5006, ssrc: 0x5678 },
  localMetrics: { start, stop: new Date(1000) },
};
const body: string = formatVqReport(report);
const back: VqReport = parseVqReport(body);
if (back.kind === 'VQAlertReport') void back.alert;
`,
  ng: `
import * as ng from '../lib/control/ng';
import * as bencode from '../lib/control/bencode';
import { ControlProtocolError } from '../lib/errors';
const msg = Buffer.from('5323_1 d7:command4:pinge');
const req: ng.NgRequest = ng.parseRequest(msg, { maxMessageBytes: 65536 });
if (req.command === 'offer') {
  const sdp: string = req.sdp;
  const flags: string[] = req.options.flags;
  void [sdp, flags];
}
const reply: Buffer = ng.formatReply(req.cookie, ng.pongReply());
const frame: ng.NgFrame = ng.splitMessage(msg);
const value: bencode.BValue = bencode.decode(frame.body);
const cache = new ng.NgReplyCache({ maxEntries: 100 });
void cache.reply('c1', () => reply);
try {
  ng.parseRequest(Buffer.from('garbage'));
} catch (err) {
  if (err instanceof ControlProtocolError) void [err.code, err.reason];
}
void value;
`,
  errors: `
import { RmsError, MediaFileError, InvalidArgumentError } from '../lib';
import { FlowError } from '../lib/errors';
function explain(err: unknown): string {
  if (err instanceof MediaFileError) return err.reason + err.path;
  if (err instanceof FlowError) return err.pointer;
  if (err instanceof RmsError) return err.code;
  return String(err);
}
void explain(new InvalidArgumentError('x'));
`,
};

/** Misuse that must not compile; the marked line carries the expected error. */
const bad: Record<string, { code: string; errors: number[] }> = {
  'MediaServer address as a number': {
    code: `import { MediaServer } from '../lib';
new MediaServer({ address: 127 }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'MediaServer unknown option name': {
    code: `import { MediaServer } from '../lib';
new MediaServer({ address: '127.0.0.1', portRange: [30000, 30099] }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
  'MediaServer ports as a string': {
    code: `import { MediaServer } from '../lib';
new MediaServer({ address: '127.0.0.1', ports: '30000-30099' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'MediaServer unknown codec': {
    code: `import { MediaServer } from '../lib';
new MediaServer({ address: '127.0.0.1', codecs: ['PCMU', 'speex'] }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'MediaServer latch mode misspelled': {
    code: `import { MediaServer } from '../lib';
new MediaServer({ address: '127.0.0.1', latch: 'strikt' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'MediaServer without options': {
    code: `import { MediaServer } from '../lib';
new MediaServer(); // error`,
    errors: ARG_COUNT,
  },
  'offer with the SDP missing': {
    code: `import { MediaServer } from '../lib';
const ms = new MediaServer({ address: '127.0.0.1' });
ms.offer('call-1'); // error`,
    errors: ARG_COUNT,
  },
  'offer with an unknown option': {
    code: `import { MediaServer } from '../lib';
const ms = new MediaServer({ address: '127.0.0.1' });
ms.offer('call-1', 'v=0', { from: 'a' }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
  'stop result used as a string': {
    code: `import { MediaServer } from '../lib';
const ms = new MediaServer({ address: '127.0.0.1' });
const s: string = ms.stop('call-1'); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'ivr with mediaRoots as a string': {
    code: `import { MediaServer } from '../lib';
const ms = new MediaServer({ address: '127.0.0.1' });
ms.ivr('call-1', 'v=0', { mediaRoots: '/srv/prompts' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'play with a number': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.play(42); // error`,
    errors: BAD_ARGUMENT,
  },
  'play with a misspelled option': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.play('a.wav', { bargein: true }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
  'play with loop as a string': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.play('a.wav', { loop: 'yes' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'play result reason that does not exist': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.play('a.wav').then((r) => r.reason === 'finished'); // error`,
    errors: [2367], // This comparison appears to be unintentional (no overlap)
  },
  'record with maxDurationMs as a string': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.record('m.wav', { maxDurationMs: '60s' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'record with an unknown option': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.record('m.wav', { format: 'wav' }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
  'collect with timeout instead of timeoutMs': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.collect({ max: 4, timeout: 5000 }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
  'collect with terminators as a list': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.collect({ terminators: ['#'] }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'collect result digits used as a number': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.collect().then((r) => { const n: number = r.digits; return n; }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'sendDtmf with an unknown mode': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
void leg.sendDtmf('1', { mode: 'sip-info' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'MediaSession event that does not exist': {
    code: `import type { MediaSession } from '../lib';
declare const s: MediaSession;
s.on('answered', () => undefined); // error`,
    errors: BAD_ARGUMENT,
  },
  'answer with provisional as a string': {
    code: `import type { MediaSession } from '../lib';
declare const s: MediaSession;
s.answer('v=0', { provisional: 'yes' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'an internal of MediaLeg': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
leg.standby(); // error`,
    errors: NO_SUCH_MEMBER,
  },
  'MediaLeg event that does not exist': {
    code: `import type { MediaLeg } from '../lib';
declare const leg: MediaLeg;
leg.on('digit', () => undefined); // error`,
    errors: BAD_ARGUMENT,
  },
  'Gateway lossMetrics of a leg c': {
    code: `import type { Gateway } from '../lib';
declare const gw: Gateway;
gw.lossMetrics('c'); // error`,
    errors: BAD_ARGUMENT,
  },
  'Gateway setSending with a leg c': {
    code: `import type { Gateway } from '../lib';
declare const gw: Gateway;
gw.setSending('c', true); // error`,
    errors: BAD_ARGUMENT,
  },
  'Gateway leg without a codec': {
    code: `import { Gateway } from '../lib';
new Gateway({
  a: { local: { address: '127.0.0.1' } }, // error
  b: { codec: 'PCMU', local: { address: '127.0.0.1' } },
});`,
    errors: MISSING_PROPERTY,
  },
  'Gateway relay mode that does not exist': {
    code: `import { Gateway } from '../lib';
new Gateway({
  a: { codec: 'PCMU', local: { address: '127.0.0.1' } },
  b: { codec: 'PCMU', local: { address: '127.0.0.1' } },
  relay: 'always', // error
});`,
    errors: NOT_ASSIGNABLE,
  },
  'Gateway option misspelled': {
    code: `import { Gateway } from '../lib';
new Gateway({
  a: { codec: 'PCMU', local: { address: '127.0.0.1' } },
  b: { codec: 'PCMU', local: { address: '127.0.0.1' } },
  autoStart: false, // error
});`,
    errors: UNKNOWN_PROPERTY,
  },
  'Gateway opus setting of the wrong type': {
    code: `import { Gateway } from '../lib';
new Gateway({
  a: { codec: 'PCMU', local: { address: '127.0.0.1' } },
  b: { codec: 'opus', local: { address: '127.0.0.1' }, opus: { fec: 'on' } }, // error
});`,
    errors: NOT_ASSIGNABLE,
  },
  'runFlow without a leg': {
    code: `import { runFlow } from '../lib';
void runFlow('main', { start: 'a', nodes: {} }); // error`,
    errors: BAD_ARGUMENT,
  },
  'runFlow maxSteps as a string': {
    code: `import { runFlow, type MediaLeg } from '../lib';
declare const leg: MediaLeg;
void runFlow(leg, {}, { maxSteps: '10' }); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'runFlow result reason that does not exist': {
    code: `import { runFlow, type MediaLeg } from '../lib';
declare const leg: MediaLeg;
void runFlow(leg, {}).then((r) => r.reason === 'timeout'); // error`,
    errors: [2367],
  },
  'formatVqReport with a string': {
    code: `import { formatVqReport } from '../lib';
formatVqReport('VQSessionReport: CallTerm'); // error`,
    errors: BAD_ARGUMENT,
  },
  'VQ report missing localMetrics': {
    code: `import { formatVqReport, type VqIntervalReport } from '../lib';
const r: VqIntervalReport = { // error
  kind: 'VQIntervalReport',
  callId: 'x', localId: 'a', remoteId: 'b', origId: 'a',
  localAddr: { ip: '192.0.2.1', port: 1, ssrc: 1 },
  remoteAddr: { ip: '192.0.2.2', port: 2, ssrc: 2 },
};
formatVqReport(r);`,
    errors: MISSING_PROPERTY,
  },
  'parseVqReport result used as a string': {
    code: `import { parseVqReport } from '../lib';
const s: string = parseVqReport('...'); // error`,
    errors: NOT_ASSIGNABLE,
  },
  'ng.parseRequest with a number': {
    code: `import * as ng from '../lib/control/ng';
ng.parseRequest(5323); // error`,
    errors: BAD_ARGUMENT,
  },
  'ng offer fields read without narrowing': {
    code: `import * as ng from '../lib/control/ng';
const req = ng.parseRequest(Buffer.from('1 d7:command4:pinge'));
void req.sdp; // error`,
    errors: NO_SUCH_MEMBER,
  },
  'ng.parseRequest with an unknown option': {
    code: `import * as ng from '../lib/control/ng';
ng.parseRequest(Buffer.from('x'), { maxBytes: 10 }); // error`,
    errors: UNKNOWN_PROPERTY,
  },
};

interface Checked {
  diagnostics: ts.Diagnostic[];
  file: string;
  text: string;
}

function compileAll(): Map<string, Checked> {
  const configPath = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: false,
    declaration: false,
    sourceMap: false,
    skipLibCheck: true,
  };
  const files = new Map<string, string>();
  const names = new Map<string, string>();
  let n = 0;
  const add = (name: string, text: string) => {
    const file = path.join(distTest, `__api_types_${n++}.ts`);
    files.set(file, text);
    names.set(file, name);
  };
  for (const [name, text] of Object.entries(good)) add(`good: ${name}`, text);
  for (const [name, c] of Object.entries(bad)) add(`bad: ${name}`, c.code);

  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, lang, onError, create) => {
    const text = files.get(path.resolve(fileName));
    if (text !== undefined) return ts.createSourceFile(fileName, text, lang, true);
    return getSourceFile(fileName, lang, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => files.has(path.resolve(f)) || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => files.get(path.resolve(f)) ?? readFile(f);

  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const out = new Map<string, Checked>();
  for (const [file, text] of files) {
    const sf = program.getSourceFile(file)!;
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    out.set(names.get(file)!, { diagnostics, file, text });
  }
  // the declaration files themselves must be sound
  const libDiags = program.getSemanticDiagnostics(program.getSourceFile(typesEntry));
  out.set('types entry', { diagnostics: [...libDiags], file: typesEntry, text: '' });
  return out;
}

function describeDiag(d: ts.Diagnostic): string {
  const where =
    d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
  return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
}

describe('published types (dist/lib/index.d.ts)', () => {
  assert.ok(fs.existsSync(typesEntry), `${typesEntry} is missing: build first (npm run build:ts)`);
  const started = Date.now();
  const results = compileAll();
  const elapsed = Date.now() - started;

  it(`compile in one program (${elapsed} ms) and the declarations are sound`, () => {
    assert.deepEqual(results.get('types entry')!.diagnostics.map(describeDiag), []);
  });

  for (const name of Object.keys(good)) {
    it(`compiles: ${name}`, () => {
      const r = results.get(`good: ${name}`)!;
      assert.deepEqual(r.diagnostics.map(describeDiag), [], `good usage "${name}" does not compile`);
    });
  }

  for (const [name, c] of Object.entries(bad)) {
    it(`refused: ${name}`, () => {
      const r = results.get(`bad: ${name}`)!;
      const lines = c.code.split('\n');
      const marked = new Set(lines.flatMap((l, i) => (/\/\/ error\b/.test(l) ? [i + 1] : [])));
      assert.ok(marked.size > 0, 'the snippet marks no line with // error');
      const got = r.diagnostics.map((d) => ({
        line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0,
        code: d.code,
        text: describeDiag(d),
      }));
      const stray = got.filter((g) => !marked.has(g.line));
      assert.deepEqual(
        stray.map((g) => g.text),
        [],
        'errors on lines that should compile (the snippet itself is wrong)',
      );
      for (const line of marked) {
        const here = got.filter((g) => g.line === line);
        assert.ok(here.length > 0, `line ${line} compiles but must not: ${lines[line - 1].trim()}`);
        assert.ok(
          here.some((g) => c.errors.includes(g.code)),
          `line ${line}: expected TS${c.errors.join('/TS')}, got ${here.map((g) => g.text).join('; ')}`,
        );
      }
    });
  }
});
