/**
 * The WebSocket side of a fork (on the `ws` package): binary messages carry
 * audio, text messages JSON metadata, both ways. It connects, and reconnects
 * with exponential back-off (and jitter) when the connection drops, sending
 * the fork's start message first on every connection. It never blocks the
 * fork: canSend() is false while the socket's send buffer is over its high
 * water mark (the peer reads slowly) or while disconnected, and `drain`
 * tells the fork when it can send again. What the peer sends is bounded per
 * message (maxPayload) and counted when it is not JSON.
 */
import WebSocket from 'ws';
import { addon } from '../native';

export interface WsTransportOptions {
  url: string;
  headers: Record<string, string>;
  reconnect: false | { minDelayMs: number; maxDelayMs: number; attempts: number };
  /** The first message of every connection. */
  start: () => Record<string, unknown>;
  /** Bytes buffered by the socket past which canSend() is false (default 64 KiB). */
  highWater?: number;
  /**
   * The kernel's send buffer for the connection (SO_SNDBUF, default 64 KiB):
   * without a cap Linux grows it to megabytes, minutes of audio held for a
   * peer that stopped reading before the fork's own queue notices.
   */
  sendBuffer?: number;
  onOpen(resumed: boolean): void;
  /** Disconnected; `retryMs` until the next attempt, undefined when it gave up (or was closed). */
  onDown(code: number, reason: string, retryMs: number | undefined): void;
  onDrain(): void;
  onAudio(b: Buffer): void;
  onMessage(m: Record<string, unknown>): void;
  onError(err: Error): void;
}

/** Largest message taken from the peer (audio or JSON). */
const MAX_PAYLOAD = 1024 * 1024;
const CLOSE_GRACE_MS = 2000;
const DRAIN_POLL_MS = 10;

export class WsTransport {
  readonly #o: WsTransportOptions;
  #ws?: WebSocket;
  #open = false;
  #closing = false;
  #attempt = 0;
  #opened = 0;
  #retry?: NodeJS.Timeout;
  #poll?: NodeJS.Timeout;
  readonly #highWater: number;
  /** Messages from the peer that were not JSON objects. */
  badMessages = 0;
  /** Times the connection came up again after dropping. */
  reconnects = 0;

  constructor(o: WsTransportOptions) {
    this.#o = o;
    this.#highWater = o.highWater ?? 64 * 1024;
    this.#connect();
  }

  get connected(): boolean {
    return this.#open;
  }

  canSend(): boolean {
    if (!this.#open || !this.#ws) return false;
    if (this.#ws.bufferedAmount < this.#highWater) return true;
    this.#watchDrain();
    return false;
  }

  sendAudio(b: Buffer): void {
    if (this.#open) this.#ws!.send(b, { binary: true });
  }

  /** Metadata goes out when connected (it is not queued: a later start message tells the state). */
  sendJson(m: Record<string, unknown>): void {
    if (this.#open) this.#ws!.send(JSON.stringify(m));
  }

  /** Sends `last` (if connected), closes cleanly, and stops reconnecting. */
  close(last?: Record<string, unknown>): void {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#retry);
    clearInterval(this.#poll);
    const ws = this.#ws;
    if (!ws) return;
    if (this.#open && last) ws.send(JSON.stringify(last));
    this.#open = false;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    ws.close(1000, 'fork stopped');
    // a peer that never answers the close handshake
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  #connect(): void {
    const ws = new WebSocket(this.#o.url, {
      headers: this.#o.headers,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: 5000,
    });
    this.#ws = ws;
    ws.on('open', () => {
      if (this.#closing) return;
      this.#capSendBuffer(ws);
      this.#open = true;
      const resumed = this.#opened++ > 0;
      if (resumed) this.reconnects++;
      this.#attempt = 0;
      ws.send(JSON.stringify(this.#o.start()));
      this.#o.onOpen(resumed);
      this.#o.onDrain();
    });
    ws.on('message', (data, isBinary) => {
      if (this.#closing) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) return this.#o.onAudio(buf);
      let m: unknown;
      try {
        m = JSON.parse(buf.toString('utf8'));
      } catch {
        m = undefined;
      }
      if (m && typeof m === 'object' && !Array.isArray(m)) this.#o.onMessage(m as Record<string, unknown>);
      else this.badMessages++;
    });
    ws.on('error', (err) => {
      if (!this.#closing) this.#o.onError(err);
    });
    ws.on('close', (code, reason) => {
      this.#open = false;
      clearInterval(this.#poll);
      this.#poll = undefined;
      if (this.#closing) return;
      const r = this.#o.reconnect;
      let retry: number | undefined;
      if (r && this.#attempt < r.attempts) {
        const base = Math.min(r.maxDelayMs, r.minDelayMs * 2 ** this.#attempt++);
        retry = Math.round(base * (0.5 + Math.random() * 0.5));
        this.#retry = setTimeout(() => this.#connect(), retry);
      }
      this.#o.onDown(code, reason.toString('utf8'), retry);
    });
  }

  #capSendBuffer(ws: WebSocket): void {
    // a plain TCP socket has its descriptor on the handle (a TLS one does not: left as it is)
    const fd = (ws as unknown as { _socket?: { _handle?: { fd?: number } } })._socket?._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return;
    try {
      addon().setSocketSendBuffer(fd, this.#o.sendBuffer ?? 64 * 1024);
    } catch {
      /* not a socket we can tune: the queue still bounds what we hold */
    }
  }

  #watchDrain(): void {
    if (this.#poll) return;
    // ws has no drain event of its own: look at its buffer while blocked
    this.#poll = setInterval(() => {
      if (!this.#open || !this.#ws) return;
      if (this.#ws.bufferedAmount < this.#highWater) {
        clearInterval(this.#poll);
        this.#poll = undefined;
        this.#o.onDrain();
      }
    }, DRAIN_POLL_MS);
    this.#poll.unref();
  }
}
