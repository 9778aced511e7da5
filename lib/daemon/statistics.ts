/**
 * The reply to the ng `statistics` command in rtpengine 10.5's shape, the
 * sections its monitoring tools read: `currentstatistics` (sessions,
 * transcoded media, packet/byte/error rates over the last second, media
 * streams), `totalstatistics` (uptime, how ended calls ended, packets,
 * bytes and errors received, zero- and one-way calls, call durations),
 * `mos` (the MOS samples' sum, sum of squares, count, mean and standard
 * deviation), `controlstatistics` (controlStats.ts), `interfaces` (the
 * media address and its port range) and `transcoders` (the codec chains of
 * the calls in progress). Value types are rtpengine's: integers where it
 * writes integers, strings where it writes text (uptime, "%.6f" figures,
 * the port usage in percent). rtpengine's kernel forwarding has no
 * counterpart here: its *_kernel figures are 0, the *_user ones ours.
 * Left out, as we have no such figure: `intervalstatistics` (Graphite's
 * reporting interval), `voip_metrics` (not in 10.5).
 */
import { dict, type BDict } from '../control/bencode';
import type { MediaServer } from '../session/MediaServer';
import type { MediaSession } from '../session/MediaSession';
import { addMos, addPackets, zeroMos, zeroPackets, type CallTotals, type PacketCounts } from './callTotals';
import type { ControlStats } from './controlStats';
import { codecWithParams } from './report';

/** What the statistics come from (CallControl). */
export interface StatisticsSource {
  readonly startedAt: number;
  readonly totals: CallTotals;
  readonly size: number;
  readonly transcoding: number;
  sessions(): MediaSession[];
}

const f6 = (v: number) => (Number.isFinite(v) ? v : 0).toFixed(6);
const live = (s: MediaSession) => s.state === 'answered' || s.state === 'early';

/** What the legs of the calls in progress received so far, and how many legs carry media. */
function liveCounts(sessions: MediaSession[]): { packets: PacketCounts; streams: number } {
  const packets = zeroPackets();
  let streams = 0;
  for (const s of sessions)
    if (live(s))
      for (const leg of s.legs)
        if (!leg.endpoint.closed) {
          addPackets(packets, leg.stats());
          streams++;
        }
  return { packets, streams };
}

export class NgStatistics {
  readonly #src: StatisticsSource;
  readonly #media?: MediaServer;
  /** Set by the daemon: the control plane's counts per proxy. */
  control?: ControlStats;
  readonly #timer: NodeJS.Timeout;
  /** Received over the whole run (ended calls and calls in progress) at the last tick, and the rate then. */
  #last?: { atMs: number; total: PacketCounts };
  #rate?: PacketCounts;

  constructor(src: StatisticsSource, media?: MediaServer) {
    this.#src = src;
    this.#media = media;
    // rtpengine's rates are over the last second: a tick a second keeps ours so
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #total(now: ReturnType<typeof liveCounts>): PacketCounts {
    const t = this.#src.totals.packets;
    return {
      packets: t.packets + now.packets.packets,
      bytes: t.bytes + now.packets.bytes,
      errors: t.errors + now.packets.errors,
    };
  }

