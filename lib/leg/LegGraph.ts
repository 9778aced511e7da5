/**
 * The graph of a leg on its own (an IVR leg, or a leg not bridged yet):
 *
 *   rtprecv -> loss meter -> decoder -> [DTMF detector] -> level -> mixer.0 -> recorder
 *   player -> resampler -> tee.0 -> DTMF generator -> encoder -> rtpsend
 *                             tee.1 -> mixer.1   (heard only when recording both ways)
 *
 * One connected graph (the tee feeds the mixer), so one root attaches it all.
 * Audio streams (lib/streams) tap it where they need to: a tee is put
 * between the level meter and mixer.0 for what the leg sends, an RmsAudioMix
 * between the resampler and the tee for audio injected into it, and the tee's
 * output 2 carries what we send the leg to forks.
 */
import * as fs from 'node:fs';
import { MediaFileError } from '../errors';
import type { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import type { Ticker } from '../graph/Ticker';
import type { AudioMixer } from '../graph/streamFilters';
import type { LegStreams } from '../streams/LegStreams';
import type {
  DtmfGenerator,
  FilePlayer,
  FileRecorder,
  LevelMeter,
  LossMeter,
  Resampler,
  RtpSender,
} from '../graph/filters';
import { addDecoder, addEncoder } from '../media/chain';
import { lossMetrics, type LegLossMetrics, type PlcKind } from '../media/meters';
import { pcmRateOf, type ResolvedMedia } from '../media/resolve';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { LegHost, WavFormat } from './host';
import { createWav, recordingFailed } from '../media/recording';

export interface LegGraphOptions {
  factory: Factory;
  ticker: Ticker;
  endpoint: RtpEndpoint;
  media: ResolvedMedia;
  /** Detect in-band DTMF in what the leg sends. */
  inband: boolean;
  onInbandDigit: (digit: string, durationMs: number) => void;
  /** Whether we send to the leg at first. */
  sending: boolean;
  /** A recording stopped because its file could not be written (a full disk); the leg goes on. */
  onRecordingFailed: (err: MediaFileError) => void;
}

export class LegGraph implements LegHost {
  readonly mode = 'alone' as const;
  readonly #graph = new Graph();
  readonly #factory: Factory;
  readonly #media: ResolvedMedia;
  readonly #rate: number;
  readonly #player: FilePlayer;
  #resampler: Resampler;
  readonly #tee: Filter<any>;
  readonly #generator: DtmfGenerator;
  readonly #sender: RtpSender;
  readonly #recorder: FileRecorder;
  readonly #mixer: Filter<any>;
  readonly #level: LevelMeter;
  readonly #loss: LossMeter;
  readonly #endpoint: RtpEndpoint;
  #format: WavFormat;
  #streams?: LegStreams;
  readonly #relink = () => this.#linkStreams();
  #inTee?: Filter<any>;
  #injectMix?: AudioMixer;
  #onEof?: () => void;
  #recording = '';
  #toneTimer?: NodeJS.Timeout;
  #released = false;

  constructor(o: LegGraphOptions) {
    const f = (this.#factory = o.factory);
    const g = this.#graph;
    this.#media = o.media;
    this.#endpoint = o.endpoint;
    const rate = (this.#rate = pcmRateOf(o.media));
    try {
      const recv = g.add(f.rtpReceiver());
      recv.setEndpoint(o.endpoint);
      this.#loss = g.add(f.lossMeter());
      const rx: Filter<any>[] = [recv, this.#loss, addDecoder(g, f, o.media, rate)];
      if (o.inband) {
        const det = g.add(f.dtmfDetector(rate));
        det.on('digit', (d) => o.onInbandDigit(d.digit, d.durationMs));
        rx.push(det);
      }
      this.#level = g.add(f.levelMeter(rate));
      rx.push(this.#level);
      this.#mixer = g.add(f.createFilter('MSAudioMixer'));
      this.#mixer.setSampleRate(rate);
      this.#mixer.call('MS_FILTER_SET_NCHANNELS', 1);
      this.#recorder = g.add(f.fileRecorder());
      this.#recorder.setSampleRate(rate);
      this.#recorder.on('failed', ({ errno }) => o.onRecordingFailed(recordingFailed(this.#recording, errno)));
      for (let i = 0; i + 1 < rx.length; i++) rx[i].link(rx[i + 1]);
      this.#level.link(this.#mixer, { from: 0, to: 0 });
      this.#mixer.link(this.#recorder);

      this.#player = g.add(f.filePlayer());
      this.#player.on('eof', () => this.#onEof?.());
      this.#resampler = g.add(f.resampler());
      this.#resampler.setRates(rate, rate);
      this.#tee = g.add(f.createFilter('MSTee'));
      this.#generator = g.add(f.dtmfGenerator());
      this.#generator.setSampleRate(rate);
      const enc = addEncoder(g, f, o.media, rate);
      this.#sender = g.add(f.rtpSender());
      this.#sender.setEndpoint(o.endpoint);
      if (!o.sending) this.#sender.mute();
      this.#player.link(this.#resampler);
      this.#resampler.link(this.#tee);
      this.#tee.link(this.#generator, { from: 0, to: 0 });
      this.#generator.link(enc);
      enc.link(this.#sender);
      this.#tee.link(this.#mixer, { from: 1, to: 1 });
      this.#format = { rate, channels: 1 };
      this.#setMixerInput(1, false);
      g.attach(o.ticker, [recv]);
    } catch (err) {
      g.close();
      throw err;
    }
  }

  // MSAudioMixerCtl { int pin; union { float gain; int active; } }
  #setMixerInput(pin: number, active: boolean): void {
    const b = Buffer.alloc(8);
    b.writeInt32LE(pin, 0);
    b.writeInt32LE(active ? 1 : 0, 4);
    this.#mixer.call('MS_AUDIO_MIXER_SET_ACTIVE', b);
  }

  startFile(file: string, info: WavFormat, onEof: () => void): void {
    if (!fs.existsSync(file)) throw new MediaFileError(`Media file ${file} disappeared`, file, 'not-found');
    this.#onEof = onEof;
    const same = this.#format.rate === info.rate && this.#format.channels === info.channels;
    const change = () => {
      if (!same) {
        // a new resampler for the new format (MSResample keeps its first setup)
        this.#graph.remove(this.#resampler);
        const rs = this.#graph.add(this.#factory.resampler());
        rs.setRates(info.rate, this.#rate);
        rs.call('MS_FILTER_SET_NCHANNELS', info.channels);
        rs.call('MS_FILTER_SET_OUTPUT_NCHANNELS', 1);
        this.#player.link(rs);
        rs.link(this.#injectMix ?? this.#tee);
        this.#resampler = rs;
        this.#format = { rate: info.rate, channels: info.channels };
      }
      this.#player.call('MS_FILE_PLAYER_CLOSE');
      this.#player.open(file);
      this.#player.start();
    };
    if (same) change();
    else this.#graph.edit(change);
  }

  stopFile(): number | undefined {
    this.#onEof = undefined;
    if (this.#player.closed) return undefined;
    let pos: number | undefined;
    try {
      pos = this.#player.positionMs();
    } catch {
      pos = undefined;
    }
    this.#player.stop();
    this.#player.call('MS_FILE_PLAYER_CLOSE');
    return pos;
  }

  startRecording(file: string, both: boolean): void {
    // created here, exclusively and without following a link: never over a prompt or through a link out of the roots
    createWav(file, this.#rate);
    this.#setMixerInput(1, both);
    this.#recording = file;
    this.#recorder.append(file);
    this.#recorder.start();
  }

  stopRecording(): void {
    if (this.#recorder.closed) return;
    this.#recorder.stop();
    this.#recorder.closeFile();
  }

  recordingRate(): number {
    return this.#rate;
  }

  inputLevel(): number | undefined {
    return this.#level.closed ? undefined : this.#level.reading().levelDbm0;
  }

  sendDigit(digit: string, durationMs: number, rfc4733: boolean): void {
    if (rfc4733) {
      // ms2 counts the event length in RTP timestamp units of the leg's clock
      this.#sender.setDtmfDuration((durationMs * this.#media.codec.clockRate) / 1000);
      this.#sender.sendDtmf(digit);
      return;
    }
    clearTimeout(this.#toneTimer);
    this.#generator.call('MS_DTMF_GEN_START', digit);
    this.#toneTimer = setTimeout(() => {
      if (!this.#generator.closed) this.#generator.call('MS_DTMF_GEN_STOP');
    }, durationMs);
    this.#toneTimer.unref();
  }

  canSendInband(): boolean {
    return true;
  }

  setMuted(): void {
    // nobody hears a leg on its own
  }

  setSending(on: boolean): void {
    if (this.#sender.closed) return;
    if (on) this.#sender.unmute();
    else this.#sender.mute();
  }

  lossMetrics(): LegLossMetrics {
    return lossMetrics(this.#loss.counters(), this.#media.ptime);
  }

  plc(): PlcKind {
    return 'none';
  }

  speechLevel(): number | undefined {
    return this.#level.closed ? undefined : this.#level.reading().speechDbm0;
  }

  setStreams(s: LegStreams): void {
    this.#streams = s;
    s.bind(this.#relink);
    this.#linkStreams();
  }

  #linkStreams(): void {
    const s = this.#streams;
    if (this.#released || !s) return;
    const g = this.#graph;
    const f = this.#factory;
    g.edit(() => {
      s.unlink(g);
      if (s.needsIn && !this.#inTee) {
        const tee = (this.#inTee = g.add(f.createFilter('MSTee')));
        this.#level.unlink(this.#mixer, { from: 0, to: 0 });
        this.#level.link(tee).link(this.#mixer, { to: 0 });
      }
      if (s.needsMix && !this.#injectMix) {
        const mix = (this.#injectMix = g.add(f.audioMixer(this.#rate, 'lead')));
        this.#resampler.unlink(this.#tee);
        this.#resampler.link(mix).link(this.#tee);
      }
      const media = this.#media;
      s.link(g, f, {
        in: this.#inTee && { tee: this.#inTee, pin: 1, rate: this.#rate, media },
        out: { tee: this.#tee, pin: 2, rate: this.#rate, media },
        mix: this.#injectMix && { mixer: this.#injectMix, rate: this.#rate },
      });
    });
  }

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#toneTimer);
    this.#onEof = undefined;
    this.stopRecording();
    this.#graph.detach();
    // the streams' own filters outlive this graph
    this.#streams?.unlink(this.#graph);
    this.#streams?.unbind(this.#relink);
    this.#graph.close();
  }

  /** @internal The endpoint this graph reads (for tests). */
  get endpoint(): RtpEndpoint {
    return this.#endpoint;
  }
}
