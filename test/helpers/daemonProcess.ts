/**
 * `rtp-media-server serve` as a child process for tests: bounded in time
 * (test/peers/proc.ts), started with port 0 where possible, ready once it
 * printed its `{"event":"ready",...}` line with the real addresses.
 */
import * as path from 'node:path';
import { spawnBounded, type BoundedProcess, type ExitInfo } from '../peers/proc';

export const DAEMON_BIN = path.resolve(__dirname, '../../bin/rtp-media-server.js');

export interface DaemonEvent {
  event: string;
  [k: string]: unknown;
}

export interface DaemonProcess {
  proc: BoundedProcess;
  ready: { pid: number; udp: string | null; tcp: string | null; metrics: string | null };
  /** The UDP control address as host and port. */
  udp: { host: string; port: number };
  events: DaemonEvent[];
  /** SIGTERM (graceful), resolves on exit. */
  terminate(): void;
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export async function startDaemon(
  args: string[],
  opts: { maxMs?: number; env?: NodeJS.ProcessEnv; name?: string; bin?: string } = {},
): Promise<DaemonProcess> {
  const events: DaemonEvent[] = [];
  let buf = '';
  let onReady: ((e: DaemonEvent) => void) | undefined;
  const proc = spawnBounded(opts.name ?? 'rms-daemon', process.execPath, [opts.bin ?? DAEMON_BIN, 'serve', ...args], {
    maxMs: opts.maxMs ?? 60_000,
    env: { ...process.env, ...opts.env },
    onStdout: (chunk) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const e = JSON.parse(line) as DaemonEvent;
          events.push(e);
          if (e.event === 'ready') onReady?.(e);
        } catch {
          /* not an event line */
        }
      }
    },
  });
  const ready = await new Promise<DaemonEvent>((resolve, reject) => {
    onReady = resolve;
    const t = setTimeout(() => reject(new Error(`daemon not ready in 10 s\n${proc.stderr()}`)), 10_000);
    proc.exited.then((ex) => {
      clearTimeout(t);
      reject(new Error(`daemon exited (${ex.code}) before it was ready:\n${proc.stderr()}`));
    });
    onReady = (e) => {
      clearTimeout(t);
      resolve(e);
    };
  });
  const [host, port] = String(ready.udp).split(/:(?=\d+$)/);
  return {
    proc,
    ready: ready as unknown as DaemonProcess['ready'],
    udp: { host, port: Number(port) },
    events,
    terminate: () => {
      if (proc.running()) proc.child.kill('SIGTERM');
    },
    exited: proc.exited,
    stop: (graceMs = 5000) => proc.stop(graceMs),
  };
}
