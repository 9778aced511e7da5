/**
 * Admission control: one policy for every way a node can be too busy for a
 * new call. Each refusal says why (`reason`), so that the control plane can
 * answer with what the proxy fails over on ("load limit", "Ran out of ports").
 */
import * as os from 'node:os';
import { AdmissionError, InvalidArgumentError, type AdmissionReason } from '../errors';
import { descriptorUsage } from '../util/descriptors';
import type { PortPool } from './PortPool';
import type { TickerPool } from './TickerPool';

/** Limits past which offer(), ivr() and outbound() refuse new calls with AdmissionError. */
export interface AdmissionLimits {
  /** Most concurrent calls (every session: bridged, IVR, outbound). Default: no limit. */
  maxCalls?: number;
  /** Refuse while the mean load of the tickers (ms2's, % of each tick) is above this. Default: no limit. */
  maxTickerLoad?: number;
  /** Refuse while this process used more than this % of the machine's CPU (all cores) over the last second. Default: no limit. */
  maxCpu?: number;
  /**
   * Refuse while fewer port pairs than this are free (a call takes two).
   * Default: none; an empty pool refuses with PortsExhaustedError anyway.
   */
  minFreePorts?: number;
  /**
   * Refuse while fewer file descriptors than this are left under the
   * process's limit (RLIMIT_NOFILE); a call takes four sockets. Default 64.
   */
  minFreeDescriptors?: number;
}

/** What admission control looks at, now. */
export interface ServerLoad {
  calls: number;
  /** Mean ticker load, %. */
  tickerLoad: number;
  /** CPU this process used over the last second, % of all cores. */
  cpu: number;
  freePorts: number;
  /** Descriptors left under the soft limit (undefined where it cannot be read). */
  freeDescriptors?: number;
}

export function checkLimits(l: AdmissionLimits): AdmissionLimits {
  for (const [k, v] of Object.entries(l))
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      throw new InvalidArgumentError(`admission.${k} must be a non-negative number`);
  return l;
}

/** CPU and descriptor figures, measured at most every 250 ms (they cost a system call or a directory read). */
export class LoadSampler {
  #cpu = { at: process.hrtime.bigint(), usage: process.cpuUsage(), percent: 0 };
  #fds = { at: 0, free: undefined as number | undefined };

  cpu(): number {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.#cpu.at) / 1000;
    if (elapsedUs >= 250_000) {
      const u = process.cpuUsage(this.#cpu.usage);
      const cores = os.availableParallelism?.() ?? os.cpus().length;
      this.#cpu = { at: now, usage: process.cpuUsage(), percent: (100 * (u.user + u.system)) / elapsedUs / cores };
    }
    return this.#cpu.percent;
  }

  freeDescriptors(): number | undefined {
    const now = Date.now();
    if (now - this.#fds.at >= 250) {
      const u = descriptorUsage();
      this.#fds = { at: now, free: u.free < 0 || !Number.isFinite(u.free) ? undefined : u.free };
    }
    return this.#fds.free;
  }
}

export interface AdmissionState {
  limits: AdmissionLimits;
  sampler: LoadSampler;
  ports: PortPool;
  tickers: TickerPool;
  calls: number;
  /** Admissions in the last 2 s (for the ticker-load projection), updated here. */
  recent: number[];
}

export function currentLoad(s: Pick<AdmissionState, 'sampler' | 'ports' | 'tickers' | 'calls'>): ServerLoad {
  const t = s.tickers.tickers;
  return {
    calls: s.calls,
    tickerLoad: t.length ? t.reduce((n, x) => n + x.stats().load, 0) / t.length : 0,
    cpu: s.sampler.cpu(),
    freePorts: s.ports.free,
    freeDescriptors: s.sampler.freeDescriptors(),
  };
}

/** Throws AdmissionError when a new call would go over a limit; else counts it as admitted. */
export function admissionCheck(callId: string, s: AdmissionState): void {
  const a = s.limits;
  const l = currentLoad(s);
  const refuse = (why: string, reason: AdmissionReason): never => {
    throw new AdmissionError(`Call ${callId} refused: ${why}`, reason);
  };
  if (a.maxCalls !== undefined && l.calls >= a.maxCalls) refuse(`${l.calls} calls, the maximum`, 'calls');
  if (a.maxTickerLoad !== undefined) {
    // ms2's load is smoothed and a new call's cost shows up only after it
    // runs a while: count the calls admitted in the last 2 s at the mean
    // per-call load, or a burst of offers overshoots the limit
    const now = Date.now();
    s.recent = s.recent.filter((t) => now - t < 2000);
    const perCall = l.calls ? l.tickerLoad / l.calls : 0;
    const projected = l.tickerLoad + s.recent.length * perCall;
    if (projected > a.maxTickerLoad)
      refuse(
        `ticker load ${projected.toFixed(0)} % (with the calls just admitted) is above ${a.maxTickerLoad} %`,
        'ticker-load',
      );
  }
  if (a.maxCpu !== undefined && l.cpu > a.maxCpu) refuse(`CPU ${l.cpu.toFixed(0)} % is above ${a.maxCpu} %`, 'cpu');
  if (a.minFreePorts !== undefined && l.freePorts < a.minFreePorts)
    refuse(`${l.freePorts} free port pairs, fewer than ${a.minFreePorts}`, 'ports');
  const minFds = a.minFreeDescriptors ?? 64;
  if (l.freeDescriptors !== undefined && l.freeDescriptors < minFds)
    refuse(`${l.freeDescriptors} file descriptors left, fewer than ${minFds}`, 'descriptors');
  s.recent.push(Date.now());
}
