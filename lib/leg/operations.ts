/**
 * The policy of a leg's media operations, over whatever host runs the leg:
 * play lists (loop, barge-in, maximum duration), recordings (maximum
 * duration, silence and digit stops), digit collection (typed-ahead digits,
 * terminators, timeouts) and digit sending. Each operation resolves once,
 * with why it ended.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, InvalidStateError, MediaFileError } from '../errors';
import type { MediaRoots, WavInfo } from '../media/mediaRoots';
import type { LegHost } from './host';
import {
  DTMF_CHARS,
  type CollectEndReason,
  type CollectOptions,
  type CollectResult,
  type DtmfDigit,
  type PlayEndReason,
  type PlayOptions,
  type PlayResult,
  type RecordEndReason,
  type RecordOptions,
  type RecordResult,
  type SendDtmfOptions,
} from './types';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** What the operations need from their leg. */
export interface OperationContext {
  name: string;
  roots: MediaRoots;
  /** The current host; throws InvalidStateError when the leg has none (closed, or no media yet). */
  host(): LegHost;
  /** RTP packets received so far (no new packet counts as silence). */
  packetsReceived(): number;
  onPlayStart(file: string, info: WavInfo): void;
  onPlayEnd(r: PlayResult): void;
  onError(err: unknown): void;
}

export interface ActivePlay {
  readonly bargeIn: boolean;
  /** How long it has played, ms. */
  elapsedMs(): number;
  finish(reason: PlayEndReason, digit?: string): void;
}

/** Checks every file, then plays them in order on the leg's host. */
export function startPlay(
  ctx: OperationContext,
  files: string | string[],
  opts: PlayOptions,
  setActive: (p: ActivePlay | undefined) => void,
): { active: ActivePlay; done: Promise<PlayResult> } {
  const list = Array.isArray(files) ? files : [files];
  if (!list.length) throw new InvalidArgumentError('play() needs at least one file');
  if (opts.maxDurationMs !== undefined && !(opts.maxDurationMs > 0))
    throw new InvalidArgumentError('maxDurationMs must be a positive number');
  const host = ctx.host();
  // every file is checked before anything plays
  const wavs = list.map((f) => ({ name: f, ...ctx.roots.wav(f) }));
  const started = Date.now();
  let filesPlayed = 0;
  let index = 0;
  let maxTimer: NodeJS.Timeout | undefined;
  let resolve!: (r: PlayResult) => void;
  const done = new Promise<PlayResult>((r) => (resolve = r));
  let ended = false;
  const active: ActivePlay = {
    bargeIn: opts.bargeIn ?? false,
    elapsedMs: () => Date.now() - started,
    finish: (reason, digit) => {
      if (ended) return;
      ended = true;
      setActive(undefined);
      clearTimeout(maxTimer);
      try {
        host.stopFile();
      } catch (err) {
        ctx.onError(err);
      }
      const r: PlayResult = { reason, durationMs: Date.now() - started, filesPlayed, digit };
      ctx.onPlayEnd(r);
      resolve(r);
    },
  };
  const next = (): void => {
    if (ended) return;
    if (index >= wavs.length) {
      if (!opts.loop) return active.finish('eof');
      index = 0;
    }
    const w = wavs[index++];
    try {
      host.startFile(w.path, w.info, next);
    } catch (err) {
      // the file vanished or changed since it was checked: end, typed
      active.finish('stopped');
      ctx.onError(err);
      return;
    }
    filesPlayed++;
    ctx.onPlayStart(w.name, w.info);
  };
  setActive(active);
  if (opts.maxDurationMs !== undefined) maxTimer = setTimeout(() => active.finish('max-duration'), opts.maxDurationMs);
  next();
  return { active, done };
}

export interface ActiveRecord {
  readonly stopDigits: string;
  finish(reason: RecordEndReason, digit?: string): void;
}

