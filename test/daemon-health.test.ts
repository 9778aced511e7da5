/**
 * The daemon's metrics port: /metrics passes `promtool check metrics` (names,
 * units, types) and carries prom-client's process and Node.js metrics;
 * /health and /ready say what a balancer or an orchestrator needs: draining
 * (a real call in progress, RTP flowing, while the daemon drains), refusing
 * (at the session limit), a media address that cannot be bound (start
 * refused for media.address; unhealthy for media.address6).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { Ticker } from '../lib';
import { parseSdp } from '../lib/sdp';
import { AudioPeer, tone, writeWav } from '../lib/tools';
import { ConfigError, Daemon, defaultConfig, validate, type DaemonConfig, type HealthReport } from '../lib/daemon';
import { tmpDir } from './helpers/call';
import { NgClient, str } from './helpers/ngClient';
import { phoneSdp } from './helpers/sdp';

const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(d: Daemon, urlPath: string): Promise<{ status: number; body: string; type?: string }> {
  const a = d.addresses().metrics!;
  return new Promise((resolve, reject) => {
    http
      .get(`http://${a.address}:${a.port}${urlPath}`, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

async function health(d: Daemon, which: '/health' | '/ready'): Promise<{ status: number; report: HealthReport }> {
  const r = await get(d, which);
  assert.equal(r.type, 'application/json');
  return { status: r.status, report: JSON.parse(r.body) as HealthReport };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"=+]/g, (c) => '\\' + c)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  assert.ok(!r.error, `promtool runs (Debian package prometheus): ${r.error?.message}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

const config = (ports: [number, number], extra: Partial<DaemonConfig> = {}): DaemonConfig =>
  validate({
    ...defaultConfig(),
    control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
    media: { address: '127.0.0.1', ports },
    tickers: 1,
    metrics: { host: '127.0.0.1', port: 0 },
    drainTimeoutSec: 30,
    ...extra,
  });

describe('daemon /metrics, /health and /ready', { timeout: 60_000 }, () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('promtool-clean metrics; draining with a call in progress: /ready 503, /health 200; then ready no more', async () => {
    const dir = tmpDir('rms-health-');
    writeWav(path.join(dir, 'a.wav'), tone(8000, 6, [1000]));
    const d = await Daemon.start(config([35200, 35299], { maxSessions: 2 }));
    closers.push(() => d.close());
    const ng = await NgClient.create({ host: '127.0.0.1', port: d.addresses().udp!.port });
    closers.push(() => ng.close());
    const phones = new Ticker({ name: 'phones' });
    closers.push(() => phones.close());

    let h = await health(d, '/ready');
    assert.equal(h.status, 200);
    assert.deepEqual(
      {
        status: h.report.status,
        healthy: h.report.healthy,
        draining: h.report.draining,
        admission: h.report.admission,
      },
      { status: 'ok', healthy: true, draining: false, admission: { open: true } },
    );
    assert.deepEqual(h.report.media, [{ key: 'media.address', address: '127.0.0.1', bindable: true }]);

    // a real call: A's RTP crosses the daemon to B
    const a = new AudioPeer({ codec: 'PCMU', sendFile: path.join(dir, 'a.wav') });
    const b = new AudioPeer({ codec: 'PCMU', recordFile: path.join(dir, 'b-in.wav') });
    closers.push(() => (a.close(), b.close()));
    const off = await ng.request({
      command: 'offer',
      'call-id': 'health-1',
      'from-tag': 'a',
      sdp: phoneSdp({ port: a.port, codecs: [PCMU] }),
      supports: ['load limit'],
    });
    assert.equal(off.result, 'ok');
    const ans = await ng.request({
      command: 'answer',
      'call-id': 'health-1',
      'from-tag': 'a',
      'to-tag': 'b',
      sdp: phoneSdp({ port: b.port, codecs: [PCMU] }),
    });
    assert.equal(ans.result, 'ok');
    const toB = parseSdp(str(off.sdp)!).audio!;
    const toA = parseSdp(str(ans.sdp)!).audio!;
    a.endpoint.setRemote({ address: toA.address, port: toA.port });
    b.endpoint.setRemote({ address: toB.address, port: toB.port });
    a.start(phones);
    b.start(phones);
    await sleep(600);

    const m = await get(d, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type!, /^text\/plain; version=0\.0\.4/);
    const lint = promtool(m.body);
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.out}`);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'])
      assert.match(m.body, new RegExp(`^${name} `, 'm'), `default metric ${name}`);
    assert.equal(metric(m.body, 'rms_calls_active'), 1);
    assert.equal(metric(m.body, 'rms_draining'), 0);
    assert.ok(metric(m.body, 'rms_rtp_packets_received_total') > 10, 'RTP counted');
    const load = metric(m.body, 'rms_ticker_load_ratio{ticker="0"}');
    assert.ok(load >= 0 && load < 1, `a ratio: ${load}`);
    assert.doesNotMatch(m.body, /^# TYPE \S+_total gauge$/m, 'no gauge named _total');
    assert.doesNotMatch(m.body, /^# TYPE rms_\S*(_ms|_percent)\b/m, 'base units');

    const drained = d.shutdown();
    h = await health(d, '/ready');
    assert.equal(h.status, 503, 'not ready while draining');
    assert.equal(h.report.status, 'draining');
    assert.equal(h.report.calls, 1);
    const live = await health(d, '/health');
    assert.equal(live.status, 200, 'but healthy: nothing to restart');
    const during = await get(d, '/metrics');
    assert.equal(metric(during.body, 'rms_draining'), 1);
    assert.equal(metric(during.body, 'rms_calls_active'), 1);
    assert.equal(promtool(during.body).status, 0);
    const refused = await ng.request({
      command: 'offer',
      'call-id': 'health-2',
      'from-tag': 'a',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
      supports: ['load limit'],
    });
    assert.equal(refused.result, 'load limit');
    assert.equal((await ng.request({ command: 'delete', 'call-id': 'health-1' })).result, 'ok');
    assert.deepEqual({ ...(await drained), waitedMs: 0 }, { ended: 1, closed: 0, waitedMs: 0 });
  });

  it('at the session limit /ready is 503 "refusing" with the reason, /health stays 200', async () => {
    const d = await Daemon.start(config([35300, 35399], { maxSessions: 1 }));
    closers.push(() => d.close());
    const ng = await NgClient.create({ host: '127.0.0.1', port: d.addresses().udp!.port });
    closers.push(() => ng.close());
    const off = await ng.request({
      command: 'offer',
      'call-id': 'limit-1',
      'from-tag': 'a',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
    });
    assert.equal(off.result, 'ok');
    const h = await health(d, '/ready');
    assert.equal(h.status, 503);
    assert.equal(h.report.status, 'refusing');
    assert.deepEqual(h.report.admission, { open: false, reason: '1 calls, the configured maximum' });
    assert.equal((await health(d, '/health')).status, 200);
    await d.close();
  });

  it('a media address that cannot be bound: start refused (media.address) or unhealthy (media.address6)', async () => {
    await assert.rejects(
      Daemon.start(config([35400, 35499], { media: { address: '192.0.2.1', ports: [35400, 35499] } })),
      (e: unknown) =>
        e instanceof ConfigError && /media\.address 192\.0\.2\.1 cannot be bound \(EADDRNOTAVAIL\)/.test(e.message),
    );
    const d = await Daemon.start(
      config([35400, 35499], { media: { address: '127.0.0.1', address6: '::2', ports: [35400, 35499] } }),
    );
    closers.push(() => d.close());
    for (const which of ['/health', '/ready'] as const) {
      const h = await health(d, which);
      assert.equal(h.status, 503, which);
      assert.equal(h.report.status, 'unhealthy');
      assert.deepEqual(h.report.media[1], {
        key: 'media.address6',
        address: '::2',
        bindable: false,
        error: 'EADDRNOTAVAIL',
      });
    }
    const m = await get(d, '/metrics');
    assert.equal(m.status, 200, 'metrics still served');
    assert.equal(promtool(m.body).status, 0);
    // the IPv4 side still takes calls
    const ng = await NgClient.create({ host: '127.0.0.1', port: d.addresses().udp!.port });
    closers.push(() => ng.close());
    const off = await ng.request({
      command: 'offer',
      'call-id': 'v4-1',
      'from-tag': 'a',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
    });
    assert.equal(off.result, 'ok');
    await d.close();
  });
});
