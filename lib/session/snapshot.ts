/**
 * A session as data, to outlive the process (the daemon keeps it in Redis):
 * how it was made and every operation since, in order - replaying them gives
 * the same codec decisions and legs - plus what a replay cannot derive: the
 * port pairs it bound, our SDPs to each leg (o= id, version, last body) and
 * the stream each endpoint sends (SSRC, sequence, timestamp), so that a
 * restored call keeps its ports and its peers see the same streams go on.
 */
import { InvalidArgumentError, InvalidStateError } from '../errors';
import type { CodecName } from '../codecs/table';
import type { MediaRoots } from '../media/mediaRoots';
import type { LatchMode, RtpEndpoint } from '../rtp/RtpEndpoint';
import type { AnswerOptions, LegDialog, SessionKind } from './info';
import type { CodecPolicy } from './negotiation';

export type SessionOp =
  | { op: 'ivr'; codecs: CodecName[] }
  | { op: 'offerBranch'; branch: string }
  | { op: 'offerLeg'; name: string; dialog?: LegDialog }
  | { op: 'answer'; sdp: string; opts: AnswerOptions }
  | { op: 'reoffer'; sdp: string; from: string }
  | { op: 'endLeg'; name: string };

/** How the session was created (MediaServer.offer / ivr / outbound). */
export interface SessionCreate {
  sdp: string;
  fromTag?: string;
  policy?: CodecPolicy;
  dialog?: LegDialog;
  branch?: string;
  mediaRoots?: string[];
  /** Who may send media to leg a (RtpEndpointOptions.latch); default the server's. */
  latch?: LatchMode;
  /** Packet time imposed towards the callee (ng `ptime`) and towards the caller (`ptime-reverse`), ms. */
  ptime?: number;
  ptimeReverse?: number;
}

/** How MediaServer makes a session (and a restore remakes it). */
export type SessionOptions = Omit<SessionCreate, 'sdp' | 'mediaRoots'> & {
  mediaRoots?: MediaRoots;
  replay?: Replay;
  createdAt?: Date;
};

/** What an endpoint sent, when it was read. */
export interface SentStream {
  ssrc: number;
  /** The next sequence number. */
  seq: number;
  /** The last RTP timestamp sent (null: nothing sent yet). */
  lastTs: number | null;
  /** RTP clock and packet time of what it sends (to move them on by the time elapsed). */
  clockRate: number;
  ptime: number;
  /** Date.now() when read. */
  at: number;
}

/** One port pair the session bound, in the order it bound them. */
export interface BoundPair {
  port: number;
  address: string;
  /** Closed before the snapshot (a fork branch that lost): a replay binds any free pair, and frees it again. */
  released?: boolean;
  stream?: SentStream;
}

/** Our SDP state towards one leg or offer. */
export interface SdpState {
  id: string;
  version: number;
  last?: string;
}

export interface SessionSnapshot {
  v: 1;
  callId: string;
  kind: SessionKind;
  /** Date.now() of the call's creation. */
  createdAt: number;
  create: SessionCreate;
  ops: SessionOp[];
  binds: BoundPair[];
  sdps: SdpState[];
}

/** Re-INVITE pairs beyond this are folded (the oldest pairs go: each re-offer states the whole media anew). */
const FOLD_OPS = 64;
/** A history longer than this even folded (a peer sending endless distinct 18x) is not kept. */
const MAX_OPS = 256;

/** What a session did, for its snapshot. */
export class SessionLog {
  readonly create: SessionCreate;
  readonly createdAt: number;
  readonly ops: SessionOp[] = [];
  #overflow = false;

  constructor(create: SessionCreate, createdAt: number) {
    this.create = create;
    this.createdAt = createdAt;
  }

  /** Runs an operation; logs it when it succeeded (a failed one changed nothing worth replaying). */
  run<T>(op: SessionOp, fn: () => T): T {
    const out = fn();
    this.#push(op);
    return out;
  }

