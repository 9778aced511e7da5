/**
 * What an SDP does to one leg: an answer to our outbound offer, a re-INVITE
 * on an answered leg (hold, resume, new address, new codec list) applied at
 * once, the other side's answer to a forwarded re-offer, and our own answer.
 * The session decides who is asked and what is bridged; here is what changes
 * on the leg.
 */
import type { CodecName } from '../codecs/table';
import { NoCommonCodecError, SdpError } from '../errors';
import { answerDirection } from '../sdp/build';
import type { Direction, SdpMedia } from '../sdp/model';
import { parseSdp } from '../sdp/parse';
import type { SessionContext } from './context';
import type { AnswerOptions } from './info';
import type { Entry, LegSet } from './legSet';
import { chosenByAnswer, isTelephoneEvent, sameFormat, usableFormats } from './negotiation';

/** Applies a re-offer to its leg: new remote, and the codec kept when still offered (else the first usable). */
export function applyReoffer(ctx: SessionContext, legs: LegSet, e: Entry, sdp: string): SdpMedia {
  const offer = parseSdp(sdp);
  if (!offer.audio) throw new SdpError('SDP re-offer: no usable audio m-line');
  const usable = usableFormats(offer.audio);
  if (usable.length === 0) throw new SdpError('SDP re-offer: no codec we support');
  e.sdp.media = offer.audio;
  e.sdp.offeredMedia = offer.media;
  legs.setRemote(e, offer.audio);
  const keep = usable.find((f) => sameFormat(f, e.sdp.format!));
  const next = keep ?? usable[0];
  const te = offer.audio.formats.find(isTelephoneEvent);
  if (!keep || next.pt !== e.sdp.format!.pt || te?.pt !== e.sdp.telephoneEvent?.pt) {
    e.sdp.format = next;
    e.sdp.telephoneEvent = te;
    e.leg.setMedia(e.sdp.legMedia(ctx));
  }
  return offer.audio;
}

/** Applies the other side's answer to a forwarded re-offer to its leg; returns the direction it answered. */
export function applyReanswer(ctx: SessionContext, legs: LegSet, to: Entry, sdp: string): Direction {
  const ans = parseSdp(sdp);
  if (!ans.audio) throw new SdpError('SDP answer to a re-offer: audio rejected');
  to.sdp.media = ans.audio;
  legs.setRemote(to, ans.audio);
  const chosen = chosenByAnswer(ans.audio, to.sdp.ourFormats);
  if (!sameFormat(chosen, to.sdp.format!) || chosen.pt !== to.sdp.format!.pt) {
    to.sdp.format = chosen;
    to.leg.setMedia(to.sdp.legMedia(ctx));
  }
  return ans.audio.direction;
}

/** Our answer to the offer `e`'s peer made, given the direction the other side wants. */
export function answerTo(ctx: SessionContext, e: Entry, otherDirection: Direction): string {
  const m = e.sdp.media!;
  return e.sdp.build(ctx, e.leg.endpoint, {
    direction: answerDirection(m.direction, otherDirection),
    ptime: m.ptime,
    answering: m,
  });
}

/** The peer's answer to our offer on an outbound leg: its codec, remote, tag and state. */
export function applyOutboundAnswer(legs: LegSet, e: Entry, sdp: string, opts: AnswerOptions): void {
  const ans = parseSdp(sdp);
  if (!ans.audio) throw new SdpError('SDP answer: the peer rejected audio (no m=audio with a non-zero port)');
  e.sdp.media = ans.audio;
  e.sdp.format = chosenByAnswer(ans.audio, e.sdp.ourFormats);
  e.sdp.telephoneEvent = ans.audio.formats.find(isTelephoneEvent);
  if (opts.toTag) e.tag = opts.toTag;
  if (opts.dialog) e.dialog = opts.dialog;
  e.state = opts.provisional ? 'early' : 'answered';
  legs.setRemote(e, ans.audio);
}

/** An offer we answer ourselves (an IVR leg): the offerer's first codec of ours, telephone-event when offered. */
export function chooseOwnCodec(e: Entry, codecs: CodecName[]): void {
  const m = e.sdp.media!;
  const format = usableFormats(m).find((f) => codecs.includes(f.codec!.name));
  if (!format)
    throw new NoCommonCodecError(
      `None of the offered codecs (${m.formats.map((f) => f.name || f.pt).join(', ')}) is one of ours (${codecs.join(', ')})`,
    );
  e.sdp.format = format;
  e.sdp.telephoneEvent = m.formats.find(isTelephoneEvent);
  e.state = 'answered';
}
