/**
 * A leg's audio streams as its hosts see them: the forks' sinks, the
 * injection source and the voice detector, which outlive every graph the
 * leg runs in (its own, a bridge's, each rebuild of them) so that what they
 * buffered, queued or detected carries on; and the filters that join them to
 * a graph (decoders of a relayed tap, resamplers, the two-direction mixer,
 * an Opus encoder), built for each graph and freed with it.
 *
 * A host offers points in its graph (StreamPoints): a tee on what the leg
 * sends and one on what we send it, each with a free output pin (RTP
 * packets when the direction is relayed, decoded here as recordings do),
 * and for an injection an RmsAudioMix on what we send it, whose input 1
 * takes the injected audio. link() builds on them; unlink() takes the
 * persistent filters back out (the graph detached) before the graph is
 * rebuilt, edited or closed.
 */
import { InvalidStateError } from '../errors';
import type { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import type { Graph } from '../graph/Graph';
import type {
  AudioForkSink,
  AudioInjectSource,
  AudioMixer,
  VoiceActivity,
  VoiceDetector,
  VoiceDetectorSettings,
} from '../graph/streamFilters';
import { addDecoder, decodedRate } from '../media/chain';
import type { ResolvedMedia } from '../media/resolve';
import { SafeEmitter } from '../util/SafeEmitter';
import type { InjectMode, StreamDirection } from './options';

/** A digit the leg sent, as its forks and injections hear of it. */
export interface StreamDigit {
  digit: string;
  durationMs: number;
  source: 'rfc4733' | 'inband';
}

/** What happens on the leg that its streams pass on (to a bot) or act on (barge-in). */
export interface LegStreamEvents {
  dtmf: (d: StreamDigit) => void;
  voice: (v: VoiceActivity) => void;
  /** Where the leg's media runs now ('alone', 'bridged', 'conference'). */
  mode: (mode: string) => void;
  /** The leg closed: every stream stops. */
  close: () => void;
  error: (err: unknown) => void;
}

/** A tee in a host's graph and the output pin left for the leg's streams. */
export interface StreamTapPoint {
  tee: Filter<any>;
  pin: number;
  /** PCM rate at the tee; 0: RTP packets of `media` (a relayed direction). */
  rate: number;
  media: ResolvedMedia;
}

export interface StreamPoints {
  /** What the leg sends us. */
  in?: StreamTapPoint;
  /** What we send the leg (after any injection). */
  out?: StreamTapPoint;
  /** Where injected audio joins what we send the leg: input 1 of this mixer, PCM at `rate`. */
  mix?: { mixer: AudioMixer; rate: number };
}

/** The graph end of one fork. */
export interface ForkTap {
  direction: StreamDirection;
  rate: number;
  /** With 'both': summed (true) or stereo (false). */
  mix: boolean;
  /** Opus packets of this many ms instead of PCM. */
  opusFrameMs?: number;
  sink: AudioForkSink;
}

/** The graph end of the injection. */
export interface InjectTap {
  rate: number;
  mode: InjectMode;
  source: AudioInjectSource;
}

/** Forks per leg at most (each takes an output of a tee with ten). */
export const MAX_FORKS = 8;
const DECODE_RATE = 16000;

export class LegStreams extends SafeEmitter<LegStreamEvents> {
  /** The leg's name and factory (its streams' filters come from it). */
  readonly legName: string;
  readonly factory: Factory;
  readonly #forks = new Set<ForkTap>();
  #voiceUsers = 0;
  #voiceSettings: VoiceDetectorSettings = {};
  #inject?: InjectTap;
  #voice?: VoiceDetector;
  #relink?: () => void;
  /** Per graph: the filters link() built there, and the persistent ones it added. */
  readonly #built = new Map<Graph, { made: Filter<any>[]; kept: Filter<any>[] }>();

  constructor(legName: string, factory: Factory) {
    super();
    this.legName = legName;
    this.factory = factory;
  }

  /** @internal The leg passes on what happens to it. */
  legEvent<K extends keyof LegStreamEvents & string>(event: K, ...args: Parameters<LegStreamEvents[K]>): void {
    (this.safeEmit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
  }

  get active(): boolean {
    return this.#forks.size > 0 || this.#inject !== undefined || this.#voice !== undefined;
  }
  get forks(): ReadonlySet<ForkTap> {
    return this.#forks;
  }
  get inject(): InjectTap | undefined {
    return this.#inject;
  }
  get voice(): VoiceDetector | undefined {
    return this.#voice;
  }
  /** Whether a host must tap what the leg sends, tap what we send it, or mix into what we send it. */
  get needsIn(): boolean {
    return this.#voice !== undefined || [...this.#forks].some((f) => f.direction !== 'out');
  }
  get needsOut(): boolean {
    return [...this.#forks].some((f) => f.direction !== 'in');
  }
  get needsMix(): boolean {
    return this.#inject !== undefined;
  }

  /** The host running the leg now: called to relink the streams after each change. */
  bind(relink: () => void): void {
    this.#relink = relink;
  }

  /** That host lets go (a later host may have bound itself already: then nothing changes). */
  unbind(relink: () => void): void {
    if (this.#relink === relink) this.#relink = undefined;
  }

  addFork(t: ForkTap): void {
    if (this.#forks.size >= MAX_FORKS) throw new InvalidStateError(`A leg has ${MAX_FORKS} forks at most`);
    this.#forks.add(t);
    this.#changed(() => this.#forks.delete(t));
  }

  removeFork(t: ForkTap): void {
    if (this.#forks.delete(t)) this.#changed();
  }

  setInject(t: InjectTap | undefined): void {
    if (t && this.#inject) throw new InvalidStateError('The leg has an injection already: close it first');
    const before = this.#inject;
    this.#inject = t;
    this.#changed(() => (this.#inject = before));
  }

  /**
   * Voice activity detection on what the leg sends, for as long as someone
   * uses it (the application's detectVoice(), a fork or injection that
   * passes it on or acts on it); 'voice' events come from here.
   */
  acquireVoice(settings?: VoiceDetectorSettings): void {
    if (settings) this.#voiceSettings = { ...settings };
    if (this.#voiceUsers++ > 0) {
      if (settings) this.#voice?.configure(settings);
      return;
    }
    const v = this.factory.voiceDetector(8000);
    try {
      v.configure(this.#voiceSettings);
    } catch (err) {
      v.close();
      this.#voiceUsers--;
      throw err;
    }
    v.on('voice', (a) => this.safeEmit('voice', a));
    this.#voice = v;
    try {
      this.#changed(() => (this.#voice = undefined));
    } catch (err) {
      this.#voiceUsers--;
      v.close();
      throw err;
    }
  }

  releaseVoice(): void {
    if (this.#voiceUsers === 0 || --this.#voiceUsers > 0) return;
    const v = this.#voice;
    this.#voice = undefined;
    this.#changed();
    v?.close();
  }

  /** Relinks on the current host; a change the host refuses is undone (and the error thrown). */
  #changed(undo?: () => void): void {
    if (!this.#relink) return;
    try {
      this.#relink();
    } catch (err) {
      if (!undo) throw err;
      undo();
      try {
        this.#relink();
      } catch {
        /* the host reports its own failures */
      }
      throw err;
    }
  }

  /** Builds the streams on `g` (detached) at the points its host offers. */
  link(g: Graph, f: Factory, p: StreamPoints): void {
    if (this.#built.has(g)) this.unlink(g);
    const made: Filter<any>[] = [];
    const kept: Filter<any>[] = [];
    this.#built.set(g, { made, kept });
    const add = <T extends Filter<any>>(x: T): T => {
      made.push(g.add(x));
      return x;
    };
    const keep = <T extends Filter<any>>(x: T): T => {
      kept.push(g.add(x));
      return x;
    };
    // a chain from a tee pin: the first link leaves the pin, the others pin 0
    const chainFrom = (tee: Filter<any>, pin: number) => {
      let head = tee;
      let from = pin;
      return {
        to<T extends Filter<any>>(x: T, to = 0): T {
          head.link(x, { from, to });
          head = x;
          from = 0;
          return x;
        },
      };
    };
    const resample = (c: ReturnType<typeof chainFrom>, from: number, to: number) => {
      if (from === to) return;
      const rs = add(f.resampler());
      rs.setRates(from, to);
      c.to(rs);
    };
    // one tee of our own per side, fed decoded PCM (ms2 refuses a tee with no output linked: a void sink then)
    const side = (pt: StreamTapPoint | undefined, users: number, withVoice: boolean) => {
      if (!pt || (users === 0 && !withVoice)) return undefined;
      const c = chainFrom(pt.tee, pt.pin);
      let rate = pt.rate;
      if (!rate) {
        const dec = addDecoder(g, f, pt.media, DECODE_RATE); // added to g already
        made.push(dec);
        c.to(dec);
        rate = decodedRate(pt.media, DECODE_RATE);
      }
      if (withVoice) {
        const v = keep(this.#voice!);
        if (v.getSampleRate() !== rate) v.setSampleRate(rate);
        c.to(v);
      }
      const tee = c.to(add(f.createFilter(users > 0 ? 'MSTee' : 'MSVoidSink')));
      let next = 0;
      return { rate, pin: () => ({ tee, pin: next++ }) };
    };
    const forks = [...this.#forks];
    const ins = side(p.in, forks.filter((t) => t.direction !== 'out').length, this.#voice !== undefined);
    const outs = side(p.out, forks.filter((t) => t.direction !== 'in').length, false);

    for (const t of this.#forks) {
      const sources = t.direction === 'both' ? [ins, outs] : [t.direction === 'in' ? ins : outs];
      if (sources.some((s) => !s)) continue; // the host cannot offer that side (yet)
      let tail: ReturnType<typeof chainFrom>;
      if (sources.length === 1) {
        const s = sources[0]!;
        const { tee, pin } = s.pin();
        tail = chainFrom(tee, pin);
        resample(tail, s.rate, t.rate);
      } else {
        const mixer = add(f.audioMixer(t.rate, t.mix ? 'mix' : 'stereo'));
        sources.forEach((s, i) => {
          const { tee, pin } = s!.pin();
          const c = chainFrom(tee, pin);
          resample(c, s!.rate, t.rate);
          c.to(mixer, i);
        });
        tail = chainFrom(mixer, 0);
      }
      if (t.opusFrameMs) {
        const enc = add(f.opusEncoder());
        enc.setSampleRate(t.rate);
        enc.setChannels(t.direction === 'both' && !t.mix ? 2 : 1);
        enc.setPacketTime(t.opusFrameMs);
        tail.to(enc);
      }
      tail.to(keep(t.sink));
    }

    if (this.#inject && p.mix) {
      const src = keep(this.#inject.source);
      p.mix.mixer.setMode(this.#inject.mode === 'replace' ? 'replace' : 'lead');
      const c = chainFrom(src, 0);
      resample(c, this.#inject.rate, p.mix.rate);
      c.to(p.mix.mixer, 1);
    }
  }

  /** Takes the streams off `g` (detached): its own filters are freed, the persistent ones kept unlinked. */
  unlink(g: Graph): void {
    const b = this.#built.get(g);
    if (!b) return;
    this.#built.delete(g);
    for (const x of b.made) if (!x.closed) g.remove(x);
    for (const x of b.kept) {
      if (x.closed) continue;
      for (const l of x.links()) {
        if (!l.peer || l.peer.closed) continue;
        if (l.dir === 'in') l.peer.unlink(x, { from: l.peerPin, to: l.pin });
        else x.unlink(l.peer, { from: l.pin, to: l.peerPin });
      }
      g.release(x);
    }
  }
}
