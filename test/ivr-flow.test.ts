/**
 * Declarative flows: schema validation with JSON-pointer errors, a seeded
 * fuzz of flow documents, and a whole call driven by a JSON flow (prompt ->
 * digits -> record -> goodbye) over real RTP.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, Ticker, loadFlow, runFlow, validateFlow } from '../lib';
import { FLOW_NODE_TYPES, flowJsonSchema } from '../lib/ivr/flow';
import { FlowError } from '../lib/errors';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { toneReport } from './helpers/signal';
import { sleep } from './helpers/wait';

const example = path.join(__dirname, '..', '..', 'examples', 'flows', 'voicemail.json');

function flowError(doc: unknown, pointer: string, message?: RegExp) {
  assert.throws(
    () => validateFlow(doc),
    (e: unknown) => {
      assert.ok(e instanceof FlowError, `FlowError expected, got ${String(e)}`);
      assert.equal(e.pointer, pointer, e.message);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe('flow validation', () => {
  const base = () => JSON.parse(fs.readFileSync(example, 'utf8'));

  it('the example flow validates', () => {
    const f = loadFlow(example);
    assert.equal(f.start, 'menu');
  });

  it('errors point at the bad node', () => {
    let d = base();
    d.nodes.menu.branches['1'] = 'mesage';
    flowError(d, '/nodes/menu/branches/1', /unknown node "mesage"/);
    d = base();
    d.nodes.bye.type = 'speak';
    flowError(d, '/nodes/bye/type', /must be one of/);
    d = base();
    delete d.nodes.message.file;
    flowError(d, '/nodes/message', /needs "file"/);
    d = base();
    d.nodes.message.maxDurationMs = '30s';
    flowError(d, '/nodes/message/maxDurationMs', /integer/);
    d = base();
    d.nodes.menu.colour = 'red';
    flowError(d, '/nodes/menu/colour', /not a field/);
    d = base();
    d.start = 'nowhere';
    flowError(d, '/start', /unknown node/);
    d = base();
    d.nodes.menu.branches['x'] = 'bye';
    flowError(d, '/nodes/menu/branches/x', /DTMF/);
    d = base();
    d.nodes.menu.min = 3;
    flowError(d, '/nodes/menu/min', /more than max/);
    d = base();
    d.nodes['a/b'] = { type: 'hangup' };
    flowError(d, '/nodes/a~1b', /node ids/);
    d = base();
    d.nodes.menu.prompt = ['ok.wav', 7];
    flowError(d, '/nodes/menu/prompt/1', /file name/);
    flowError([], '', /JSON object/);
    flowError({ start: 'a', nodes: { a: { type: 'constructor' } } }, '/nodes/a/type');
    flowError({ start: 'a', nodes: { a: { type: 'hangup', toString: 1 } } }, '/nodes/a/toString');
    // found by the fuzz below: a cyclic value in an error message
    const cyclic: any = { a: 1 };
    cyclic.self = cyclic;
    flowError({ start: 'a', nodes: { a: { type: cyclic } } }, '/nodes/a/type', /an object/);
  });

  it('a file that is not JSON is a FlowError too', () => {
    const dir = tmpDir('rms-flow-');
    const f = path.join(dir, 'bad.json');
    fs.writeFileSync(f, '{ "start": "a", ');
    assert.throws(() => loadFlow(f), FlowError);
    assert.throws(() => loadFlow(path.join(dir, 'missing.json')), FlowError);
  });

  it('the JSON Schema export covers every node type and field', () => {
    const s = flowJsonSchema() as any;
    const variants = s.properties.nodes.additionalProperties.oneOf;
    assert.deepEqual(
      variants.map((v: any) => v.properties.type.const),
      Object.keys(FLOW_NODE_TYPES),
    );
    for (const v of variants)
      assert.deepEqual(
        Object.keys(v.properties).filter((k) => k !== 'type'),
        Object.keys(FLOW_NODE_TYPES[v.properties.type.const].fields),
      );
  });

  it('seeded fuzz: mutated flows are accepted or refused with a FlowError, nothing else', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
    const values = [null, 0, -1, 1.5, 1e9, '', 'x', 'menu', 'bye', '#', [], {}, ['a.wav'], true, { '1': 'bye' }];
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const d = base();
      const ids = Object.keys(d.nodes);
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        if (!d.nodes || typeof d.nodes !== 'object') break;
        const id = pick(ids);
        const node = d.nodes[id] && typeof d.nodes[id] === 'object' ? d.nodes[id] : {};
        const r = rnd();
        if (r < 0.3) node[pick(['type', 'next', 'files', 'max', 'branches', 'file', 'zzz'])] = pick(values);
        else if (r < 0.5) delete node[pick(Object.keys(node).concat('type'))];
        else if (r < 0.6) d.nodes[id] = pick(values);
        else if (r < 0.7) d.start = pick(values);
        else if (r < 0.8) d[pick(['nodes', 'start', 'extra'])] = pick(values);
        else node.type = pick(Object.keys(FLOW_NODE_TYPES).concat('x'));
      }
      try {
        validateFlow(d);
      } catch (e) {
        assert.ok(e instanceof FlowError, `case ${i}: ${String(e)}`);
        refused++;
      }
    }
    assert.ok(refused > 2000, `${refused} of 3000 refused`);
  });
});

describe('a JSON flow drives a call', () => {
  let root: string;
  let ticker: Ticker;
  before(() => {
    root = tmpDir('rms-flowcall-');
    ticker = new Ticker({ name: 'flow-test' });
    writeWav(path.join(root, 'menu.wav'), tone(8000, 2, [700]));
    writeWav(path.join(root, 'bye.wav'), tone(8000, 0.6, [1200]));
    writeWav(path.join(root, 'speech.wav'), tone(16000, 1, [450]));
  });
  after(() => ticker.close());

  it('prompt -> digit 1 -> record until # -> goodbye -> hangup', async () => {
    const mk = (name: string) =>
      new MediaLeg({
        name,
        codec: 'PCMU',
        telephoneEvent: 101,
        local: { address: '127.0.0.1' },
        ticker,
        mediaRoots: [root],
      });
    const ivr = mk('ivr');
    const phone = mk('phone');
    ivr.setRemote({ address: '127.0.0.1', port: phone.localPort });
    phone.setRemote({ address: '127.0.0.1', port: ivr.localPort });
    try {
      let hungUp = false;
      const visited: string[] = [];
      const run = runFlow(ivr, loadFlow(example), {
        vars: { callId: 'call/../42' },
        hangup: () => {
          hungUp = true;
        },
        onNode: (id) => visited.push(id),
      });
      // the caller: listens to the menu a while, presses 1, speaks, presses #
      const heard = phone.record('phone-heard.wav', { maxDurationMs: 4000 });
      await sleep(600);
      await phone.sendDtmf('1');
      await sleep(300);
      await phone.play('speech.wav');
      await phone.sendDtmf('#');
      const r = await run;
      assert.equal(r.reason, 'hangup');
      assert.ok(hungUp);
      assert.deepEqual(r.path, ['menu', 'message', 'bye', 'end']);
      assert.deepEqual(visited, r.path);
      assert.equal(r.vars.menu, '1');
      assert.equal(r.recordings.length, 1);
      const rec = r.recordings[0];
      assert.equal(rec.reason, 'dtmf');
      // the variable was made safe for a file name
      assert.equal(path.basename(rec.path), 'msg-call_.._42.wav');
      assert.equal(path.dirname(rec.path), fs.realpathSync(root));
      assert.ok(toneReport(readWav(rec.path), 450).marginDb > 15, 'the message holds what the caller said');
      phone.stopRecord();
      const h = readWav((await heard).path);
      assert.ok(toneReport(h, 700).dominantFraction > 0.1, 'the caller heard the menu');
      assert.ok(toneReport(h, 1200).dominantFraction > 0.05, 'and the goodbye');
    } finally {
      ivr.close();
      phone.close();
    }
  });

  it('a missing prompt mid-flow ends the flow with a typed error and keeps the leg usable', async () => {
    const leg = new MediaLeg({ name: 'x', codec: 'PCMA', local: { address: '127.0.0.1' }, ticker, mediaRoots: [root] });
    try {
      await assert.rejects(
        runFlow(leg, {
          start: 'p',
          nodes: { p: { type: 'play', files: 'gone.wav', next: 'h' }, h: { type: 'hangup' } },
        }),
        (e: any) => e.code === 'ERR_RMS_MEDIA_FILE' && e.reason === 'not-found',
      );
      const r = await leg.play('bye.wav');
      assert.equal(r.reason, 'eof');
    } finally {
      leg.close();
    }
  });
});
