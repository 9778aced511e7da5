/**
 * What MediaLeg's fork(), inject() and detectVoice() do: the options are
 * checked first (nothing built on bad input), the leg's LegStreams is made
 * on first use and handed to whatever hosts the leg.
 */
import type { VoiceActivity } from '../graph/streamFilters';
import type { Factory } from '../graph/Factory';
import { AudioFork } from './AudioFork';
import { AudioInject } from './AudioInject';
import { LegStreams, type LegStreamEvents } from './LegStreams';
import {
  resolveFork,
  resolveInject,
  resolveVoice,
  type ForkOptions,
  type InjectOptions,
  type VoiceOptions,
} from './options';

export interface StreamingLeg {
  readonly name: string;
  readonly factory: Factory;
}

export interface StreamingHooks {
  /** Throws unless the leg has media running somewhere. */
  requireHost(): void;
  /** The streams exist now: the current host links them. */
  attach(s: LegStreams): void;
  onVoice(v: VoiceActivity): void;
}

export class LegStreamApi {
  readonly #leg: StreamingLeg;
  readonly #hooks: StreamingHooks;
  #streams?: LegStreams;
  #voiceOn = false;

  /** `leg` is read when the first stream starts (a MediaLeg under construction may pass itself). */
  constructor(leg: StreamingLeg, hooks: StreamingHooks) {
    this.#leg = leg;
    this.#hooks = hooks;
  }

  get streams(): LegStreams | undefined {
    return this.#streams;
  }

  fork(opts: ForkOptions): AudioFork {
    this.#hooks.requireHost();
    return new AudioFork(this.#get(), resolveFork(opts));
  }

  inject(opts: InjectOptions): AudioInject {
    this.#hooks.requireHost();
    return new AudioInject(this.#get(), resolveInject(opts));
  }

  detectVoice(settings: VoiceOptions | boolean): void {
    if (settings === false) {
      if (this.#voiceOn) this.#streams?.releaseVoice();
      this.#voiceOn = false;
      return;
    }
    const s = resolveVoice(settings);
    this.#hooks.requireHost();
    this.#get().acquireVoice(s);
    if (this.#voiceOn) this.#streams!.releaseVoice();
    this.#voiceOn = true;
  }

  /** Passes on what happens on the leg (nothing to do before the first stream). */
  event<K extends keyof LegStreamEvents & string>(event: K, ...args: Parameters<LegStreamEvents[K]>): void {
    this.#streams?.legEvent(event, ...args);
  }

  #get(): LegStreams {
    if (this.#streams) return this.#streams;
    const s = (this.#streams = new LegStreams(this.#leg.name, this.#leg.factory));
    s.on('voice', (v) => this.#hooks.onVoice(v));
    this.#hooks.attach(s);
    return s;
  }
}
