/**
 * The daemon's configuration (defaults < file < env < flags, unknown keys and
 * bad values refused, a non-loopback control address refused without an
 * allow-list), the allow-list on the wire, and the session limit.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { MediaServer } from '../lib';
import { ConfigError, OPTIONS, CallControl, NgServer, configJsonSchema, helpText, loadConfig } from '../lib/daemon';
import type { NgOffer } from '../lib/control/ng';
import { parseRequest } from '../lib/control/ng';
import { tmpDir } from './helpers/call';
import { NgClient, tcpRequest } from './helpers/ngClient';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';

describe('daemon configuration', () => {
  const dir = tmpDir('rms-config-');
  const file = (obj: unknown) => {
    const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(obj));
    return f;
  };

  it('embedded defaults: loopback control on 22222, metrics on 9900, media on 127.0.0.1, a ticker per core', () => {
    const { config } = loadConfig();
    assert.deepEqual(config.control, { udp: { host: '127.0.0.1', port: 22222 }, tcp: null, allow: [] });
    assert.deepEqual(config.media, { address: '127.0.0.1', ports: [30000, 40000] });
    assert.deepEqual(config.metrics, { host: '127.0.0.1', port: 9900 });
    assert.ok(config.tickers >= 1);
    assert.equal(config.drainTimeoutSec, 30);
    assert.deepEqual(config.transcodeCodecs, []);
  });

  it('file < environment < flags', () => {
    const f = file({
      control: { udp: '127.0.0.1:2300', tcp: 'on' },
      media: { address: '127.0.0.1', advertisedAddress: '192.0.2.1', ports: [31000, 31999] },
      tickers: 3,
      'quality.sampleMs': 500,
      transcodeCodecs: ['pcma', 'opus'],
      mediaRoots: [dir],
    });
    const { config } = loadConfig({
      argv: ['--config', f, '--tickers=1', '--ports', '32000-32099'],
      env: { RMS_TICKERS: '2', RMS_MEDIA_ADDRESS: '127.0.0.2', RMS_METRICS: 'off' },
    });
    assert.deepEqual(config.control.udp, { host: '127.0.0.1', port: 2300 });
    assert.deepEqual(config.control.tcp, { host: '127.0.0.1', port: 2300 }, 'tcp on = the UDP address');
    assert.equal(config.media.address, '127.0.0.2', 'env beats the file');
    assert.equal(config.media.advertisedAddress, '192.0.2.1');
    assert.deepEqual(config.media.ports, [32000, 32099], 'flag beats the file');
    assert.equal(config.tickers, 1, 'flag beats env and file');
    assert.equal(config.quality.sampleMs, 500, 'dotted keys work too');
    assert.deepEqual(config.transcodeCodecs, ['PCMA', 'opus']);
    assert.equal(config.metrics, null);
    assert.deepEqual(config.mediaRoots, [dir]);
    // RMS_CONFIG names the file when --config does not
    assert.equal(loadConfig({ env: { RMS_CONFIG: f } }).config.tickers, 3);
    // repeated flags append
    assert.deepEqual(loadConfig({ argv: ['--media-root', '/a', '--media-root', '/b'] }).config.mediaRoots, [
      '/a',
      '/b',
    ]);
  });

  it('refuses what it cannot use, naming the option and where it came from', () => {
    const refused = (o: Parameters<typeof loadConfig>[0], re: RegExp) =>
      assert.throws(
        () => loadConfig(o),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
      );
    refused({ argv: ['--config', file({ control: { udpp: '1' } })] }, /unknown option "control.udpp"/);
    refused({ argv: ['--config', path.join(dir, 'missing.json')] }, /cannot read the config file/);
    refused({ argv: ['--tickers', 'many'] }, /--tickers: expected an integer 1..256/);
    refused({ env: { RMS_PORTS: '40000-30000' } }, /RMS_PORTS: expected a range/);
    refused({ argv: ['--control-udp', 'localhost:22222'] }, /IP:PORT/);
    refused({ argv: ['--transcode-codecs', 'AMR'] }, /codecs among/);
    refused({ argv: ['--frobnicate'] }, /unknown option "--frobnicate"/);
    refused({ argv: ['--control-udp', 'off'] }, /no control/);
    refused({ argv: ['--collector', 'sip:qos@collector.example.net'] }, /set quality.collectorAddress/);
    // the file is checked against its JSON Schema (ajv); the message is the option's own
    refused({ argv: ['--config', file({ tickers: 3.5 })] }, /: tickers: expected an integer 1\.\.256, got 3\.5$/);
    refused(
      { argv: ['--config', file({ quality: { sampleMs: 'x' } })] },
      /quality\.sampleMs: expected an integer 0\.\.60000/,
    );
    refused({ argv: ['--config', file({ 'media.ports': [31000] })] }, /media\.ports: expected MIN-MAX/);
    refused({ argv: ['--config', file({ logLevel: 'loud' })] }, /logLevel: expected error, warn, info or debug/);
    refused({ argv: ['--config', file({ quality: { colector: 'x' } })] }, /unknown option "quality\.colector"/);
    refused({ argv: ['--config', file({ control: 'x' })] }, /control: expected an object of options/);
    refused({ argv: ['--tickerz', '2'] }, /unknown option "--tickerz"; did you mean --tickers\?/);
    refused({ argv: ['--tickers'] }, /--tickers needs a value/);
  });

  it('the config file JSON Schema covers every option, nested and dotted', () => {
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    for (const o of OPTIONS) {
      assert.ok(schema.properties[o.key], o.key);
      const [head, tail] = o.key.split('.');
      if (tail) assert.ok(schema.properties[head].properties?.[tail], `${o.key} nested`);
    }
  });

  it('a control address other machines can reach needs an allow-list', () => {
    assert.throws(
      () => loadConfig({ argv: ['--control-udp', '0.0.0.0:22222'] }),
      (e: unknown) => e instanceof ConfigError && /reachable from other machines/.test(e.message),
    );
    assert.throws(() => loadConfig({ env: { RMS_CONTROL_TCP: '192.0.2.7:22222' } }), /control.tcp/);
    const { config } = loadConfig({ argv: ['--control-udp', '0.0.0.0:22222', '--allow', '10.0.0.5,10.1.0.0/16'] });
    assert.deepEqual(config.control.allow, ['10.0.0.5', '10.1.0.0/16']);
    assert.throws(() => loadConfig({ argv: ['--allow', '10.0.0.0/33'] }), /CIDR/);
    assert.deepEqual(loadConfig({ argv: ['--control-udp', '[::1]:22222'] }).config.control.udp, {
      host: '::1',
      port: 22222,
    });
  });

  it('docs/deployment.md documents every option (key, flag, variable, default)', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../../docs/deployment.md'), 'utf8');
    for (const o of OPTIONS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${o.key}\` |`));
      assert.ok(row, `a row for ${o.key}`);
      for (const part of [o.flag, o.env, o.shown]) assert.ok(row.includes(part), `${o.key}: ${part}`);
    }
  });

  it('--help lists every option with its key, variable and default', () => {
    const h = helpText();
    for (const o of OPTIONS) {
      assert.ok(h.includes(o.flag), o.flag);
      assert.ok(h.includes(`key ${o.key}, env ${o.env}, default ${o.shown}`), o.key);
    }
  });
});

describe('control plane exposure and load limits', () => {
  const servers: NgServer[] = [];
  const clients: NgClient[] = [];
  after(() => {
    for (const s of servers) s.close();
    for (const c of clients) c.close();
  });

  it('requests from peers outside control.allow are dropped (UDP) or cut (TCP)', async () => {
    let handled = 0;
    const srv = new NgServer({
      udp: { host: '127.0.0.1', port: 0 },
      tcp: { host: '127.0.0.1', port: 0 },
      allow: ['127.0.0.2', '127.0.3.0/24'],
      handler: () => {
        handled++;
        return { result: 'pong' };
      },
    });
    servers.push(srv);
    await srv.listen();
    const { udp, tcp } = srv.addresses();
    const target = { host: '127.0.0.1', port: udp!.port };
    const stranger = await NgClient.create(target, '127.0.0.1');
    const friend = await NgClient.create(target, '127.0.0.2');
    const subnet = await NgClient.create(target, '127.0.3.9');
    clients.push(stranger, friend, subnet);
    assert.equal(await stranger.raw('s1 d7:command4:pinge', 's1', 300), undefined);
    assert.equal((await friend.request({ command: 'ping' })).result, 'pong');
    assert.equal((await subnet.request({ command: 'ping' })).result, 'pong');
    await assert.rejects(tcpRequest({ host: '127.0.0.1', port: tcp!.port }, Buffer.from('t1 d7:command4:pinge'), 1000));
    assert.equal(handled, 2);
    assert.equal(srv.stats.dropped, 2);
  });

  it('beyond maxSessions a new call gets load limit (or the error Kamailio reads the same way)', async () => {
    const media = new MediaServer({
      address: '127.0.0.1',
      ports: mediaPorts(100),
      tickers: 1,
      transcode: false,
      admission: { maxCalls: 1 },
    });
    const calls = new CallControl({ media });
    try {
      const offer = (id: string, supports: string[]) =>
        parseRequest(
          NgClient.message('c', {
            command: 'offer',
            'call-id': id,
            'from-tag': 'a',
            sdp: phoneSdp({ port: 4000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
            supports,
          }),
        ) as NgOffer;
      assert.equal((await calls.handle(offer('one', ['load limit']))).result, 'ok');
      assert.deepEqual(
        { ...(await calls.handle(offer('two', ['load limit']))) },
        { result: 'load limit', message: 'Parallel session limit reached' },
      );
      assert.deepEqual(
        { ...(await calls.handle(offer('three', []))) },
        { result: 'error', 'error-reason': 'Parallel session limit reached' },
      );
      // the call in progress still takes its retransmitted offer
      assert.equal((await calls.handle(offer('one', ['load limit']))).result, 'ok');
      assert.equal(calls.totals.limited, 2);
      calls.drain();
      calls.closeAll();
      assert.equal((await calls.handle(offer('four', ['load limit']))).result, 'load limit', 'draining');
      assert.equal(media.ports.inUse, 0);
    } finally {
      media.close();
    }
  });

  it('calls nobody deletes time out: answered without media after mediaTimeoutSec, unanswered after offerTimeoutSec', async () => {
    const media = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(100), tickers: 1, transcode: false });
    const calls = new CallControl({ media, mediaTimeoutSec: 60, offerTimeoutSec: 300 });
    const ended: string[] = [];
    calls.on('callEnd', (e) => ended.push(e.callId));
    const sdp = (port: number) => phoneSdp({ port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] });
    const req = (cmd: Record<string, string>) => parseRequest(NgClient.message('c', cmd));
    try {
      await calls.handle(req({ command: 'offer', 'call-id': 'answered', 'from-tag': 'a', sdp: sdp(4000) }));
      await calls.handle(
        req({ command: 'answer', 'call-id': 'answered', 'from-tag': 'a', 'to-tag': 'b', sdp: sdp(4002) }),
      );
      await calls.handle(req({ command: 'offer', 'call-id': 'ringing', 'from-tag': 'a', sdp: sdp(4004) }));
      const t0 = Date.now();
      assert.deepEqual(calls.sweep(t0 + 59_000), []);
      assert.deepEqual(calls.sweep(t0 + 61_000), ['answered']);
      assert.deepEqual(calls.sweep(t0 + 299_000), []);
      assert.deepEqual(calls.sweep(t0 + 301_000), ['ringing']);
      assert.deepEqual(ended, ['answered', 'ringing']);
      assert.equal(calls.totals.timedOut, 2);
      assert.equal(media.ports.inUse, 0);
    } finally {
      calls.close();
      media.close();
    }
  });
});
