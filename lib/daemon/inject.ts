/**
 * The media commands of ng on a call's legs, through the public leg API:
 * the participant named by from-tag, label, SDP address or `all` is mapped
 * to its legs; play media plays to them (MediaLeg.play), play DTMF sends
 * the digit from them to the other side, block/silence media and block DTMF
 * stop what they send from reaching the other side, start recording records
 * the call (both legs, mixed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BDict } from '../control/bencode';
import {
  okReply,
  type NgBlockDtmf,
  type NgMediaBlock,
  type NgParticipant,
  type NgPlayDtmf,
  type NgPlayMedia,
  type NgStartRecording,
  type NgStopMedia,
} from '../control/ng';
import { MediaFileError } from '../errors';
import type { MediaLeg } from '../leg/MediaLeg';
import type { MediaRoots } from '../media/mediaRoots';
import type { MediaSession } from '../session/MediaSession';
import { refuse } from './refuse';
import type { Logger } from './log';
import type { CallFacts } from './report';
import { repairWavSizes } from '../util/wav';

export interface CallView extends CallFacts {
  session: MediaSession;
  offererTags: Set<string>;
  recording?: { file: string };
}

/** The legs a command names: by from-tag, label, SDP address, or all. Nobody named, with `orAll`: every leg. */
export function legsOf(e: CallView, p: NgParticipant, orAll = false): MediaLeg[] {
  const s = e.session;
  const media = s.legs.filter((l) => l.media !== undefined);
  if (p.all) return media;
  if (p.fromTag !== undefined) {
    const l = e.offererTags.has(p.fromTag) ? s.a : s.legByTag(p.fromTag);
    if (!l) refuse(`Unknown from-tag ${p.fromTag}`);
    return [l];
  }
  if (p.label !== undefined) {
    const name = e.labels.get(p.label);
    const l = name === undefined ? undefined : name === 'b' ? s.b : s.leg(name);
    if (!l) refuse(`Unknown label ${p.label}`);
    return [l];
  }
  if (p.address !== undefined) {
    const info = s.info();
    const found = [info.legs.a, info.legs.b, ...info.branches]
      .filter((l) => l?.remote?.address === p.address)
      .map((l) => s.leg(l!.name)!);
    if (!found.length) refuse(`No participant at ${p.address}`);
    return found;
  }
  if (orAll) return media;
  return refuse('No participant selected');
}

function answered(e: CallView): void {
  const st = e.session.state;
  if ((st !== 'answered' && st !== 'early') || !e.session.bridge)
    refuse('The call is not answered yet: no media to act on');
}

export function playMedia(
  req: NgPlayMedia,
  e: CallView,
  roots: MediaRoots | undefined,
  log: Logger,
  onError: (err: unknown) => void,
): BDict {
  const legs = legsOf(e, req.participant);
  answered(e);
  if (!('file' in req.source))
    refuse('dbId' in req.source ? 'No media database: play a file' : 'Playing a blob is not supported: play a file');
  if (!roots || roots.roots.length === 0) refuse('No media roots are configured (mediaRoots): play media is off');
  const file = req.source.file;
  const { info } = roots.wav(file);
  const list = Array.from({ length: req.repeatTimes }, () => file);
  for (const leg of legs)
    leg
      .play(list)
      .then(
        (r) => log.info(`call ${req.callId}: played ${file} to leg ${leg.name}: ${r.reason} after ${r.durationMs} ms`),
        onError,
      );
  log.info(`call ${req.callId}: play ${file} to leg ${legs.map((l) => l.name).join(', ')} x${req.repeatTimes}`);
  return okReply({
    duration: Math.round(info.durationMs * req.repeatTimes),
    warning: req.startPos ? 'start-pos is not supported: played from the start' : undefined,
  });
}

export function stopMedia(req: NgStopMedia, e: CallView): BDict {
  const legs = legsOf(e, req.participant);
  answered(e);
  let pos: number | undefined;
  for (const leg of legs) pos = leg.stopPlay() ?? pos;
  if (pos === undefined) return okReply({ 'last-frame-pos': 0, warning: 'Not currently playing media' });
  return okReply({ 'last-frame-pos': Math.round(pos) });
}

export function playDtmf(req: NgPlayDtmf, e: CallView): BDict {
  const legs = legsOf(e, req.participant);
  answered(e);
  // the selected side is the one that "sends" the digit: it goes to the other side
  const targets = req.participant.all ? legs : legs.map((l) => l.peer).filter((l): l is MediaLeg => !!l);
  if (!targets.length) refuse('No leg to send the digit to');
  const how: string[] = [];
  for (const to of targets) {
    const mode = to.dtmfMode();
    if (!mode)
      refuse(`Cannot inject DTMF into leg ${to.name}: no telephone-event and no decoded audio to add a tone to`);
    how.push(mode);
    to.sendDtmf(req.digit, { durationMs: req.durationMs, gapMs: 0 }).catch(() => undefined);
  }
  return okReply({ warning: how.includes('inband') ? 'sent in-band (no telephone-event on that side)' : undefined });
}