  #tick(nowMs = Date.now()): void {
    const total = this.#total(liveCounts(this.#src.sessions()));
    const last = this.#last;
    if (last && nowMs > last.atMs) {
      const per = (k: keyof PacketCounts) =>
        Math.max(0, Math.round(((total[k] - last.total[k]) * 1000) / (nowMs - last.atMs)));
      this.#rate = { packets: per('packets'), bytes: per('bytes'), errors: per('errors') };
    }
    this.#last = { atMs: nowMs, total };
  }

  /** The `statistics` dictionary. */
  reply(nowMs = Date.now()): BDict {
    const src = this.#src;
    const t = src.totals;
    const sessions = src.sessions();
    const now = liveCounts(sessions);
    const total = this.#total(now);
    const r = this.#rate;
    const current = dict({
      sessionsown: src.size,
      sessionsforeign: 0,
      sessionstotal: src.size,
      transcodedmedia: src.transcoding,
      packetrate_user: r?.packets,
      byterate_user: r?.bytes,
      errorrate_user: r?.errors,
      packetrate_kernel: r ? 0 : undefined,
      byterate_kernel: r ? 0 : undefined,
      errorrate_kernel: r ? 0 : undefined,
      packetrate: r?.packets,
      byterate: r?.bytes,
      errorrate: r?.errors,
      media_userspace: now.streams,
      media_kernel: 0,
      media_mixed: 0,
    });
    const avg = t.timed ? t.durationSec / t.timed : 0;
    const variance = t.timed ? Math.max(0, t.duration2Sec / t.timed - avg * avg) : 0;
    const totals = dict({
      uptime: String(Math.floor((nowMs - src.startedAt) / 1000)),
      managedsessions: t.finished,
      rejectedsessions: t.rejected,
      timeoutsessions: t.timedOut - t.offerTimedOut,
      // we have neither rtpengine's silent timeout nor its final (call length) timeout: none ended so
      silenttimeoutsessions: 0,
      finaltimeoutsessions: 0,
      offertimeoutsessions: t.offerTimedOut,
      regularterminatedsessions: t.regular,
      forcedterminatedsessions: t.forced,
      relayedpackets_user: total.packets,
      relayedpacketerrors_user: total.errors,
      relayedbytes_user: total.bytes,
      relayedpackets_kernel: 0,
      relayedpacketerrors_kernel: 0,
      relayedbytes_kernel: 0,
      relayedpackets: total.packets,
      relayedpacketerrors: total.errors,
      relayedbytes: total.bytes,
      zerowaystreams: t.zeroWay,
      onewaystreams: t.oneWay,
      avgcallduration: f6(avg),
      totalcallsduration: f6(t.durationSec),
      totalcallsduration2: f6(t.duration2Sec),
      totalcallsduration_stddev: f6(Math.sqrt(variance)),
      // ours
      transcodedsessions: t.transcodedFinished,
      loadlimitedsessions: t.limited,
    });
    const mos = zeroMos();
    mos.samples = t.mos.samples;
    mos.sum = t.mos.sum;
    mos.sum2 = t.mos.sum2;
    for (const s of sessions) addMos(mos, s.qualitySamples);
    const mean = mos.samples ? mos.sum / mos.samples : 0;
    const out = dict({
      currentstatistics: current,
      totalstatistics: totals,
      mos: dict({
        mos_total: f6(mos.sum),
        mos2_total: f6(mos.sum2),
        mos_samples_total: mos.samples,
        mos_average: f6(mean),
        mos_stddev: f6(mos.samples ? Math.sqrt(Math.max(0, mos.sum2 / mos.samples - mean * mean)) : 0),
      }),
      controlstatistics: this.control?.section(),
      interfaces: this.#media ? [this.#interface(this.#media)] : undefined,
      transcoders: transcoders(sessions),
    });
    return out;
  }

  #interface(m: MediaServer): BDict {
    const p = m.ports;
    const totals = p.max - p.min + 1;
    const used = p.inUse * 2;
    return dict({
      name: 'default',
      address: m.address,
      ports: dict({
        min: p.min,
        max: p.max,
        used,
        used_pct: ((used * 100) / totals).toFixed(2),
        free: totals - used,
        totals,
        last: p.last,
      }),
    });
  }
}

/** One entry per codec chain (each direction of a transcoded call), with how many calls run it now. */
function transcoders(sessions: MediaSession[]): BDict[] {
  const chains = new Map<string, number>();
  for (const s of sessions) {
    if (s.state !== 'answered' || s.relay) continue;
    const i = s.info();
    const a = codecWithParams(i.legs.a.codec);
    const b = codecWithParams(i.legs.b?.codec);
    if (!a || !b) continue;
    for (const chain of [`${a} -> ${b}`, `${b} -> ${a}`]) chains.set(chain, (chains.get(chain) ?? 0) + 1);
  }
  return [...chains].map(([chain, num]) => dict({ chain, num }));
}
