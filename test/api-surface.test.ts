/**
 * The public surface: the root export holds what an application constructs
 * or receives (at most 30 runtime names), the rest is reachable through the
 * subpath exports package.json declares, and nothing marked @internal is in
 * the published declarations.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('public API surface', () => {
  it('the root export is the narrow set (30 runtime names at most)', () => {
    const names = Object.keys(require('rtp-media-server'));
    assert.ok(names.length <= 30, `${names.length} runtime names: ${names.join(', ')}`);
    for (const n of ['MediaServer', 'MediaSession', 'MediaLeg', 'Conference', 'Gateway', 'Factory', 'Ticker'])
      assert.ok(names.includes(n), `${n} is exported`);
    for (const n of ['Daemon', 'bencode', 'ng', 'PortPool', 'TickerPool', 'QualityMonitor', 'AudioPeer', 'daemon'])
      assert.ok(!names.includes(n), `${n} is not in the root export`);
  });

  it('every subpath export resolves, to what it says', () => {
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== '.' && k !== './package.json');
    assert.deepEqual(subpaths.sort(), ['./codecs', './daemon', './errors', './ng', './quality', './sdp', './tools']);
    const get = (sub: string) => require(`rtp-media-server/${sub}`);
    assert.equal(typeof get('daemon').Daemon, 'function');
    assert.equal(typeof get('ng').parseRequest, 'function');
    assert.equal(typeof get('ng').bencode.decode, 'function');
    assert.equal(typeof get('quality').QualityMonitor, 'function');
    assert.equal(typeof get('sdp').parseSdp, 'function');
    assert.equal(typeof get('codecs').CODECS, 'object');
    assert.equal(typeof get('tools').AudioPeer, 'function');
    assert.equal(typeof get('errors').FlowError, 'function');
    for (const [sub, target] of Object.entries(pkg.exports as Record<string, { types?: string }>))
      if (typeof target === 'object')
        assert.ok(fs.existsSync(path.join(root, target.types!)), `${sub}: ${target.types}`);
  });

  it('nothing @internal is in the published declarations', () => {
    const dts = (f: string) => fs.readFileSync(path.join(root, 'dist', 'lib', f), 'utf8');
    const leg = dts('leg/MediaLeg.d.ts');
    for (const m of ['standby(', 'setMedia(', 'bridgeClosed(', 'enterConference(', 'resolvedMedia', 'inbandDigit('])
      assert.ok(!leg.includes(m), `MediaLeg.d.ts has ${m}`);
    const session = dts('session/MediaSession.d.ts');
    for (const m of ['answerAsIvr', 'entryFacts']) assert.ok(!session.includes(m), `MediaSession.d.ts has ${m}`);
    assert.ok(!dts('leg/Bridge.d.ts').includes('mediaChanged'), 'Bridge.d.ts has mediaChanged');
    assert.ok(
      leg.includes('play(') && leg.includes('record(') && leg.includes('collect('),
      'the public members are there',
    );
  });
});
