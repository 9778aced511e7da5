/**
 * The one codec-chain builder: the decoder and the encoder of a negotiated
 * payload at a PCM rate, set up the same way in every graph (gateway
 * directions, a leg's own graph, conferences, playback, recording taps, the
 * stand-in phone). Filters are added to the graph given, so that they are
 * freed with it.
 */
import type { Factory } from '../graph/Factory';
import type { Graph } from '../graph/Graph';
import { OpusEncoder, type Decoder, type Encoder } from '../graph/filters';
import type { ResolvedMedia } from './resolve';

type CodecSide = Pick<ResolvedMedia, 'codec' | 'fmtp'> & Partial<ResolvedMedia>;

/**
 * A decoder for what the leg sends, producing mono PCM at `rate` where the
 * codec can (the codec's own audio rate otherwise: the caller resamples).
 */
export function addDecoder(g: Graph, f: Factory, m: CodecSide, rate?: number): Decoder {
  const c = m.codec;
  const dec = g.add(f.createDecoder(c.mime!));
  if (m.codec2) {
    // the assumed mode first (an fmtp mode overrides it); the decoder follows the wire either way
    dec.call('MS_FILTER_SET_BITRATE', m.codec2.mode);
    dec.call('RMS_CODEC2_SET_LINK', m.codec2.link);
  }
  dec.addFmtpIfSupported(m.fmtp);
  if (rate !== undefined && c.rates.length > 1 && c.rates.includes(rate)) dec.setSampleRate(rate);
  if (c.name === 'opus') dec.setChannels(1);
  return dec;
}

/** The PCM rate addDecoder() produces for `rate`. */
export function decodedRate(m: CodecSide, rate?: number): number {
  return rate !== undefined && m.codec.rates.includes(rate) ? rate : m.codec.audioRate;
}

/**
 * An encoder for what we send the leg, fed mono PCM at `rate` (the codec's
 * audio rate when it cannot take `rate`: the caller resamples), with the
 * negotiated fmtp, bit rate, packet time and Opus settings.
 */
export function addEncoder(g: Graph, f: Factory, m: CodecSide, rate?: number): Encoder {
  const c = m.codec;
  const enc = g.add(f.encoderFor(c));
  if (m.codec2) {
    enc.call('MS_FILTER_SET_BITRATE', m.codec2.mode);
    // a mode nobody signalled: send what the peer sends once its packets show it
    if (!m.codec2.signalled) enc.call('RMS_CODEC2_SET_LINK', m.codec2.link);
  }
  if (m.fmtp) enc.addFmtp(m.fmtp);
  if (m.opus && enc instanceof OpusEncoder) enc.configure(m.opus);
  if (rate !== undefined && c.rates.length > 1 && c.rates.includes(rate)) enc.setSampleRate(rate);
  if (m.bitrate !== undefined) enc.setBitrate(m.bitrate);
  if (m.ptime !== undefined) enc.setPacketTime(m.ptime);
  return enc;
}
