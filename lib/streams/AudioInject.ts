/**
 * Audio played into a leg as it comes: written in-process (write(), or the
 * `writable` stream) or received on a fork's WebSocket, queued natively
 * (bounded; a jitter allowance smooths network bursts) and played at real
 * time, in place of what the leg would hear or mixed with it. A mark
 * (mark(name)) is reported once everything written before it has played;
 * clear() drops what is queued at once (barge-in), reporting the marks it
 * dropped. With `bargeIn`, the leg's own speech (voice activity) or digits
 * clear it.
 */
import { Writable } from 'node:stream';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import type { AudioInjectSource } from '../graph/streamFilters';
import { SafeEmitter } from '../util/SafeEmitter';
import type { InjectTap, LegStreams } from './LegStreams';
import { decodeUlaw, type InjectMode, type ResolvedInject } from './options';

export interface AudioInjectEvents {
  /** Everything written before mark(name) has played; `cleared`: clear() dropped it first. */
  mark: (name: string, info: { cleared: boolean }) => void;
  /** What was queued was dropped: by clear(), or by barge-in ('voice' or 'dtmf'). */
  cleared: (reason: 'clear' | 'voice' | 'dtmf') => void;
  close: () => void;
  error: (err: unknown) => void;
}

export interface AudioInjectStats {
  /** Milliseconds of audio accepted, played, refused because the queue was full, and dropped by clears. */
  writtenMs: number;
  playedMs: number;
  overflowMs: number;
  clearedMs: number;
  /** Audio waiting, ms. */
  queuedMs: number;
  playing: boolean;
  /** Marks not reached yet. */
  pendingMarks: number;
}

/** Marks pending at most (each a few bytes natively). */
const MAX_MARKS = 256;
/** How long a write from the writable stream waits for room before trying again, ms. */
const RETRY_MS = 20;

