/**
 * The media format of one leg, as negotiated, checked and completed with the
 * codec table's defaults. Every graph builder takes a ResolvedMedia, so the
 * checks (codec known, fmtp valid, ptime allowed, telephone-event on its own
 * payload type) happen once, before any filter exists.
 */
import { CODECS, defaultPayloadType, findCodec, ptimeOptions, validateFmtp, type CodecInfo } from '../codecs/table';
import { CODEC2_MODES, parseCodec2Fmtp, parseFmtpPairs, type Codec2Mode } from '../codecs/fmtp';
import { InvalidArgumentError, UnknownNameError } from '../errors';
import type { OpusSettings } from '../graph/filters';
import type { PayloadTypeSpec } from '../rtp/RtpEndpoint';

/** The media format of one leg: what it sends and receives. */
export interface LegMedia {
  /** SDP encoding name: PCMU, PCMA, G722, G729, opus, CODEC2. */
  codec: string;
  /** RTP payload type (default: the codec's static or usual dynamic type). */
  payloadType?: number;
  /** Packet time in ms for what we send on this leg (default: the codec's). */
  ptime?: number;
  /** Codec parameters as negotiated (a=fmtp value), given to encoder and decoder. */
  fmtp?: string;
  /** Encoder bit rate in bit/s where the codec has one. */
  bitrate?: number;
  /** Opus encoder settings for what we send on this leg (when its codec is opus). */
  opus?: OpusSettings;
  /** Payload type of RFC 4733 telephone-event on this leg, if negotiated. */
  telephoneEvent?: number;
  /**
   * Codec2 legs whose fmtp names no mode: the mode assumed (default 2400)
   * until the peer's packets show the one it sends; what we send then
   * follows the wire (docs/codecs.md).
   */
  codec2Mode?: Codec2Mode;
  /** @internal The ptime was imposed on this leg (ng `ptime`): relayed only to a leg at the same ptime. */
  fixedPtime?: boolean;
  /** @internal The leg's Codec2 link (Codec2Coding.link), carried to the graphs built from this media. */
  codec2Link?: number;
}

/** A Codec2 leg's mode: as signalled, or assumed and learnt from the wire. */
export interface Codec2Coding {
  mode: Codec2Mode;
  /** The fmtp named the mode; false: assumed, our encoder follows the mode the peer sends. */
  signalled: boolean;
  /** Links the leg's decoder and encoders (native/filters/codec2_link.h); kept across re-negotiation. */
  link: number;
}

let lastCodec2Link = 0;

export interface ResolvedMedia {
  codec: CodecInfo;
  payloadType: number;
  ptime: number;
  fmtp?: string;
  bitrate?: number;
  opus?: OpusSettings;
  telephoneEvent?: number;
  codec2?: Codec2Coding;
  fixedPtime?: boolean;
}

function codec2Of(name: string, m: LegMedia, prev?: ResolvedMedia): Codec2Coding {
  if (m.codec2Mode !== undefined && !CODEC2_MODES.includes(m.codec2Mode))
    throw new InvalidArgumentError(
      `leg ${name}: codec2Mode ${String(m.codec2Mode)} is not one of ${CODEC2_MODES.join(', ')}`,
    );
  const signalled = parseFmtpPairs(m.fmtp).has('mode');
  return {
    mode: parseCodec2Fmtp(m.fmtp, m.codec2Mode ?? 2400).mode,
    signalled,
    link: m.codec2Link ?? prev?.codec2?.link ?? ++lastCodec2Link,
  };
}

/**
 * Validates a leg's media and fills in defaults; `name` is the leg's name in
 * error messages. `prev`, the leg's media until now, keeps what the leg
 * learnt from the wire (the Codec2 mode its peer sends).
 */
