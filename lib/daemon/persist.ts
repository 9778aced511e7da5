/**
 * Calls that survive a restart (--redis): each call as a StoredCall - what
 * the ng layer knows of it (tags, labels, what is held back on which leg,
 * the answers it replied) beside its session's snapshot. Written after
 * every command that changed the call, removed when it ends; at start,
 * before the control socket listens, every stored call comes back on the
 * ports it had. A play or a recording running at the crash does not come
 * back (the file it wrote ends where the process died).
 */
import { InvalidArgumentError } from '../errors';
import type { MediaServer } from '../session/MediaServer';
import type { MediaSession } from '../session/MediaSession';
import type { SessionSnapshot } from '../session/snapshot';
import type { CallEntry } from './calls';

/** What is held back on one leg (by its name). */
export interface LegFlags {
  blocked?: true;
  silenced?: true;
  dtmfBlocked?: true;
}

export interface StoredCall {
  v: 1;
  callId: string;
  offererTags: string[];
  labels: [string, string][];
  createdMs: number;
  transcoded: boolean;
  lastAnswer?: { sdp: string; toTag: string; reply: string };
  reoffer?: { leg: string; sdp: string; reply: string };
  flags: Record<string, LegFlags>;
  session: SessionSnapshot;
}

/** The call as stored now (throws when its session cannot be kept: see MediaSession.snapshot()). */
export function storedCall(e: CallEntry): StoredCall {
  const s = e.session;
  const flags: Record<string, LegFlags> = {};
  for (const leg of s.legs) {
    const held = leg.bridge?.heldBack(leg);
    const f: LegFlags = {
      ...(held?.media ? { blocked: true } : {}),
      ...(leg.muted ? { silenced: true } : {}),
      ...(held?.dtmf ? { dtmfBlocked: true } : {}),
    };
    if (Object.keys(f).length) flags[leg.name] = f;
  }
  return {
    v: 1,
    callId: e.callId,
    offererTags: [...e.offererTags],
    labels: [...e.labels],
    createdMs: e.createdMs,
    transcoded: e.transcoded,
    lastAnswer: e.lastAnswer,
    reoffer: e.reoffer && { leg: e.reoffer.leg.name, sdp: e.reoffer.sdp, reply: e.reoffer.reply },
    flags,
    session: s.snapshot(),
  };
}

function checkStored(x: unknown): StoredCall {
  const r = x as StoredCall;
  if (
    !r ||
    r.v !== 1 ||
    typeof r.callId !== 'string' ||
    !Array.isArray(r.offererTags) ||
    !Array.isArray(r.labels) ||
    typeof r.flags !== 'object' ||
    r.session?.callId !== r.callId
  )
    throw new InvalidArgumentError('Not a stored call (v1) this version can restore');
  return r;
}

/** Calls back from their records (Redis), with the ng layer's view of each; what could not come back, and why. */
export function restoreCalls(
  media: MediaServer,
  records: readonly unknown[],
): { entries: CallEntry[]; failed: { callId?: string; error: Error }[] } {
  const failed: { callId?: string; error: Error }[] = [];
  const valid: StoredCall[] = [];
  for (const x of records) {
    try {
      valid.push(checkStored(x));
    } catch (error) {
      failed.push({ callId: (x as { callId?: string })?.callId, error: error as Error });
    }
  }
  const { restored, failed: notRestored } = media.restore(valid.map((r) => r.session));
  failed.push(...notRestored);
  const byId = new Map(valid.map((r) => [r.callId, r]));
  const now = Date.now();
  const entries = restored.map((s) => {
    const r = byId.get(s.callId)!;
    reapplyFlags(s, r.flags);
    const reofferLeg = r.reoffer && s.leg(r.reoffer.leg);
    return {
      callId: r.callId,
      session: s,
      offererTags: new Set(r.offererTags),
      labels: new Map(r.labels),
      createdMs: r.createdMs,
      lastSignalMs: now,
      transcoded: r.transcoded,
      lastAnswer: r.lastAnswer,
      reoffer: reofferLeg ? { leg: reofferLeg, sdp: r.reoffer!.sdp, reply: r.reoffer!.reply } : undefined,
      packets: 0,
      lastMediaMs: now,
    } satisfies CallEntry;
  });
  return { entries, failed };
}

function reapplyFlags(s: MediaSession, flags: Record<string, LegFlags>): void {
  for (const [name, f] of Object.entries(flags)) {
    const leg = s.leg(name);
    if (!leg) continue;
    if (f.blocked) leg.bridge?.blockMedia(leg, true);
    if (f.dtmfBlocked) leg.bridge?.blockDtmf(leg, true);
    if (f.silenced) leg.mute();
  }
}