  #push(op: SessionOp): void {
    const ops = this.ops;
    // a retransmission (the same 18x or 200 again) changes nothing
    if (ops.length && JSON.stringify(ops[ops.length - 1]) === JSON.stringify(op)) return;
    ops.push(op);
    if (ops.length > FOLD_OPS) {
      const i = ops.findIndex((o) => o.op === 'reoffer');
      // a re-offer and the answer that followed it go together
      if (i >= 0 && i < ops.length - 2) ops.splice(i, ops[i + 1]?.op === 'answer' ? 2 : 1);
    }
    if (ops.length > MAX_OPS) this.#overflow = true;
  }

  snapshot(callId: string, kind: SessionKind, binds: BoundPair[], sdps: SdpState[]): SessionSnapshot {
    if (this.#overflow)
      throw new InvalidStateError(`Call ${callId} changed more than ${MAX_OPS} times: too long a history to keep`);
    return { v: 1, callId, kind, createdAt: this.createdAt, create: this.create, ops: [...this.ops], binds, sdps };
  }
}

const isInt = (x: unknown, min: number, max: number) =>
  Number.isInteger(x) && (x as number) >= min && (x as number) <= max;

/** Checks what came from outside (Redis) before anything is bound. */
export function checkSnapshot(s: unknown): SessionSnapshot {
  const x = s as SessionSnapshot;
  const ok =
    !!x &&
    x.v === 1 &&
    typeof x.callId === 'string' &&
    ['bridged', 'ivr', 'outbound'].includes(x.kind) &&
    typeof x.create?.sdp === 'string' &&
    Array.isArray(x.ops) &&
    x.ops.length <= MAX_OPS &&
    x.ops.every((o) => typeof o?.op === 'string') &&
    Array.isArray(x.binds) &&
    x.binds.every(
      (b) =>
        isInt(b?.port, 1, 65535) &&
        typeof b.address === 'string' &&
        (b.stream === undefined ||
          (isInt(b.stream.ssrc, 0, 2 ** 32 - 1) &&
            isInt(b.stream.seq, 0, 65535) &&
            (b.stream.lastTs === null || isInt(b.stream.lastTs, 0, 2 ** 32 - 1)) &&
            isInt(b.stream.clockRate, 1, 192000) &&
            isInt(b.stream.ptime, 1, 1000) &&
            Number.isFinite(b.stream.at))),
    ) &&
    Array.isArray(x.sdps) &&
    x.sdps.every((d) => typeof d?.id === 'string' && isInt(d.version, 0, 2 ** 53));
  if (!ok) throw new InvalidArgumentError('Not a session snapshot (v1) this version can restore');
  return x;
}

/**
 * What a replay takes instead of choosing anew: the next port pair and the
 * next SDP state, in the order the original run took them.
 */
export class Replay {
  readonly #binds: BoundPair[];
  readonly #sdps: SdpState[];
  /** Ports restored calls hold or are about to hold: a released pair is not bound on one of them. */
  readonly reserved: ReadonlySet<number>;

  constructor(s: SessionSnapshot, reserved: ReadonlySet<number>) {
    this.#binds = [...s.binds];
    this.#sdps = [...s.sdps];
    this.reserved = reserved;
  }

  nextBind(): BoundPair | undefined {
    return this.#binds.shift();
  }

  nextSdp(): SdpState | undefined {
    return this.#sdps.shift();
  }
}

/**
 * The stream an endpoint sends goes on where it was: same SSRC, timestamps
 * moved on by the time since they were read, the sequence by the packets
 * that time holds (sent while the call ran on) - so that receivers see
 * neither an old packet nor a new stream. On hold since, the sequence
 * jumps ahead: a receiver takes that as loss, or after two packets as a
 * restart (RFC 3550 A.1), never as old packets.
 */
export function resumeStream(ep: RtpEndpoint, s: SentStream, now = Date.now()): void {
  const elapsed = Math.max(0, now - s.at);
  ep.setStreamState({
    ssrc: s.ssrc >>> 0,
    seq: (s.seq + Math.ceil(elapsed / s.ptime)) & 0xffff,
    ...(s.lastTs === null ? {} : { nextTs: (s.lastTs + Math.round((elapsed * s.clockRate) / 1000)) >>> 0 }),
  });
}

/** The stream an endpoint sends, now. */
export function sentStream(ep: RtpEndpoint, clockRate: number, ptime: number): SentStream {
  const st = ep.streamState();
  return { ssrc: st.ssrc, seq: st.seq, lastTs: st.lastTs, clockRate, ptime, at: Date.now() };
}
