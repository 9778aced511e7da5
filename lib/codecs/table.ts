/**
 * The one table of codec facts. SDP, the gateway and the IVR read codec
 * properties from here and nowhere else.
 *
 * Sources: RFC 3551 (static payload types, G722's 8000 Hz RTP clock for 16 kHz
 * audio), RFC 7587 (opus/48000/2 whatever the coded bandwidth), RFC 4733
 * (telephone-event), RFC 3389 (CN), ITU-T G.729 Annex B (annexb=no), the
 * Codec2 SDP seen in FreeSWITCH and baresip (CODEC2/8000). Costs are µs per
 * 20 ms frame measured on the project machine (docs/../shared reference).
 */
import { codec2FrameMs, parseCodec2Fmtp, parseG729Fmtp, parseOpusFmtp, parseTelephoneEventFmtp } from './fmtp';

/** The codecs (and RTP payload kinds) the package knows. */
export type CodecName = 'PCMU' | 'PCMA' | 'G722' | 'G729' | 'opus' | 'CODEC2' | 'telephone-event' | 'CN';

/** What the package knows of one codec: SDP names and rates, ms2 filter names, packet times, cost. */
export interface CodecInfo {
  /** Encoding name as written in SDP a=rtpmap. */
  name: CodecName;
  /** Audio codec, RFC 4733 events, or RFC 3389 comfort noise. */
  kind: 'audio' | 'event' | 'comfort-noise';
  /** RFC 3551 static payload type, when it has one. */
  staticPt?: number;
  /** Payload type we offer when a dynamic one is needed. */
  dynamicPt?: number;
  /** RTP timestamp clock (a=rtpmap rate). */
  clockRate: number;
  /** PCM sample rate the codec works at by default. */
  audioRate: number;
  /** PCM rates the ms2 encoder/decoder can be set to (for resampler-free bridging). */
  rates: number[];
  /** Channel count written in a=rtpmap (opus is always /2 per RFC 7587). */
  sdpChannels: number;
  /** Packet times in ms: the default, and those the codec can packetize. */
  ptime: {
    /** Used when the SDP asks for none. */
    default: number;
    /** Every packet time the encoder can make. */
    allowed: number[];
  };
  /** Format name of the ms2 encoder/decoder (MSFilterDesc enc_fmt). */
  mime?: string;
  /** Encoder filter to create by name instead of the factory's first for `mime`. */
  encoderFilter?: string;
  /** Encode and decode cost of one 20 ms frame, µs (relative CPU cost). */
  costUs?: {
    /** Encoding one frame. */
    encode: number;
    /** Decoding one frame. */
    decode: number;
  };
}

const G711_PTIMES = [10, 20, 30, 40, 50, 60];

/** Every codec, by name. */
export const CODECS: Readonly<Record<CodecName, CodecInfo>> = {
  PCMU: {
    name: 'PCMU',
    kind: 'audio',
    staticPt: 0,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: G711_PTIMES },
    mime: 'pcmu',
    costUs: { encode: 1, decode: 1 },
  },
  PCMA: {
    name: 'PCMA',
    kind: 'audio',
    staticPt: 8,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: G711_PTIMES },
    mime: 'pcma',
    costUs: { encode: 1, decode: 1 },
  },
  G722: {
    name: 'G722',
    kind: 'audio',
    staticPt: 9,
    // RFC 3551 4.5.2: the RTP clock says 8000 although the audio is 16 kHz.
    clockRate: 8000,
    audioRate: 16000,
    rates: [16000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: [10, 20, 30, 40, 60] },
    mime: 'g722',
    costUs: { encode: 12, decode: 7 },
  },
  G729: {
    name: 'G729',
    kind: 'audio',
    staticPt: 18,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: [10, 20, 30, 40, 60] },
    mime: 'G729',
    costUs: { encode: 41, decode: 8 },
  },
  opus: {
    name: 'opus',
    kind: 'audio',
    dynamicPt: 111,
    clockRate: 48000,
    audioRate: 48000,
    // The ms2 opus filters run their API at any of these; feeding narrowband
    // audio at 8 kHz avoids a resampler and is cheaper to encode.
    rates: [8000, 12000, 16000, 24000, 48000],
    sdpChannels: 2,
    ptime: { default: 20, allowed: [10, 20, 40, 60] },
    mime: 'opus',
    encoderFilter: 'RmsOpusEnc',
    costUs: { encode: 230, decode: 25 },
  },
  CODEC2: {
    name: 'CODEC2',
    kind: 'audio',
    dynamicPt: 96,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    // per mode, see ptimeOptions(): 20 ms frames at 3200/2400, 40 ms below
    ptime: { default: 20, allowed: [20, 40, 60, 80, 120] },
    mime: 'CODEC2',
    costUs: { encode: 27, decode: 20 },
  },
  'telephone-event': {
    name: 'telephone-event',
    kind: 'event',
    dynamicPt: 101,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: [] },
  },
  CN: {
    name: 'CN',
    kind: 'comfort-noise',
    staticPt: 13,
    clockRate: 8000,
    audioRate: 8000,
    rates: [8000],
    sdpChannels: 1,
    ptime: { default: 20, allowed: [] },
  },
};

/**
 * Packet times a codec allows with the given fmtp (Codec2's frame length
 * depends on its mode), and the one to use by default.
 */
export function ptimeOptions(codec: CodecInfo, fmtp?: string): { default: number; allowed: number[] } {
  if (codec.name === 'CODEC2') {
    const frame = codec2FrameMs(parseCodec2Fmtp(fmtp).mode);
    return { default: frame, allowed: codec.ptime.allowed.filter((p) => p % frame === 0) };
  }
  return codec.ptime;
}

/** Checks fmtp values against the codec's rules; throws InvalidArgumentError naming what is allowed. */
export function validateFmtp(codec: CodecInfo, fmtp?: string): void {
  switch (codec.name) {
    case 'opus':
      parseOpusFmtp(fmtp);
      break;
    case 'CODEC2':
      parseCodec2Fmtp(fmtp);
      break;
    case 'G729':
      parseG729Fmtp(fmtp);
      break;
    case 'telephone-event':
      parseTelephoneEventFmtp(fmtp);
      break;
    default:
      break;
  }
}

/** Looks a codec up by SDP encoding name, case-insensitively. */
export function findCodec(name: string): CodecInfo | undefined {
  const lower = name.toLowerCase();
  return Object.values(CODECS).find((c) => c.name.toLowerCase() === lower);
}

/** Payload type to use for a codec when the caller gives none. */
export function defaultPayloadType(codec: CodecInfo): number {
  const pt = codec.staticPt ?? codec.dynamicPt;
  if (pt === undefined) throw new Error(`codec ${codec.name} has no default payload type`);
  return pt;
}
