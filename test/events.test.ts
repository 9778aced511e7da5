import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Factory, Ticker } from '../lib';
import { tmpDir } from './helpers/call';
import { tone, writeWav } from '../lib/util/wav';

describe('events from the ticker thread', () => {
  it('file player end-of-file reaches JS on the main thread, after the file has played', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'half-second.wav');
    writeWav(file, tone(8000, 0.5, [440]));
    const f = new Factory();
    const t = new Ticker({ name: 'events' });
    try {
      const player = f.filePlayer();
      player.open(file);
      assert.ok(Math.abs(player.durationMs() - 500) <= 1, `duration ${player.durationMs()}`);
      const sink = f.createFilter('MSVoidSink');
      player.link(sink);
      const started = Date.now();
      const eof = new Promise<number>((resolve) => player.once('eof', () => resolve(Date.now() - started)));
      const notifications: string[] = [];
      player.on('notification', (n) => notifications.push(n.name ?? String(n.id)));
      player.start();
      t.attach(player);
      const elapsed = await eof;
      assert.ok(elapsed >= 450 && elapsed < 2000, `eof after ${elapsed} ms`);
      assert.equal(notifications.filter((n) => n === 'MS_FILE_PLAYER_EOF').length, 1, `${notifications}`);
      assert.ok(
        notifications.every((n) => n.startsWith('MS_')),
        `unnamed events: ${notifications}`,
      );
    } finally {
      t.close();
      f.close();
    }
  });

  it('a listener that throws goes to the listenererror event; delivery and the ticker go on', async () => {
    const f = new Factory();
    const t = new Ticker({ name: 'events2' });
    const dir = tmpDir();
    const file = path.join(dir, 'short.wav');
    writeWav(file, tone(8000, 0.2, [440]));
    try {
      const player = f.filePlayer();
      player.open(file);
      player.setLoop(0); // loop without pause: EOF each time round
      player.link(f.createFilter('MSVoidSink'));
      const errors: unknown[] = [];
      let eofs = 0;
      player.on('listenererror', (_event, e) => errors.push(e));
      player.on('eof', () => {
        eofs++;
        throw new Error('listener bug');
      });
      player.start();
      t.attach(player);
      await new Promise((r) => setTimeout(r, 1000));
      // looping players notify EOF on every wrap
      assert.ok(eofs >= 2, `eofs ${eofs}`);
      assert.equal(errors.length, eofs);
      assert.match(String(errors[0]), /listener bug/);
      assert.ok(t.stats().ticks > 50);
    } finally {
      t.close();
      f.close();
    }
  });

  it('listeners must be added before the graph runs (no callback registration on a live filter)', () => {
    const f = new Factory();
    const t = new Ticker();
    try {
      const src = f.createFilter('MSVoidSource');
      const enc = f.createEncoder('pcmu');
      src.link(enc).link(f.createFilter('MSVoidSink'));
      t.attach(src);
      assert.throws(() => enc.on('notification', () => {}), /before its graph is attached/);
    } finally {
      t.close();
      f.close();
    }
  });
});
