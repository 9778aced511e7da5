/**
 * Native log lines (oRTP, mediastreamer2) reach the application's logger:
 * a MediaServer given a pino logger takes the process' native log; RTP sent
 * to a port nobody listens on makes oRTP log "Connection refused" on every
 * packet (50 a second here), which arrives once at error level, its repeats
 * counted and summarised (on close here, else at the end of the window).
 */
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MediaServer, Ticker } from '../lib';
import { NativeLogRoute } from '../lib/util/log';
import { AudioPeer, tone, writeWav } from '../lib/tools';
import { tmpDir } from './helpers/call';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  level: number;
  msg: string;
  native?: boolean;
  domain?: string;
  repeats?: number;
  app?: string;
}

function capture(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  return { log, lines };
}

/** A UDP port that was just free: ICMP port unreachable comes back for what is sent there. */
async function deadPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('native log lines in the application logger', () => {
  it('a dead peer: "Connection refused" once at error level, then its repeat count', { timeout: 20_000 }, async () => {
    const { log, lines } = capture();
    const media = new MediaServer({
      address: '127.0.0.1',
      ports: [35600, 35699],
      tickers: 1,
      logger: log.child({ app: 'test' }),
    });
    const dir = tmpDir('rms-native-log-');
    writeWav(path.join(dir, 'a.wav'), tone(8000, 3, [1000]));
    const t = new Ticker({ name: 'phone' });
    const peer = new AudioPeer({ codec: 'PCMU', sendFile: path.join(dir, 'a.wav') });
    try {
      peer.endpoint.setRemote({ address: '127.0.0.1', port: await deadPort() });
      peer.start(t);
      await sleep(1500);
      const sends = peer.endpoint.stats().packetsSent;
      const refused = lines.filter((l) => l.native && /Connection refused/.test(l.msg));
      assert.equal(refused.length, 1, `one line, not one per packet (${sends} sent): ${JSON.stringify(refused)}`);
      assert.equal(refused[0].level, 50, 'error level');
      assert.equal(refused[0].domain, 'ortp');
      assert.equal(refused[0].app, 'test', "the app's child logger");
    } finally {
      peer.close();
      t.close();
      media.close();
    }
    const summary = lines.filter((l) => l.native && l.repeats !== undefined && /Connection refused/.test(l.msg));
    assert.equal(summary.length, 1, JSON.stringify(summary));
    assert.ok(summary[0].repeats! >= 10, `repeats counted: ${summary[0].repeats}`);
    assert.match(summary[0].msg, /repeated \d+ time\(s\) in 10 s/);
  });

  it('repeats: one line per window and key (numbers ignored), a summary at its end, levels mapped', () => {
    const { log, lines } = capture();
    const route = new NativeLogRoute(log, { repeatWindowMs: 1000, maxTracked: 2 });
    const refused = (socket: number): [number, string, string, number] => [
      16,
      'ortp',
      `Error sending rtp packet: Connection refused ; socket=${socket}`,
      1,
    ];
    route.deliver([refused(31), refused(32), [4, 'mediastreamer', 'hello', 3]], 0, 0);
    route.deliver([refused(33), [8, 'ortp', 'a warning', 1]], 2, 500);
    route.flush(999);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        [50, 'Error sending rtp packet: Connection refused ; socket=31'],
        [30, 'hello'],
        [30, 'hello (repeated 2 more time(s))'],
        [40, 'a warning'],
        // a third distinct key pushes out the oldest (maxTracked 2): its count comes early
        [50, 'Error sending rtp packet: Connection refused ; socket=31 (repeated 2 time(s) in 1 s)'],
        [40, 'native log: 2 line(s) dropped (queue full)'],
      ],
    );
    route.flush(1600);
    assert.equal(lines.length, 6, 'nothing repeated since');
    route.deliver([refused(40)], 0, 1700);
    assert.equal(lines[6].msg, 'Error sending rtp packet: Connection refused ; socket=40', 'a new window logs again');
    assert.equal(route.dropped, 2);
    route.close();
  });
});
