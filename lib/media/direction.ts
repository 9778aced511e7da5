/**
 * One direction of a bridge between two legs, as a chain of filters:
 *
 *   relay:      rtprecv -> [loss meter] -> [tee] -> rtpsend
 *   transcode:  rtprecv -> [loss meter] -> decoder -> [RmsPlc | gate] -> [tee]
 *               -> [level] -> [silence] -> [DTMF detector] -> [resampler]
 *               -> [DTMF generator] -> encoder -> rtpsend
 *
 * With concealment, a tee right after rtprecv gives a copy of what it plays
 * out to RmsPlc (decoders without concealment of their own: it conceals up to
 * 100 ms that the sequence numbers say is lost, and nothing for a late tick
 * or a source gone quiet) or to RmsSourceGate after a decoder that conceals
 * by the clock (Opus, G.729: the gate lets its audio through only while
 * packets still come). A source that stops (hold, silence suppression) makes
 * us send nothing instead of concealment and noise, as a relay would.
 *
 * The tee, when asked for, is where recordings tap the direction (packets
 * when relayed, decoded and concealed PCM when transcoded); its output 0
 * carries on down the chain, the others are left for the recordings.
 *
 * Audio streams (lib/streams) get points of their own: a tee on what `from`
 * sends (after the PLC, or the packets when relayed), an RmsAudioMix after
 * the resampler whose input 1 takes audio injected towards `to`, and a tee
 * after it on what `to` gets (the relayed tee's output 2 when relayed).
 */
