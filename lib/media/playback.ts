/**
 * A file played to one leg of a running graph in place of what the other
 * leg says: the filter that fed the leg's MSRtpSend is re-linked to a void
 * sink, and `player -> resampler -> encoder -> rtpsend` takes its place; at
 * the end the old link comes back. Both edits run with the graph detached
 * (Graph.edit), so no packet path is ever half-linked on a running ticker.
 * The RTP session (socket, SSRC, sequence numbers) stays the same.
 */
import type { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import type { Graph } from '../graph/Graph';
import type { FilePlayer, RtpSender } from '../graph/filters';
import { addEncoder } from './chain';
import type { ResolvedMedia } from './resolve';

export type PlaybackEndReason = 'eof' | 'stopped' | 'replaced' | 'reconfigured' | 'closed';

export interface PlaybackResult {
  reason: PlaybackEndReason;
  /** How long the file(s) played, ms. */
  durationMs: number;
  /** Where in the file the player was when it ended, ms (0 at a clean end of file). */
  positionMs: number;
}

export interface PlaybackParts {
  graph: Graph;
  factory: Factory;
  /** The media of the leg played to. */
  media: ResolvedMedia;
  sender: RtpSender;
  /** The filter that fed `sender` before the playback. */
  feed: Filter<any>;
}

/** Where a playback carried over a graph rebuild takes up again. */
export interface PlaybackResume {
  resolve: (r: PlaybackResult) => void;
  done: Promise<PlaybackResult>;
  started: number;
  positionMs: number;
}

/** One playback on one leg; the graph's owner (Gateway) links and unlinks it. */
export class Playback {
  readonly player: FilePlayer;
  readonly #filters: Filter<any>[];
  readonly #sink: Filter<any>;
  readonly #parts: PlaybackParts;
  readonly file: string;
  readonly info: { rate: number; channels: number };
  readonly #started: number;
  #remaining: number;
  #resolve!: (r: PlaybackResult) => void;
  readonly done: Promise<PlaybackResult>;
  #seekMs: number;
  #ended = false;

  /** Creates (but does not link) the filters; link() puts them in the path. */
  constructor(
    parts: PlaybackParts,
    file: string,
    info: { rate: number; channels: number },
    repeat: number,
    onEnd: (p: Playback, reason: PlaybackEndReason) => void,
    resume?: PlaybackResume,
  ) {
    this.#parts = parts;
    this.file = file;
    this.info = info;
    this.#remaining = repeat - 1;
    if (resume) {
      this.#resolve = resume.resolve;
      this.done = resume.done;
    } else this.done = new Promise((r) => (this.#resolve = r));
    this.#started = resume?.started ?? Date.now();
    this.#seekMs = resume?.positionMs ?? 0;
    const { graph: g, factory: f, media } = parts;
    const created: Filter<any>[] = [];
    try {
      const player = g.add(f.filePlayer());
      created.push(player);
      player.open(file);
      const rate = media.codec.rates.includes(info.rate) ? info.rate : media.codec.audioRate;
      const rs = g.add(f.resampler());
      created.push(rs);
      rs.setRates(info.rate, rate);
      rs.call('MS_FILTER_SET_NCHANNELS', info.channels);
      rs.call('MS_FILTER_SET_OUTPUT_NCHANNELS', 1);
      const enc = addEncoder(g, f, media, rate);
      created.push(enc);
      this.#sink = g.add(f.createFilter('MSVoidSink'));
      created.push(this.#sink);
      this.player = player;
      this.#filters = [player, rs, enc];
      player.on('eof', () => {
        if (this.#ended) return;
        if (this.#remaining-- > 0) {
          try {
            player.closeFile();
            player.open(this.file);
            player.start();
            return;
          } catch {
            /* the file went away: end as if it had ended */
          }
        }
        onEnd(this, 'eof');
      });
    } catch (err) {
      for (const x of created) g.remove(x);
      throw err;
    }
  }

  /** Puts the player in the sender's path; call with the graph detached. */
  link(): void {
    const { sender, feed } = this.#parts;
    const [, rs, enc] = this.#filters;
    feed.unlink(sender);
    feed.link(this.#sink);
    this.player.link(rs).link(enc).link(sender);
    // a playback carried over a rebuild goes on where it was
    if (this.#seekMs > 0) this.player.call('MS_PLAYER_SEEK_MS', this.#seekMs);
    this.player.start();
  }

  /** Repeats still to come after the current one. */
  get remaining(): number {
    return this.#remaining;
  }

  /** What resume needs to take this playback up on another graph. */
  suspend(): PlaybackResume {
    let positionMs = 0;
    try {
      positionMs = this.player.positionMs();
    } catch {
      /* position unknown: from the start */
    }
    this.#ended = true; // this graph's part is over; the promise goes on with the next one
    return { resolve: this.#resolve, done: this.done, started: this.#started, positionMs };
  }

  /** Restores the sender's old feed and frees the player's filters; call with the graph detached. */
  unlink(): void {
    const { graph: g, sender, feed } = this.#parts;
    const [player, rs, enc] = this.#filters;
    player.unlink(rs);
    rs.unlink(enc);
    enc.unlink(sender);
    feed.unlink(this.#sink);
    feed.link(sender);
    for (const x of [...this.#filters, this.#sink]) g.remove(x);
  }

  /** Resolves the promise once (the graph work is the Gateway's). */
  finish(reason: PlaybackEndReason, positionMs: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolve({ reason, durationMs: Date.now() - this.#started, positionMs });
  }

  get ended(): boolean {
    return this.#ended;
  }
}

/** What Playbacks needs of the graph's owner. */
export interface PlaybackHost<L> {
  /** The parts a playback to `to` links into (the current graph's). */
  parts(to: L): PlaybackParts;
  /** Runs `change` with the graph detached, then re-attaches it. */
  edit(change: () => void): void;
  addRoot(f: Filter<any>): void;
  removeRoot(f: Filter<any>): void;
  onError(err: unknown): void;
}

/** At most one playback per leg of a graph: start, replace, stop, and drop them all when the graph goes. */
export class Playbacks<L> {
  readonly #host: PlaybackHost<L>;
  readonly #plays = new Map<L, Playback>();

  constructor(host: PlaybackHost<L>) {
    this.#host = host;
  }

  /** Plays `file` to `to`, `repeat` times, replacing a play running there. */
  start(to: L, file: string, info: { rate: number; channels: number }, repeat: number): Promise<PlaybackResult> {
    this.stop(to, 'replaced');
    const parts = this.#host.parts(to);
    let p: Playback | undefined;
    this.#host.edit(() => {
      p = new Playback(parts, file, info, repeat, (x, reason) => this.#end(to, x, reason));
      try {
        p.link();
      } catch (err) {
        try {
          p.unlink();
        } catch {
          /* partly linked: the filters go with the graph */
        }
        throw err;
      }
      this.#host.addRoot(p.player);
    });
    this.#plays.set(to, p!);
    return p!.done;
  }

  playing(to: L): boolean {
    return this.#plays.has(to);
  }

  /** Ends the play on `to` (its promise resolves with `reason`); returns the position it reached, ms. */
  stop(to: L, reason: PlaybackEndReason = 'stopped'): number | undefined {
    const p = this.#plays.get(to);
    if (!p) return undefined;
    let pos = 0;
    try {
      pos = p.player.positionMs();
    } catch {
      /* position unknown */
    }
    this.#end(to, p, reason, pos);
    return pos;
  }

  #end(to: L, p: Playback, reason: PlaybackEndReason, positionMs = 0): void {
    if (this.#plays.get(to) !== p) return;
    this.#plays.delete(to);
    try {
      this.#host.edit(() => {
        this.#host.removeRoot(p.player);
        p.unlink();
      });
    } catch (err) {
      this.#host.onError(err);
    }
    p.finish(reason, positionMs);
  }

  /**
   * Takes every playback off the graph about to be rebuilt (a re-INVITE, a
   * recording starting): resume() puts them on the new one where they were.
   */
  suspend(): () => void {
    const saved = [...this.#plays].map(([to, p]) => ({ to, p, resume: p.suspend() }));
    for (const { to, p } of saved) {
      this.#plays.delete(to);
      this.#host.removeRoot(p.player);
    }
    return () => {
      for (const { to, p, resume } of saved) {
        const parts = this.#host.parts(to);
        const next = new Playback(parts, p.file, p.info, p.remaining + 1, (x, r) => this.#end(to, x, r), resume);
        try {
          next.link();
        } catch (err) {
          this.#host.onError(err);
          next.finish('reconfigured', 0);
          continue;
        }
        this.#host.addRoot(next.player);
        this.#plays.set(to, next);
      }
    };
  }

  /** Plays end without graph work: the graph is about to be closed. */
  drop(reason: PlaybackEndReason): void {
    for (const [to, p] of this.#plays) {
      this.#plays.delete(to);
      this.#host.removeRoot(p.player);
      p.finish(reason, 0);
    }
  }
}
