/**
 * File descriptors in use against the process limit (RLIMIT_NOFILE), for
 * admission: every call holds four UDP sockets, and a bind that finds none
 * left fails with DescriptorsExhaustedError (ERR_RMS_DESCRIPTORS).
 */
import { addon } from '../native';

export interface DescriptorUsage {
  /** Descriptors open now (-1 where /proc is not mounted). */
  open: number;
  /** Soft limit; Infinity when unlimited. */
  limit: number;
  /** What the soft limit could be raised to; Infinity when unlimited. */
  hardLimit: number;
  /** limit - open (Infinity when unlimited, -1 when open is unknown). */
  free: number;
}

/** One readdir of /proc/self/fd (microseconds for thousands of descriptors). */
export function descriptorUsage(): DescriptorUsage {
  const u = addon().fdUsage();
  const limit = u.limit < 0 ? Infinity : u.limit;
  const hardLimit = u.hardLimit < 0 ? Infinity : u.hardLimit;
  return { open: u.open, limit, hardLimit, free: u.open < 0 ? -1 : limit - u.open };
}

/** Sockets one call needs (two RTP/RTCP pairs). */
export const DESCRIPTORS_PER_CALL = 4;
