/**
 * The ng control protocol layer (lib/control): bencode vectors and round
 * trips, requests as Kamailio 5.6.3 really sent them (captured, see
 * test/fixtures/kamailio/) and as rtpengine's document describes them,
 * typed errors for every bad input that map to `result: error`, a seeded
 * fuzz loop, the reply cache and TCP splitting.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgumentError, PortsExhaustedError } from '../lib';
import { BencodeError, ControlProtocolError } from '../lib/errors';
import * as bencode from '../lib/control/bencode';
import * as ng from '../lib/control/ng';
import type { BDict, BValue } from '../lib/control/bencode';

const { decode, decodePrefix, encode, dict } = bencode;
const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures', 'ng');
const kamailio = JSON.parse(fs.readFileSync(path.join(fixtures, 'kamailio-5.6.3.json'), 'utf8')) as {
  plainCall: { at: number; request: string; reply: string | null }[];
  droppedOfferAndErrorAnswer: { at: number; request: string; reply: string | null }[];
};
const docs = JSON.parse(fs.readFileSync(path.join(fixtures, 'rtpengine-docs.json'), 'utf8')) as {
  wire: { name: string; request: string; reply: string }[];
  requests: { name: string; cookie: string; request: Record<string, BValue>; expect: Record<string, unknown> }[];
};

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const text = (b: Buffer) => b.toString('latin1');
/** A message: cookie, space, the bencoded dictionary. */
const msg = (cookie: string, d: Record<string, BValue>) => Buffer.concat([latin1(cookie + ' '), encode(d)]);
/** Decoded dictionaries have no prototype, and safe integers come back as numbers: compare as plain data. */
const plain = (v: unknown): unknown =>
  typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : Array.isArray(v)
      ? v.map(plain)
      : v && typeof v === 'object' && !Buffer.isBuffer(v)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
        : v;

