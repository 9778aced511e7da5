/**
 * Debian's rtpengine-daemon (userspace, no kernel table) as the reference the
 * side-by-side tests compare our daemon with: started on loopback with media
 * ports above the kernel's ephemeral range, answering ping before it is used.
 */
import * as fs from 'node:fs';
import { NgClient, str } from '../helpers/ngClient';
import { reservePorts } from '../helpers/ports';
import { sleep } from '../helpers/wait';
import { spawnBounded, type BoundedProcess } from './proc';

/** The installed rtpengine binary, if any. */
export const RTPENGINE = ['/usr/bin/rtpengine', '/usr/sbin/rtpengine'].find((p) => fs.existsSync(p));

export interface Rtpengine {
  proc: BoundedProcess;
  ng: NgClient;
  stop(): Promise<void>;
}

/** Starts rtpengine (bounded to `maxMs`) and waits for its pong. */
export async function startRtpengine(opts: { maxMs?: number; ports?: number } = {}): Promise<Rtpengine> {
  if (!RTPENGINE) throw new Error('rtpengine-daemon is not installed');
  const n = opts.ports ?? 200;
  const media = reservePorts(n, [61000, 62000]);
  const ngPort = reservePorts(100, [62000, 63000]);
  const proc = spawnBounded(
    'rtpengine',
    RTPENGINE,
    [
      '--config-file=none',
      '--foreground',
      '--table=-1',
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${media}`,
      `--port-max=${media + n - 1}`,
      '--log-stderr',
      '--log-level=4',
    ],
    { maxMs: opts.maxMs ?? 60_000 },
  );
  const ng = await NgClient.create({ host: '127.0.0.1', port: ngPort });
  for (let i = 0; ; i++) {
    const pong = await ng.raw(NgClient.message(`p${i}`, { command: 'ping' }), `p${i}`, 200);
    if (pong && str(pong.dict.result) === 'pong') break;
    if (i > 25 || !proc.running()) {
      ng.close();
      await proc.stop();
      throw new Error(`rtpengine did not answer ping:\n${proc.stderr()}`);
    }
    await sleep(200);
  }
  return {
    proc,
    ng,
    async stop() {
      ng.close();
      await proc.stop();
    },
  };
}
