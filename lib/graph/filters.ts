/**
 * Typed subclasses for the ms2 filters that the gateway and the IVR use. Each
 * exposes the filter's methods with typed arguments and its notifications as
 * typed events.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, NativeLibraryError } from '../errors';
import { constants } from '../native';
import { wavHeader } from '../util/wav';
import { Filter, type FilterEvents, type FilterNotification } from './Filter';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';

export class Encoder extends Filter {
  /** Packet time in ms (MS_AUDIO_ENCODER_SET_PTIME). */
  setPtime(ms: number): void {
    this.call('MS_AUDIO_ENCODER_SET_PTIME', ms);
  }

  getPtime(): number {
    return this.call('MS_AUDIO_ENCODER_GET_PTIME') as number;
  }

  hasPtime(): boolean {
    return this.hasMethod('MS_AUDIO_ENCODER_SET_PTIME');
  }

  /**
   * Packet time in ms whatever the encoder: through MS_AUDIO_ENCODER_SET_PTIME
   * where it has it, else as fmtp `ptime=` (ms2's G.711, G.722 and G.729).
   */
  setPacketTime(ms: number): void {
    if (this.hasPtime()) this.setPtime(ms);
    else this.addFmtp(`ptime=${ms}`);
  }

  enableFec(on: boolean): void {
    this.call('MS_AUDIO_ENCODER_ENABLE_FEC', on ? 1 : 0);
  }

  setExpectedPacketLoss(percent: number): void {
    this.call('MS_AUDIO_ENCODER_SET_PACKET_LOSS', percent);
  }
}

/** Per-call Opus encoder settings (our RmsOpusEnc filter). */
export interface OpusSettings {
  /** 0 (fastest) .. 10 (best). Default 5: see docs/codecs.md for the measurement. */
  complexity?: number;
  /** Target bit rate, bit/s (6000..510000). Default by API rate: 16k at 8 kHz, 24k at 16 kHz, 32k above. */
  bitrate?: number;
  /** In-band forward error correction (RFC 7587 useinbandfec). Default off, or on when the leg's fmtp has useinbandfec=1. */
  fec?: boolean;
  /** Expected loss in percent, tunes FEC. Default 0. */
  expectedLossPercent?: number;
  /** Discontinuous transmission: no packets during silence. Default off, or on when the leg's fmtp has usedtx=1. */
  dtx?: boolean;
  /** Variable bit rate. Default on (cbr=1 in the peer's fmtp turns it off). */
  vbr?: boolean;
}

/** RmsOpusEnc: Opus with complexity, bit rate, FEC, DTX and VBR set per filter. */
export class OpusEncoder extends Encoder {
  setComplexity(c: number): void {
    this.call('RMS_OPUS_ENC_SET_COMPLEXITY', c);
  }

  getComplexity(): number {
    return this.call('RMS_OPUS_ENC_GET_COMPLEXITY') as number;
  }

  enableDtx(on: boolean): void {
    this.call('RMS_OPUS_ENC_ENABLE_DTX', on ? 1 : 0);
  }

  enableVbr(on: boolean): void {
    this.call('RMS_OPUS_ENC_ENABLE_VBR', on ? 1 : 0);
  }

  /** Applies the given settings (absent ones keep their current value). */
  configure(s: OpusSettings): void {
    if (s.complexity !== undefined) this.setComplexity(s.complexity);
    if (s.bitrate !== undefined) this.setBitrate(s.bitrate);
    if (s.fec !== undefined) this.enableFec(s.fec);
    if (s.expectedLossPercent !== undefined) this.setExpectedPacketLoss(s.expectedLossPercent);
    if (s.dtx !== undefined) this.enableDtx(s.dtx);
    if (s.vbr !== undefined) this.enableVbr(s.vbr);
  }
}

