import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import { Factory, InvalidArgumentError, InvalidStateError, RmsError, RtpEndpoint, Ticker } from '../lib';
import { AddressInUseError, GraphError, InUseError, LinkError, MethodError, UnknownNameError } from '../lib/errors';

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const threads = () => fs.readdirSync('/proc/self/task').length;

describe('Factory', () => {
  it('lists the filters and codecs ms2 and this package provide', () => {
    const f = new Factory();
    try {
      const names = f.filters().map((d) => d.name);
      for (const n of [
        'MSRtpRecv',
        'MSRtpSend',
        'MSResample',
        'MSFilePlayer',
        'MSFileRec',
        'MSDtmfGen',
        'MSAudioMixer',
      ])
        assert.ok(names.includes(n), `missing ${n}`);
      const { encoders, decoders } = f.codecs();
      for (const c of ['pcmu', 'pcma', 'g722', 'G729', 'opus', 'CODEC2']) {
        assert.ok(
          encoders.some((e) => e.toLowerCase() === c.toLowerCase()),
          `no ${c} encoder`,
        );
        assert.ok(
          decoders.some((e) => e.toLowerCase() === c.toLowerCase()),
          `no ${c} decoder`,
        );
      }
      // our own Codec2 filters are registered at creation
      assert.equal(f.createEncoder('CODEC2').name, 'RmsCodec2Enc');
    } finally {
      f.close();
    }
  });

  it('refuses unknown filter and codec names with a typed error listing what exists', () => {
    const f = new Factory();
    try {
      assert.throws(
        () => f.createFilter('MSNoSuchFilter'),
        (e: unknown) => {
          assert.ok(e instanceof UnknownNameError && e instanceof RmsError);
          assert.equal(e.code, 'ERR_RMS_UNKNOWN_NAME');
          assert.match(e.message, /MSNoSuchFilter.*available:.*MSRtpRecv/s);
          return true;
        },
      );
      assert.throws(
        () => f.createEncoder('AMR-WB'),
        (e: unknown) => e instanceof UnknownNameError && /encoders available:.*opus/.test((e as Error).message),
      );
      assert.throws(() => f.createDecoder('nope'), UnknownNameError);
      assert.throws(() => f.createFilter({} as unknown as string), InvalidArgumentError);
    } finally {
      f.close();
    }
  });

  it('close() cascades to its filters, is idempotent, and use after close throws InvalidStateError', () => {
    const f = new Factory();
    const enc = f.createEncoder('pcmu');
    const rs = f.resampler();
    f.close();
    f.close();
    assert.equal(enc.closed, true);
    assert.equal(rs.closed, true);
    assert.throws(() => enc.setSampleRate(8000), InvalidStateError);
    assert.throws(() => f.createEncoder('pcmu'), InvalidStateError);
  });
});

describe('Filter', () => {
  it('links pins, refuses a used or missing pin with LinkError, and unlinks', () => {
    const f = new Factory();
    try {
      const dec = f.createDecoder('pcmu');
      const enc = f.createEncoder('opus');
      const other = f.createEncoder('pcma');
      dec.link(enc);
      assert.deepEqual(
        dec.links().map((l) => [l.dir, l.pin, l.peer?.name, l.peerPin]),
        [['out', 0, 'RmsOpusEnc', 0]],
      );
      assert.throws(
        () => dec.link(other),
        (e: unknown) => e instanceof LinkError && /already linked to RmsOpusEnc/.test((e as Error).message),
      );
      assert.throws(
        () => other.link(enc),
        (e: unknown) => e instanceof LinkError && /already linked from/.test((e as Error).message),
      );
      assert.throws(
        () => dec.link(other, { from: 3 }),
        (e: unknown) => e instanceof LinkError && /pin 3 does not exist/.test((e as Error).message),
      );
      assert.throws(() => dec.unlink(other), LinkError);
      dec.unlink(enc);
      assert.deepEqual(dec.links(), []);
      dec.link(other); // the pin is free again
    } finally {
      f.close();
    }
  });

  it('calls typed methods, and refuses unsupported ones with MethodError', () => {
    const f = new Factory();
    try {
      const rs = f.resampler();
      rs.setRates(8000, 48000);
      const enc = f.createEncoder('opus');
      enc.setSampleRate(16000);
      assert.equal(enc.getSampleRate(), 16000);
      enc.setPtime(40);
      assert.equal(enc.getPtime(), 40);
      enc.setBitrate(24000);
      const pcmu = f.createEncoder('pcmu');
      assert.throws(
        () => pcmu.call('MS_FILE_PLAYER_START'),
        (e: unknown) =>
          e instanceof MethodError && /does not implement MS_FILE_PLAYER_START/.test((e as Error).message),
      );
      assert.throws(() => rs.setSampleRate('8000' as unknown as number), InvalidArgumentError);
      assert.throws(() => rs.call('MS_NOT_A_METHOD' as never), InvalidArgumentError);
    } finally {
      f.close();
    }
  });
});

