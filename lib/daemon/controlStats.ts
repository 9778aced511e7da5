/**
 * rtpengine's `controlstatistics`: per proxy (the address ng requests came
 * from), how many requests of each command it sent and the time spent
 * carrying them out, and how many got an error reply; then the counts over
 * every proxy. Key names are rtpengine's short command names (`offercount`,
 * `offerduration`, ...); durations are seconds with six decimals, as
 * strings, as rtpengine writes them.
 */
import { dict, type BDict } from '../control/bencode';

/** rtpengine's short name of each ng command, in its order. */
const SHORT: [string, string][] = [
  ['ping', 'ping'],
  ['offer', 'offer'],
  ['answer', 'answer'],
  ['delete', 'delete'],
  ['query', 'query'],
  ['list', 'list'],
  ['start recording', 'startrec'],
  ['stop recording', 'stoprec'],
  ['start forwarding', 'startfwd'],
  ['stop forwarding', 'stopfwd'],
  ['block DTMF', 'blkdtmf'],
  ['unblock DTMF', 'unblkdtmf'],
  ['block media', 'blkmedia'],
  ['unblock media', 'unblkmedia'],
  ['play media', 'playmedia'],
  ['stop media', 'stopmedia'],
  ['play DTMF', 'playdtmf'],
  ['statistics', 'stats'],
  ['silence media', 'slnmedia'],
  ['unsilence media', 'unslnmedia'],
  ['publish', 'pub'],
  ['subscribe request', 'subreq'],
  ['subscribe answer', 'subans'],
  ['unsubscribe', 'unsub'],
];

interface ProxyCounts {
  counts: Map<string, number>;
  /** Time carrying the requests out, ns. */
  ns: Map<string, bigint>;
  errors: number;
}

/** Seconds with six decimals from nanoseconds, as rtpengine prints them. */
const seconds = (ns: bigint) => {
  const us = ns / 1000n;
  return `${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')}`;
};

export class ControlStats {
  readonly #proxies = new Map<string, ProxyCounts>();

  /** One request from `proxy` carried out in `ns` nanoseconds; `error`: its reply was an error. */
  record(proxy: string, command: string, ns: bigint, error: boolean): void {
    let p = this.#proxies.get(proxy);
    if (!p) {
      p = { counts: new Map(), ns: new Map(), errors: 0 };
      this.#proxies.set(proxy, p);
    }
    p.counts.set(command, (p.counts.get(command) ?? 0) + 1);
    p.ns.set(command, (p.ns.get(command) ?? 0n) + ns);
    if (error) p.errors++;
  }

  /** The `controlstatistics` dictionary. */
  section(): BDict {
    const proxies: BDict[] = [];
    const total = new Map<string, number>();
    for (const [proxy, p] of this.#proxies) {
      const d: BDict = dict({ proxy });
      for (const [cmd, short] of SHORT) {
        const n = p.counts.get(cmd) ?? 0;
        d[`${short}count`] = n;
        d[`${short}duration`] = seconds(p.ns.get(cmd) ?? 0n);
        total.set(short, (total.get(short) ?? 0) + n);
      }
      d.errorcount = p.errors;
      proxies.push(d);
    }
    const out: BDict = dict({ proxies });
    for (const [, short] of SHORT) out[`total${short}count`] = total.get(short) ?? 0;
    return out;
  }
}