export class Decoder extends Filter {
  /** Gives the negotiated fmtp to decoders that take one (bcg729's does not). */
  addFmtpIfSupported(fmtp: string | undefined): void {
    if (fmtp && this.hasMethod('MS_FILTER_ADD_FMTP')) this.addFmtp(fmtp);
  }

  /** Whether the decoder conceals lost packets itself. */
  hasPlc(): boolean {
    if (!this.hasMethod('MS_AUDIO_DECODER_HAVE_PLC')) return false;
    return (this.call('MS_AUDIO_DECODER_HAVE_PLC') as number) !== 0;
  }
}

/** MSResample: converts sample rate (and channel count). */
export class Resampler extends Filter {
  setRates(inputHz: number, outputHz: number): void {
    this.setSampleRate(inputHz);
    this.setOutputSampleRate(outputHz);
  }
}

export interface FilePlayerEvents extends FilterEvents {
  /** The file ended (and the player is not looping). */
  eof: () => void;
}

/** MSFilePlayer: plays a WAV (or raw) file as PCM. */
export class FilePlayer extends Filter<FilePlayerEvents> {
  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
  }

  open(file: string): void {
    this.call('MS_FILE_PLAYER_OPEN', file);
  }

  start(): void {
    this.call('MS_FILE_PLAYER_START');
  }

  stop(): void {
    this.call('MS_FILE_PLAYER_STOP');
  }

  closeFile(): void {
    this.call('MS_FILE_PLAYER_CLOSE');
  }

  /** Loop: -1 never, otherwise the pause in ms between repetitions. */
  setLoop(intervalMs: number): void {
    this.call('MS_FILE_PLAYER_LOOP', intervalMs);
  }

  durationMs(): number {
    return this.call('MS_PLAYER_GET_DURATION') as number;
  }

  positionMs(): number {
    return this.call('MS_PLAYER_GET_CURRENT_POSITION') as number;
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name === 'MS_FILE_PLAYER_EOF') this.safeEmit('eof');
  }
}

export interface FileRecorderEvents extends FilterEvents {
  /** Writing failed (a full disk, an I/O error): the file holds what came before, with a complete header. */
  failed: (err: { errno: number }) => void;
}

/**
 * RmsWavRec (Factory.fileRecorder()): writes PCM to a WAV file, or raw bytes
 * to any other file, appending to what the file holds; the header is brought
 * up to date every second and on closeFile(). A write error ends the
 * recording cleanly and emits 'failed' (listen before the graph is attached).
 * Works with ms2's MSFileRec too, through the recorder interface both have.
 */
export class FileRecorder extends Filter<FileRecorderEvents> {
  /** Creates or truncates `file` (a WAV with an empty data chunk) and opens it for recording. */
  open(file: string): void {
    if (/\.wav$/i.test(file)) fs.writeFileSync(file, wavHeader(8000, 1, 2));
    else fs.writeFileSync(file, Buffer.alloc(0));
    this.append(file);
  }

  /** Opens an existing file (a WAV with its header, or raw) and records after what it holds. */
  append(file: string): void {
    this.call('MS_RECORDER_OPEN', file);
  }

  start(): void {
    this.call('MS_RECORDER_START');
  }

  stop(): void {
    this.call('MS_RECORDER_PAUSE');
  }

  closeFile(): void {
    this.call('MS_RECORDER_CLOSE');
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name === 'RMS_WAV_REC_FAILED') this.safeEmit('failed', { errno: n.payload.readInt32LE(0) });
  }
}

/** MSRtpRecv: reads RTP from an endpoint's session, through its jitter buffer. */
export class RtpReceiver extends Filter {
  #endpoint?: RtpEndpoint;
  setEndpoint(ep: RtpEndpoint): void {
    this.call('MS_RTP_RECV_SET_SESSION', ep.native);
    this.#endpoint = ep;
  }

  get endpoint(): RtpEndpoint | undefined {
    return this.#endpoint;
  }

  resetJitterBuffer(): void {
    this.call('MS_RTP_RECV_RESET_JITTER_BUFFER');
  }
}

