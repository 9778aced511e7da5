/** The ng protocol's vocabulary: the commands, the error reasons Kamailio reads, limits, and the typed requests. */
import type { BDict } from './bencode';

/** The commands this server carries out. */
export const NG_COMMANDS = [
  'ping',
  'offer',
  'answer',
  'delete',
  'query',
  'list',
  'play media',
  'stop media',
  'play DTMF',
  'block DTMF',
  'unblock DTMF',
  'block media',
  'unblock media',
  'silence media',
  'unsilence media',
  'start recording',
  'stop recording',
  'start forwarding',
  'stop forwarding',
  'statistics',
] as const;
/** The commands parseRequest() understands. */
export type NgCommand = (typeof NG_COMMANDS)[number];

/** Commands rtpengine defines that this server knows of but does not carry out. */
export const NG_UNSUPPORTED_COMMANDS = [
  'pause recording',
  'block silence media',
  'unblock silence media',
  'publish',
  'subscribe request',
  'subscribe answer',
  'unsubscribe',
  'connect',
  'cli',
] as const;

/**
 * `error-reason` texts. The first five are rtpengine's own; Kamailio's module
 * treats the two load-limit ones specially: on either it tries the next node
 * of the set instead of failing the call.
 */
export const NG_REASONS = {
  noPayload: 'Invalid data (no payload)',
  notBencode: 'Could not decode bencode dictionary',
  noCommand: 'Dictionary contains no key "command"',
  unknownCommand: 'Unrecognized command',
  badFormat: 'Invalid NG data format',
  sessionLimit: 'Parallel session limit reached',
  outOfPorts: 'Ran out of ports',
  unsupportedCommand: 'Unsupported command',
  replyTooLarge: 'Reply too large',
  internal: 'Internal error',
} as const;

export { NG_MAX_COOKIE_BYTES, NG_MAX_MESSAGE_BYTES } from './ngLimits';
/** Largest reply that fits one IPv4 UDP datagram. */
export const NG_MAX_UDP_REPLY_BYTES = 65_507;
/** Longest SDP body (as lib/sdp/parse.ts accepts). */
export const NG_MAX_SDP_BYTES = 64 * 1024;
/** Longest Call-ID, tag, via-branch or label (as MediaServer accepts for a Call-ID). */
export const NG_MAX_ID_LENGTH = 256;

// ---------------------------------------------------------------------------
// Request model

/** The `codec` dictionary of offer/answer: what to strip, keep, transcode to... */
export interface NgCodecOptions {
  /** Codecs to remove from the SDP (`all`/`full`: every codec). */
  strip: string[];
  /** Codecs to keep, in this order, first preferred. */
  offer: string[];
  /** Codecs to add, transcoded when the peer picks them. */
  transcode: string[];
  /** Codecs removed from the offer but still accepted from the offerer (transcoded). */
  mask: string[];
  /** Codec parameters for transcoding (e.g. `opus/48000/2/32000`). */
  set: string[];
  /** Codecs never stripped by `strip`/`mask` `all`. */
  except: string[];
  /** Codecs accepted towards the offerer even if the answerer rejects them. */
  accept: string[];
  /** Like mask, and engages transcoding. */
  consume: string[];
}

/** The keys of the `codec` dictionary that are read. */
export const NG_CODEC_KEYS = ['strip', 'offer', 'transcode', 'mask', 'set', 'except', 'accept', 'consume'] as const;

