/**
 * An impairment relay for quality tests: RTP from a sender goes through it to
 * a media server leg, with seeded loss (Bernoulli or Gilbert-Elliott),
 * delay jitter, reordering and duplicates, and a log of what happened to
 * every packet. From that log it computes the truth the reports are checked
 * against, independently of the media server's code: loss over what was
 * sent, RFC 3611 Appendix A.2 burst/gap metrics over the same sequence, and
 * RFC 3550 interarrival jitter over the packets in the order they left.
 *
 *   sender -> in socket [relay] out socket -> leg
 *
 * RTCP is not relayed: the leg's reports go to whoever its remote is.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { parseRtp } from './relay';

/** mulberry32: small, seedable, good enough for test impairments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type LossModel =
  | { kind: 'none' }
  | { kind: 'bernoulli'; p: number }
  /** 2-state Gilbert-Elliott: p = P(good -> bad), r = P(bad -> good), loss 1 - k in good, h in bad. */
  | { kind: 'gilbert'; p: number; r: number; h?: number; k?: number };

export interface Impairment {
  seed: number;
  loss?: LossModel;
  /** Extra delay uniform in [0, spread) ms per packet (packets may overtake each other). */
  jitterSpreadMs?: number;
  /** Share of packets held back by reorderDelayMs (they arrive after later ones). */
  reorder?: number;
  reorderDelayMs?: number;
  /** Share of packets sent twice (the copy right after). */
  duplicate?: number;
  /** Loss applies only while this returns true (ms since the first packet). */
  lossWhile?: (msSinceStart: number) => boolean;
}

export interface PacketTruth {
  seq: number;
  ts: number;
  pt: number;
  ssrc: number;
  /** When the relay received it (ms, wall clock with sub-ms resolution). */
  inAt: number;
  dropped: boolean;
  duplicated: boolean;
  /** When it left for the leg (undefined when dropped). */
  outAt?: number;
}

const nowMs = () => performance.timeOrigin + performance.now();

export class ImpairRelay {
  readonly log: PacketTruth[] = [];
  #rand: () => number;
  #badState = false;
  #t0?: number;
  #target?: { address: string; port: number };
  #pending = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly inSock: dgram.Socket,
    private readonly outSock: dgram.Socket,
    private imp: Impairment,
  ) {
    this.#rand = seededRandom(imp.seed);
    inSock.on('message', (msg) => this.#onPacket(msg));
  }

  static async create(imp: Impairment): Promise<ImpairRelay> {
    const bind = async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, '127.0.0.1', () => resolve());
      });
      return s;
    };
    return new ImpairRelay(await bind(), await bind(), imp);
  }

  /** Where the sender sends. */
  get inPort(): number {
    return this.inSock.address().port;
  }
  /** The address the leg sees packets from (its remote, for latching). */
  get outPort(): number {
    return this.outSock.address().port;
  }

  setTarget(t: { address: string; port: number }): void {
    this.#target = t;
  }

  setImpairment(imp: Partial<Impairment>): void {
    this.imp = { ...this.imp, ...imp };
  }

  #lost(): boolean {
    const m = this.imp.loss ?? { kind: 'none' };
    if (m.kind === 'none') return false;
    if (m.kind === 'bernoulli') return this.#rand() < m.p;
    // state transition first, then loss in the new state
    if (this.#badState) {
      if (this.#rand() < m.r) this.#badState = false;
    } else if (this.#rand() < m.p) this.#badState = true;
    const pLoss = this.#badState ? (m.h ?? 1) : 1 - (m.k ?? 1);
    return this.#rand() < pLoss;
  }

  #onPacket(msg: Buffer): void {
    const h = parseRtp(msg);
    if (!h || !this.#target) return;
    const inAt = nowMs();
    this.#t0 ??= inAt;
    const lossOn = this.imp.lossWhile ? this.imp.lossWhile(inAt - this.#t0) : true;
    // draw every random number every time, so that the sequence of decisions
    // does not depend on which impairments are on
    const lost = this.#lost();
    const jitter = this.#rand() * (this.imp.jitterSpreadMs ?? 0);
    const reorder = this.#rand() < (this.imp.reorder ?? 0);
    const dup = this.#rand() < (this.imp.duplicate ?? 0);
    const t: PacketTruth = {
      seq: h.seq,
      ts: h.ts,
      pt: h.pt,
      ssrc: h.ssrc,
      inAt,
      dropped: lossOn && lost,
      duplicated: !(lossOn && lost) && dup,
    };
    this.log.push(t);
    if (t.dropped) return;
    const delay = jitter + (reorder ? (this.imp.reorderDelayMs ?? 45) : 0);
    const target = this.#target;
    const send = () => {
      t.outAt = nowMs();
      this.outSock.send(msg, target.port, target.address);
      if (t.duplicated) this.outSock.send(msg, target.port, target.address);
    };
    if (delay < 0.5) return send();
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      send();
    }, delay);
    this.#pending.add(timer);
  }

  close(): void {
    for (const t of this.#pending) clearTimeout(t);
    this.inSock.close();
    this.outSock.close();
  }
}

