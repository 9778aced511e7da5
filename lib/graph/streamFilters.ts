/**
 * Typed wrappers of our audio stream filters (native/filters/audio_fork.cc,
 * audio_inject.cc, audio_mix.cc, voice_detect.cc): the end of a fork that JS
 * drains, the source that plays what JS writes, the two-input mixer, and the
 * voice activity detector. Struct layouts are checked against the addon's
 * sizes at construction.
 */
import { InvalidArgumentError, NativeLibraryError } from '../errors';
import { constants } from '../native';
import { Filter, type FilterEvents, type FilterNotification } from './Filter';

function checkSizes(expected: Record<string, number>): void {
  const sizes = constants().sizes;
  for (const [k, v] of Object.entries(expected))
    if (sizes[k] !== v)
      throw new NativeLibraryError(
        `rtp-media-server: the native addon was built from other stream filter sources (${k}); rebuild it (npm run build:native)`,
      );
}

export interface AudioForkSinkEvents extends FilterEvents {
  /** Frames are waiting: read() them. */
  ready: () => void;
}

/** Frames that reached an AudioForkSink, and those dropped because nobody read them in time. */
export interface AudioForkSinkStats {
  frames: number;
  bytes: number;
  droppedFrames: number;
  droppedBytes: number;
}

/** One frame read from an AudioForkSink; `seq` counts every frame that reached the sink. */
export interface ForkedFrame {
  seq: number;
  data: Buffer;
}

