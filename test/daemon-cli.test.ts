/**
 * The `rtp-media-server` binary: --help, configuration errors, a port already
 * taken, and the graceful SIGTERM (new calls get load limit, calls in progress
 * go on and are still controlled, exit 0 once they ended or at the drain
 * timeout, with everything closed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DAEMON_BIN, startDaemon, type DaemonProcess } from './helpers/daemonProcess';
import { NgClient } from './helpers/ngClient';
import { phoneSdp } from './helpers/sdp';
import { killAllPeers, udpBound } from './peers/proc';
import { sleep } from './helpers/wait';

const PCMU = { pt: 0, name: 'PCMU', rate: 8000 };
const run = (args: string[]) =>
  spawnSync(process.execPath, [DAEMON_BIN, ...args], { encoding: 'utf8', timeout: 15_000, env: { ...process.env } });

describe('rtp-media-server binary', () => {
  const clients: NgClient[] = [];
  after(() => {
    for (const c of clients) c.close();
    killAllPeers();
  });

  async function callThrough(d: DaemonProcess, callId: string): Promise<NgClient> {
    const ng = await NgClient.create(d.udp);
    clients.push(ng);
    const off = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'a',
      sdp: phoneSdp({ port: 4000, codecs: [PCMU] }),
      supports: ['load limit'],
    });
    assert.equal(off.result, 'ok');
    const ans = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'a',
      'to-tag': 'b',
      sdp: phoneSdp({ port: 4002, codecs: [PCMU] }),
    });
    assert.equal(ans.result, 'ok');
    return ng;
  }

  it('--help, unknown commands and bad configuration', { timeout: 30_000 }, () => {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: rtp-media-server serve/);
    assert.match(help.stdout, /--control-udp IP:PORT\|off/);
    assert.equal(run(['serve', '--help']).status, 0);
    const unknown = run(['launch']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "launch"/);
    const exposed = run(['serve', '--control-udp', '0.0.0.0:22222']);
    assert.equal(exposed.status, 2);
    assert.match(exposed.stderr, /reachable from other machines/);
    const dry = run(['serve', '--dry-run', '--tickers', '3']);
    assert.equal(dry.status, 0);
    assert.equal(JSON.parse(dry.stdout).tickers, 3);
  });

  it('-h, --version, and a mistyped command or flag answered with the closest one', { timeout: 30_000 }, () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const v = run([flag]);
      assert.equal(v.status, 0);
      assert.equal(v.stdout.trim(), pkg.version);
    }
    const h = run(['-h']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Usage: rtp-media-server serve/);
    assert.match(h.stdout, /--version, -v/);
    assert.equal(run(['serve', '-h']).stdout, h.stdout);
    const cmd = run(['serv']);
    assert.equal(cmd.status, 2);
    assert.match(cmd.stderr, /unknown command "serv"; did you mean serve\?/);
    const flag = run(['serve', '--tickerz', '2']);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /unknown option "--tickerz"; did you mean --tickers\?/);
    const missing = run(['serve', '--ports']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--ports needs a value/);
  });

  it('a control port already in use: exit 1 with the reason, nothing left bound', { timeout: 20_000 }, async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
    try {
      const port = holder.address().port;
      const r = run(['serve', '--control-udp', `127.0.0.1:${port}`, '--metrics', 'off', '--tickers', '1']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /cannot start: .*EADDRINUSE/);
    } finally {
      holder.close();
    }
  });

  it(
    'SIGTERM: new calls get load limit, the call in progress goes on; exit 0 right after its delete',
    { timeout: 30_000 },
    async () => {
      const d = await startDaemon([
        '--control-udp=127.0.0.1:0',
        '--metrics=off',
        '--ports=34600-34699',
        '--tickers=1',
        '--drain-timeout=10',
      ]);
      const port = d.udp.port;
      const ng = await callThrough(d, 'drain-1');
      d.terminate();
      await sleep(200);
      assert.equal(d.proc.running(), true, 'still running while a call is up');
      assert.equal((await ng.request({ command: 'ping' })).result, 'pong');
      const refused = await ng.request({
        command: 'offer',
        'call-id': 'drain-2',
        'from-tag': 'a',
        sdp: phoneSdp({ port: 4010, codecs: [PCMU] }),
        supports: ['load limit'],
      });
      assert.deepEqual(refused, { result: 'load limit', message: 'Parallel session limit reached' });
      assert.equal((await ng.request({ command: 'query', 'call-id': 'drain-1' })).result, 'ok');
      const t0 = Date.now();
      assert.equal((await ng.request({ command: 'delete', 'call-id': 'drain-1' })).result, 'ok');
      const ex = await d.exited;
      const after = Date.now() - t0;
      assert.equal(ex.code, 0);
      assert.ok(after < 1500, `exited ${after} ms after the last call ended`);
      const exit = d.events.find((e) => e.event === 'exit');
      assert.equal(exit?.ended, 1);
      assert.equal(exit?.closed, 0);
      assert.equal(udpBound(port), false, 'control port released');
    },
  );

  it('SIGTERM with a call that does not end: closed at the drain timeout, exit 0', { timeout: 30_000 }, async () => {
    const d = await startDaemon(['--control-udp=127.0.0.1:0', '--metrics=off', '--ports=34700-34799', '--tickers=1'], {
      env: { RMS_DRAIN_TIMEOUT: '1' },
    });
    await callThrough(d, 'stuck-1');
    const t0 = Date.now();
    d.terminate();
    const ex = await d.exited;
    const took = Date.now() - t0;
    assert.equal(ex.code, 0);
    assert.ok(took >= 950 && took < 3000, `exited after ${took} ms`);
    const exit = d.events.find((e) => e.event === 'exit');
    assert.equal(exit?.closed, 1);
    assert.equal(exit?.ended, 0);
  });
});