/** The truth over a stretch of the log (default all), for packets of payload type `pt` and telephone-event alike. */
export function truthOf(
  log: readonly PacketTruth[],
  opts: { gmin?: number; packetMs?: number; clockRate?: number; audioPt?: number } = {},
) {
  const gmin = opts.gmin ?? 16;
  const packetMs = opts.packetMs ?? 20;
  const clock = opts.clockRate ?? 8000;
  const sent = log.length;
  const dropped = log.filter((p) => p.dropped).length;
  // RFC 3611 A.2 over the sequence in sequence order (what the receiver expects)
  const bySeq = [...log].sort((a, b) => a.seq - b.seq);
  const c = { c11: 0, c13: 0, c14: 0, c22: 0, c23: 0, c33: 0, pkt: 0, lost: 0 };
  for (const p of bySeq) {
    if (!p.dropped) {
      c.pkt++;
      continue;
    }
    if (c.pkt >= gmin) {
      if (c.lost === 1) c.c14++;
      else c.c13++;
      c.lost = 1;
      c.c11 += c.pkt;
    } else {
      c.lost++;
      if (c.pkt === 0) c.c33++;
      else {
        c.c23++;
        c.c22 += c.pkt - 1;
      }
    }
    c.pkt = 0;
  }
  const c31 = c.c13;
  const c32 = c.c23;
  const total = c.c11 + c.c14 + c.c13 + c.c22 + c.c23 + c31 + c32 + c.c33;
  const p32 = c31 + c32 + c.c33 > 0 ? c32 / (c31 + c32 + c.c33) : 0;
  const p23 = c.c22 + c.c23 < 1 ? 1 : 1 - c.c22 / (c.c22 + c.c23);
  const burstDensity = c.c23 + c.c33 > 0 ? p23 / (p23 + p32) : 0;
  const gapDensity = c.c11 + c.c14 > 0 ? c.c14 / (c.c11 + c.c14) : 0;
  const gapDurationMs = c.c13 > 0 ? ((c.c11 + c.c14 + c.c13) * packetMs) / c.c13 : (c.c11 + c.c14) * packetMs;
  const burstDurationMs = c.c13 > 0 && c.c23 + c.c33 > 0 ? (total * packetMs) / c.c13 - gapDurationMs : 0;
  // RFC 3550 jitter over the audio packets in the order they left the relay
  const out = log
    .filter((p) => p.outAt !== undefined && (opts.audioPt === undefined || p.pt === opts.audioPt))
    .sort((a, b) => a.outAt! - b.outAt!);
  let j = 0;
  for (let i = 1; i < out.length; i++) {
    const arrival = ((out[i].outAt! - out[i - 1].outAt!) * clock) / 1000;
    const d = arrival - ((out[i].ts - out[i - 1].ts) | 0);
    j += (Math.abs(d) - j) / 16;
  }
  // 2-state model of the loss sequence (G.107 BurstR = 1 / (p + q))
  let rl = 0;
  let rr = 0;
  let lr = 0;
  let ll = 0;
  for (let i = 1; i < bySeq.length; i++) {
    const a = bySeq[i - 1].dropped;
    const b = bySeq[i].dropped;
    if (a && b) ll++;
    else if (a) lr++;
    else if (b) rl++;
    else rr++;
  }
  const p = rr + rl ? rl / (rr + rl) : 0;
  const q = lr + ll ? lr / (lr + ll) : 1;
  return {
    sent,
    dropped,
    lossPercent: sent ? (100 * dropped) / sent : 0,
    duplicates: log.filter((x) => x.duplicated).length,
    burstDensity,
    gapDensity,
    burstDurationMs,
    gapDurationMs,
    jitterMs: (j * 1000) / clock,
    burstR: p + q > 0 ? 1 / (p + q) : 1,
  };
}

/**
 * A paced RTP sender: PCMU-sized packets every `ptimeMs` to `port`, with a
 * fixed SSRC and consecutive sequence numbers, until stopped or `count` sent.
 * Pacing is against the wall clock, so a late timer catches up.
 */
export function rtpSender(opts: {
  port: number;
  pt?: number;
  ptimeMs?: number;
  count?: number;
  ssrc?: number;
  payload?: (n: number) => Buffer;
}) {
  const sock = dgram.createSocket('udp4');
  const pt = opts.pt ?? 0;
  const ptime = opts.ptimeMs ?? 20;
  const ssrc = opts.ssrc ?? 0x1234abcd;
  let n = 0;
  const t0 = nowMs();
  let timer: NodeJS.Timeout | undefined;
  const seq0 = 1000;
  const ts0 = 160000;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const tick = () => {
    const due = Math.floor((nowMs() - t0) / ptime) + 1;
    while (n < due && (opts.count === undefined || n < opts.count)) {
      const payload = opts.payload?.(n) ?? Buffer.alloc((8000 * ptime) / 1000, 0xd5);
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = pt;
      h.writeUInt16BE((seq0 + n) & 0xffff, 2);
      h.writeUInt32BE((ts0 + (n * (8000 * ptime)) / 1000) >>> 0, 4);
      h.writeUInt32BE(ssrc >>> 0, 8);
      sock.send(Buffer.concat([h, payload]), opts.port, '127.0.0.1');
      n++;
    }
    if (opts.count !== undefined && n >= opts.count) return stop();
    timer = setTimeout(tick, Math.max(1, t0 + n * ptime - nowMs()));
  };
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    try {
      sock.close();
    } catch {
      /* closed already */
    }
    done();
  };
  timer = setTimeout(tick, 0);
  return {
    stop,
    finished,
    get sent() {
      return n;
    },
  };
}