export function resolveMedia(name: string, m: LegMedia, prev?: ResolvedMedia): ResolvedMedia {
  const codec = findCodec(String(m.codec));
  if (!codec || codec.kind !== 'audio' || !codec.mime) {
    const names = Object.values(CODECS)
      .filter((c) => c.kind === 'audio')
      .map((c) => c.name)
      .join(', ');
    throw new UnknownNameError(`Unknown codec ${String(m.codec)} for leg ${name}; supported: ${names}`);
  }
  validateFmtp(codec, m.fmtp);
  const codec2 = codec.name === 'CODEC2' ? codec2Of(name, m, prev) : undefined;
  const ptimes = ptimeOptions(codec, codec2 && !codec2.signalled ? `mode=${codec2.mode}` : m.fmtp);
  const ptime = m.ptime ?? ptimes.default;
  if (!ptimes.allowed.includes(ptime))
    throw new InvalidArgumentError(
      `ptime ${ptime} is not allowed for ${codec.name}${m.fmtp ? ` (${m.fmtp})` : ''} on leg ${name}; allowed: ${ptimes.allowed.join(', ')}`,
    );
  if (m.opus && codec.name !== 'opus')
    throw new InvalidArgumentError(`opus settings given for leg ${name}, whose codec is ${codec.name}`);
  const payloadType = m.payloadType ?? defaultPayloadType(codec);
  if (m.telephoneEvent !== undefined && m.telephoneEvent === payloadType)
    throw new InvalidArgumentError(
      `leg ${name}: telephone-event and ${codec.name} cannot share payload type ${payloadType}`,
    );
  return {
    codec,
    payloadType,
    ptime,
    fmtp: m.fmtp,
    bitrate: m.bitrate,
    opus: m.opus,
    telephoneEvent: m.telephoneEvent,
    codec2,
    fixedPtime: m.fixedPtime,
  };
}

/**
 * The LegMedia a ResolvedMedia came from (with its defaults filled in);
 * `sameLeg`: for graphs of the same leg, which share what it learnt from the
 * wire (its Codec2 link).
 */
export function legMediaOf(m: ResolvedMedia, sameLeg = false): LegMedia {
  return {
    codec: m.codec.name,
    payloadType: m.payloadType,
    ptime: m.ptime,
    fmtp: m.fmtp,
    bitrate: m.bitrate,
    opus: m.opus,
    telephoneEvent: m.telephoneEvent,
    codec2Mode: m.codec2 && !m.codec2.signalled ? m.codec2.mode : undefined,
    codec2Link: sameLeg ? m.codec2?.link : undefined,
    fixedPtime: m.fixedPtime,
  };
}

/** The payload types an endpoint of this media receives and sends. */
export function profileOf(m: ResolvedMedia): PayloadTypeSpec[] {
  const list: PayloadTypeSpec[] = [
    {
      pt: m.payloadType,
      mime: m.codec.name,
      clockRate: m.codec.clockRate,
      channels: m.codec.sdpChannels,
      fmtp: m.fmtp,
    },
  ];
  if (m.telephoneEvent !== undefined) list.push({ pt: m.telephoneEvent, mime: 'telephone-event', clockRate: 8000 });
  return list;
}

/** Nothing a graph depends on differs (an answer repeated, a 200 after its 183). */
export function sameMedia(x: ResolvedMedia, y: ResolvedMedia): boolean {
  return (
    x.codec === y.codec &&
    x.payloadType === y.payloadType &&
    x.ptime === y.ptime &&
    x.fmtp === y.fmtp &&
    x.bitrate === y.bitrate &&
    x.telephoneEvent === y.telephoneEvent &&
    x.codec2?.mode === y.codec2?.mode &&
    x.fixedPtime === y.fixedPtime &&
    JSON.stringify(x.opus) === JSON.stringify(y.opus)
  );
}

/** Same codec and, for Codec2, the same mode: packets can be relayed between the two undecoded. */
export function sameCoding(x: ResolvedMedia, y: ResolvedMedia): boolean {
  if (x.codec.name !== y.codec.name) return false;
  // a ptime imposed on one side is kept by repacketising (decode and encode)
  if ((x.fixedPtime || y.fixedPtime) && x.ptime !== y.ptime) return false;
  if (x.codec.name === 'CODEC2') return x.codec2?.mode === y.codec2?.mode;
  return true;
}

/** The PCM rate a leg's own audio (prompts, recordings, tones) runs at: 16 kHz for wideband codecs, else 8 kHz. */
export function pcmRateOf(m: ResolvedMedia): number {
  const c = m.codec;
  return c.rates.includes(16000) ? 16000 : c.rates.includes(8000) ? 8000 : c.audioRate;
}

/** The PCM rate both ends of a direction can run at without a resampler, if any. */
export function commonRate(from: CodecInfo, to: CodecInfo): number | undefined {
  const shared = from.rates.filter((r) => to.rates.includes(r));
  return shared.length ? Math.max(...shared) : undefined;
}