/** MSRtpSend: sends RTP through an endpoint's session. */
export class RtpSender extends Filter {
  #endpoint?: RtpEndpoint;
  /**
   * Sends through `ep`. ms2 fires a STUN binding request at the remote when a
   * session is set (a NAT keep-alive for ICE-less clients); a media server
   * with a known peer does not want it, so it is off unless `stun` is true.
   */
  setEndpoint(ep: RtpEndpoint, opts: { stun?: boolean } = {}): void {
    this.call('MS_RTP_SEND_ENABLE_STUN', opts.stun ?? false);
    this.call('MS_RTP_SEND_SET_SESSION', ep.native);
    this.#endpoint = ep;
  }

  get endpoint(): RtpEndpoint | undefined {
    return this.#endpoint;
  }

  /** Sends one RFC 4733 digit (0-9 * # A-D). */
  sendDtmf(digit: string): void {
    this.call('MS_RTP_SEND_SEND_DTMF', digit);
  }

  /**
   * Length of the next digits, in RTP timestamp units of the session's audio
   * clock (ms2 compares it with the audio timestamps; default 800, 100 ms at 8 kHz).
   */
  setDtmfDuration(timestampUnits: number): void {
    this.call('MS_RTP_SEND_SET_DTMF_DURATION', Math.round(timestampUnits));
  }

  mute(): void {
    this.call('MS_RTP_SEND_MUTE');
  }

  unmute(): void {
    this.call('MS_RTP_SEND_UNMUTE');
  }
}

export interface DtmfGeneratorEvents extends FilterEvents {
  /** A tone started (digit or custom tone name). */
  tone: (name: string) => void;
  /** The tone ended. */
  toneEnd: () => void;
}

/** MSDtmfGen: mixes DTMF tones into the audio passing through. */
export class DtmfGenerator extends Filter<DtmfGeneratorEvents> {
  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
  }

  play(digit: string): void {
    this.call('MS_DTMF_GEN_PUT', digit);
  }

  setAmplitude(linear0to1: number): void {
    this.call('MS_DTMF_GEN_SET_DEFAULT_AMPLITUDE', linear0to1);
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name === 'MS_DTMF_GEN_EVENT') {
      // struct { uint64_t tone_start_time; char tone_name[8]; }
      const raw = n.payload.subarray(8, 16);
      const end = raw.indexOf(0);
      this.safeEmit('tone', raw.subarray(0, end < 0 ? raw.length : end).toString('latin1'));
    } else if (n.name === 'MS_DTMF_GEN_END') {
      this.safeEmit('toneEnd');
    }
  }
}

/** Loss figures of RFC 3611 4.7.2 (Gmin 16), counted on what a receiver played out. */
export interface LossCounters {
  /** Packets expected (received + lost). */
  packets: number;
  /** Lost or discarded (late) packets. */
  lost: number;
  /** Packets (received and lost) inside bursts, and the lost among them. */
  burstPackets: number;
  burstLost: number;
  bursts: number;
  gmin: number;
}

/** RmsLossMeter: a pass-through after an RtpReceiver that counts loss, bursts and gaps. */
export class LossMeter extends Filter {
  counters(): LossCounters {
    const b = this.call('RMS_LOSS_METER_GET') as unknown as Buffer;
    return {
      packets: b.readUInt32LE(0),
      lost: b.readUInt32LE(4),
      burstPackets: b.readUInt32LE(8),
      burstLost: b.readUInt32LE(12),
      bursts: b.readUInt32LE(16),
      gmin: b.readUInt32LE(20),
    };
  }

  reset(): void {
    this.call('RMS_LOSS_METER_RESET');
  }
}

