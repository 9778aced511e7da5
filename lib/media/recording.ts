/**
 * Recordings of a bridge: each one a WAV of what some of its legs send,
 * decoded and mixed (a call recording takes both legs, a leg's own recording
 * one). The file is created before any graph work, without replacing an
 * existing file, so that a bad path or a full disk is refused with the media
 * untouched; the graph (rebuilt detached) then appends to it.
 */
import * as fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { InvalidStateError, MediaFileError } from '../errors';
import type { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import type { Graph } from '../graph/Graph';
import type { FileRecorder } from '../graph/filters';
import { wavHeader } from '../util/wav';
import { addDecoder, decodedRate } from './chain';
import type { ResolvedMedia } from './resolve';

/** A direction's recording tap: the tee and what flows through it. */
export interface RecordingTap {
  tee: Filter<any>;
  /** PCM rate at the tee; 0 when it carries RTP packets (a relayed direction). */
  rate: number;
  /** The media of the leg the direction comes from. */
  media: ResolvedMedia;
}

interface Recording<L> {
  id: number;
  file: string;
  sources: L[];
  rate: number;
  started: number;
  recorder?: FileRecorder;
}

/** Creates a recording's WAV (its header; the recorder appends and keeps the sizes up to date); never replaces a file. */
export function createWav(file: string, rate: number): void {
  let fd: number;
  try {
    fd = fs.openSync(
      file,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST')
      throw new MediaFileError(`${file} exists: recordings never replace a file`, file, 'exists');
    throw new MediaFileError(`Cannot create the recording ${file}: ${e.message}`, file, 'not-writable');
  }
  let failed: Error | undefined;
  try {
    fs.writeSync(fd, wavHeader(rate, 1, 2));
  } catch (err) {
    failed = err as Error;
  } finally {
    fs.closeSync(fd);
  }
  if (failed) {
    fs.rmSync(file, { force: true });
    throw new MediaFileError(`Cannot write the recording ${file}: ${failed.message}`, file, 'not-writable');
  }
}

/** The error a recording that could not be written ends with (FileRecorder 'failed'). */
export function recordingFailed(file: string, errno: number, afterMs?: number): MediaFileError {
  let name = String(errno);
  try {
    name = getSystemErrorName(-errno);
  } catch {
    // an errno Node does not know: the number
  }
  const after = afterMs === undefined ? '' : ` after ${(afterMs / 1000).toFixed(1)} s`;
  return new MediaFileError(
    `Recording ${file} stopped${after}: writing failed (${name}); the call goes on`,
    file,
    'not-writable',
  );
}

export class Recordings<L extends string> {
  readonly #list = new Map<number, Recording<L>>();
  #next = 1;
  readonly #onFailed?: (err: MediaFileError) => void;

  /** `onFailed`: a recording stopped because its file could not be written (a full disk); the rest goes on. */
  constructor(onFailed?: (err: MediaFileError) => void) {
    this.#onFailed = onFailed;
  }

  /** Starts a recording of `sources` into `file` (created now); `wide` decides 16 or 8 kHz. Returns its id. */
  add(file: string, sources: L[], wide: boolean): number {
    if ([...this.#list.values()].some((r) => r.file === file))
      throw new InvalidStateError(`${file} is already being recorded`);
    const rate = wide ? 16000 : 8000;
    createWav(file, rate);
    const id = this.#next++;
    this.#list.set(id, { id, file, sources, rate, started: Date.now() });
    return id;
  }

  /** Forgets a recording whose graph was never built (its start failed); the file is removed. */
  discard(id: number): void {
    const r = this.#list.get(id);
    this.#list.delete(id);
    if (r) fs.rmSync(r.file, { force: true });
  }

  /** Ends a recording: its WAV is complete when this returns. */
  remove(id: number): { file: string; durationMs: number } | undefined {
    const r = this.#list.get(id);
    if (!r) return undefined;
    this.#list.delete(id);
    this.#close(r);
    return { file: r.file, durationMs: Date.now() - r.started };
  }

  get size(): number {
    return this.#list.size;
  }

  ids(): number[] {
    return [...this.#list.keys()];
  }

  files(): string[] {
    return [...this.#list.values()].map((r) => r.file);
  }

  has(id: number): boolean {
    return this.#list.has(id);
  }

  /** Whether a direction out of `leg` needs a tap. */
  taps(leg: L): boolean {
    for (const r of this.#list.values()) if (r.sources.includes(leg)) return true;
    return false;
  }

  /** Completes every WAV so far (before the graph is rebuilt or closed); build() appends again. */
  suspend(): void {
    for (const r of this.#list.values()) this.#close(r);
  }

  /** Ends them all (the bridge closes). */
  finishAll(): void {
    for (const r of this.#list.values()) this.#close(r);
    this.#list.clear();
  }

  /** Adds each recording's recorder (and mixer) to a freshly built graph and links it to the taps. */
  build(g: Graph, f: Factory, taps: Map<L, RecordingTap>): void {
    const nextOut = new Map<L, number>();
    for (const r of this.#list.values()) {
      const recorder = g.add(f.fileRecorder());
      recorder.setSampleRate(r.rate);
      let mixer: Filter<any> | undefined;
      if (r.sources.length > 1) {
        mixer = g.add(f.createFilter('MSAudioMixer'));
        mixer.setSampleRate(r.rate);
        mixer.call('MS_FILTER_SET_NCHANNELS', 1);
        mixer.link(recorder);
      }
      r.sources.forEach((leg, pin) => {
        const tap = taps.get(leg);
        if (!tap) return;
        const out = nextOut.get(leg) ?? 1;
        nextOut.set(leg, out + 1);
        let head: Filter<any> = tap.tee;
        let rate = tap.rate;
        let first = true;
        const next = (x: Filter<any>) => {
          if (first) head.link(x, { from: out });
          else head.link(x);
          first = false;
          head = x;
        };
        if (!rate) {
          next(addDecoder(g, f, tap.media, r.rate));
          rate = decodedRate(tap.media, r.rate);
        }
        if (rate !== r.rate) {
          const rs = g.add(f.resampler());
          rs.setRates(rate, r.rate);
          next(rs);
        }
        const sink = mixer ?? recorder;
        if (first) head.link(sink, { from: out, to: mixer ? pin : 0 });
        else head.link(sink, { to: mixer ? pin : 0 });
      });
      recorder.on('failed', ({ errno }) => this.#failed(r, errno));
      recorder.append(r.file);
      recorder.start();
      r.recorder = recorder;
    }
  }

  // the recorder closed the file itself (complete up to the failed write): forget the recording
  #failed(r: Recording<L>, errno: number): void {
    if (this.#list.get(r.id) !== r) return;
    this.#list.delete(r.id);
    this.#onFailed?.(recordingFailed(r.file, errno, Date.now() - r.started));
  }

  #close(r: Recording<L>): void {
    const rec = r.recorder;
    r.recorder = undefined;
    if (rec && !rec.closed) {
      rec.stop();
      rec.closeFile();
    }
  }
}
