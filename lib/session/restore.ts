/**
 * A session back from its snapshot: made again as it was made, its
 * operations replayed in order on the port pairs, SDP ids and streams the
 * snapshot names (snapshot.ts says what it keeps).
 */
import { InvalidArgumentError } from '../errors';
import { MediaRoots } from '../media/mediaRoots';
import type { SessionContext } from './context';
import { MediaSession } from './MediaSession';
import { Replay, type SessionOp, type SessionSnapshot } from './snapshot';

/** `reserved`: the ports of every call being restored (a replay binds no passing pair on them). */
export function restoreSession(
  ctx: SessionContext,
  snap: SessionSnapshot,
  reserved: ReadonlySet<number>,
): MediaSession {
  const c = snap.create;
  const s = new MediaSession(ctx, snap.callId, snap.kind, c.sdp, {
    fromTag: c.fromTag,
    policy: c.policy,
    dialog: c.dialog,
    branch: c.branch,
    mediaRoots: c.mediaRoots ? new MediaRoots(c.mediaRoots) : undefined,
    replay: new Replay(snap, reserved),
    createdAt: new Date(snap.createdAt),
  });
  try {
    for (const op of snap.ops) apply(s, op);
    s.replayed();
  } catch (err) {
    s.stop();
    throw err;
  }
  return s;
}

function apply(s: MediaSession, op: SessionOp): void {
  switch (op.op) {
    case 'ivr':
      s.answerAsIvr(op.codecs);
      return;
    case 'offerBranch':
      s.offerBranch(op.branch);
      return;
    case 'offerLeg':
      s.offerLeg(op.name, { dialog: op.dialog });
      return;
    case 'answer':
      s.answer(op.sdp, op.opts);
      return;
    case 'reoffer':
      s.reoffer(op.sdp, op.from);
      return;
    case 'endLeg': {
      const leg = s.leg(op.name);
      if (!leg || !s.endLeg(leg)) throw new InvalidArgumentError(`The snapshot of ${s.callId} ends a leg it never had`);
      return;
    }
    default:
      throw new InvalidArgumentError(
        `The snapshot of ${s.callId} holds an operation this version does not know: ${String((op as { op: unknown }).op)}`,
      );
  }
}