/** What an RmsLevelMeter measured; levels in dBm0 (a full-scale sine is +3.17 dBm0). */
export interface LevelReading {
  /** Mean level of the last complete 200 ms block; undefined before the first. */
  levelDbm0?: number;
  /** Quietest 200 ms block so far (the noise floor); undefined before the first. */
  minDbm0?: number;
  /** RFC 3611 signal level: mean power of the blocks above -50 dBm0; undefined without any. */
  speechDbm0?: number;
  /** Sum of the speech blocks' powers (relative to a full-scale sine) and their count, for combining meters. */
  speechPowerSum: number;
  speechBlocks: number;
  /** Complete 200 ms blocks measured. */
  blocks: number;
}

const FULL_SCALE_SINE_DBM0 = 3.17;
/** A mean power relative to a full-scale sine, in dBm0 (what LevelMeter reports). */
export const powerToDbm0 = (p: number) => 10 * Math.log10(Math.max(p, 1e-12)) + FULL_SCALE_SINE_DBM0;

/**
 * RmsLevelMeter: a pass-through on 16-bit mono PCM that measures its level in
 * 200 ms blocks and its speech level (RFC 3611 SL), natively (~0.1 µs per
 * 20 ms frame). Set the sample rate before the graph runs.
 */
export class LevelMeter extends Filter {
  reading(): LevelReading {
    const b = this.call('RMS_LEVEL_METER_GET') as unknown as Buffer;
    const last = b.readDoubleLE(0);
    const min = b.readDoubleLE(8);
    const speechPowerSum = b.readDoubleLE(16);
    const speechBlocks = b.readUInt32LE(24);
    const blocks = b.readUInt32LE(28);
    return {
      levelDbm0: blocks ? powerToDbm0(last) : undefined,
      minDbm0: blocks ? powerToDbm0(min) : undefined,
      speechDbm0: speechBlocks ? powerToDbm0(speechPowerSum / speechBlocks) : undefined,
      speechPowerSum,
      speechBlocks,
      blocks,
    };
  }

  reset(): void {
    this.call('RMS_LEVEL_METER_RESET');
  }
}

/** One key press heard in the audio by a DtmfDetector. */
export interface DtmfDetection {
  /** '0'-'9', '*', '#' or 'A'-'D'. */
  digit: string;
  /** Estimated tone duration, ms (within about 2 ms on a clean line). On `digitStart`: the part heard so far. */
  durationMs: number;
  /** Tone onset, in ms of audio the detector has heard since its graph was attached. */
  startMs: number;
  /** Mean level of the low-group (row) tone, dB relative to a full-scale sine. */
  lowDbfs: number;
  /** Mean level of the high-group (column) tone, dB relative to a full-scale sine. */
  highDbfs: number;
}

export interface DtmfDetectorEvents extends FilterEvents {
  /** A key was released: one event per key press. */
  digit: (d: DtmfDetection) => void;
  /** A key press was confirmed (the minimum duration heard); its `digit` event follows on release. */
  digitStart: (d: DtmfDetection) => void;
}

/** Acceptance limits of a DtmfDetector. Absent fields keep their current value. */
export interface DtmfDetectorSettings {
  /** Weakest tone accepted, dB relative to a full-scale sine (-60..0). Default -33 (about -30 dBm0 in G.711). */
  minLevelDbfs?: number;
  /** How much louder the low-group tone may be than the high-group one, dB (0..20). Default 8. */
  normalTwistDb?: number;
  /** How much louder the high-group tone may be than the low-group one, dB (0..20). Default 4. */
  reverseTwistDb?: number;
  /** Shortest tone taken as a key press, ms (20..1000). Default 35: 40 ms digits count, 30 ms blips do not. */
  minDurationMs?: number;
  /** Absence that ends a key press, ms (10..200). Default 25: drop-outs up to about 10 ms are bridged. */
  releaseMs?: number;
}

// struct rms::DtmfParams { float min_level_dbfs, normal_twist_db, reverse_twist_db; uint32_t min_duration_ms, release_ms; }
const DTMF_PARAMS_BYTES = 20;
// struct rms::DtmfEvent { char digit; uint8_t reserved[3]; uint32_t start_ms, duration_ms; float low_dbfs, high_dbfs; }
const DTMF_EVENT_BYTES = 20;