/** RmsAudioFork: the end of a fork; what reaches it waits in a bounded ring until read() (oldest dropped). */
export class AudioForkSink extends Filter<AudioForkSinkEvents> {
  #buf = Buffer.alloc(64 * 1024);

  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
    checkSizes({ RmsAudioForkConfig: 12, RmsFrameRingStats: 32 });
  }

  /** Ring size in bytes (64 .. 8 MiB), frames kept at most, and how many bytes wake JS up. */
  configure(o: { capacityBytes: number; maxFrames: number; wakeBytes: number }): void {
    const b = Buffer.alloc(12);
    b.writeUInt32LE(o.capacityBytes, 0);
    b.writeUInt32LE(o.maxFrames, 4);
    b.writeUInt32LE(o.wakeBytes, 8);
    this.call('RMS_AUDIO_FORK_CONFIGURE', b);
    // one read takes everything the ring can hold
    if (this.#buf.length < o.capacityBytes) this.#buf = Buffer.alloc(o.capacityBytes);
  }

  /** Takes every frame waiting, oldest first (copies). */
  read(): ForkedFrame[] {
    const n = this.call('RMS_AUDIO_FORK_READ', this.#buf) as number;
    const out: ForkedFrame[] = [];
    for (let at = 0; at + 8 <= n;) {
      const len = this.#buf.readUInt32LE(at);
      const seq = this.#buf.readUInt32LE(at + 4);
      out.push({ seq, data: Buffer.from(this.#buf.subarray(at + 8, at + 8 + len)) });
      at += 8 + len;
    }
    return out;
  }

  stats(): AudioForkSinkStats {
    const b = this.call('RMS_AUDIO_FORK_GET_STATS') as Buffer;
    const u = (at: number) => Number(b.readBigUInt64LE(at));
    return { frames: u(0), bytes: u(8), droppedFrames: u(16), droppedBytes: u(24) };
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name === 'RMS_AUDIO_FORK_READY') this.safeEmit('ready');
  }
}

/** A mark an AudioInjectSource reached (or dropped on clear()). */
export interface InjectMarkEvent {
  id: number;
  /** True when clear() dropped it before its audio played. */
  cleared: boolean;
  /** Samples played when it was reached. */
  position: number;
}

export interface AudioInjectSourceEvents extends FilterEvents {
  mark: (m: InjectMarkEvent) => void;
}

export interface AudioInjectSourceStats {
  /** Samples accepted, played, refused (queue full) and dropped by clear(). */
  written: number;
  played: number;
  overflow: number;
  cleared: number;
  /** Times playing started (after the queue ran dry or was cleared). */
  starts: number;
  /** Samples waiting. */
  queued: number;
  playing: boolean;
}

/** RmsAudioInject: plays 16-bit mono PCM written from JS at real time; nothing while its queue is empty. */
export class AudioInjectSource extends Filter<AudioInjectSourceEvents> {
  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
    checkSizes({ RmsAudioInjectConfig: 16, RmsInjectStats: 48, RmsInjectMark: 16 });
  }

  /** The rate of what is written (8000..48000), queue size, jitter allowance, marks pending at most. Only while empty. */
  configure(o: { rate: number; capacityMs: number; jitterMs: number; maxMarks: number }): void {
    const b = Buffer.alloc(16);
    b.writeUInt32LE(o.rate, 0);
    b.writeUInt32LE(o.capacityMs, 4);
    b.writeUInt32LE(o.jitterMs, 8);
    b.writeUInt32LE(o.maxMarks, 12);
    this.call('RMS_AUDIO_INJECT_CONFIGURE', b);
  }

  /** Queues 16-bit PCM (host byte order); returns the bytes accepted (fewer when the queue is full). */
  write(pcm: Buffer): number {
    if (pcm.length === 0) return 0;
    return this.call('RMS_AUDIO_INJECT_WRITE', pcm) as number;
  }

  /** A mark after what was written so far; false when too many marks are pending. */
  mark(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new InvalidArgumentError('mark id must be 0..2^31-1');
    try {
      this.call('RMS_AUDIO_INJECT_MARK', id);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops what is queued at once; pending marks come back with `cleared`. */
  clear(): void {
    this.call('RMS_AUDIO_INJECT_CLEAR');
  }

  stats(): AudioInjectSourceStats {
    const b = this.call('RMS_AUDIO_INJECT_GET_STATS') as Buffer;
    const u = (at: number) => Number(b.readBigUInt64LE(at));
    return {
      written: u(0),
      played: u(8),
      overflow: u(16),
      cleared: u(24),
      starts: u(32),
      queued: b.readUInt32LE(40),
      playing: b.readUInt32LE(44) !== 0,
    };
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name !== 'RMS_AUDIO_INJECT_MARK_EVENT' || n.payload.length < 16) return;
    const p = n.payload;
    this.safeEmit('mark', {
      id: p.readUInt32LE(0),
      cleared: p.readUInt32LE(4) !== 0,
      position: Number(p.readBigUInt64LE(8)),
    });
  }
}

/** How an AudioMixer makes one output of its two inputs. */
export type AudioMixMode = 'mix' | 'stereo' | 'lead' | 'replace';
const MIX_MODES: AudioMixMode[] = ['mix', 'stereo', 'lead', 'replace'];

/**
 * RmsAudioMix: two PCM inputs at one rate into one output: summed or
 * interleaved (a fork of both directions), summed without delaying input 0
 * ('lead') or input 1 in place of input 0 while it plays ('replace').
 */
export class AudioMixer extends Filter {
  setMode(mode: AudioMixMode): void {
    const i = MIX_MODES.indexOf(mode);
    if (i < 0) throw new InvalidArgumentError(`Expected one of ${MIX_MODES.join(', ')} but received ${String(mode)}`);
    this.call('RMS_AUDIO_MIX_SET_MODE', i);
  }
}

/** Start or end of speech heard by a VoiceDetector. */
export interface VoiceActivity {
  speaking: boolean;
  /** Audio heard before the event, ms (since the detector's graph was attached). */
  atMs: number;
  /** Level of the frame that decided it, and the noise floor then, dB relative to full scale. */
  levelDbfs: number;
  noiseDbfs: number;
}

export interface VoiceDetectorEvents extends FilterEvents {
  voice: (v: VoiceActivity) => void;
}

/** Settings of a VoiceDetector; absent fields keep their value. */
export interface VoiceDetectorSettings {
  /** Quietest frame that can be speech, dBFS (-70..0). Default -45. */
  thresholdDbfs?: number;
  /** How far above the noise floor a loud frame must be, dB (0..40). Default 9. */
  marginDb?: number;
  /** Loud audio needed to start speech, ms (10..2000). Default 100. */
  minSpeechMs?: number;
  /** Quiet audio that ends it, ms (10..5000). Default 500. */
  hangoverMs?: number;
}

const VOICE_LIMITS: Record<keyof VoiceDetectorSettings, [number, number]> = {
  thresholdDbfs: [-70, 0],
  marginDb: [0, 40],
  minSpeechMs: [10, 2000],
  hangoverMs: [10, 5000],
};

/** Validates voice detector settings (InvalidArgumentError), for callers that check before building anything. */
export function checkVoiceSettings(s: VoiceDetectorSettings): void {
  if (!s || typeof s !== 'object') throw new InvalidArgumentError('Expected voice detector settings');
  for (const [key, [min, max]] of Object.entries(VOICE_LIMITS) as [keyof VoiceDetectorSettings, [number, number]][]) {
    const v = s[key];
    if (v !== undefined && !(typeof v === 'number' && v >= min && v <= max))
      throw new InvalidArgumentError(`Expected a number in ${min}..${max} for ${key} but received ${String(v)}`);
  }
}

/** RmsVoiceDetect: a pass-through on mono PCM (8-48 kHz) telling when speech starts and ends (energy and hangover). */
export class VoiceDetector extends Filter<VoiceDetectorEvents> {
  constructor(...args: ConstructorParameters<typeof Filter>) {
    super(args[0], true);
    checkSizes({ RmsVoiceParams: 16, RmsVoiceEvent: 16 });
  }

  settings(): Required<VoiceDetectorSettings> {
    const b = this.call('RMS_VOICE_DETECT_GET_PARAMS') as Buffer;
    return {
      thresholdDbfs: b.readFloatLE(0),
      marginDb: b.readFloatLE(4),
      minSpeechMs: b.readUInt32LE(8),
      hangoverMs: b.readUInt32LE(12),
    };
  }

  configure(s: VoiceDetectorSettings): void {
    checkVoiceSettings(s);
    const next = { ...this.settings(), ...s };
    const b = Buffer.alloc(16);
    b.writeFloatLE(next.thresholdDbfs, 0);
    b.writeFloatLE(next.marginDb, 4);
    b.writeUInt32LE(Math.round(next.minSpeechMs), 8);
    b.writeUInt32LE(Math.round(next.hangoverMs), 12);
    this.call('RMS_VOICE_DETECT_SET_PARAMS', b);
  }

  protected override onNotification(n: FilterNotification): void {
    if (n.name !== 'RMS_VOICE_DETECT_EVENT' || n.payload.length < 16) return;
    const p = n.payload;
    this.safeEmit('voice', {
      speaking: p.readUInt32LE(0) !== 0,
      atMs: p.readUInt32LE(4),
      levelDbfs: Math.round(p.readFloatLE(8) * 10) / 10,
      noiseDbfs: Math.round(p.readFloatLE(12) * 10) / 10,
    });
  }
}