export class AudioInject extends SafeEmitter<AudioInjectEvents> {
  readonly format: 'L16' | 'PCMU';
  readonly rate: number;
  readonly mode: InjectMode;
  readonly #streams: LegStreams;
  readonly #source: AudioInjectSource;
  readonly #tap: InjectTap;
  readonly #marks = new Map<number, string>();
  readonly #voice: boolean;
  /** Samples the native queue holds at most. */
  readonly #capacity: number;
  #nextMark = 1;
  #carry?: Buffer; // an odd byte of L16 between writes
  #writable?: Writable;
  #closed = false;
  readonly #onVoice = (v: { speaking: boolean }) => {
    if (v.speaking) this.#clear('voice');
  };
  readonly #onDigit = () => this.#clear('dtmf');
  readonly #onLegClose = () => this.close();

  /** @internal Use MediaLeg.inject() (or a fork with `inject`). */
  constructor(streams: LegStreams, o: ResolvedInject) {
    super();
    this.format = o.format;
    this.rate = o.rate;
    this.mode = o.mode;
    this.#streams = streams;
    const src = streams.factory.audioInjectSource();
    try {
      src.configure({ rate: o.rate, capacityMs: o.bufferMs, jitterMs: o.jitterMs, maxMarks: MAX_MARKS });
    } catch (err) {
      src.close();
      throw err;
    }
    this.#source = src;
    this.#capacity = Math.floor((o.rate * o.bufferMs) / 1000);
    this.#tap = { rate: o.rate, mode: o.mode, source: src };
    src.on('mark', (m) => {
      const name = this.#marks.get(m.id);
      if (name === undefined) return;
      this.#marks.delete(m.id);
      this.safeEmit('mark', name, { cleared: m.cleared });
    });
    this.#voice = o.bargeIn.voice;
    try {
      if (this.#voice) streams.acquireVoice();
      streams.setInject(this.#tap);
    } catch (err) {
      if (this.#voice) streams.releaseVoice();
      src.close();
      throw err;
    }
    if (this.#voice) streams.on('voice', this.#onVoice);
    if (o.bargeIn.dtmf) streams.on('dtmf', this.#onDigit);
    streams.on('close', this.#onLegClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues audio in the injection's format (L16: 16-bit little-endian PCM;
   * PCMU: mu-law bytes); returns the bytes taken. What does not fit in the
   * queue is dropped and counted (stats().overflowMs).
   */
  write(audio: Buffer): number {
    if (this.#closed) throw new InvalidStateError('The injection is closed');
    if (!Buffer.isBuffer(audio)) throw new InvalidArgumentError('Expected a Buffer of audio');
    return this.#write(audio, false);
  }

  /**
   * Queues what fits; returns the bytes of `audio` taken. A plain write
   * takes them all (what did not fit is counted as overflow natively); a
   * partial one (the Writable, which wrote only what fits) leaves the rest
   * to the caller.
   */
  #write(audio: Buffer, partial: boolean): number {
    if (this.format === 'PCMU') return this.#source.write(decodeUlaw(audio)) / 2;
    const pre = this.#carry?.length ?? 0;
    let pcm = pre ? Buffer.concat([this.#carry!, audio]) : audio;
    this.#carry = undefined;
    const tail = pcm.length % 2 ? pcm.subarray(pcm.length - 1) : undefined;
    if (tail) pcm = pcm.subarray(0, pcm.length - 1);
    const took = this.#source.write(pcm);
    if (!partial || took === pcm.length) {
      this.#carry = tail; // an odd byte waits for the next write
      return audio.length;
    }
    if (took < pre) this.#carry = pcm.subarray(0, pre);
    return Math.max(0, took - pre);
  }

  /** Reports `name` ('mark') once what was written so far has played. False when too many marks are pending. */
  mark(name: string): boolean {
    if (this.#closed) throw new InvalidStateError('The injection is closed');
    if (typeof name !== 'string' || name.length > 256) throw new InvalidArgumentError('Expected a mark name (string)');
    const id = this.#nextMark++ & 0x7fffffff;
    if (!this.#source.mark(id)) return false;
    this.#marks.set(id, name);
    return true;
  }

  /** Drops what is queued: the leg hears the other side again within a frame. Pending marks come back cleared. */
  clear(): void {
    if (!this.#closed) this.#clear('clear');
  }

  #clear(reason: 'clear' | 'voice' | 'dtmf'): void {
    if (this.#closed) return;
    const had = this.#source.stats().queued > 0;
    this.#carry = undefined;
    this.#source.clear();
    if (had || reason === 'clear') this.safeEmit('cleared', reason);
  }

  /** A Writable taking audio in the injection's format, with back-pressure: it waits while the queue is full. */
  get writable(): Writable {
    this.#writable ??= new Writable({
      highWaterMark: 16 * 1024,
      write: (chunk: Buffer, _enc, cb) => this.#writeAll(chunk, cb),
      final: (cb) => cb(),
    });
    return this.#writable;
  }

  #writeAll(chunk: Buffer, cb: (err?: Error) => void): void {
    if (this.#closed) return cb(new InvalidStateError('The injection is closed'));
    // only what fits: the stream waits for the rest (nothing counted as overflow)
    const unit = this.format === 'PCMU' ? 1 : 2;
    const room = (this.#capacity - this.#source.stats().queued) * unit;
    const n = Math.min(chunk.length, room);
    const took = n > 0 ? this.#write(chunk.subarray(0, n), true) : 0;
    if (took >= chunk.length) return cb();
    setTimeout(() => this.#writeAll(chunk.subarray(took), cb), RETRY_MS).unref();
  }

  stats(): AudioInjectStats {
    const s = this.#source.closed ? undefined : this.#source.stats();
    const ms = (samples: number) => Math.round((samples * 1000) / this.rate);
    return {
      writtenMs: ms(s?.written ?? 0),
      playedMs: ms(s?.played ?? 0),
      overflowMs: ms(s?.overflow ?? 0),
      clearedMs: ms(s?.cleared ?? 0),
      queuedMs: ms(s?.queued ?? 0),
      playing: s?.playing ?? false,
      pendingMarks: this.#marks.size,
    };
  }

  /** Stops playing (what is queued is dropped) and frees it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#streams;
    s.off('voice', this.#onVoice);
    s.off('dtmf', this.#onDigit);
    s.off('close', this.#onLegClose);
    try {
      s.setInject(undefined);
      if (this.#voice) s.releaseVoice();
    } catch (err) {
      this.safeEmit('error', err);
    }
    this.#source.close();
    this.#writable?.destroy();
    this.safeEmit('close');
  }
}