/** Deterministic pseudo-random numbers, so that a failure can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function parseError(m: Uint8Array, opts?: ng.ParseOptions): ControlProtocolError {
  try {
    ng.parseRequest(m, opts);
  } catch (err) {
    assert.ok(err instanceof ControlProtocolError, `not a ControlProtocolError: ${String(err)}`);
    return err;
  }
  assert.fail(`parsed: ${text(Buffer.from(m)).slice(0, 200)}`);
}

function decodeError(input: string | Uint8Array, opts?: bencode.DecodeOptions): BencodeError {
  try {
    decode(input, opts);
  } catch (err) {
    assert.ok(err instanceof BencodeError, `not a BencodeError: ${String(err)}`);
    return err;
  }
  assert.fail(`decoded: ${String(input).slice(0, 100)}`);
}

describe('bencode', () => {
  it('encodes the known vectors, with dictionary keys sorted by their bytes', () => {
    const cases: [unknown, string][] = [
      [42, 'i42e'],
      [-42, 'i-42e'],
      [0, 'i0e'],
      [-0, 'i0e'],
      ['spam', '4:spam'],
      ['', '0:'],
      [[], 'le'],
      [{}, 'de'],
      [['spam', 42], 'l4:spami42ee'],
      [{ foo: 42, bar: 'spam' }, 'd3:bar4:spam3:fooi42ee'],
      [{ b: 1, a: { d: [], c: 'x' } }, 'd1:ad1:c1:x1:dlee1:bi1ee'],
      [{ a: 1, Z: 2, aa: 3, '': 4 }, 'd0:i4e1:Zi2e1:ai1e2:aai3ee'],
      [2n ** 64n, 'i18446744073709551616e'],
      [-(2n ** 63n), 'i-9223372036854775808e'],
      [Buffer.from([0, 0xff, 0x20]), '3:\x00\xff '],
      [new Map([['k', 'v']]), 'd1:k1:ve'],
      [{ skipped: undefined, kept: 1 }, 'd4:kepti1ee'],
    ];
    for (const [value, wire] of cases) assert.equal(text(encode(value)), wire, `encode ${String(value)}`);
    // a string's length is its UTF-8 length; keys sort by UTF-8 bytes (é is 0xc3 0xa9, after z)
    assert.equal(encode('é').toString('utf8'), '2:é');
    assert.equal(encode({ é: 1, z: 2 }).toString('utf8'), 'd1:zi2e2:éi1ee');
  });

  it('decodes the known vectors', () => {
    assert.equal(decode('i42e'), 42);
    assert.equal(decode('i-42e'), -42);
    assert.equal(decode('i0e'), 0);
    assert.equal(decode('i9007199254740991e'), Number.MAX_SAFE_INTEGER);
    assert.equal(decode('i9007199254740992e'), 2n ** 53n);
    assert.equal(decode('i-18446744073709551615e'), -(2n ** 64n - 1n));
    assert.equal(decode('4:spam'), 'spam');
    assert.equal(decode('0:'), '');
    assert.deepEqual(decode('l4:spami42ee'), ['spam', 42]);
    assert.deepEqual(plain(decode('d3:bar4:spam3:fooi42ee')), { bar: 'spam', foo: 42 });
    // unsorted keys (as rtpengine and Kamailio write them) are fine by default
    assert.deepEqual(plain(decode('d3:fooi42e3:bar4:spame')), { foo: 42, bar: 'spam' });
    // strings: UTF-8 text when valid, else bytes; or always bytes
    assert.equal(decode(Buffer.from('2:\xc3\xa9', 'latin1')), 'é');
    assert.deepEqual(decode(Buffer.from('2:\xff\xfe', 'latin1')), Buffer.from([0xff, 0xfe]));
    assert.deepEqual(decode('4:spam', { strings: 'buffer' }), Buffer.from('spam'));
    // a leading byte-order mark stays (decode then encode gives the same bytes)
    assert.equal(decode(Buffer.from('3:\xef\xbb\xbf', 'latin1')), '\ufeff');
    // dictionaries have no prototype, so no key is special
    const d = decode('d9:__proto__i1e11:constructori2e8:toStringi3ee') as BDict;
    assert.equal(Object.getPrototypeOf(d), null);
    assert.equal(d.__proto__, 1);
    assert.equal(d.constructor, 2);
    assert.equal(d.toString, 3);
    assert.equal(Object.getPrototypeOf({}), Object.prototype, 'nothing polluted');
  });

  it('round-trips seeded random values byte for byte', () => {
    const r = rng(7);
    const word = () => {
      const n = Math.floor(r() * 12);
      let s = '';
      for (let k = 0; k < n; k++)
        s += String.fromCharCode(r() < 0.9 ? 32 + Math.floor(r() * 95) : 0x80 + Math.floor(r() * 0x700));
      return s;
    };
    const value = (depth: number): BValue => {
      const k = r();
      if (depth > 4 || k < 0.25) return Math.floor((r() - 0.5) * 2 ** 40);
      if (k < 0.35) return (BigInt(Math.floor(r() * 1e6)) * 10n ** 12n + 1n) * (r() < 0.5 ? -1n : 1n); // up to 19 digits
      if (k < 0.6) return word();
      if (k < 0.7)
        return Buffer.from([0xff, ...Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * 256))]);
      if (k < 0.85) return Array.from({ length: Math.floor(r() * 5) }, () => value(depth + 1));
      return dict(Array.from({ length: Math.floor(r() * 5) }, () => [word(), value(depth + 1)] as [string, BValue]));
    };
    for (let n = 0; n < 500; n++) {
      const v = value(0);
      const wire = encode(v);
      const back = decode(wire, { sortedKeys: true });
      assert.deepEqual(plain(back), plain(v), `case ${n}`);
      assert.ok(encode(back).equals(wire), `case ${n}: re-encoding changed the bytes`);
    }
  });

  it('refuses malformed input with a BencodeError that says where, and marks truncation', () => {
    const bad: [string, boolean][] = [
      ['', true],
      ['i', true],
      ['i42', true],
      ['ie', false],
      ['i-e', false],
      ['i-0e', false],
      ['i01e', false],
      ['i1.5e', false],
      ['i 1e', false],
      ['01:a', false],
      ['5:abc', true],
      ['1a', false],
      ['-1:a', false],
      ['l', true],
      ['li1e', true],
      ['d', true],
      ['d1:a', true],
      ['d1:ae', false],
      ['di1ei1ee', false],
      ['dle', false],
      ['x', false],
      ['4:spamextra', false],
      ['i1ei2e', false],
      ['d1:ai1e1:ai2ee', false],
      ['99999999999:a', false],
    ];
    for (const [input, incomplete] of bad) {
      const e = decodeError(input);
      assert.equal(e.code, 'ERR_RMS_BENCODE');
      assert.equal(e.incomplete, incomplete, `${JSON.stringify(input)}: ${e.message}`);
      assert.ok(e.offset >= 0 && e.offset <= input.length, `${JSON.stringify(input)} offset ${e.offset}`);
      assert.ok(e instanceof ControlProtocolError, 'a BencodeError is a ControlProtocolError');
    }
    assert.match(decodeError(Buffer.from('d2:\xff\xfei1ee', 'latin1')).message, /key is not valid UTF-8/);
    assert.match(decodeError(Buffer.from('2:\xff\xfe', 'latin1'), { strings: 'utf8' }).message, /not valid UTF-8/);
    assert.match(decodeError('d1:bi1e1:ai2ee', { sortedKeys: true }).message, /out of order/);
    assert.match(decodeError('d1:ai1e1:ai1ee').message, /duplicate/);
    assert.equal((decode('d1:ai1e1:ai2ee', { duplicateKeys: 'first' }) as BDict).a, 1);
    assert.equal((decode('d1:ai1e1:ai2ee', { duplicateKeys: 'last' }) as BDict).a, 2);
    assert.match(decodeError('a', { strings: 'nope' as never }).message, /option strings/);
  });

  it('enforces its limits: depth, size, values, string length, integer digits', () => {
    const deep = (n: number) => 'l'.repeat(n) + 'e'.repeat(n);
    assert.doesNotThrow(() => decode(deep(32)));
    assert.match(decodeError(deep(33)).message, /nesting deeper than 32/);
    assert.match(decodeError(deep(4), { maxDepth: 3 }).message, /nesting/);
    // a hostile depth is refused without exhausting the stack
    assert.match(decodeError(deep(100_000), { maxBytes: 1e6 }).message, /nesting/);
    assert.match(decodeError('4:spam', { maxBytes: 5 }).message, /larger than the 5 allowed/);
    assert.match(decodeError('l' + 'i1e'.repeat(11) + 'e', { maxItems: 10 }).message, /more than 10 values/);
    assert.match(decodeError('5:spams', { maxStringBytes: 4 }).message, /more than the 4 allowed/);
    assert.match(decodeError('i123456e', { maxIntegerDigits: 5 }).message, /longer than 5 digits/);
    assert.match(decodeError('i1e', { maxDepth: 0 }).message, /option maxDepth/);
    // a value inside a long stream is held to maxBytes, not the whole stream
    const stream = Buffer.from('4:spam' + 'x'.repeat(100));
    assert.deepEqual(decodePrefix(stream, 0, { maxBytes: 10 }), { value: 'spam', end: 6 });
    assert.match(
      (() => {
        try {
          decodePrefix('20:' + 'x'.repeat(30), 0, { maxBytes: 10 });
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })(),
      /more than the 10 allowed|larger than 10/,
    );
  });

  it('refuses to encode what bencode cannot hold', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const deep: unknown[] = [];
    let cur = deep;
    for (let n = 0; n < 40; n++) cur.push((cur = []));
    for (const v of [
      1.5,
      NaN,
      Infinity,
      2 ** 60,
      true,
      null,
      undefined,
      Symbol('s'),
      () => 1,
      new Date(),
      [undefined],
      cyclic,
      deep,
      { a: null },
    ])
      assert.throws(() => encode(v), BencodeError, String(v));
    assert.throws(() => encode('x'.repeat(100), { maxBytes: 50 }), /larger than 50/);
    assert.throws(() => encode(new Map([[1, 2]] as never)), /key that is not a string/);
  });
});

describe('ng requests as Kamailio 5.6.3 sent them', () => {
  const [ping, offer, answer, del] = kamailio.plainCall.map((e) => ng.parseRequest(latin1(e.request)));

  it('ping, and our pong is byte for byte what the stub answered', () => {
    assert.equal(ping.command, 'ping');
    assert.equal(ping.cookie, '0_32690_0');
    assert.equal(text(ng.formatReply(ping.cookie, ng.pongReply())), kamailio.plainCall[0].reply);
  });

  it('offer: call, tags, SDP and the flags string turned into dictionary entries', () => {
    assert.equal(offer.command, 'offer');
    if (offer.command !== 'offer') return;
    assert.equal(offer.callId, 'capture-call-1@127.0.0.1');
    assert.equal(offer.fromTag, 'alicetag42');
    assert.equal(offer.toTag, undefined);
    assert.match(offer.sdp, /^v=0\r\no=alice /);
    assert.ok(offer.sdp.endsWith('a=sendrecv\r\n'));
    assert.deepEqual(offer.options.flags, ['trust-address']);
    assert.deepEqual(offer.options.replace, ['origin', 'session-connection']);
    assert.deepEqual(offer.options.codec.transcode, ['PCMA']);
    assert.equal(offer.options.ice, 'remove');
    assert.deepEqual(offer.options.receivedFrom, { family: 'IP4', address: '127.0.0.1' });
    assert.deepEqual(offer.options.supports, ['load limit']);
    assert.deepEqual(offer.warnings, []);
  });

  it('answer from the 200 OK: the caller stays from-tag, the callee is to-tag', () => {
    assert.equal(answer.command, 'answer');
    if (answer.command !== 'answer') return;
    assert.equal(answer.fromTag, 'alicetag42');
    assert.equal(answer.toTag, 'bobtag77');
    assert.match(answer.sdp, /o=bob /);
  });

  it('delete on BYE carries from-tag only (Kamailio leaves to-tag out of delete)', () => {
    assert.equal(del.command, 'delete');
    if (del.command !== 'delete') return;
    assert.equal(del.fromTag, 'alicetag42');
    assert.equal(del.toTag, undefined);
    assert.equal(del.fatal, false);
  });

  it('a retransmission repeats the cookie and the bytes, one second later', () => {
    const [, first, again] = kamailio.droppedOfferAndErrorAnswer;
    assert.equal(first.reply, null);
    assert.equal(again.request, first.request);
    assert.ok(again.at - first.at >= 0.9 && again.at - first.at < 1.5, `${again.at - first.at} s`);
  });

  it('the replies the stub sent decode to the result Kamailio looks for', () => {
    for (const e of [...kamailio.plainCall, ...kamailio.droppedOfferAndErrorAnswer]) {
      if (e.reply === null) continue;
      const frame = ng.splitMessage(latin1(e.reply));
      assert.equal(frame.cookie, ng.splitMessage(latin1(e.request)).cookie);
      const r = decode(frame.body) as BDict;
      assert.ok(['ok', 'pong', 'error'].includes(r.result as string));
      if (r.result === 'error') assert.equal(r['error-reason'], 'Unknown call-id');
    }
    // our error reply for the same case says the same (keys sorted, where the stub wrote result first)
    const [, , , err] = kamailio.droppedOfferAndErrorAnswer;
    const ours = ng.formatReply(ng.splitMessage(latin1(err.request)).cookie, ng.errorReply('Unknown call-id'));
    assert.deepEqual(
      plain(decode(ng.splitMessage(ours).body)),
      plain(decode(ng.splitMessage(latin1(err.reply!)).body)),
    );
    assert.equal(ng.splitMessage(ours).cookie, ng.splitMessage(latin1(err.reply!)).cookie);
  });
});

describe("ng requests in the shapes of rtpengine's document", () => {
  it('ping/pong on the wire', () => {
    for (const w of docs.wire) {
      const r = ng.parseRequest(latin1(w.request));
      assert.equal(text(ng.formatReply(r.cookie, ng.pongReply())), w.reply, w.name);
    }
  });

  for (const c of docs.requests)
    it(c.name, () => {
      const r = ng.parseRequest(msg(c.cookie, c.request)) as unknown as Record<string, unknown>;
      assert.equal(r.cookie, c.cookie);
      for (const [k, want] of Object.entries(c.expect)) {
        if (k === 'options' && want && typeof want === 'object') {
          const got = r.options as Record<string, unknown>;
          for (const [ok, ov] of Object.entries(want)) assert.deepEqual(got[ok], ov, `options.${ok}`);
        } else assert.deepEqual(r[k], want, k);
      }
      assert.deepEqual((r.warnings as string[]) ?? [], [], 'no warnings');
    });

  it('play media with a blob keeps the bytes; db-id is an integer', () => {
    const blob = Buffer.from([0x52, 0x49, 0x46, 0x46, 0xff, 0x00]);
    const r = ng.parseRequest(msg('pm', { command: 'play media', 'call-id': 'c', 'from-tag': 'f', blob }));
    assert.ok(r.command === 'play media' && 'blob' in r.source && r.source.blob.equals(blob));
    const d = ng.parseRequest(msg('pm', { command: 'play media', 'call-id': 'c', label: 'x', 'db-id': '17' }));
    assert.ok(d.command === 'play media' && 'dbId' in d.source && d.source.dbId === 17);
  });

  it('unknown flags are kept and warned about, not refused', () => {
    const r = ng.parseRequest(
      msg('w', {
        command: 'offer',
        'call-id': 'c',
        'from-tag': 'f',
        sdp: 'v=0\r\n',
        flags: ['trust-address', 'frobnicate'],
      }),
    );
    assert.ok(r.command === 'offer');
    assert.deepEqual(r.options.unknownFlags, ['frobnicate']);
    assert.equal(r.warnings.length, 1);
  });

  it('rtpp-flags (newer Kamailio leaves the flags string to the server) reads like the module would', () => {
    const flags =
      'trust-address replace-origin replace=session-connection ICE=remove transcode-PCMA codec-strip=opus ' +
      'codec-mask-G722 RTP/SAVPF direction=priv direction=pub received-from=2001:db8::1 delete-delay=5 label=caller';
    assert.deepEqual(plain(ng.parseRtppFlags(flags)), {
      flags: ['trust-address'],
      replace: ['origin', 'session-connection'],
      ICE: 'remove',
      codec: { transcode: ['PCMA'], strip: ['opus'], mask: ['G722'] },
      direction: ['priv', 'pub'],
      'received-from': ['IP6', '2001:db8::1'],
      'delete-delay': '5',
      label: 'caller',
      'transport-protocol': 'RTP/SAVPF',
    });
    assert.equal((ng.parseRtppFlags('SRTP AVPF') as BDict)['transport-protocol'], 'RTP/SAVPF');
    assert.equal((ng.parseRtppFlags('DTLS AVPF') as BDict)['transport-protocol'], 'UDP/TLS/RTP/SAVPF');
    const r = ng.parseRequest(
      msg('rf', {
        command: 'offer',
        'call-id': 'c',
        'from-tag': 'f',
        sdp: 'v=0\r\n',
        flags: ['symmetric'],
        'rtpp-flags': 'trust-address codec-transcode-G722 ICE=force replace-origin',
      }),
    );
    assert.ok(r.command === 'offer');
    assert.deepEqual(r.options.flags, ['symmetric', 'trust-address']);
    assert.deepEqual(r.options.codec.transcode, ['G722']);
    assert.equal(r.options.ice, 'force');
    assert.deepEqual(r.options.replace, ['origin']);
    assert.equal(r.options.rtppFlags, 'trust-address codec-transcode-G722 ICE=force replace-origin');
  });

  it('key=value flags arrive as strings: integers are read from strings too', () => {
    // Kamailio: "delete-delay=5" becomes both "delete delay": 5 and "delete-delay": "5"
    const r = ng.parseRequest(
      msg('dd', { command: 'delete', 'call-id': 'c', 'from-tag': 'f', 'delete delay': 5, 'delete-delay': '5' }),
    );
    assert.ok(r.command === 'delete' && r.deleteDelay === 5);
    const p = ng.parseRequest(
      msg('pt', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp: 'v=0\r\n', ptime: '30' }),
    );
    assert.ok(p.command === 'offer' && p.options.ptime === 30);
  });
});

describe('ng errors map to result: error with a reason', () => {
  const sdp = 'v=0\r\n';
  const cases: [string, Buffer, string | RegExp][] = [
    ['empty body', latin1('ck '), ng.NG_REASONS.noPayload],
    ['JSON body', latin1('ck {"command":"ping"}'), /JSON is not supported/],
    ['a list, not a dictionary', latin1('ck li1ee'), ng.NG_REASONS.badFormat],
    ['malformed bencode', latin1('ck d7:command4:ping'), /^Could not decode bencode dictionary: /],
    ['trailing bytes', latin1('ck d7:command4:pingexx'), /^Could not decode bencode dictionary: trailing/],
    ['no command', msg('ck', { 'call-id': 'x' }), ng.NG_REASONS.noCommand],
    ['command not a string', msg('ck', { command: 7 }), ng.NG_REASONS.noCommand],
    ['unknown command', msg('ck', { command: 'make coffee' }), ng.NG_REASONS.unknownCommand],
    ['known, unsupported command', msg('ck', { command: 'publish', 'call-id': 'x' }), 'Unsupported command: publish'],
    ['call-id missing', msg('ck', { command: 'query' }), 'Missing call-id'],
    ['call-id an integer', msg('ck', { command: 'query', 'call-id': 5 }), 'call-id must be a string'],
    ['call-id not UTF-8', msg('ck', { command: 'query', 'call-id': Buffer.from([0xff]) }), 'call-id must be a string'],
    ['call-id empty', msg('ck', { command: 'query', 'call-id': '' }), 'call-id is empty'],
    ['call-id too long', msg('ck', { command: 'query', 'call-id': 'x'.repeat(300) }), 'call-id too long'],
    ['offer without from-tag', msg('ck', { command: 'offer', 'call-id': 'c', sdp }), 'Missing from-tag'],
    ['offer without sdp', msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f' }), 'Missing sdp'],
    ['answer without to-tag', msg('ck', { command: 'answer', 'call-id': 'c', 'from-tag': 'f', sdp }), 'Missing to-tag'],
    [
      'sdp a list',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp: ['v=0'] }),
      'sdp must be a string',
    ],
    [
      'sdp too long',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp: 'v'.repeat(70_000) }),
      'sdp too long',
    ],
    [
      'flags a string',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, flags: 7 }),
      'flags must be a list',
    ],
    [
      'flags with an integer',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, flags: ['a', 1] }),
      'flags must be a list of strings',
    ],
    [
      'codec a list',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, codec: ['PCMU'] }),
      'codec must be a dictionary',
    ],
    [
      'codec.strip with an integer',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, codec: { strip: [8] } }),
      'codec strip must be a list of strings',
    ],
    [
      'received-from a string',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, 'received-from': '1.2.3.4' }),
      'received-from must be a list',
    ],
    [
      'ICE unknown',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, ICE: 'maybe' }),
      'Invalid ICE value',
    ],
    [
      'media address not an IP',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, 'media address': 'host' }),
      'Invalid media-address',
    ],
    [
      'ptime out of range',
      msg('ck', { command: 'offer', 'call-id': 'c', 'from-tag': 'f', sdp, ptime: 0 }),
      'ptime out of range',
    ],
    ['list limit zero', msg('ck', { command: 'list', limit: 0 }), 'limit out of range'],
    ['list limit a list', msg('ck', { command: 'list', limit: [] }), 'limit must be an integer'],
    [
      'play media, nobody selected',
      msg('ck', { command: 'play media', 'call-id': 'c', file: '/x.wav' }),
      'No participant selected',
    ],
    [
      'play media, no source',
      msg('ck', { command: 'play media', 'call-id': 'c', 'from-tag': 'f' }),
      'No media source given',
    ],
    [
      'play media, two sources',
      msg('ck', { command: 'play media', 'call-id': 'c', 'from-tag': 'f', file: '/x', 'db-id': 1 }),
      'No media source given',
    ],
    ['play DTMF without code', msg('ck', { command: 'play DTMF', 'call-id': 'c', 'from-tag': 'f' }), 'Missing code'],
    [
      'play DTMF code 16',
      msg('ck', { command: 'play DTMF', 'call-id': 'c', 'from-tag': 'f', code: 16 }),
      'Invalid code',
    ],
    [
      'play DTMF code X',
      msg('ck', { command: 'play DTMF', 'call-id': 'c', 'from-tag': 'f', code: 'X' }),
      'Invalid code',
    ],
  ];
  for (const [name, m, reason] of cases)
    it(name, () => {
      const e = parseError(m);
      assert.equal(e.cookie, 'ck');
      if (typeof reason === 'string') assert.equal(e.reason, reason);
      else assert.match(e.reason, reason);
      const reply = ng.formatErrorReply(e)!;
      assert.ok(text(reply).startsWith('ck d'));
      const body = decode(ng.splitMessage(reply).body) as BDict;
      assert.deepEqual(Object.keys(body).sort(), ['error-reason', 'result'], 'nothing else in an error reply');
      assert.equal(body.result, 'error');
      assert.equal(body['error-reason'], e.reason);
    });

  it('no cookie: a typed error with nothing to reply to', () => {
    for (const m of ['d7:command4:pinge', ' d7:command4:pinge', '', 'x'.repeat(300) + ' de']) {
      const e = parseError(latin1(m));
      assert.equal(e.cookie, undefined, JSON.stringify(m.slice(0, 20)));
      assert.equal(ng.formatErrorReply(e), undefined);
    }
  });

  it('an oversized message is refused, with its cookie', () => {
    const e = parseError(msg('big', { command: 'ping', pad: 'x'.repeat(2000) }), { maxMessageBytes: 1000 });
    assert.equal(e.cookie, 'big');
    assert.equal(e.reason, 'Message too large');
  });

  it('errorReplyFor: our reasons, RmsError messages, the port pool as "Ran out of ports", others hidden', () => {
    assert.deepEqual(plain(ng.errorReplyFor(new InvalidArgumentError('SDP: no m= line\r\nsecond'))), {
      result: 'error',
      'error-reason': 'SDP: no m= line second',
    });
    assert.equal(ng.errorReplyFor(new PortsExhaustedError('no ports'))['error-reason'], ng.NG_REASONS.outOfPorts);
    assert.equal(ng.errorReplyFor(new TypeError('secret internals'))['error-reason'], 'Internal error');
    assert.equal(ng.errorReplyFor('a string')['error-reason'], 'Internal error');
    assert.deepEqual(plain(ng.loadLimitReply()), { result: 'load limit', message: 'Parallel session limit reached' });
  });
});

describe('ng replies', () => {
  it('ok with fields, sorted and bencoded behind the cookie', () => {
    const r = ng.formatReply('0_1_2', ng.okReply({ sdp: 'v=0\r\n', warning: undefined, duration: 1500 }));
    assert.equal(text(r), '0_1_2 d8:durationi1500e6:result2:ok3:sdp5:v=0\r\ne');
  });

  it('a reply too large for a datagram becomes an error reply', () => {
    const r = ng.formatReply('c', ng.okReply({ sdp: 'x'.repeat(70_000) }));
    assert.deepEqual(plain(decode(ng.splitMessage(r).body)), { result: 'error', 'error-reason': 'Reply too large' });
    const tcp = ng.formatReply('c', ng.okReply({ sdp: 'x'.repeat(70_000) }), 1 << 20);
    assert.equal((decode(ng.splitMessage(tcp).body) as BDict).result, 'ok');
  });

  it('refuses a reply without result or without a usable cookie', () => {
    assert.throws(() => ng.formatReply('c', dict({ sdp: 'x' })), ControlProtocolError);
    assert.throws(() => ng.formatReply('', ng.pongReply()), ControlProtocolError);
    assert.throws(() => ng.formatReply('a b', ng.pongReply()), ControlProtocolError);
  });
});

describe('ng fuzzing (seeded): only typed errors, no hang', () => {
  const seeds = [
    ...kamailio.plainCall.map((e) => latin1(e.request)),
    ...docs.requests.map((c) => msg(c.cookie, c.request)),
    latin1('5323_1 d7:command4:pinge'),
  ];

  it('4000 random and mutated messages', () => {
    const r = rng(0x5eed);
    const int = (n: number) => Math.floor(r() * n);
    const tokens = [
      'd',
      'l',
      'e',
      'i',
      '-',
      '0',
      '1',
      '9',
      ':',
      ' ',
      '4:',
      'i-0e',
      '999999999:',
      'de',
      'le',
      '7:command',
    ];
    const started = Date.now();
    let parsed = 0;
    let typed = 0;
    for (let n = 0; n < 4000; n++) {
      let m: Buffer;
      const kind = n % 5;
      if (kind === 0) m = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
      else if (kind === 4) {
        // a cookie and a soup of bencode tokens
        let s = `${int(1000)}_${n} `;
        for (let k = int(40); k > 0; k--) s += tokens[int(tokens.length)];
        m = latin1(s);
      } else {
        m = Buffer.from(seeds[int(seeds.length)]);
        for (let k = 1 + int(4); k > 0; k--) {
          const at = int(m.length + 1);
          const op = int(5);
          if (op === 0 && m.length) m[at % m.length] = int(256);
          else if (op === 1) m = Buffer.concat([m.subarray(0, at), Buffer.from([int(256)]), m.subarray(at)]);
          else if (op === 2) m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + int(8))]);
          else if (op === 3) m = m.subarray(0, at);
          else
            m = Buffer.concat([m.subarray(0, at), m.subarray(int(m.length), int(m.length) + int(30)), m.subarray(at)]);
        }
      }
      try {
        const req = ng.parseRequest(m);
        parsed++;
        // whatever parses can be answered
        ng.formatReply(req.cookie, ng.okReply());
      } catch (err) {
        if (!(err instanceof ControlProtocolError))
          assert.fail(`case ${n}: ${String(err)} for ${JSON.stringify(text(m).slice(0, 120))}`);
        typed++;
        const reply = ng.formatErrorReply(err);
        if (reply) assert.equal((decode(ng.splitMessage(reply).body) as BDict).result, 'error');
      }
      try {
        decode(m);
      } catch (err) {
        if (!(err instanceof BencodeError)) assert.fail(`case ${n}: decode threw ${String(err)}`);
      }
    }
    assert.equal(parsed + typed, 4000);
    assert.ok(parsed > 100 && typed > 1000, `parsed ${parsed}, refused ${typed}`);
    assert.ok(Date.now() - started < 30_000, 'no hang');
  });

  it('the stream splitter under random chunking and garbage', () => {
    const r = rng(42);
    const good = seeds.slice(0, 6);
    for (let n = 0; n < 300; n++) {
      const all = Buffer.concat(good.flatMap((g) => [g, r() < 0.3 ? latin1('\r\n') : Buffer.alloc(0)]));
      const dec = new ng.NgStreamDecoder();
      const got: Buffer[] = [];
      for (let at = 0; at < all.length;) {
        const len = 1 + Math.floor(r() * 300);
        got.push(...dec.push(all.subarray(at, at + len)));
        at += len;
      }
      assert.equal(got.length, good.length, `round ${n}`);
      got.forEach((g, k) => assert.ok(g.equals(good[k]), `round ${n} message ${k}`));
      assert.equal(dec.buffered, 0);
    }
    for (let n = 0; n < 1000; n++) {
      const dec = new ng.NgStreamDecoder({ maxMessageBytes: 2048 });
      try {
        for (let k = 0; k < 5; k++)
          dec.push(Buffer.from(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256))));
      } catch (err) {
        assert.ok(err instanceof ControlProtocolError, `round ${n}: ${String(err)}`);
      }
    }
  });
});

describe('ng reply cache (retransmissions)', () => {
  const reply = (cookie: string, n: number) => ng.formatReply(cookie, ng.okReply({ n }));

  it('the same cookie gets the exact same bytes without running again', async () => {
    const cache = new ng.NgReplyCache();
    let runs = 0;
    const produce = () => reply('c1', ++runs);
    const a = await cache.reply('c1', produce);
    const b = await cache.reply('c1', produce);
    assert.equal(runs, 1);
    assert.equal(a.cached, false);
    assert.equal(b.cached, true);
    assert.ok(a.reply.equals(b.reply));
    assert.equal(cache.hits, 1);
    assert.ok(cache.peek('c1')!.equals(a.reply));
    await cache.reply('c2', () => reply('c2', ++runs));
    assert.equal(runs, 2, 'another cookie runs');
  });

  it('a duplicate of a request still running waits for it and gets its reply', async () => {
    const cache = new ng.NgReplyCache();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const produce = async () => {
      runs++;
      await gate;
      return reply('slow', runs);
    };
    const first = cache.reply('slow', produce);
    const second = cache.reply('slow', produce);
    const third = cache.reply('slow', produce);
    assert.equal(cache.peek('slow'), undefined, 'nothing finished yet');
    release();
    const [a, b, c] = await Promise.all([first, second, third]);
    assert.equal(runs, 1);
    assert.deepEqual([a.cached, b.cached, c.cached], [false, true, true]);
    assert.ok(a.reply.equals(b.reply) && a.reply.equals(c.reply));
  });

  it('forgets replies after the TTL and keeps at most maxEntries', async () => {
    let now = 1000;
    const cache = new ng.NgReplyCache({ ttlMs: 100, maxEntries: 3, now: () => now });
    let runs = 0;
    await cache.reply('a', () => reply('a', ++runs));
    now += 99;
    assert.equal((await cache.reply('a', () => reply('a', ++runs))).cached, true);
    now += 1;
    assert.equal((await cache.reply('a', () => reply('a', ++runs))).cached, false, 'expired');
    assert.equal(runs, 2);
    for (const k of ['b', 'c', 'd', 'e']) await cache.reply(k, () => reply(k, ++runs));
    assert.equal(cache.size, 3);
    assert.equal(cache.peek('a'), undefined, 'oldest evicted');
    assert.equal(cache.peek('b'), undefined);
    assert.ok(cache.peek('e'));
    now += 1000;
    await cache.reply('f', () => reply('f', ++runs));
    assert.equal(cache.size, 1, 'expired entries swept');
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('a failing producer is not cached: the waiters see the error, the next try runs again', async () => {
    const cache = new ng.NgReplyCache();
    let runs = 0;
    const boom = async () => {
      runs++;
      throw new Error('boom');
    };
    const [a, b] = await Promise.allSettled([cache.reply('x', boom), cache.reply('x', boom)]);
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected');
    assert.equal(runs, 1);
    assert.equal((await cache.reply('x', () => reply('x', 1))).cached, false);
    await assert.rejects(
      cache.reply('y', () => 'not a buffer' as never),
      ControlProtocolError,
    );
    assert.throws(() => new ng.NgReplyCache({ maxEntries: 0 }), ControlProtocolError);
  });

  it('the cache and the parser together: a retransmitted Kamailio offer runs once', async () => {
    const cache = new ng.NgReplyCache();
    let runs = 0;
    const handle = (datagram: Buffer) => {
      const { cookie } = ng.splitMessage(datagram);
      return cache.reply(cookie, () => {
        runs++;
        const req = ng.parseRequest(datagram);
        return ng.formatReply(req.cookie, ng.okReply({ sdp: req.command === 'offer' ? req.sdp : undefined }));
      });
    };
    const [, first, again] = kamailio.droppedOfferAndErrorAnswer;
    const a = await handle(latin1(first.request));
    const b = await handle(latin1(again.request));
    assert.equal(runs, 1);
    assert.ok(a.reply.equals(b.reply));
  });
});

describe('ng over TCP: messages back to back, no extra framing', () => {
  const m1 = msg('1_1', { command: 'ping' });
  const m2 = msg('1_2', { command: 'query', 'call-id': 'c' });

  it('two messages in one chunk, and one message in byte-sized pieces', () => {
    const dec = new ng.NgStreamDecoder();
    const got = dec.push(Buffer.concat([m1, m2]));
    assert.deepEqual(got.map(text), [text(m1), text(m2)]);
    const out: Buffer[] = [];
    for (const byte of m2) out.push(...dec.push(Buffer.from([byte])));
    assert.deepEqual(out.map(text), [text(m2)]);
  });

  it('a string inside the dictionary that looks like an end does not cut the message', () => {
    const tricky = msg('t', { command: 'offer', 'call-id': 'e e', 'from-tag': 'de', sdp: 'ee 1:e\r\n' });
    const dec = new ng.NgStreamDecoder();
    const got: Buffer[] = [];
    for (let at = 0; at < tricky.length; at += 3) got.push(...dec.push(tricky.subarray(at, at + 3)));
    assert.equal(got.length, 1);
    assert.ok(got[0].equals(tricky));
  });

  it('garbage closes the stream: no cookie, bad bencode, oversized', () => {
    const fails = (chunks: Buffer[], opts?: ng.StreamDecoderOptions) => {
      const dec = new ng.NgStreamDecoder(opts);
      assert.throws(() => chunks.forEach((c) => dec.push(c)), ControlProtocolError);
      assert.throws(() => dec.push(m1), /already failed/);
    };
    fails([Buffer.alloc(300, 0x41)]);
    fails([latin1(' d7:command4:pinge')]);
    fails([latin1('ck x')]);
    fails([latin1('ck d7:command4:ping'), latin1('x')]);
    fails([latin1('ck d3:pad'), latin1('2000:'), Buffer.alloc(2000, 0x61)], { maxMessageBytes: 1000 });
  });
});