/** Records the leg into a new WAV inside the media roots. */
export function startRecord(
  ctx: OperationContext,
  file: string,
  opts: RecordOptions,
  setActive: (r: ActiveRecord | undefined) => void,
): { active: ActiveRecord; done: Promise<RecordResult> } {
  const host = ctx.host();
  const maxMs = opts.maxDurationMs ?? 3_600_000;
  if (!(maxMs > 0)) throw new InvalidArgumentError('maxDurationMs must be a positive number');
  if (opts.silenceTimeoutMs !== undefined && !(opts.silenceTimeoutMs > 0))
    throw new InvalidArgumentError('silenceTimeoutMs must be a positive number');
  const stopDigits = opts.stopDigits ?? '';
  if (stopDigits && !DTMF_CHARS.test(stopDigits))
    throw new InvalidArgumentError(`stopDigits ${JSON.stringify(stopDigits)}: use 0-9 * # A-D`);
  if (!/\.wav$/i.test(file)) throw new MediaFileError(`${file}: recordings are WAV files (.wav)`, file, 'not-wav');
  const target = ctx.roots.resolveForWrite(file);
  const threshold = opts.silenceThresholdDbm0 ?? -45;
  const both = opts.bothDirections ?? false;
  const rate = host.recordingRate(both);
  host.startRecording(target, both);
  let silentMs = 0;
  let lastReceived = -1;
  const timers: NodeJS.Timeout[] = [];
  let resolve!: (r: RecordResult) => void;
  const done = new Promise<RecordResult>((r) => (resolve = r));
  let ended = false;
  const active: ActiveRecord = {
    stopDigits,
    finish: (reason, digit) => {
      if (ended) return;
      ended = true;
      setActive(undefined);
      for (const t of timers) clearTimeout(t);
      try {
        host.stopRecording();
      } catch (err) {
        ctx.onError(err);
      }
      let bytes = 0;
      try {
        bytes = Math.max(0, fs.statSync(target).size - 44);
      } catch {
        bytes = 0;
      }
      resolve({ reason, path: target, durationMs: Math.round((bytes / 2 / rate) * 1000), digit });
    },
  };
  setActive(active);
  timers.push(setTimeout(() => active.finish('max-duration'), maxMs));
  if (opts.silenceTimeoutMs !== undefined) {
    const step = 100;
    const poll = setInterval(() => {
      if (ended) return clearInterval(poll);
      // no new packet is silence too (a level meter keeps its last block)
      const received = ctx.packetsReceived();
      let level: number | undefined;
      try {
        level = ctx.host().inputLevel();
      } catch {
        level = undefined;
      }
      const dbm0 = received === lastReceived || level === undefined ? -120 : level;
      lastReceived = received;
      silentMs = dbm0 < threshold ? silentMs + step : 0;
      if (silentMs >= opts.silenceTimeoutMs!) active.finish('silence');
    }, step);
    timers.push(poll);
  }
  return { active, done };
}

/** Typed-ahead digits and the collectors waiting for them. */
export class DigitBuffer {
  #digits: DtmfDigit[] = [];
  readonly #waiters = new Set<(d: DtmfDigit) => void>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Gives the digit to the waiting collectors, else keeps it (the oldest dropped past the limit). */
  push(d: DtmfDigit): void {
    if (this.#waiters.size) {
      for (const w of [...this.#waiters]) w(d);
      return;
    }
    this.#digits.push(d);
    if (this.#digits.length > this.#limit) this.#digits.shift();
  }

  get buffered(): string {
    return this.#digits.map((d) => d.digit).join('');
  }

  flush(): void {
    this.#digits = [];
  }

  /** Digits typed ahead, oldest first, taken out of the buffer. */
  take(): DtmfDigit | undefined {
    return this.#digits.shift();
  }

  wait(w: (d: DtmfDigit) => void): () => void {
    this.#waiters.add(w);
    return () => this.#waiters.delete(w);
  }
}

export interface ActiveCollect {
  finish(reason: CollectEndReason, terminator?: string): void;
}

/**
 * Collects digits: typed-ahead ones first, then as they come, until `max`
 * digits, a terminator, or a timeout. `playPrompt` plays the prompt with
 * barge-in when asked for.
 */
export function startCollect(
  buffer: DigitBuffer,
  opts: CollectOptions,
  playPrompt: (files: string | string[]) => Promise<PlayResult>,
): { active: ActiveCollect; done: Promise<CollectResult> } {
  const min = opts.min ?? 1;
  const max = opts.max ?? 128;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const interMs = opts.interDigitTimeoutMs ?? timeoutMs;
  const terminators = opts.terminators ?? '';
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1 || min > max)
    throw new InvalidArgumentError(`collect(): need integers 0 <= min <= max, max >= 1 (got ${min}, ${max})`);
  if (!(timeoutMs > 0) || !(interMs > 0)) throw new InvalidArgumentError('collect(): timeouts must be positive');
  if (terminators && !DTMF_CHARS.test(terminators))
    throw new InvalidArgumentError(`terminators ${JSON.stringify(terminators)}: use 0-9 * # A-D`);
  let digits = '';
  let ended = false;
  let resolve!: (r: CollectResult) => void;
  const done = new Promise<CollectResult>((r) => (resolve = r));
  let timer: NodeJS.Timeout | undefined;
  const finish = (reason: CollectEndReason, terminator?: string) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    unwait();
    resolve({ digits, reason, terminator, tooFew: digits.length < min });
  };
  const arm = (ms: number, reason: CollectEndReason) => {
    clearTimeout(timer);
    timer = setTimeout(() => finish(reason), ms);
  };
  const take = (d: DtmfDigit): void => {
    if (ended) return;
    if (terminators.includes(d.digit)) return finish('terminator', d.digit);
    digits += d.digit;
    if (digits.length >= max) return finish('max');
    arm(interMs, 'inter-digit-timeout');
  };
  const unwait = buffer.wait(take);
  for (let d = buffer.take(); d && !ended; d = ended ? undefined : buffer.take()) take(d);
  const armFirst = () => {
    if (!ended) arm(digits ? interMs : timeoutMs, digits ? 'inter-digit-timeout' : 'timeout');
  };
  if (!ended && opts.prompt !== undefined && !digits) {
    playPrompt(opts.prompt).then(
      (r) => {
        if (r.reason === 'moved' || r.reason === 'closed') finish(r.reason);
        armFirst();
      },
      () => armFirst(),
    );
  } else armFirst();
  return { active: { finish }, done };
}

/** Sends digits one after the other: RFC 4733 events where the leg has telephone-event (or asked), else in-band tones. */
export async function sendDigits(
  ctx: OperationContext,
  digits: string,
  opts: SendDtmfOptions,
  hasTelephoneEvent: boolean,
): Promise<void> {
  if (typeof digits !== 'string' || !DTMF_CHARS.test(digits))
    throw new InvalidArgumentError(`sendDtmf(${JSON.stringify(digits)}): use 0-9 * # A-D`);
  const durationMs = opts.durationMs ?? 100;
  const gapMs = opts.gapMs ?? 80;
  if (!(durationMs >= 40 && durationMs <= 5000)) throw new InvalidArgumentError('durationMs must be 40..5000');
  if (!(gapMs >= 0 && gapMs <= 5000)) throw new InvalidArgumentError('gapMs must be 0..5000');
  const mode = opts.mode ?? 'auto';
  const rfc = mode === 'rfc4733' || (mode === 'auto' && hasTelephoneEvent);
  if (rfc && !hasTelephoneEvent)
    throw new InvalidStateError(`${ctx.name} did not negotiate telephone-event; send in-band`);
  if (!rfc && !ctx.host().canSendInband())
    throw new InvalidStateError(`${ctx.name}: its media is relayed undecoded, no in-band tone can be added`);
  for (const d of digits) {
    ctx.host().sendDigit(d, durationMs, rfc);
    await sleep(durationMs + gapMs);
  }
}

/**
 * The operations running on one leg: at most one play, one recording and one
 * collection at a time, and the digits that reach them (a stop digit ends a
 * recording, a barge-in digit a play, the rest go to the collector or the
 * type-ahead buffer).
 */
export class LegOperations {
  readonly #ctx: OperationContext;
  readonly #digits: DigitBuffer;
  #play?: ActivePlay;
  #record?: ActiveRecord;
  #collect?: ActiveCollect;