/** block DTMF / unblock DTMF: stop (or resume) passing the named participants' RFC 4733 digits on. */
export function blockDtmf(req: NgBlockDtmf, e: CallView): BDict {
  const legs = legsOf(e, req.participant, true);
  answered(e);
  for (const l of legs) l.bridge?.blockDtmf(l, req.command === 'block DTMF');
  return okReply();
}

/** block/unblock media: drop what the participants send; silence/unsilence media: send silence instead. */
export function mediaBlock(req: NgMediaBlock, e: CallView): BDict {
  const legs = legsOf(e, req.participant, true);
  answered(e);
  for (const l of legs) {
    if (req.command === 'block media' || req.command === 'unblock media')
      l.bridge?.blockMedia(l, req.command === 'block media');
    else if (req.command === 'silence media') l.mute();
    else l.unmute();
  }
  return okReply();
}

/** A name not taken yet: `base.wav`, else `base-2.wav`, `base-3.wav`... (a recording never replaces a file). */
function freeName(dir: string, base: string): string {
  for (let i = 1; i < 1000; i++) {
    const name = `${base}${i === 1 ? '' : `-${i}`}.wav`;
    if (!fs.existsSync(path.join(dir, name))) return name;
  }
  throw new MediaFileError(`${base}.wav: no free name left`, base, 'exists');
}

/**
 * `recording-<call-id>`, made a safe file name: other characters become `_`,
 * and a Call-ID too long for a file name (NAME_MAX is 255 bytes, with room
 * for `-N.wav`) is cut and ends in a hash of the whole, so that calls whose
 * Call-IDs share a long prefix still get names of their own.
 */
export function defaultRecordingName(callId: string): string {
  const safe = callId.replace(/[^A-Za-z0-9_.@+-]/g, '_').replace(/^\.+/, '_');
  if (safe.length <= 200) return `recording-${safe}`;
  const hash = createHash('sha256').update(callId).digest('hex').slice(0, 16);
  return `recording-${safe.slice(0, 180)}-${hash}`;
}

/**
 * start recording: both legs of the call, decoded and mixed, into a new WAV
 * inside the media roots: `output-destination` when given, else
 * `recording-<call-id>.wav` in the first root (a name in use gets -2, -3...).
 * A path that cannot be written is refused with the media untouched.
 */
export function startRecording(req: NgStartRecording, e: CallView, roots: MediaRoots | undefined): BDict {
  answered(e);
  const bridge = e.session.bridge!;
  if (!roots || roots.roots.length === 0) refuse('No media roots are configured (mediaRoots): recording is off');
  if (bridge.recordingFile) return okReply({ warning: `already recording to ${bridge.recordingFile}` });
  const wanted = req.outputDestination ?? defaultRecordingName(req.callId);
  const base = wanted.replace(/\.wav$/i, '');
  const first = roots.resolveForWrite(`${base}.wav`);
  const file = path.join(path.dirname(first), freeName(path.dirname(first), path.basename(base)));
  try {
    bridge.startRecording(roots.resolveForWrite(file));
  } catch (err) {
    if (err instanceof MediaFileError) refuse(`Cannot record to ${file}: ${err.message}`);
    throw err;
  }
  e.recording = { file };
  return okReply({ warning: file !== first ? `${first} exists: recording to ${file}` : undefined });
}

/**
 * A restored call that was being recorded when the process died (persist.ts):
 * the file it wrote gets its header sizes, and the recording goes on in the
 * next free name beside it (`-2`, `-3`...). Returns the new file.
 */
export function resumeRecording(e: CallView, roots: MediaRoots | undefined, was: string): string | undefined {
  if (fs.existsSync(was)) repairWavSizes(was);
  const bridge = e.session.bridge;
  if (!bridge || !roots) return undefined;
  const dir = path.dirname(was);
  const file = path.join(
    dir,
    freeName(
      dir,
      path
        .basename(was)
        .replace(/\.wav$/i, '')
        .replace(/-\d+$/, ''),
    ),
  );
  bridge.startRecording(roots.resolveForWrite(file));
  e.recording = { file };
  return file;
}

export function stopRecording(e: CallView): BDict {
  const bridge = e.session.bridge;
  const r = bridge?.stopRecording();
  e.recording = undefined;
  return okReply(r ? {} : { warning: 'the call was not being recorded' });
}
