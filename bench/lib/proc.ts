/** Child processes of the bench: spawned, talked to in JSON lines, measured from /proc, always killed. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';

const live = new Set<ChildProcess>();

/** Kills every child still running (by its own pid, never by name). */
export function killAll(): void {
  for (const c of live) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    console.error(`bench: stopped by ${sig}; child processes killed`);
    killAll();
    process.exit(130);
  });

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** `taskset -c CPUS cmd args` when cpus is given. */
export function withCpus(cmd: string, args: string[], cpus?: string): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

/** A child speaking one JSON object per line on stdout. */
export class JsonProc {
  readonly child: ChildProcess;
  readonly stderr: string[] = [];
  #lines: string[] = [];
  #exit = '';
  #waiters: ((l: string | null) => void)[] = [];
  #closed = false;
  readonly exited: Promise<number | null>;

  constructor(cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    live.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        live.delete(this.child);
        this.#exit = signal ? `killed by ${signal}` : `exit code ${code}`;
        this.#closed = true;
        for (const w of this.#waiters.splice(0)) w(null);
        resolve(code);
      }),
    );
    readline.createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const w = this.#waiters.shift();
      if (w) w(l);
      else this.#lines.push(l);
    });
    readline.createInterface({ input: this.child.stderr! }).on('line', (l) => {
      this.stderr.push(l);
      if (this.stderr.length > 200) this.stderr.shift();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next JSON line (skipping lines that are not JSON), within timeoutMs. */
  async next<T = any>(timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.#nextLine(deadline - Date.now());
      if (line === null)
        throw new Error(`process ${this.pid} ended (${this.#exit}): ${this.stderr.slice(-10).join('\n')}`);
      if (line.startsWith('{')) return JSON.parse(line) as T;
    }
  }

  #nextLine(ms: number): Promise<string | null> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`process ${this.pid}: no reply within ${ms} ms`));
      }, ms);
      const w = (line: string | null) => {
        clearTimeout(t);
        resolve(line);
      };
      this.#waiters.push(w);
    });
  }

  send(line: string): void {
    if (!this.#closed) this.child.stdin!.write(line + '\n');
  }

  async request<T = any>(line: string, timeoutMs = 30_000): Promise<T> {
    this.send(line);
    return this.next<T>(timeoutMs);
  }

  /** Asks it to quit, then kills it if it has not within graceMs. */
  async stop(quitLine?: string, graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    if (quitLine) this.send(quitLine);
    this.child.stdin!.end();
    const t = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  kill(): void {
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

const CLK_TCK = 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Threads of a process (for the record). */
export function threadCount(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread: tid -> { name, seconds }. */
export function threadCpu(pid: number): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, seconds: (Number(f[11]) + Number(f[12])) / CLK_TCK });
    } catch {
      // thread ended
    }
  }
  return out;
}

/** Percent of one core per thread group between two threadCpu() snapshots. */
export function threadShares(
  pid: number,
  a: Map<number, { name: string; seconds: number }>,
  b: Map<number, { name: string; seconds: number }>,
  seconds: number,
): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [tid, t] of b) {
    const before = a.get(tid)?.seconds ?? 0;
    const key = tid === pid ? 'main' : t.name.startsWith('rms-ticker') ? t.name : 'other';
    groups[key] = (groups[key] ?? 0) + ((t.seconds - before) / seconds) * 100;
  }
  return groups;
}

/** Machine-wide CPU counters from /proc/stat (jiffies): busy, softirq, steal, total. */
export function machineCpu(): { busy: number; softirq: number; steal: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, softirq, steal, total: busy + idle + iowait };
}