  constructor(ctx: OperationContext, digitBuffer: number) {
    this.#ctx = ctx;
    this.#digits = new DigitBuffer(digitBuffer);
  }

  get playing(): boolean {
    return this.#play !== undefined;
  }

  get recording(): boolean {
    return this.#record !== undefined;
  }

  get digits(): DigitBuffer {
    return this.#digits;
  }

  play(files: string | string[], opts: PlayOptions): Promise<PlayResult> {
    this.#play?.finish('replaced');
    return startPlay(this.#ctx, files, opts, (p) => (this.#play = p)).done;
  }

  stopPlay(): number | undefined {
    const p = this.#play;
    if (!p) return undefined;
    const ms = p.elapsedMs();
    p.finish('stopped');
    return ms;
  }

  record(file: string, opts: RecordOptions): Promise<RecordResult> {
    if (this.#record) throw new InvalidStateError(`${this.#ctx.name} is already recording`);
    return startRecord(this.#ctx, file, opts, (r) => (this.#record = r)).done;
  }

  stopRecord(): void {
    this.#record?.finish('stopped');
  }

  /** The recording's file could not be written on (a full disk): it ends, complete up to there. */
  recordFailed(): void {
    this.#record?.finish('failed');
  }

  async collect(
    opts: CollectOptions,
    playPrompt: (files: string | string[]) => Promise<PlayResult>,
  ): Promise<CollectResult> {
    this.#collect?.finish('moved');
    const c = startCollect(this.#digits, opts, playPrompt);
    this.#collect = c.active;
    const r = await c.done;
    if (this.#collect === c.active) this.#collect = undefined;
    return r;
  }

  /** A digit the leg sent: it stops a recording on its stop digits, or is kept, and barges in on a play. */
  digit(d: DtmfDigit): void {
    if (this.#record && this.#record.stopDigits.includes(d.digit)) {
      this.#record.finish('dtmf', d.digit);
      return;
    }
    this.#digits.push(d);
    if (this.#play?.bargeIn) this.#play.finish('dtmf', d.digit);
  }

  /** Everything running ends: the leg moved, or closed. */
  end(reason: 'moved' | 'closed'): void {
    this.#play?.finish(reason);
    this.#record?.finish(reason);
    this.#collect?.finish(reason);
  }
}