/** The options of offer and answer (and of other commands where they apply). */
export interface NgSdpOptions {
  /** Flags we know, normalized to rtpengine's hyphenated spelling (`trust address` -> `trust-address`), in order. */
  flags: string[];
  /** Flags we do not know, as received; also listed in the request's warnings. */
  unknownFlags: string[];
  /** SDP parts to rewrite: `origin`, `session-connection`, `SDP-version`, `username`, `session-name`, `zero-address`, `force-increment-sdp-ver`. */
  replace: string[];
  codec: NgCodecOptions;
  /** Logical interface names for the sides, [from, to]. */
  direction?: string[];
  /** Where the SIP message came from (Kamailio sends it with every command). */
  receivedFrom?: { family: 'IP4' | 'IP6'; address: string };
  addressFamily?: 'IP4' | 'IP6';
  /** Overrides the SDP's addresses and receivedFrom. */
  mediaAddress?: string;
  ice?: 'remove' | 'force' | 'default' | 'force-relay' | 'optional';
  dtls?: string;
  sdes: string[];
  osrtp: string[];
  rtcpMux: string[];
  t38: string[];
  /** `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVP`, `UDP/TLS/RTP/SAVPF` or `accept`. */
  transportProtocol?: string;
  ptime?: number;
  ptimeReverse?: number;
  recordCall?: boolean;
  /** Label for this participant (`label` or `from-label`). */
  label?: string;
  /** What the controlling proxy supports; `load limit` allows the `load limit` result. */
  supports: string[];
  /** Newer Kamailio (5.8+) says whether the command came from a request or a reply. */
  sipMessageType?: 'sip_request' | 'sip_reply';
  endpointLearning?: string;
  /** The raw `rtpp-flags` string (newer Kamailio with flags parsed by the server); already merged into these options. */
  rtppFlags?: string;
}

/** Which participant(s) a command applies to. */
export interface NgParticipant {
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** A label set on the leg by an earlier offer or answer. */
  label?: string;
  /** The label of the other leg. */
  toLabel?: string;
  /** Select by the SDP media address. */
  address?: string;
  /** `all` (flag or key): every participant, or the named subset. */
  all?: 'all' | 'offer-answer' | 'except-offer-answer' | 'flows';
}

interface NgBase {
  /** The request's cookie; the reply carries it back. */
  cookie: string;
  /** The dictionary as received, keys normalized (spaces -> hyphens, first of duplicates kept). */
  args: BDict;
  /** Things accepted but ignored (unknown flags, bad optional values). A daemon may log them. */
  warnings: string[];
}

