/**
 * play media, stop media and play DTMF on an answered call: the participant
 * named by from-tag, label, SDP address or `all` is mapped to its leg, and the
 * call's Gateway plays the file to it (Gateway.play) or sends the digit from
 * it to the other side (Gateway.sendDtmf).
 */
import type { BDict } from '../control/bencode';
import {
  okReply,
  type NgBlockDtmf,
  type NgParticipant,
  type NgPlayDtmf,
  type NgPlayMedia,
  type NgStartRecording,
  type NgStopMedia,
} from '../control/ng';
import { InvalidStateError } from '../errors';
import type { MediaRoots } from '../ivr/mediaRoots';
import type { LegName, MediaSession } from '../session/MediaSession';
import { refuse } from './refuse';
import type { Logger } from './log';
import type { CallFacts } from './report';

export interface CallView extends CallFacts {
  session: MediaSession;
}

const other = (l: LegName): LegName => (l === 'a' ? 'b' : 'a');

/** The legs a command names: by from-tag, label, SDP address, or all. */
export function legsOf(e: CallView, p: NgParticipant): LegName[] {
  if (p.all) return ['a', 'b'];
  if (p.fromTag !== undefined) {
    const l = e.tags.get(p.fromTag);
    if (!l) refuse(`Unknown from-tag ${p.fromTag}`);
    return [l];
  }
  if (p.label !== undefined) {
    const l = e.labels.get(p.label);
    if (!l) refuse(`Unknown label ${p.label}`);
    return [l];
  }
  const info = e.session.info();
  const found = (['a', 'b'] as const).filter((l) => info.legs[l].remote?.address === p.address);
  if (!found.length) refuse(`No participant at ${p.address}`);
  return found;
}

function gatewayOf(e: CallView) {
  const gw = e.session.gateway;
  if (e.session.state !== 'answered' || !gw || gw.closed) refuse('The call is not answered yet: no media to act on');
  return gw;
}

export function playMedia(
  req: NgPlayMedia,
  e: CallView,
  roots: MediaRoots | undefined,
  log: Logger,
  onError: (err: unknown) => void,
): BDict {
  const legs = legsOf(e, req.participant);
  const gw = gatewayOf(e);
  if (!('file' in req.source))
    refuse('dbId' in req.source ? 'No media database: play a file' : 'Playing a blob is not supported: play a file');
  if (!roots || roots.roots.length === 0) refuse('No media roots are configured (mediaRoots): play media is off');
  const file = req.source.file;
  const { path, info } = roots.wav(file);
  for (const leg of legs)
    gw.play(leg, path, info, { repeat: req.repeatTimes }).then(
      (r) => log.info(`call ${req.callId}: played ${file} to leg ${leg}: ${r.reason} after ${r.durationMs} ms`),
      onError,
    );
  log.info(`call ${req.callId}: play ${path} to leg ${legs.join(', ')} x${req.repeatTimes}`);
  return okReply({
    duration: Math.round(info.durationMs * req.repeatTimes),
    warning: req.startPos ? 'start-pos is not supported: played from the start' : undefined,
  });
}

export function stopMedia(req: NgStopMedia, e: CallView): BDict {
  const legs = legsOf(e, req.participant);
  const gw = gatewayOf(e);
  let pos: number | undefined;
  for (const leg of legs) pos = gw.stopPlay(leg) ?? pos;
  if (pos === undefined) return okReply({ 'last-frame-pos': 0, warning: 'Not currently playing media' });
  return okReply({ 'last-frame-pos': Math.round(pos) });
}

export function playDtmf(req: NgPlayDtmf, e: CallView): BDict {
  const legs = legsOf(e, req.participant);
  const gw = gatewayOf(e);
  // the selected side is the one that "sends" the digit: it goes to the other side
  const targets = req.participant.all ? legs : legs.map(other);
  const how: string[] = [];
  for (const to of targets) {
    try {
      how.push(gw.sendDtmf(to, req.digit, { durationMs: req.durationMs }));
    } catch (err) {
      if (err instanceof InvalidStateError) refuse(`Cannot inject DTMF into leg ${to}: ${err.message}`);
      throw err;
    }
  }
  return okReply({ warning: how.includes('inband') ? 'sent in-band (no telephone-event on that side)' : undefined });
}

/** block DTMF / unblock DTMF: stop (or resume) passing the named participant's RFC 4733 digits on. */
export function blockDtmf(req: NgBlockDtmf, e: CallView): BDict {
  const legs = legsOf(e, req.participant);
  const gw = gatewayOf(e);
  for (const l of legs) gw.blockDtmf(l, req.command === 'block DTMF');
  return okReply();
}

/**
 * start recording: both directions of the call, decoded and mixed, into a
 * WAV inside the media roots: `output-destination` when given, else
 * `recording-<call-id>.wav` in the first root. Never over an existing file.
 */
export function startRecording(req: NgStartRecording, e: CallView, roots: MediaRoots | undefined): BDict {
  const gw = gatewayOf(e);
  if (!roots || roots.roots.length === 0) refuse('No media roots are configured (mediaRoots): recording is off');
  const name =
    req.outputDestination ?? `recording-${req.callId.replace(/[^A-Za-z0-9_.@+-]/g, '_').replace(/^\.+/, '_')}.wav`;
  if (gw.recording) return okReply({ warning: `already recording to ${gw.recording}` });
  // a named destination that exists is refused; our own default name moves to the next free number
  const file = roots.resolveForWrite(/\.wav$/i.test(name) ? name : `${name}.wav`, {
    onExists: req.outputDestination ? 'refuse' : 'rename',
  });
  gw.startRecording(file);
  return okReply();
}

export function stopRecording(e: CallView): BDict {
  const r = gatewayOf(e).stopRecording();
  return okReply(r ? {} : { warning: 'the call was not being recorded' });
}
