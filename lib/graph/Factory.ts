import type { CodecInfo } from '../codecs/table';
import { InvalidStateError, UnknownNameError } from '../errors';
import { addon, constants, type NativeFactory, type NativeFilter, type NativeFilterDescInfo } from '../native';
import { Filter } from './Filter';
import {
  Decoder,
  DtmfDetector,
  DtmfGenerator,
  Encoder,
  FilePlayer,
  FileRecorder,
  LevelMeter,
  LossMeter,
  OpusEncoder,
  Resampler,
  RtpReceiver,
  RtpSender,
} from './filters';
import { AudioForkSink, AudioInjectSource, AudioMixer, VoiceDetector, type AudioMixMode } from './streamFilters';

/** Our own filters (native/filters), registered on every factory at creation. */
const BUILTIN_FILTERS = [
  'RmsCodec2Enc',
  'RmsCodec2Dec',
  'RmsOpusEnc',
  'RmsLossMeter',
  'RmsDtmfDetect',
  'RmsLevelMeter',
  'RmsAudioFork',
  'RmsAudioInject',
  'RmsAudioMix',
  'RmsVoiceDetect',
  'RmsSourceGate',
  'RmsWavRec',
  'RmsPlc',
];

const STREAM_FILTERS: Record<string, new (n: NativeFilter) => Filter<any>> = {
  RmsAudioFork: AudioForkSink,
  RmsAudioInject: AudioInjectSource,
  RmsAudioMix: AudioMixer,
  RmsVoiceDetect: VoiceDetector,
};

export type FilterDescription = NativeFilterDescInfo;

/**
 * An MSFactory: creates filters and knows every codec ms2 (and this package)
 * provides. Use one per process (Factory.shared()); several are allowed.
 * close() frees every filter it created.
 */
export class Factory {
  static #shared: Factory | undefined;
  #native: NativeFactory | null;
  readonly #children = new Set<Filter<any>>();

  constructor() {
    this.#native = new (addon().Factory)();
    for (const name of BUILTIN_FILTERS) this.#native.registerBuiltinFilter(name);
  }

