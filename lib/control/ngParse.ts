/** Reading one ng request (a datagram, or one message of a TCP stream) into the typed model. */
import { ControlProtocolError } from '../errors';
import { decode, type BDict, type BValue } from './bencode';
import { NG_DECODE_LIMITS, NG_MAX_MESSAGE_BYTES } from './ngLimits';
import {
  Args,
  clamp,
  compact,
  dtmfEvent,
  fail,
  flagsOf,
  mergeRtppFlags,
  normalizeKeys,
  readParticipant,
  readSdpOptions,
  requireParticipant,
  splitMessage,
  typeName,
} from './ngArgs';
import { NG_MAX_SDP_BYTES, NG_REASONS, NG_UNSUPPORTED_COMMANDS, type NgPlayMedia, type NgRequest } from './ngTypes';

// ---------------------------------------------------------------------------
// Parsing

/** Limits of parseRequest(). */
export interface ParseOptions {
  /** Largest message, cookie included. Default NG_MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
}

const DECODE_LIMITS = NG_DECODE_LIMITS;

/**
 * Reads one message (a datagram, or one message from NgStreamDecoder) into a
 * request. Throws only ControlProtocolError: with `cookie` set when the
 * message had one (reply with errorReplyFor(err)), without when it had none
 * (send nothing, as rtpengine does).
 */
export function parseRequest(message: Uint8Array, opts: ParseOptions = {}): NgRequest {
  let cookie: string | undefined;
  try {
    const max = opts.maxMessageBytes ?? NG_MAX_MESSAGE_BYTES;
    const frame = splitMessage(message);
    cookie = frame.cookie;
    if (message.length > max)
      fail(`ng: message of ${message.length} bytes, more than the ${max} allowed`, 'Message too large');
    return compact(readRequest(frame.cookie, frame.body));
  } catch (err) {
    const e =
      err instanceof ControlProtocolError
        ? err
        : new ControlProtocolError(`ng: cannot read the message: ${String((err as Error)?.message ?? err)}`);
    if (cookie !== undefined && e.cookie === undefined) e.cookie = cookie;
    throw e;
  }
}

function readRequest(cookie: string, body: Buffer): NgRequest {
  if (body.length === 0) fail('ng: nothing after the cookie', NG_REASONS.noPayload);
  if (body[0] === 0x7b)
    fail('ng: JSON bodies are not supported, only bencode', `${NG_REASONS.badFormat} (JSON is not supported)`);
  if (body[0] !== 0x64) fail('ng: the body is not a bencoded dictionary', NG_REASONS.badFormat);
  let decoded: BValue;
  try {
    decoded = decode(body, { ...DECODE_LIMITS, maxBytes: body.length });
  } catch (err) {
    const detail = (err as Error).message.replace(/^bencode: /, '');
    throw new ControlProtocolError(
      `ng: ${(err as Error).message}`,
      'ERR_RMS_BENCODE',
      `${NG_REASONS.notBencode}: ${detail}`,
    );
  }
  let d = normalizeKeys(decoded as BDict);
  const warnings: string[] = [];
  const cmd = d.command;
  if (cmd === undefined) fail('ng: the dictionary has no command', NG_REASONS.noCommand);
  if (typeof cmd !== 'string') fail(`ng: command must be a string, got ${typeName(cmd)}`, NG_REASONS.noCommand);
  const rtpp = d['rtpp-flags'];
  if (typeof rtpp === 'string' && rtpp.length <= 8192) d = mergeRtppFlags(d, rtpp);
  const a = new Args(d, warnings);
  const base = { cookie, args: d, warnings };
  const callId = () => a.str('call-id', { required: true })!;
  switch (cmd) {
    case 'ping':
      return { ...base, command: 'ping' };
    case 'statistics':
      return { ...base, command: 'statistics' };
    case 'offer':
    case 'answer': {
      const r = {
        ...base,
        callId: callId(),
        fromTag: a.str('from-tag', { required: true })!,
        toTag: a.str('to-tag', { required: cmd === 'answer' }),
        viaBranch: a.str('via-branch'),
        sdp: a.str('sdp', { required: true, max: NG_MAX_SDP_BYTES })!,
        options: readSdpOptions(a),
      };
      if (Buffer.byteLength(r.sdp) > NG_MAX_SDP_BYTES)
        fail(`ng: sdp is larger than ${NG_MAX_SDP_BYTES} bytes`, 'sdp too long');
      return cmd === 'offer' ? { ...r, command: 'offer' } : { ...r, command: 'answer', toTag: r.toTag! };
    }
    case 'delete': {
      const options = readSdpOptions(a);
      return {
        ...base,
        command: 'delete',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        fatal: options.flags.includes('fatal'),
        deleteDelay: a.int('delete-delay', 0, 86_400),
        options,
      };
    }
    case 'query':
      return {
        ...base,
        command: 'query',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
      };
    case 'list':
      return { ...base, command: 'list', limit: a.int('limit', 1, 100_000) ?? 32 };
    case 'play media': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      const sources: NgPlayMedia['source'][] = [];
      const file = a.str('file', { max: 4096, nonEmpty: true });
      if (file !== undefined) sources.push({ file });
      const blob = a.get('blob');
      if (blob !== undefined) {
        if (typeof blob !== 'string' && !Buffer.isBuffer(blob))
          fail('ng: blob must be a byte string', 'blob must be a string');
        sources.push({ blob: Buffer.isBuffer(blob) ? blob : Buffer.from(blob, 'utf8') });
      }
      const dbId = a.int('db-id', 0, Number.MAX_SAFE_INTEGER);
      if (dbId !== undefined) sources.push({ dbId });
      if (sources.length !== 1)
        fail('ng: play media needs exactly one of file, blob and db-id', 'No media source given');
      return {
        ...base,
        command: 'play media',
        callId: id,
        participant,
        source: sources[0],
        repeatTimes: a.int('repeat-times', 1, 1_000_000) ?? 1,
        startPos: a.int('start-pos', 0, Number.MAX_SAFE_INTEGER),
      };
    }
    case 'stop media': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      return { ...base, command: 'stop media', callId: id, participant };
    }
    case 'play DTMF': {
      const id = callId();
      const participant = readParticipant(a, flagsOf(a));
      requireParticipant(participant, cmd);
      const { event, digit } = dtmfEvent(a);
      const volume = a.int('volume', -1000, 1000) ?? -8;
      return {
        ...base,
        command: 'play DTMF',
        callId: id,
        participant,
        event,
        digit,
        durationMs: clamp(a.int('duration', 0, 1_000_000) ?? 250, 100, 5000),
        volume: clamp(-Math.abs(volume), -63, 0),
        pauseMs: clamp(a.int('pause', 0, 1_000_000) ?? 100, 100, 5000),
      };
    }
    case 'block DTMF':
    case 'unblock DTMF': {
      const id = callId();
      return {
        ...base,
        command: cmd,
        callId: id,
        participant: readParticipant(a, flagsOf(a)),
        mode: a.str('DTMF-security', { max: 32 }),
      };
    }
    case 'block media':
    case 'unblock media':
    case 'silence media':
    case 'unsilence media':
      return { ...base, command: cmd, callId: callId(), participant: readParticipant(a, flagsOf(a)) };
    case 'start recording':
      return {
        ...base,
        command: 'start recording',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        outputDestination: a.str('output-destination', { max: 4096 }),
      };
    case 'stop recording':
      return {
        ...base,
        command: 'stop recording',
        callId: callId(),
        fromTag: a.str('from-tag'),
        toTag: a.str('to-tag'),
        viaBranch: a.str('via-branch'),
        pause: flagsOf(a).includes('pause') || a.bool('pause') === true,
      };
    case 'start forwarding': {
      const flags = flagsOf(a);
      return {
        ...base,
        command: 'start forwarding',
        callId: callId(),
        participant: readParticipant(a, flags),
        forwardTo: a.str('forward-to', { max: 2048 }),
        direction: a.str('direction', { max: 16 }),
        format: a.str('format', { max: 16 }),
        rate: a.int('rate', 8000, 48000),
        stereo: flags.includes('stereo'),
        inject: flags.includes('inject'),
        metadata: a.str('metadata', { max: 4096 }),
      };
    }
    case 'stop forwarding':
      return { ...base, command: 'stop forwarding', callId: callId(), participant: readParticipant(a, flagsOf(a)) };
  }
  if ((NG_UNSUPPORTED_COMMANDS as readonly string[]).includes(cmd))
    fail(`ng: command ${JSON.stringify(cmd)} is not supported`, `${NG_REASONS.unsupportedCommand}: ${cmd}`);
  return fail(`ng: unknown command ${JSON.stringify(cmd.slice(0, 64))}`, NG_REASONS.unknownCommand);
}