/** A parsed `ping` request. */
export interface NgPing extends NgBase {
  /** The ng command. */
  command: 'ping';
}
/** A parsed `offer` request. */
export interface NgOffer extends NgBase {
  /** The ng command. */
  command: 'offer';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag: string;
  /** Present in a re-INVITE's offer. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** The SDP body. */
  sdp: string;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `answer` request. */
export interface NgAnswer extends NgBase {
  /** The ng command. */
  command: 'answer';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag: string;
  /** The SIP To tag. */
  toTag: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** The SDP body. */
  sdp: string;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `delete` request. */
export interface NgDelete extends NgBase {
  /** The ng command. */
  command: 'delete';
  /** The SIP Call-ID. */
  callId: string;
  /** Without it the whole call goes (Kamailio sends it always; it leaves to-tag out unless asked). */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** Unknown call -> error instead of ok with a warning. */
  fatal: boolean;
  /** Seconds to wait before deleting (`delete delay`, or Kamailio's `delete-delay=` flag). */
  deleteDelay?: number;
  /** The flags and options of the request. */
  options: NgSdpOptions;
}
/** A parsed `query` request. */
export interface NgQuery extends NgBase {
  /** The ng command. */
  command: 'query';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
}
/** A parsed `list` request. */
export interface NgList extends NgBase {
  /** The ng command. */
  command: 'list';
  /** Most Call-IDs to return. Default 32. */
  limit: number;
}
/** A parsed `play media` request. */
export interface NgPlayMedia extends NgBase {
  /** The ng command. */
  command: 'play media';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  source: { file: string } | { blob: Buffer } | { dbId: number };
  repeatTimes: number;
  startPos?: number;
}
/** A parsed `stop media` request. */
export interface NgStopMedia extends NgBase {
  /** The ng command. */
  command: 'stop media';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
}
/** A parsed `play DTMF` request. */
export interface NgPlayDtmf extends NgBase {
  /** The ng command. */
  command: 'play DTMF';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  /** RFC 4733 event 0..15 (0-9, 10 '*', 11 '#', 12-15 A-D). */
  event: number;
  /** The same as a character. */
  digit: string;
  /** Milliseconds, 100..5000, default 250. */
  durationMs: number;
  /** dBm0, -63..0, default -8 (a positive value is taken as negative). */
  volume: number;
  /** Milliseconds between queued digits, 100..5000, default 100. */
  pauseMs: number;
}
/** A parsed `block DTMF / unblock DTMF` request. */
export interface NgBlockDtmf extends NgBase {
  /** The ng command. */
  command: 'block DTMF' | 'unblock DTMF';
  /** The SIP Call-ID. */
  callId: string;
  /** Whose media the command is about (from-tag, to-tag or label). */
  participant: NgParticipant;
  /** `DTMF-security` mode for block (drop, silence, tone, random, zero, DTMF, off). */
  mode?: string;
}
/** block/unblock media (drop what the participant sends), silence/unsilence media (replace it by silence). */
export interface NgMediaBlock extends NgBase {
  command: 'block media' | 'unblock media' | 'silence media' | 'unsilence media';
  callId: string;
  /** Who sends the media; nobody named: every participant of the call. */
  participant: NgParticipant;
}
/** A parsed `start recording` request. */
export interface NgStartRecording extends NgBase {
  /** The ng command. */
  command: 'start recording';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  outputDestination?: string;
}
/** A parsed `stop recording` request. */
export interface NgStopRecording extends NgBase {
  /** The ng command. */
  command: 'stop recording';
  /** The SIP Call-ID. */
  callId: string;
  /** The SIP From tag of the side that sent the request. */
  fromTag?: string;
  /** The SIP To tag. */
  toTag?: string;
  /** The Via branch (told apart by rtpengine for forked calls; read, not used). */
  viaBranch?: string;
  /** `pause` flag or `pause=yes`: keep the file open for a later start. */
  pause: boolean;
}
/**
 * A parsed `start forwarding` request: rtpengine forwards a call's media to
 * its recording daemon; this server forks the named participants' decoded
 * audio to a WebSocket (`forward-to`, an extension key) - see
 * docs/streams.md. Nobody named: the call (the offerer's leg, both
 * directions).
 */
export interface NgStartForwarding extends NgBase {
  command: 'start forwarding';
  callId: string;
  participant: NgParticipant;
  /** ws:// or wss:// URL to fork to. */
  forwardTo?: string;
  /** in, out or both (default: in for a named participant, both for the call). */
  direction?: string;
  /** L16, PCMU or opus, and the rate. */
  format?: string;
  rate?: number;
  /** Flags: `stereo` (both directions as a stereo pair), `inject` (what the WebSocket sends back plays into the leg). */
  stereo: boolean;
  inject: boolean;
  /** `metadata`: passed on in the fork's start message. */
  metadata?: string;
}
/** A parsed `stop forwarding` request: the forks of the named participants (nobody named: all) stop. */
export interface NgStopForwarding extends NgBase {
  command: 'stop forwarding';
  callId: string;
  participant: NgParticipant;
}
/** A parsed `statistics` request. */
export interface NgStatistics extends NgBase {
  /** The ng command. */
  command: 'statistics';
}

/** Any parsed request, told apart by `command`. */
export type NgRequest =
  | NgPing
  | NgOffer
  | NgAnswer
  | NgDelete
  | NgQuery
  | NgList
  | NgPlayMedia
  | NgStopMedia
  | NgPlayDtmf
  | NgBlockDtmf
  | NgMediaBlock
  | NgStartRecording
  | NgStopRecording
  | NgStartForwarding
  | NgStopForwarding
  | NgStatistics;