describe('Ticker and graphs', () => {
  it('refuses graphs that would crash ms2, and live edits of an attached graph', () => {
    const f = new Factory();
    const t = new Ticker();
    try {
      const dec = f.createDecoder('pcmu');
      const enc = f.createEncoder('pcma');
      dec.link(enc);
      assert.throws(
        () => t.attach(dec),
        (e: unknown) => e instanceof GraphError && /no source/.test((e as Error).message),
      );
      const player = f.filePlayer();
      player.link(dec);
      assert.throws(
        () => t.attach(player),
        (e: unknown) =>
          e instanceof GraphError && /output pin 0 of filter MSAlawEnc is not linked/.test((e as Error).message),
      );
      const sink = f.createFilter('MSVoidSink');
      enc.link(sink);
      t.attach(player);
      assert.equal(t.stats().graphs, 1);
      assert.throws(() => t.attach(dec), GraphError);
      assert.throws(() => enc.unlink(sink), InvalidStateError);
      assert.throws(() => dec.close(), InvalidStateError);
      t.detach(dec); // any filter of the graph names it
      assert.equal(t.stats().graphs, 0);
      enc.unlink(sink);
      dec.close();
    } finally {
      t.close();
      f.close();
    }
  });

  it('reports load and counts ticks', async () => {
    const t = new Ticker({ name: 'stats' });
    try {
      await new Promise((r) => setTimeout(r, 250));
      const s = t.stats();
      assert.ok(s.ticks >= 15, `ticks ${s.ticks}`);
      assert.equal(s.intervalMs, 10);
      assert.ok(s.load >= 0 && s.load < 100);
      assert.ok(s.lateTicks <= s.ticks);
    } finally {
      t.close();
    }
    assert.throws(() => t.stats(), InvalidStateError);
  });
});

describe('RtpEndpoint', () => {
  it('binds a free even/odd pair with port 0 and reports it', () => {
    const ep = new RtpEndpoint({ address: '127.0.0.1' });
    try {
      assert.ok(ep.port > 0 && ep.port % 2 === 0);
      assert.equal(ep.rtcpPort, ep.port + 1);
      assert.equal(ep.info().rtpPort, ep.port);
    } finally {
      ep.close();
    }
  });

  it('binds IPv6 loopback', () => {
    const ep = new RtpEndpoint({ address: '::1' });
    ep.close();
  });

  it('refuses a port in use with AddressInUseError and leaks nothing', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const busy = sock.address().port;
    const fds = openFds();
    try {
      for (let i = 0; i < 20; i++)
        assert.throws(
          () => new RtpEndpoint({ address: '127.0.0.1', port: busy }),
          (e: unknown) => e instanceof AddressInUseError && e.code === 'ERR_RMS_ADDRESS_IN_USE',
        );
      assert.equal(openFds(), fds);
    } finally {
      sock.close();
    }
  });

  it('validates options with typed errors', () => {
    assert.throws(() => new RtpEndpoint({ address: 'not-an-ip' }), InvalidArgumentError);
    assert.throws(() => new RtpEndpoint({ address: '127.0.0.1', port: 70000 }), InvalidArgumentError);
    assert.throws(
      () => new RtpEndpoint({ address: '127.0.0.1', payloadTypes: [{ pt: 200, mime: 'PCMU', clockRate: 8000 }] }),
      InvalidArgumentError,
    );
    assert.throws(
      () => new RtpEndpoint({ address: '127.0.0.1', jitterBuffer: { minMs: 100, nominalMs: 50 } }),
      InvalidArgumentError,
    );
  });

  it('cannot be closed while a filter uses it (InUseError), then closes', () => {
    const f = new Factory();
    const ep = new RtpEndpoint({ address: '127.0.0.1' });
    try {
      const recv = f.rtpReceiver();
      recv.setEndpoint(ep);
      assert.throws(() => ep.close(), InUseError);
      recv.close();
      ep.close();
      ep.close();
      assert.throws(() => ep.stats(), InvalidStateError);
    } finally {
      f.close();
      ep.close();
    }
  });
});

describe('resources', () => {
  it('creating and closing endpoints, filters and tickers leaves no fd or thread behind', async () => {
    // warm-up: the first factory and ticker load libraries and pools
    const warm = new Factory();
    new Ticker().close();
    warm.close();
    const fds = openFds();
    const th = threads();
    for (let i = 0; i < 50; i++) {
      const f = new Factory();
      const t = new Ticker();
      const ep = new RtpEndpoint({ address: '127.0.0.1', payloadTypes: [{ pt: 0, mime: 'PCMU', clockRate: 8000 }] });
      const recv = f.rtpReceiver();
      recv.setEndpoint(ep);
      const dec = f.createDecoder('pcmu');
      const enc = f.createEncoder('opus');
      const send = f.rtpSender();
      send.setEndpoint(ep);
      recv.link(dec).link(enc).link(send);
      t.attach(recv);
      t.close(); // detaches
      f.close(); // frees the filters
      ep.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(openFds(), fds, 'file descriptors');
    assert.equal(threads(), th, 'threads');
  });
});
