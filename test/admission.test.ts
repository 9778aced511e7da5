/**
 * Admission control: past a configured limit (calls, ticker load, CPU, free
 * ports) new offers are refused with a typed AdmissionError - and with the
 * reason Kamailio fails over on, over ng - while admitted calls go on.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { AdmissionError, MediaLeg, MediaServer, Ticker } from '../lib';
import * as ng from '../lib/control/ng';
import { parseSdp } from '../lib/sdp/parse';
import { tone, writeWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { phoneSdp } from './helpers/sdp';
import { mediaPorts } from './helpers/ports';
import { sleep } from './helpers/wait';

const pcmu = (port: number) => phoneSdp({ port, codecs: [{ pt: 0, name: 'PCMU', rate: 8000 }] });

function refusedFor(reason: AdmissionError['reason']) {
  return (e: unknown) => e instanceof AdmissionError && e.reason === reason && e.code === 'ERR_RMS_ADMISSION';
}

describe('admission control', () => {
  it('maxCalls: the call past the limit is refused, admitted again once one ends', () => {
    const ms = new MediaServer({
      address: '127.0.0.1',
      ports: mediaPorts(100),
      tickers: 1,
      admission: { maxCalls: 2 },
    });
    try {
      ms.offer('c1', pcmu(4000));
      ms.offer('c2', pcmu(4002));
      assert.throws(() => ms.offer('c3', pcmu(4004)), refusedFor('calls'));
      assert.throws(() => ms.ivr('c4', pcmu(4006)), refusedFor('calls'));
      assert.equal(ms.load().calls, 2);
      ms.stop('c1');
      ms.offer('c3', pcmu(4004)).stop();
      // over ng, the reason Kamailio's rtpengine module fails over on
      const reply = ng.errorReplyFor(new AdmissionError('x', 'calls'));
      assert.equal(String(reply['error-reason']), 'Parallel session limit reached');
    } finally {
      ms.close();
    }
  });

  it('minFreePorts: refused before the pool runs dry, nothing leaked', () => {
    // 3 port pairs; a call takes 2
    const ms = new MediaServer({
      address: '127.0.0.1',
      ports: mediaPorts(6),
      tickers: 1,
      admission: { minFreePorts: 2 },
    });
    try {
      ms.offer('p1', pcmu(4000));
      assert.equal(ms.ports.free, 1);
      assert.throws(() => ms.offer('p2', pcmu(4002)), refusedFor('ports'));
      assert.equal(ms.ports.inUse, 2);
      assert.deepEqual(
        ms.sessions().map((s) => s.callId),
        ['p1'],
      );
    } finally {
      ms.close();
    }
  });

  it('maxTickerLoad (set live): refused while the tickers are loaded; the admitted call keeps its media', async () => {
    const dir = tmpDir('rms-admission-');
    writeWav(path.join(dir, 't.wav'), tone(8000, 4, [700]));
    const phones = new Ticker({ name: 'adm-phones' });
    const ms = new MediaServer({
      address: '127.0.0.1',
      ports: mediaPorts(100),
      tickers: 1,
      quality: false,
    });
    const a = new MediaLeg({
      name: 'a',
      codec: 'PCMU',
      local: { address: '127.0.0.1' },
      ticker: phones,
      mediaRoots: [dir],
    });
    const b = new MediaLeg({
      name: 'b',
      codec: 'opus',
      local: { address: '127.0.0.1' },
      ticker: phones,
      mediaRoots: [dir],
    });
    try {
      // idle tickers: the first call is admitted
      const s = ms.offer('load-1', pcmu(a.localPort));
      const offer = parseSdp(s.offerSdp).audio!;
      const opusPt = offer.formats.find((f) => f.name === 'opus')!.pt;
      const ans = parseSdp(
        ms.answer(
          'load-1',
          phoneSdp({ port: b.localPort, codecs: [{ pt: opusPt, name: 'opus', rate: 48000, channels: 2 }] }),
        ),
      ).audio!;
      a.setRemote({ address: '127.0.0.1', port: ans.port });
      b.setRemote({ address: '127.0.0.1', port: offer.port });
      void a.play('t.wav');
      await sleep(1500);
      const load = ms.load().tickerLoad;
      assert.ok(load > 0, `ticker load ${load}`);
      // an operator tightens the limit below the present load
      ms.setAdmission({ maxTickerLoad: load / 2 });
      assert.throws(() => ms.offer('load-2', pcmu(4010)), refusedFor('ticker-load'));
      const before = b.endpoint.stats().packetsReceived;
      await sleep(1000);
      const got = b.endpoint.stats().packetsReceived - before;
      assert.ok(got >= 45, `the admitted call kept flowing (${got} packets in 1 s)`);
    } finally {
      a.close();
      b.close();
      ms.close();
      phones.close();
    }
  });

  it('bad limits are refused at construction', () => {
    assert.throws(
      () => new MediaServer({ address: '127.0.0.1', admission: { maxCpu: -1 } }),
      /admission.maxCpu must be a non-negative number/,
    );
  });
});
