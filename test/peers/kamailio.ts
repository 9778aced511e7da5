/**
 * Kamailio (Debian 12 `kamailio` 5.6.3, with its rtpengine module) as the SIP
 * proxy in front of rtp-media-server daemons, for end-to-end tests. It runs in
 * the foreground (-DD, log on stderr with -E) from
 * test/peers/kamailio-rtpengine.cfg, with the SIP port, the ng nodes, the
 * flags and the failover timing given as -A defines.
 *
 * Kamailio forks worker processes. It is started in a process group of its
 * own (it may signal its whole group), stopped with SIGTERM (the main process
 * then ends its children), and any child still there afterwards, or when
 * this Node process exits, is SIGKILLed by pid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireBinary, spawnBounded, udpBound, waitUntil, type BoundedProcess, type ExitInfo } from './proc';

export const KAMAILIO_CFG = path.resolve(__dirname, '../../../test/peers/kamailio-rtpengine.cfg');

export interface KamailioOptions {
  sipPort: number;
  /** The rtpengine set: every node with weight 1. */
  nodes: { host: string; port: number }[];
  /** rtpengine_manage() flags for offers and answers. */
  flags?: string;
  /** start_forwarding() flags, called on the ACK of a call (absent: no forwarding). */
  forwardFlags?: string;
  /** rtpengine_tout_ms (default 1000). */
  toutMs?: number;
  /** rtpengine_retr, tries per node (default 2). */
  retr?: number;
  /** rtpengine_disable_tout, s (default 60). */
  disableTout?: number;
  /** Hard deadline (default 90 s). */
  maxMs?: number;
}

export interface Kamailio {
  proc: BoundedProcess;
  args: string[];
  /** Its log (stderr) so far. */
  log(): string;
  /** SIGTERM (SIGKILL after 3 s), then any worker left over is killed. */
  stop(): Promise<ExitInfo>;
}

const leftovers = new Set<number>();
let hooked = false;

function alive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'kamailio';
  } catch {
    return false;
  }
}

function killLeftovers(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    leftovers.delete(pid);
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  requireBinary('kamailio', 'kamailio');
  const q = (s: string) => `"${s}"`;
  const args = [
    '-f',
    KAMAILIO_CFG,
    '-DD',
    '-E',
    '-m',
    '64',
    '-M',
    '8',
    '-A',
    `LISTEN=udp:127.0.0.1:${o.sipPort}`,
    '-A',
    `NG_SOCK=${q(o.nodes.map((n) => `udp:${n.host}:${n.port}`).join(' '))}`,
    '-A',
    `TOUT_MS=${o.toutMs ?? 1000}`,
    '-A',
    `RETR=${o.retr ?? 2}`,
    '-A',
    `DISABLE_TOUT=${o.disableTout ?? 60}`,
  ];
  if (o.flags) args.push('-A', `RTPE_FLAGS=${q(o.flags)}`);
  if (o.forwardFlags) args.push('-A', `FORWARD_FLAGS=${q(o.forwardFlags)}`);
  const proc = spawnBounded('kamailio', 'kamailio', args, { maxMs: o.maxMs ?? 90_000, detached: true });
  if (!hooked) {
    hooked = true;
    process.on('exit', () => killLeftovers([...leftovers]));
  }
  try {
    await waitUntil(() => udpBound(o.sipPort), 8000, `kamailio on udp ${o.sipPort}`, proc);
    // the workers are forked by now (they bind after the main process set up)
    await waitUntil(() => childrenOf(proc.pid).length >= 3, 3000, 'kamailio workers', proc);
  } catch (err) {
    await proc.stop(2000);
    throw new Error(`${(err as Error).message}\n${proc.stderr().slice(-4000)}`);
  }
  const workers = childrenOf(proc.pid);
  for (const w of workers) leftovers.add(w);
  return {
    proc,
    args,
    log: () => proc.stderr(),
    async stop() {
      const ex = await proc.stop(3000);
      killLeftovers(workers);
      return ex;
    },
  };
}
