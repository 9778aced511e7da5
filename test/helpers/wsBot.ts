/**
 * A WebSocket "bot" for the stream tests (on the `ws` package): it keeps
 * every message a fork sends (binary audio frames and JSON metadata, with
 * arrival times) per connection, and lets the test talk back (audio, marks,
 * clear), stop reading (a slow consumer), or drop the connection.
 */
import { WebSocketServer, type WebSocket } from 'ws';

export interface BotFrame {
  at: number;
  data: Buffer;
}

export interface BotConnection {
  ws: WebSocket;
  frames: BotFrame[];
  events: { at: number; msg: any }[];
  closed?: { code: number; at: number };
  send(audio: Buffer): void;
  json(m: Record<string, unknown>): void;
  /** Stops reading from the socket (TCP back-pressure reaches the fork). */
  pause(): void;
}

export interface WsBot {
  url: string;
  connections: BotConnection[];
  /** Called for each audio frame received (an echo bot sends it back). */
  onFrame?: (c: BotConnection, f: BotFrame) => void;
  close(): Promise<void>;
}

export async function wsBot(): Promise<WsBot> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const bot: WsBot = {
    url: `ws://127.0.0.1:${port}/bot`,
    connections: [],
    close: () =>
      new Promise<void>((r) => {
        for (const c of bot.connections) c.ws.terminate();
        wss.close(() => r());
      }),
  };
  wss.on('connection', (ws) => {
    const c: BotConnection = {
      ws,
      frames: [],
      events: [],
      send: (audio) => ws.send(audio, { binary: true }),
      json: (m) => ws.send(JSON.stringify(m)),
      pause: () => (ws as any)._socket.pause(),
    };
    bot.connections.push(c);
    ws.on('message', (data, isBinary) => {
      const at = Date.now();
      const buf = data as Buffer;
      if (isBinary) {
        const f = { at, data: buf };
        c.frames.push(f);
        bot.onFrame?.(c, f);
      } else c.events.push({ at, msg: JSON.parse(buf.toString('utf8')) });
    });
    ws.on('close', (code) => (c.closed = { code, at: Date.now() }));
  });
  return bot;
}

/** 16-bit little-endian PCM frames to samples. */
export function pcmOf(frames: BotFrame[], channel = 0, channels = 1): Int16Array {
  const all = Buffer.concat(frames.map((f) => f.data));
  const n = Math.floor(all.length / 2 / channels);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = all.readInt16LE((i * channels + channel) * 2);
  return out;
}

/** Percentiles of a list of numbers. */
export function percentiles(xs: number[]): { p50: number; p95: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1], n: s.length };
}
