/**
 * Bounded child processes for the SIP peer harness (sipp, baresip).
 *
 * Every process started here
 *  - has a hard deadline (`maxMs`): SIGTERM at the deadline, SIGKILL 2 s later;
 *  - is remembered in a registry and SIGKILLed when the Node process exits
 *    (normal exit, uncaught exception, or the test runner ending it), so a
 *    failing test never leaves a peer running;
 *  - keeps the tail of its stdout/stderr in memory for assertions and reports.
 *
 * Only the process we started is signalled, by its pid: never a process group
 * or a name.
 */
import { reservePorts } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const c of live) {
      try {
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Kills every child still running (for `after()` hooks). */
export function killAllPeers(): void {
  for (const c of live) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when our deadline (maxMs) fired before the process ended by itself. */
  timedOut: boolean;
}

export interface BoundedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  stdout(): string;
  stderr(): string;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Hard deadline for the process's whole life. */
  maxMs: number;
  /** Bytes of stdout/stderr tail kept (default 256 KiB each). */
  keepBytes?: number;
  /** Called with each stdout chunk (e.g. to follow a log). */
  onStdout?: (chunk: string) => void;
  /** Called with each stderr chunk. */
  onStderr?: (chunk: string) => void;
  /**
   * Start in a process group of its own, for programs that may signal their
   * whole group (Kamailio's kill(0, sig)): such a signal then never reaches us.
   */
  detached?: boolean;
  /** Keep stdin open as a pipe (for interactive programs); default closed. */
  stdin?: boolean;
}

class Tail {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    while (this.size > this.max && this.parts.length > 1) this.size -= this.parts.shift()!.length;
  }
  toString(): string {
    const s = this.parts.join('');
    return s.length > this.max ? s.slice(s.length - this.max) : s;
  }
}

export function spawnBounded(name: string, cmd: string, args: string[], opts: SpawnOptions): BoundedProcess {
  installExitHook();
  const out = new Tail(opts.keepBytes ?? 256 * 1024);
  const err = new Tail(opts.keepBytes ?? 256 * 1024);
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  live.add(child);
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    terminate(2000);
  }, opts.maxMs);
  deadline.unref();

  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    out.push(d);
    opts.onStdout?.(d);
  });
  child.stderr!.on('data', (d: string) => {
    err.push(d);
    opts.onStderr?.(d);
  });

  const exited = new Promise<ExitInfo>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      live.delete(child);
      resolve({ code, signal, timedOut });
    };
    child.once('error', (e) => {
      err.push(`spawn error: ${e.message}\n`);
      finish(null, null);
    });
    child.once('close', (code, signal) => finish(code, signal));
  });

  function running(): boolean {
    return child.exitCode === null && child.signalCode === null && live.has(child);
  }

  function terminate(graceMs: number): void {
    if (!running()) return;
    try {
      child.kill('SIGTERM');
    } catch {
      /* gone */
    }
    if (!killTimer) {
      killTimer = setTimeout(() => {
        if (running()) {
          try {
            child.kill('SIGKILL');
          } catch {
            /* gone */
          }
        }
      }, graceMs);
      killTimer.unref();
    }
  }

  return {
    name,
    pid: child.pid ?? -1,
    child,
    exited,
    stdout: () => out.toString(),
    stderr: () => err.toString(),
    running,
    stop(graceMs = 2000) {
      terminate(graceMs);
      return exited;
    },
  };
}

export { sleep } from '../helpers/wait';

/**
 * Whether a UDP socket is bound on ip:port, from /proc/net/udp (no packet is
 * sent). Used to wait until sipp/baresip listen.
 */
export function udpBound(port: number, ip = '127.0.0.1'): boolean {
  const want = `${ipHexLe(ip)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const any = `00000000:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    const lines = fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1);
    return lines.some((l) => {
      const local = l.trim().split(/\s+/)[1];
      return local === want || local === any;
    });
  } catch {
    return false;
  }
}

function ipHexLe(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
}

/** Polls until `check()` is true, the process died, or `timeoutMs` elapsed. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  proc?: BoundedProcess,
): Promise<void> {
  await waitFor(
    async () => {
      if (await check()) return true;
      if (proc && !proc.running())
        throw new Error(
          `${proc.name} exited while waiting for ${what}\nstderr:\n${proc.stderr()}\nstdout:\n${tailOf(proc.stdout(), 4000)}`,
        );
      return false;
    },
    { timeoutMs, intervalMs: 50, what },
  );
}

export function tailOf(s: string, n: number): string {
  return s.length > n ? '…' + s.slice(s.length - n) : s;
}

/** Resolves true when a TCP connect to ip:port succeeds. */
export function tcpConnectable(port: number, ip = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: ip });
    const done = (ok: boolean) => {
      s.removeAllListeners();
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

/** Throws a clear error when a Debian binary the harness needs is missing. */
export function requireBinary(bin: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${bin}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error(`${bin} not found: apt-get install -y --no-install-recommends ${debianPackage}`);
}

/** Whether a binary is on PATH (for skipping tests). */
export function hasBinary(bin: string): boolean {
  try {
    requireBinary(bin, '');
    return true;
  } catch {
    return false;
  }
}

function canBind(port: number, ip: string, kind: 'udp' | 'tcp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (kind === 'tcp') {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: ip, exclusive: true }, () => srv.close(() => resolve(true)));
    } else {
      const s = dgram.createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, ip, () => s.close(() => resolve(true)));
    }
  });
}

/**
 * A base port B such that B .. B+count-1 are all free for UDP and TCP on
 * `ip` right now (random in 20000-40000, so parallel test files rarely meet).
 * There is no reservation: bind soon after.
 */
export async function findFreePortBlock(count: number, ip = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // reserved against the other test processes, probed against everything else
    const base = reservePorts(count, [20000, 40000]);
    let ok = true;
    for (let p = base; ok && p < base + count; p++) {
      ok = (await canBind(p, ip, 'udp')) && (await canBind(p, ip, 'tcp'));
    }
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found`);
}