import type { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import type { Graph } from '../graph/Graph';
import type { DtmfGenerator, LevelMeter, LossMeter, RtpReceiver, RtpSender } from '../graph/filters';
import type { AudioMixer } from '../graph/streamFilters';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import { addDecoder, addEncoder } from './chain';
import type { PlcKind } from './meters';
import { commonRate, type ResolvedMedia } from './resolve';

/** One direction's filter chain, for inspection (and tests). */
export interface DirectionInfo {
  from: string;
  to: string;
  /** Filter names in order, e.g. ['MSRtpRecv', 'MSUlawDec', 'RmsOpusEnc', 'MSRtpSend']. */
  chain: string[];
  /** True when packets are relayed without decoding. */
  relay: boolean;
  /** PCM rate out of the decoder and into the encoder (0 when relaying). */
  decodeRate: number;
  encodeRate: number;
}

export interface DirectionEnd {
  name: string;
  endpoint: RtpEndpoint;
  media: ResolvedMedia;
}

export interface DirectionOptions {
  graph: Graph;
  factory: Factory;
  from: DirectionEnd;
  to: DirectionEnd;
  relay: boolean;
  /** Loss meter after the receiver, level meter after the decoder. */
  meters: boolean;
  plc: boolean;
  /** Detect in-band DTMF in what `from` sends (transcoded directions at 8 or 16 kHz). */
  inband: boolean;
  /** Replace what `from` sends by silence (transcoded directions). */
  silenced: boolean;
  /** Insert a tee for recordings. */
  tap: boolean;
  /** Packets go out to `to` (false: its sender is muted). */
  sending: boolean;
  /** Points for audio streams of `from` (what it sends), of `to` (what it gets), and an injection towards `to`. */
  streams?: { from: boolean; to: boolean; mix: boolean };
  onInbandDigit: (digit: string, durationMs: number) => void;
}

export interface BuiltDirection {
  info: DirectionInfo;
  recv: RtpReceiver;
  send: RtpSender;
  /** The filter feeding `send` (what a playback unlinks). */
  feed: Filter<any>;
  meter?: LossMeter;
  level?: LevelMeter;
  /** The in-band tone generator before the encoder (transcoded towards a leg without telephone-event). */
  generator?: DtmfGenerator;
  plc: PlcKind;
  /** Where recordings attach: outputs 1.. of `tee`; `rate` 0 means RTP packets (relayed). */
  tap?: { tee: Filter<any>; rate: number };
  /** Where streams attach (a free output `pin` of `tee`; `rate` 0: RTP packets), and where injected audio joins. */
  streamFrom?: StreamTap;
  streamTo?: StreamTap;
  mix?: { mixer: AudioMixer; rate: number };
}

export interface StreamTap {
  tee: Filter<any>;
  pin: number;
  rate: number;
}

export function buildDirection(o: DirectionOptions): BuiltDirection {
  const { graph: g, factory: f, from, to } = o;
  const recv = g.add(f.rtpReceiver());
  recv.setEndpoint(from.endpoint);
  const chain: Filter<any>[] = [recv];
  // concealment stops with its source: the gate hears of every packet played out
  const arrivals = !o.relay && o.plc ? g.add(f.createFilter('MSTee')) : undefined;
  if (arrivals) chain.push(arrivals);
  const meter = o.meters ? g.add(f.lossMeter()) : undefined;
  if (meter) chain.push(meter);
  let decodeRate = 0;
  let encodeRate = 0;
  let level: LevelMeter | undefined;
  let generator: DtmfGenerator | undefined;
  let plc: PlcKind = 'none';
  let tap: BuiltDirection['tap'];
  let streamFrom: StreamTap | undefined;
  let streamTo: StreamTap | undefined;
  let mix: BuiltDirection['mix'];
  const st = o.streams ?? { from: false, to: false, mix: false };
  const tee = () => {
    const t = g.add(f.createFilter('MSTee'));
    chain.push(t);
    return t;
  };
  const addTee = (rate: number) => {
    tap = { tee: tee(), rate };
  };
  if (o.relay) {
    if (o.tap) addTee(0);
    if (st.from || st.to) {
      const t = tee();
      streamFrom = { tee: t, pin: 1, rate: 0 };
      streamTo = { tee: t, pin: 2, rate: 0 };
    }
  } else {
    const shared = commonRate(from.media.codec, to.media.codec);
    decodeRate = shared ?? from.media.codec.audioRate;
    encodeRate = shared ?? to.media.codec.audioRate;
    chain.push(addDecoder(g, f, from.media, decodeRate));
    const dec = chain[chain.length - 1] as ReturnType<typeof addDecoder>;
    if (o.plc) {
      if (dec.hasPlc()) {
        if (dec.hasMethod('MS_DECODER_ENABLE_PLC')) dec.call('MS_DECODER_ENABLE_PLC', 1);
        plc = 'decoder';
        // the decoder conceals by the clock: the gate stops it when the source stops
        const gate = g.add(f.createFilter('RmsSourceGate'));
        arrivals!.link(gate, { from: 1, to: 1 });
        chain.push(gate);
      } else {
        // ours conceals what the sequence numbers say is lost, and nothing else
        const p = g.add(f.createFilter('RmsPlc'));
        arrivals!.link(p, { from: 1, to: 1 });
        chain.push(p);
        plc = 'generic';
      }
    }
    if (o.tap) addTee(decodeRate);
    if (st.from) streamFrom = { tee: tee(), pin: 1, rate: decodeRate };
    if (o.meters) {
      level = g.add(f.levelMeter(decodeRate));
      chain.push(level);
    }
    if (o.silenced) {
      const vol = g.add(f.createFilter('MSVolume'));
      vol.call('MS_VOLUME_SET_GAIN', 0);
      chain.push(vol);
    }
    if (o.inband && (decodeRate === 8000 || decodeRate === 16000)) {
      const det = g.add(f.dtmfDetector(decodeRate));
      det.on('digit', (d) => o.onInbandDigit(d.digit, d.durationMs));
      chain.push(det);
    }
    if (decodeRate !== encodeRate) {
      const rs = g.add(f.resampler());
      rs.setRates(decodeRate, encodeRate);
      chain.push(rs);
    }
    if (st.mix) {
      const mixer = g.add(f.audioMixer(encodeRate, 'lead'));
      chain.push(mixer);
      mix = { mixer, rate: encodeRate };
    }
    if (st.to) streamTo = { tee: tee(), pin: 1, rate: encodeRate };
    if (to.media.telephoneEvent === undefined) {
      generator = g.add(f.dtmfGenerator());
      generator.setSampleRate(encodeRate);
      chain.push(generator);
    }
    chain.push(addEncoder(g, f, to.media, encodeRate));
  }
  const send = g.add(f.rtpSender());
  send.setEndpoint(to.endpoint);
  if (!o.sending) send.mute();
  chain.push(send);
  for (let i = 0; i + 1 < chain.length; i++) chain[i].link(chain[i + 1]);
  return {
    info: { from: from.name, to: to.name, chain: chain.map((x) => x.name), relay: o.relay, decodeRate, encodeRate },
    recv,
    send,
    feed: chain[chain.length - 2],
    meter,
    level,
    generator,
    plc,
    tap,
    streamFrom,
    streamTo,
    mix,
  };
}
