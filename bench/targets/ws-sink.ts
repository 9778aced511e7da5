/**
 * The WebSocket end of bench/streams.ts, in a process of its own so that its
 * CPU is not the media server's: it accepts forks, counts their frames and
 * bytes, and answers {"cmd":"stats"} / {"cmd":"quit"} on stdin.
 *
 *   node dist/bench/targets/ws-sink.js
 */
import * as readline from 'node:readline';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
let frames = 0;
let bytes = 0;
let starts = 0;
let stops = 0;
wss.on('connection', (ws) => {
  ws.on('message', (d, isBinary) => {
    if (isBinary) {
      frames++;
      bytes += (d as Buffer).length;
      return;
    }
    const m = JSON.parse(String(d));
    if (m.event === 'start') starts++;
    else if (m.event === 'stop') stops++;
  });
});
const send = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
wss.on('listening', () => send({ ready: true, pid: process.pid, port: (wss.address() as { port: number }).port }));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string };
  if (m.cmd === 'stats') send({ frames, bytes, starts, stops, connections: wss.clients.size, cpu: process.cpuUsage() });
  else if (m.cmd === 'quit') {
    send({ bye: true });
    process.exit(0);
  }
});
setTimeout(() => process.exit(3), 10 * 60 * 1000).unref();