  /** The process-wide (per thread) factory, created on first use. */
  static shared(): Factory {
    if (!Factory.#shared || Factory.#shared.closed) Factory.#shared = new Factory();
    return Factory.#shared;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  get #n(): NativeFactory {
    if (!this.#native) throw new InvalidStateError('Factory is closed');
    return this.#native;
  }

  /** Every filter descriptor the factory knows. */
  filters(): FilterDescription[] {
    return this.#n.listFilters();
  }

  /** Codec formats (ms2 "enc_fmt", e.g. 'opus', 'pcmu', 'CODEC2') with an encoder and a decoder. */
  #names?: Set<string>;
  /** Whether a filter of this name can be created. */
  has(name: string): boolean {
    this.#names ??= new Set(this.filters().map((d) => d.name));
    return this.#names.has(name);
  }

  codecs(): { encoders: string[]; decoders: string[] } {
    const all = this.filters();
    const pick = (cat: string) => [...new Set(all.filter((d) => d.category === cat && d.encFmt).map((d) => d.encFmt!))];
    return { encoders: pick('encoder'), decoders: pick('decoder') };
  }

  /** Creates a filter by descriptor name (e.g. 'MSResample') or MSFilterId. */
  createFilter(nameOrId: string | number): Filter {
    return this.#adopt(this.#n.createFilter(nameOrId));
  }

  createEncoder(mime: string): Encoder {
    return this.#adopt(this.#n.createEncoder(mime)) as Encoder;
  }

  createDecoder(mime: string): Decoder {
    return this.#adopt(this.#n.createDecoder(mime)) as Decoder;
  }

  /**
   * The encoder the codec table names for a codec (our RmsOpusEnc for opus),
   * mono, as every graph of this package runs.
   */
  encoderFor(codec: CodecInfo): Encoder {
    if (!codec.mime) throw new UnknownNameError(`Codec ${codec.name} has no encoder`);
    const enc = codec.encoderFilter
      ? (this.createFilter(codec.encoderFilter) as Encoder)
      : this.createEncoder(codec.mime);
    if (codec.sdpChannels > 1) enc.setChannels(1);
    return enc;
  }

  /** Our Opus encoder with per-call settings (ms2's MSOpusEnc reads complexity from the environment only). */
  opusEncoder(): OpusEncoder {
    return this.createFilter('RmsOpusEnc') as OpusEncoder;
  }

  /** Our loss/burst/gap meter, to place after an RtpReceiver. */
  lossMeter(): LossMeter {
    return this.createFilter('RmsLossMeter') as LossMeter;
  }

  /** A level meter (RmsLevelMeter) for 16-bit mono PCM at `sampleRate`. */
  levelMeter(sampleRate = 8000): LevelMeter {
    const m = this.createFilter('RmsLevelMeter') as LevelMeter;
    m.setSampleRate(sampleRate);
    return m;
  }

  /**
   * Our in-band DTMF detector for mono PCM at `rate` (8000, the default, or
   * 16000 Hz). Audio passes through it; link its output (to an MSVoidSink at
   * the end of a graph).
   */
  dtmfDetector(rate = 8000): DtmfDetector {
    const d = this.createFilter('RmsDtmfDetect') as DtmfDetector;
    try {
      d.setSampleRate(rate);
    } catch (e) {
      d.close();
      throw e;
    }
    return d;
  }

  /** The end of an audio fork (RmsAudioFork): frames wait in a bounded ring until read. */
  audioForkSink(): AudioForkSink {
    return this.createFilter('RmsAudioFork') as AudioForkSink;
  }

  /** A source playing PCM written from JS at real time (RmsAudioInject). */
  audioInjectSource(): AudioInjectSource {
    return this.createFilter('RmsAudioInject') as AudioInjectSource;
  }

  /** Our two-input mixer (RmsAudioMix) at `rate`. */
  audioMixer(rate: number, mode: AudioMixMode): AudioMixer {
    const m = this.createFilter('RmsAudioMix') as AudioMixer;
    m.setSampleRate(rate);
    m.setMode(mode);
    return m;
  }

  /** A voice activity detector (RmsVoiceDetect) for mono PCM at `rate`. */
  voiceDetector(rate: number): VoiceDetector {
    const v = this.createFilter('RmsVoiceDetect') as VoiceDetector;
    v.setSampleRate(rate);
    return v;
  }

  resampler(): Resampler {
    return this.createFilter(constants().filterIds.MS_RESAMPLE_ID) as Resampler;
  }

  filePlayer(): FilePlayer {
    return this.createFilter(constants().filterIds.MS_FILE_PLAYER_ID) as FilePlayer;
  }

  fileRecorder(): FileRecorder {
    return this.createFilter('RmsWavRec') as FileRecorder;
  }

  rtpReceiver(): RtpReceiver {
    return this.createFilter(constants().filterIds.MS_RTP_RECV_ID) as RtpReceiver;
  }

  rtpSender(): RtpSender {
    return this.createFilter(constants().filterIds.MS_RTP_SEND_ID) as RtpSender;
  }

  dtmfGenerator(): DtmfGenerator {
    return this.createFilter(constants().filterIds.MS_DTMF_GEN_ID) as DtmfGenerator;
  }

  /** Closes every filter this factory created (detaching running graphs), then the factory. Idempotent. */
  close(): void {
    if (!this.#native) return;
    const native = this.#native;
    this.#native = null;
    native.close();
    for (const f of this.#children) f.markClosed();
    this.#children.clear();
  }

  #adopt(native: NativeFilter): Filter {
    const ids = constants().filterIds;
    const info = native.info();
    let f: Filter<any>;
    switch (info.id) {
      case ids.MS_RTP_RECV_ID:
        f = new RtpReceiver(native);
        break;
      case ids.MS_RTP_SEND_ID:
        f = new RtpSender(native);
        break;
      case ids.MS_RESAMPLE_ID:
        f = new Resampler(native);
        break;
      case ids.MS_FILE_PLAYER_ID:
        f = new FilePlayer(native);
        break;
      case ids.MS_FILE_REC_ID:
        f = new FileRecorder(native);
        break;
      case ids.MS_DTMF_GEN_ID:
        f = new DtmfGenerator(native);
        break;
      default:
        if (info.name === 'RmsWavRec') {
          f = new FileRecorder(native);
          break;
        }
        if (info.name === 'RmsOpusEnc') {
          f = new OpusEncoder(native);
          break;
        }
        if (info.name === 'RmsLevelMeter') {
          f = new LevelMeter(native);
          break;
        }
        if (info.name === 'RmsLossMeter') {
          f = new LossMeter(native);
          break;
        }
        if (STREAM_FILTERS[info.name]) {
          f = new STREAM_FILTERS[info.name](native);
          break;
        }
        if (info.name === 'RmsDtmfDetect') {
          f = new DtmfDetector(native);
          break;
        }
        // MSFilterCategory: 1 encoder, 2 decoder
        f = info.category === 1 ? new Encoder(native) : info.category === 2 ? new Decoder(native) : new Filter(native);
    }
    this.#children.add(f);
    f.once('close', () => this.#children.delete(f));
    return f as Filter;
  }
}
