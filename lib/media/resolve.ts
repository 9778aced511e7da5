/**
 * The media format of one leg, as negotiated, checked and completed with the
 * codec table's defaults. Every graph builder takes a ResolvedMedia, so the
 * checks (codec known, fmtp valid, ptime allowed, telephone-event on its own
 * payload type) happen once, before any filter exists.
 */
import { CODECS, defaultPayloadType, findCodec, ptimeOptions, validateFmtp, type CodecInfo } from '../codecs/table';
import { parseCodec2Fmtp } from '../codecs/fmtp';
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
}

export interface ResolvedMedia {
  codec: CodecInfo;
  payloadType: number;
  ptime: number;
  fmtp?: string;
  bitrate?: number;
  opus?: OpusSettings;
  telephoneEvent?: number;
}

/** Validates a leg's media and fills in defaults; `name` is the leg's name in error messages. */
export function resolveMedia(name: string, m: LegMedia): ResolvedMedia {
  const codec = findCodec(String(m.codec));
  if (!codec || codec.kind !== 'audio' || !codec.mime) {
    const names = Object.values(CODECS)
      .filter((c) => c.kind === 'audio')
      .map((c) => c.name)
      .join(', ');
    throw new UnknownNameError(`Unknown codec ${String(m.codec)} for leg ${name}; supported: ${names}`);
  }
  validateFmtp(codec, m.fmtp);
  const ptimes = ptimeOptions(codec, m.fmtp);
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
  };
}

/** The LegMedia a ResolvedMedia came from (with its defaults filled in). */
export function legMediaOf(m: ResolvedMedia): LegMedia {
  return {
    codec: m.codec.name,
    payloadType: m.payloadType,
    ptime: m.ptime,
    fmtp: m.fmtp,
    bitrate: m.bitrate,
    opus: m.opus,
    telephoneEvent: m.telephoneEvent,
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
    JSON.stringify(x.opus) === JSON.stringify(y.opus)
  );
}

/** Same codec and, for Codec2, the same mode: packets can be relayed between the two undecoded. */
export function sameCoding(x: ResolvedMedia, y: ResolvedMedia): boolean {
  if (x.codec.name !== y.codec.name) return false;
  if (x.codec.name === 'CODEC2') return parseCodec2Fmtp(x.fmtp).mode === parseCodec2Fmtp(y.fmtp).mode;
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