const DTMF_LIMITS: Record<keyof DtmfDetectorSettings, [number, number]> = {
  minLevelDbfs: [-60, 0],
  normalTwistDb: [0, 20],
  reverseTwistDb: [0, 20],
  minDurationMs: [20, 1000],
  releaseMs: [10, 200],
};

/**
 * RmsDtmfDetect: hears DTMF digits in mono 16-bit PCM at 8 or 16 kHz
 * (Goertzel, ITU-T Q.24-style checks; see native/core/dtmf_goertzel.h) and
 * passes the audio through unchanged. Emits `digit` once per key press, on
 * release, and `digitStart` when confirmed. Link its output, to an MSVoidSink
 * when nothing else follows: ms2 aborts on a graph with an unlinked output, so
 * attaching one throws GraphError.
 */
export class DtmfDetector extends Filter<DtmfDetectorEvents> {
  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
    const sizes = constants().sizes;
    if (sizes.RmsDtmfParams !== DTMF_PARAMS_BYTES || sizes.RmsDtmfEvent !== DTMF_EVENT_BYTES)
      throw new NativeLibraryError(
        'rtp-media-server: the native addon was built from other DTMF detector sources; rebuild it (npm run build:native)',
      );
  }

  /** 8000 or 16000 (default 8000). Changing it restarts detection. */
  override setSampleRate(hz: number): void {
    if (hz !== 8000 && hz !== 16000)
      throw new InvalidArgumentError(`Expected 8000 or 16000 for the DTMF detector sample rate but received ${hz}`);
    super.setSampleRate(hz);
  }

  settings(): Required<DtmfDetectorSettings> {
    const b = this.call('RMS_DTMF_DETECT_GET_PARAMS') as Buffer;
    return {
      minLevelDbfs: b.readFloatLE(0),
      normalTwistDb: b.readFloatLE(4),
      reverseTwistDb: b.readFloatLE(8),
      minDurationMs: b.readUInt32LE(12),
      releaseMs: b.readUInt32LE(16),
    };
  }

  /** Changes acceptance limits; takes effect from the next analysis window (about 4 ms). */
  configure(s: DtmfDetectorSettings): void {
    for (const [key, [min, max]] of Object.entries(DTMF_LIMITS) as [keyof DtmfDetectorSettings, [number, number]][]) {
      const v = s[key];
      if (v !== undefined && !(typeof v === 'number' && v >= min && v <= max))
        throw new InvalidArgumentError(`Expected a number in ${min}..${max} for ${key} but received ${String(v)}`);
    }
    const next = { ...this.settings(), ...s };
    const b = Buffer.alloc(DTMF_PARAMS_BYTES);
    b.writeFloatLE(next.minLevelDbfs, 0);
    b.writeFloatLE(next.normalTwistDb, 4);
    b.writeFloatLE(next.reverseTwistDb, 8);
    b.writeUInt32LE(Math.round(next.minDurationMs), 12);
    b.writeUInt32LE(Math.round(next.releaseMs), 16);
    this.call('RMS_DTMF_DETECT_SET_PARAMS', b);
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name !== 'RMS_DTMF_DETECT_EVENT' && n.name !== 'RMS_DTMF_DETECT_START') return;
    const p = n.payload;
    if (p.length < DTMF_EVENT_BYTES) return;
    const d: DtmfDetection = {
      digit: String.fromCharCode(p[0]),
      startMs: p.readUInt32LE(4),
      durationMs: p.readUInt32LE(8),
      lowDbfs: Math.round(p.readFloatLE(12) * 10) / 10,
      highDbfs: Math.round(p.readFloatLE(16) * 10) / 10,
    };
    this.safeEmit(n.name === 'RMS_DTMF_DETECT_EVENT' ? 'digit' : 'digitStart', d);
  }
}
