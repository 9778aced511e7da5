/**
 * A session as data, to outlive the process (the daemon keeps it in Redis):
 * how it was made and every operation since, in order - replaying them gives
 * the same codec decisions, the same SDP versions and legs - plus what the
 * replay cannot derive: the port pairs it bound, the o= session ids of our
 * SDPs and the identity of each stream we send (SSRC, sequence, timestamp
 * offset), so that a restored call keeps its ports and its peers see the same
 * streams go on.
 */
import { InvalidArgumentError } from '../errors';
import type { CodecName } from '../codecs/table';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { AnswerOptions, LegDialog, SessionKind } from './info';
import type { CodecPolicy } from './negotiation';

export type SessionOp =
  | { op: 'ivr'; codecs: CodecName[] }
  | { op: 'offerBranch'; branch: string }
  | { op: 'offerLeg'; name: string; dialog?: LegDialog }
  | { op: 'answer'; sdp: string; opts: AnswerOptions }
  | { op: 'reoffer'; sdp: string; from: string }
  | { op: 'endLeg'; name: string };

/** One port pair the session bound, and the stream its endpoint sends. */
export interface BoundPair {
  port: number;
  address: string;
  /** RTP clock of what it sends (for the timestamp offset after a pause). */
  clockRate: number;
  ssrc: number;
  seq: number;
  tsOffset: number;
  /** When these were read (Date.now()). */
  at: number;
}

export interface SessionSnapshot {
  v: 1;
  callId: string;
  kind: SessionKind;
  createdAt: number;
  create: { sdp: string; fromTag?: string; policy?: CodecPolicy; dialog?: LegDialog; branch?: string };
  ops: SessionOp[];
  binds: BoundPair[];
  sdpIds: string[];
}

/** Most operations a snapshot keeps: re-INVITE pairs beyond it are folded (the oldest pairs go). */
const MAX_OPS = 64;

/** Keeps the log bounded: a long call refreshed by re-INVITEs keeps its last pairs. */
export function pushOp(ops: SessionOp[], op: SessionOp): void {
  ops.push(op);
  if (ops.length <= MAX_OPS) return;
  const i = ops.findIndex((o) => o.op === 'reoffer');
  // a re-offer and the answer that followed it go together
  if (i >= 0) ops.splice(i, ops[i + 1]?.op === 'answer' ? 2 : 1);
}

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
    Array.isArray(x.binds) &&
    x.binds.every((b) => Number.isInteger(b?.port) && typeof b.address === 'string') &&
    Array.isArray(x.sdpIds) &&
    x.sdpIds.every((i) => typeof i === 'string');
  if (!ok) throw new InvalidArgumentError('Not a session snapshot (v1) this version can restore');
  return x;
}

/**
 * What a replay takes instead of choosing anew: the next port pair, the next
 * SDP session id, in the order the original run took them.
 */
export class Replay {
  readonly #binds: BoundPair[];
  readonly #sdpIds: string[];
  readonly #now = Date.now();

  constructor(s: SessionSnapshot) {
    this.#binds = [...s.binds];
    this.#sdpIds = [...s.sdpIds];
  }

  nextBind(): BoundPair | undefined {
    return this.#binds.shift();
  }

  nextSdpId(): string | undefined {
    return this.#sdpIds.shift();
  }

  /**
   * The stream an endpoint sends goes on where it was: same SSRC, and the
   * sequence number and timestamps moved on by the time since they were read
   * (as if it had sent all along), so that receivers see neither an old
   * packet nor a new stream.
   */
  resumeStream(ep: RtpEndpoint, b: BoundPair): void {
    const elapsedMs = Math.max(0, this.#now - b.at);
    const packets = Math.ceil(elapsedMs / 20) + 50;
    ep.setStreamState({
      ssrc: b.ssrc >>> 0,
      seq: (b.seq + packets) & 0xffff,
      tsOffset: (b.tsOffset + Math.round((elapsedMs * b.clockRate) / 1000)) >>> 0,
    });
  }
}
