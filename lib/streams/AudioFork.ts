/**
 * A fork of a leg's decoded audio as it flows ('in': what the leg sends us,
 * 'out': what we send it, 'both': mixed or stereo), to a WebSocket or a Node
 * Readable. The ticker thread copies frames into a bounded native ring and
 * never waits; here they are cut to `frameMs`, converted (L16, PCMU, or Opus
 * packets encoded in the graph) and queued (bounded, oldest dropped and
 * counted) for a consumer that may be slow or away (the WebSocket
 * reconnects). Text messages tell the WebSocket peer what the audio is
 * (start), what happens on the leg (dtmf, voice, mode, mark) and that it ends
 * (stop, with the counts); with `inject`, the audio it sends back plays into
 * the leg (see AudioInject), and it may send {"event":"mark","name"} and
 * {"event":"clear"}.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AudioForkSink, ForkedFrame } from '../graph/streamFilters';
import { SafeEmitter } from '../util/SafeEmitter';
import { AudioInject } from './AudioInject';
import { FrameQueue } from './FrameQueue';
import type { ForkTap, LegStreams, StreamDigit } from './LegStreams';
import { encodeUlaw, type ResolvedFork } from './options';
import type { WsTransport } from './WsTransport';

export interface AudioForkEvents {
  /** The WebSocket is connected (`resumed`: again, after it dropped). */
  open: (resumed: boolean) => void;
  /** It dropped; `retryMs` until the next attempt (undefined: no more attempts, the fork stops). */
  disconnect: (info: { code: number; reason: string; retryMs?: number }) => void;
  /** The fork ended (stop(), the leg closed, the WebSocket gave up), after its last frame and stop message. */
  stop: (reason: string) => void;
  error: (err: unknown) => void;
}

export interface AudioForkStats {
  /** Frames handed to the consumer, and their bytes. */
  framesSent: number;
  bytesSent: number;
  /** Frames lost because the consumer was slow or away: in the native ring (ms of audio) or in the queue here (frames). */
  nativeDroppedFrames: number;
  queueDroppedFrames: number;
  /** Frames waiting in the queue now. */
  queued: number;
  connected: boolean;
  reconnects: number;
}

type Transport = { canSend(): boolean; send(b: Buffer): void; event(m: Record<string, unknown>): void };

export class AudioFork extends SafeEmitter<AudioForkEvents> {
  /** Names the fork in its metadata. */
  readonly id = randomUUID();
  readonly options: Readonly<ResolvedFork>;
  /** With `stream: true`: the audio, one frame per chunk. */
  readonly readable?: Readable;
  /** With `inject` (WebSocket forks): what the peer sends back plays here. */
  readonly inject?: AudioInject;
  readonly #streams: LegStreams;
  readonly #sink: AudioForkSink;
  readonly #tap: ForkTap;
  readonly #queue: FrameQueue;
  readonly #frameBytes: number;
  readonly #voice: boolean;
  #ws?: WsTransport;
  #transport!: Transport;
  #pcm: Buffer = Buffer.alloc(0);
  #nextSeq?: number;
  #nativeDropped = 0;
  #sent = 0;
  #bytes = 0;
  #stopped = false;
  readonly #onDigit = (d: StreamDigit) => this.#transport.event({ event: 'dtmf', ...d });
  readonly #onVoice = (v: { speaking: boolean; atMs: number }) =>
    this.#transport.event({ event: 'voice', speaking: v.speaking, atMs: v.atMs });
  readonly #onMode = (mode: string) => this.#transport.event({ event: 'mode', mode });
  readonly #onLegClose = () => this.stop('closed');

