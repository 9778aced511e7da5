/**
 * What a control peer can do to the ng layer, bounded: fresh cookies with
 * huge replies (the reply cache is bounded in bytes, expired replies go
 * without new traffic, echoed flag text is capped), idle and many TCP
 * connections (idle timeout, per-source limit: others still get in), and
 * messages trickled byte by byte (the stream decoder looks at each byte
 * once).
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';
import { dict, type BDict } from '../lib/control/bencode';
import * as ng from '../lib/control/ng';
import { Daemon, defaultConfig, validate } from '../lib/daemon';
import { NgServer } from '../lib/daemon/NgServer';
import { NgClient, parseReply, str } from './helpers/ngClient';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: net.Socket, ms = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function tcpPing(port: number, localAddress: string): Promise<BDict> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => s.write('p1 d7:command4:pinge'));
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('no TCP reply in 3 s'));
    }, 3000);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      try {
        const r = parseReply(buf);
        clearTimeout(t);
        s.destroy();
        resolve(r.dict);
      } catch {
        /* not all there */
      }
    });
    s.on('error', reject);
  });
}

describe('ng reply cache bounds', () => {
  const big = (cookie: string) => ng.formatReply(cookie, ng.okReply({ warning: 'x'.repeat(60_000) }));

  it('fresh cookies with 60 KB replies stay within the byte bound; the newest still answer retransmissions', async () => {
    const cache = new ng.NgReplyCache({ maxBytes: 2 * 1024 * 1024 });
    for (let i = 0; i < 1000; i++) await cache.reply(`c${i}`, () => big(`c${i}`));
    assert.ok(cache.bytes <= 2 * 1024 * 1024, `${cache.bytes} bytes kept`);
    assert.ok(cache.size >= 30 && cache.size < 40, `${cache.size} replies kept`);
    assert.ok(cache.evicted > 900);
    let ran = false;
    const again = await cache.reply('c999', () => ((ran = true), big('c999')));
    assert.ok(again.cached && !ran, 'the newest reply is still there for a retransmission');
  });

  it('expired replies are released by the sweep, with no request coming', async () => {
    let now = 0;
    const cache = new ng.NgReplyCache({ ttlMs: 1000, now: () => now });
    for (let i = 0; i < 50; i++) await cache.reply(`c${i}`, () => big(`c${i}`));
    assert.ok(cache.bytes > 50 * 60_000);
    now = 1500;
    cache.sweep();
    assert.deepEqual([cache.size, cache.bytes], [0, 0]);
  });

  it('unknown flags echoed back are capped in number and length', () => {
    const flags = Array.from({ length: 1000 }, (_, i) => `no-such-flag-${i}-${'y'.repeat(50)}`);
    const msg = NgClient.message('k1', {
      command: 'offer',
      'call-id': 'c',
      'from-tag': 'a',
      sdp: phoneSdp({ port: 5000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
      flags,
    });
    const req = ng.parseRequest(msg) as ng.NgOffer;
    assert.equal(req.options.unknownFlags.length, ng.NG_MAX_UNKNOWN_FLAGS + 1);
    assert.ok(req.options.unknownFlags.every((f) => f.length <= ng.NG_MAX_UNKNOWN_FLAG_CHARS + 3));
    assert.ok(req.warnings.join('; ').length < 2000, `${req.warnings.join('; ').length} characters of warnings`);
  });

  it('a daemon answering 2000 retransmitted offers (fresh cookies, 60 KB of unknown flags) keeps its cache small', async () => {
    const config = validate({
      ...defaultConfig(),
      control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
      media: { address: '127.0.0.1', ports: mediaPorts(100) },
      // the default metrics port (9900) may be another process's: none here
      metrics: null,
      tickers: 1,
    });
    const daemon = await Daemon.start(config);
    const udp = daemon.addresses().udp!;
    const client = await NgClient.create({ host: udp.address, port: udp.port });
    try {
      const flags = Array.from({ length: 600 }, (_, i) => `x-unknown-${i}-${'z'.repeat(88)}`); // 60 KB
      const offer = {
        command: 'offer',
        'call-id': 'amplify',
        'from-tag': 'a',
        sdp: phoneSdp({ port: 5000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
        flags,
      };
      let largest = 0;
      for (let i = 0; i < 2000; i++) {
        const r = await client.raw(NgClient.message(`amp${i}`, offer), `amp${i}`);
        assert.ok(r, `reply ${i}`);
        assert.equal(r.dict.result, 'ok', JSON.stringify(r.dict).slice(0, 200));
        largest = Math.max(largest, r.raw.length);
      }
      const warning = str((await client.request(offer)).warning) ?? '';
      assert.match(warning, /^unknown flags ignored: x-unknown-0-z+\.\.\. .*\(more not shown\)$/);
      assert.ok(largest < 4096, `largest reply ${largest} bytes`);
      const c = daemon.ng.cache;
      assert.ok(c.bytes < 2001 * 4096, `${c.bytes} bytes cached for ${c.entries} replies`);
    } finally {
      client.close();
      await daemon.close();
    }
  });
});

describe('ng over TCP: connection bounds and stream decoding', () => {
  async function server(opts: Partial<ConstructorParameters<typeof NgServer>[0]> = {}) {
    const s = new NgServer({
      tcp: { host: '127.0.0.1', port: 0 },
      handler: (req) => (req.command === 'ping' ? dict({ result: 'pong' }) : ng.okReply({})),
      ...opts,
    });
    await s.listen();
    return { s, port: s.addresses().tcp!.port };
  }

  it('one address cannot take every connection: the extra ones are refused, another address still gets in', async () => {
    const { s, port } = await server({ maxConnectionsPerSource: 4, maxConnections: 64 });
    const socks: net.Socket[] = [];
    try {
      for (let i = 0; i < 64; i++) socks.push(await connect(port));
      const results = await Promise.all(socks.map((k) => closed(k, 1000)));
      const open = results.filter((c) => !c).length;
      assert.equal(open, 4, `${open} of 64 idle connections from one address left open`);
      assert.equal(s.stats.tcpRefused, 60);
      assert.equal((await tcpPing(port, '127.0.0.2')).result, 'pong', 'another client is served');
    } finally {
      for (const k of socks) k.destroy();
      s.close();
    }
  });

  it('an idle connection is closed after the idle timeout', async () => {
    const { s, port } = await server({ tcpIdleMs: 200 });
    try {
      const k = await connect(port);
      assert.equal(await closed(k, 5000), true, 'closed by the server');
      assert.equal(s.stats.tcpIdleClosed, 1);
      assert.equal((await tcpPing(port, '127.0.0.1')).result, 'pong');
    } finally {
      s.close();
    }
  });

  it('a message trickled byte by byte is scanned once (linear), and decoded whole', () => {
    const offer = NgClient.message('slow1', {
      command: 'offer',
      'call-id': 'c',
      'from-tag': 'a',
      sdp: phoneSdp({ port: 5000, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] }),
      flags: Array.from({ length: 1000 }, (_, i) => `f${i}-${'q'.repeat(50)}`),
    });
    const dec = new ng.NgStreamDecoder();
    const got: Buffer[] = [];
    for (let i = 0; i < offer.length; i++) got.push(...dec.push(offer.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.ok(got[0].equals(offer));
    assert.ok(dec.scanned <= offer.length, `${dec.scanned} bytes scanned for ${offer.length}`);
    assert.equal(dec.buffered, 0);
    // and back to back with the next one, split anywhere
    const two = Buffer.concat([offer, Buffer.from('\r\n'), offer]);
    const d2 = new ng.NgStreamDecoder();
    const out = [
      ...d2.push(two.subarray(0, 1234)),
      ...d2.push(two.subarray(1234, 70_000)),
      ...d2.push(two.subarray(70_000)),
    ];
    assert.equal(out.length, 2);
    assert.ok(out.every((m) => m.equals(offer)));
  });

  it('slow senders on many connections are served as their messages complete', async () => {
    const { s, port } = await server({ maxConnectionsPerSource: 32 });
    const msg = Buffer.from('s1 d7:command4:pinge');
    try {
      const socks = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
      const replies = socks.map(
        (k) =>
          new Promise<string>((resolve) => {
            let b = '';
            k.on('data', (d) => {
              b += d;
              if (b.endsWith('e')) resolve(b);
            });
          }),
      );
      for (let i = 0; i < msg.length; i++) {
        for (const k of socks) k.write(msg.subarray(i, i + 1));
        await sleep(5);
      }
      const got = await Promise.all(replies);
      assert.ok(got.every((r) => r === 's1 d6:result4:ponge'));
      for (const k of socks) k.destroy();
    } finally {
      s.close();
    }
  });
});
