import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const child = path.join(__dirname, 'fixtures', 'lifetime-child.js');

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(mode: string, timeoutMs = 15000): Promise<Outcome> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [child, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function flowed(o: Outcome) {
  const m = /flowing (\d+)/.exec(o.stdout);
  assert.ok(m && Number(m[1]) > 5, `media was not flowing in the child: ${o.stdout} ${o.stderr}`);
}

describe('process lifetime', () => {
  it('a process whose objects are all closed exits on its own', async () => {
    const o = await run('all-closed');
    flowed(o);
    assert.equal(o.timedOut, false, 'process hung after close()');
    assert.equal(o.code, 0, o.stderr);
  });

  it('process.exit() with graphs running does not crash', async () => {
    const o = await run('exit-running');
    flowed(o);
    assert.equal(o.signal, null, `died of ${o.signal}: ${o.stderr}`);
    assert.equal(o.code, 0, o.stderr);
  });

  it('an unref()ed ticker lets the process end with graphs running; the cleanup hook frees them', async () => {
    const o = await run('unref-running');
    flowed(o);
    assert.equal(o.timedOut, false);
    assert.equal(o.signal, null, `died of ${o.signal}: ${o.stderr}`);
    assert.equal(o.code, 0, o.stderr);
  });

  it('an uncaught exception with graphs running exits with code 1, not a native crash', async () => {
    const o = await run('throw-running');
    flowed(o);
    assert.equal(o.signal, null, `died of ${o.signal}: ${o.stderr}`);
    assert.equal(o.code, 1);
    assert.match(o.stderr, /uncaught on purpose/);
  });

  it('running graphs keep the event loop alive (like a listening socket)', async () => {
    const o = await run('keep-alive', 2500);
    flowed(o);
    assert.equal(o.timedOut, true, 'process exited while its call was running');
  });

  it('a worker_threads user with running graphs can be terminated; the main thread keeps its call', async () => {
    const o = await run('worker');
    flowed(o);
    assert.match(o.stdout, /worker: flowing \d+/);
    assert.match(o.stdout, /worker terminated 1/);
    assert.match(o.stdout, /main still flowing true/);
    assert.equal(o.signal, null, `died of ${o.signal}: ${o.stderr}`);
    assert.equal(o.code, 0, o.stderr);
  });
});