  /** @internal Use MediaLeg.fork(). */
  constructor(streams: LegStreams, o: ResolvedFork) {
    super();
    this.options = o;
    this.#streams = streams;
    this.#queue = new FrameQueue(o.queueFrames);
    const opus = o.format === 'opus';
    this.#frameBytes = ((o.rate * o.frameMs) / 1000) * 2 * o.channels;
    const sink = streams.factory.audioForkSink();
    // two seconds of PCM (the JS thread may stall that long) in a bounded ring
    const capacity = Math.max(64 * 1024, o.rate * 2 * o.channels * 2);
    sink.configure({
      capacityBytes: capacity,
      maxFrames: 2000,
      wakeBytes: opus ? 1 : Math.min(this.#frameBytes, capacity),
    });
    this.#sink = sink;
    this.#tap = { direction: o.direction, rate: o.rate, mix: o.mix, opusFrameMs: opus ? o.frameMs : undefined, sink };
    sink.on('ready', () => this.#pump());
    // voice events are what a bot needs for barge-in
    this.#voice = o.url !== undefined;
    try {
      if (o.inject) this.inject = new AudioInject(streams, o.inject);
      if (this.#voice) streams.acquireVoice();
      streams.addFork(this.#tap);
    } catch (err) {
      if (this.#voice) streams.releaseVoice();
      this.inject?.close();
      sink.close();
      throw err;
    }
    if (o.url) this.#transport = this.#openWs(o);
    else {
      // push() says when the reader's buffer is full; read() is it asking again
      let wants = true;
      const r = new Readable({
        highWaterMark: 4 * this.#frameBytes,
        read: () => {
          wants = true;
          this.#flush();
        },
      });
      this.readable = r;
      this.#transport = {
        canSend: () => wants && !r.destroyed,
        send: (b) => {
          wants = r.push(b);
        },
        event: () => {},
      };
    }
    streams.on('dtmf', this.#onDigit);
    if (this.#voice) streams.on('voice', this.#onVoice);
    streams.on('mode', this.#onMode);
    streams.on('close', this.#onLegClose);
  }

  #openWs(o: ResolvedFork): Transport {
    // ws is loaded with the first fork to a WebSocket
    const { WsTransport: Transport } = require('./WsTransport') as typeof import('./WsTransport');
    const ws = new Transport({
      url: o.url!,
      headers: o.headers,
      reconnect: o.reconnect,
      // half a second of audio in the kernel at most (16 KiB at least)
      sendBuffer: Math.max(16 * 1024, Math.round(o.rate * o.channels)),
      highWater: Math.max(8 * 1024, this.#frameBytes * 4),
      start: () => this.#startMessage(),
      onOpen: (resumed) => this.safeEmit('open', resumed),
      onDown: (code, reason, retryMs) => {
        this.safeEmit('disconnect', { code, reason, retryMs });
        if (retryMs === undefined) this.stop('unreachable');
      },
      onDrain: () => this.#flush(),
      onAudio: (b) => {
        if (this.inject && !this.inject.closed) this.inject.write(b);
      },
      onMessage: (m) => this.#onPeerMessage(m),
      onError: () => {
        /* a failed attempt: onDown follows with the retry */
      },
    });
    this.#ws = ws;
    this.inject?.on('mark', (name, info) =>
      ws.sendJson({ event: 'mark', name, ...(info.cleared ? { cleared: true } : {}) }),
    );
    return { canSend: () => ws.canSend(), send: (b) => ws.sendAudio(b), event: (m) => ws.sendJson(m) };
  }

  #startMessage(): Record<string, unknown> {
    const o = this.options;
    return {
      event: 'start',
      fork: this.id,
      call: o.call ?? this.#streams.legName,
      leg: this.#streams.legName,
      direction: o.direction,
      format: o.format,
      ...(o.format === 'L16' ? { endianness: 'little' } : {}),
      rate: o.rate,
      channels: o.channels,
      ...(o.direction === 'both' ? { layout: o.mix ? 'mixed' : 'in-left-out-right' } : {}),
      frameMs: o.frameMs,
      inject: o.inject ? { format: o.inject.format, rate: o.inject.rate, mode: o.inject.mode } : null,
      metadata: o.metadata ?? {},
      dropped: this.#nativeDropped + this.#queue.dropped,
    };
  }

  #onPeerMessage(m: Record<string, unknown>): void {
    const inj = this.inject;
    if (!inj || inj.closed) return;
    if (m.event === 'clear') inj.clear();
    else if (m.event === 'mark' && typeof m.name === 'string' && !inj.mark(m.name))
      this.#ws?.sendJson({ event: 'error', reason: 'too many marks pending', name: m.name });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Frames from the native ring: cut to frameMs, converted, queued, sent as the consumer allows. */
  #pump(): void {
    if (this.#sink.closed) return;
    for (const f of this.#sink.read()) this.#frame(f);
    this.#flush();
  }

  #frame(f: ForkedFrame): void {
    if (this.#nextSeq !== undefined && f.seq !== this.#nextSeq) this.#nativeDropped += (f.seq - this.#nextSeq) >>> 0;
    this.#nextSeq = (f.seq + 1) >>> 0;
    if (this.options.format === 'opus') return this.#queue.push(f.data);
    this.#pcm = this.#pcm.length ? Buffer.concat([this.#pcm, f.data]) : f.data;
    while (this.#pcm.length >= this.#frameBytes) {
      const chunk = this.#pcm.subarray(0, this.#frameBytes);
      this.#pcm = this.#pcm.subarray(this.#frameBytes);
      this.#queue.push(this.options.format === 'PCMU' ? encodeUlaw(chunk) : Buffer.from(chunk));
    }
  }

  #flush(): void {
    while (this.#queue.size > 0 && this.#transport.canSend()) {
      const b = this.#queue.shift()!;
      this.#transport.send(b);
      this.#sent++;
      this.#bytes += b.length;
    }
  }

  stats(): AudioForkStats {
    return {
      framesSent: this.#sent,
      bytesSent: this.#bytes,
      nativeDroppedFrames: this.#nativeDropped,
      queueDroppedFrames: this.#queue.dropped,
      queued: this.#queue.size,
      connected: this.#ws ? this.#ws.connected : !this.#stopped,
      reconnects: this.#ws?.reconnects ?? 0,
    };
  }

  /**
   * Ends the fork: what the graph still held is sent (as far as the consumer
   * takes it), then a stop message with the counts, then the WebSocket closes
   * (the Readable ends). Idempotent.
   */
  stop(reason = 'stopped'): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const s = this.#streams;
    // after this the graph holds no more of the fork: what the ring has is the rest
    s.off('dtmf', this.#onDigit);
    s.off('voice', this.#onVoice);
    s.off('mode', this.#onMode);
    s.off('close', this.#onLegClose);
    try {
      s.removeFork(this.#tap);
      if (this.#voice) s.releaseVoice();
    } catch (err) {
      this.safeEmit('error', err);
    }
    this.#pump();
    this.#sink.close();
    this.inject?.close();
    const stats = this.stats();
    this.#ws?.close({ event: 'stop', fork: this.id, reason, stats });
    this.readable?.push(null);
    this.safeEmit('stop', reason);
  }
}
