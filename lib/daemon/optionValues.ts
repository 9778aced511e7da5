/**
 * The value types of the daemon's options (options.ts): how a value from
 * the config file, the environment or a flag is read and checked, and the
 * JSON Schema pieces the config file is checked with.
 */
import { BlockList, isIP } from 'node:net';
import { RmsError } from '../errors';

/** A configuration that cannot be used; the message names the option and its source. */
export class ConfigError extends RmsError {
  constructor(message: string, code = 'ERR_RMS_CONFIG') {
    super(message, code);
  }
}

/** An IP address and a port. */
export interface HostPort {
  /** IPv4 or IPv6 address. */
  host: string;
  /** 0 picks a free one when binding. */
  port: number;
}

export type Raw = unknown;

export const sInt = (minimum: number, maximum: number) => ({
  anyOf: [
    { type: 'integer', minimum, maximum },
    { type: 'string', pattern: '^\\s*-?\\d+\\s*$' },
  ],
});
export const sString = { type: ['string', 'number'] };
export const sHostPort = { anyOf: [{ type: 'string' }, { type: 'null' }, { const: false }] };
export const sList = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: ['string', 'number'] } }] };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether an address only reaches this machine. */
export function isLoopback(address: string): boolean {
  const v = isIP(address);
  return v !== 0 && LOOPBACK.check(address, v === 4 ? 'ipv4' : 'ipv6');
}

export const bad = (where: string, what: string, v: Raw): never => {
  throw new ConfigError(`${where}: expected ${what}, got ${JSON.stringify(v)}`);
};

export function str(v: Raw, where: string): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') bad(where, 'a string', v);
  return (v as string).trim();
}

export function int(v: Raw, where: string, lo: number, hi: number): number {
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(str(v, where)) ? Number(str(v, where)) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) bad(where, `an integer ${lo}..${hi}`, v);
  return n;
}

export function ip(v: Raw, where: string): string {
  const s = str(v, where);
  if (isIP(s) === 0) bad(where, 'an IP address', v);
  return s;
}

export const OFF = new Set(['off', 'false', 'no', 'none', '']);

/** HOST:PORT, [IPv6]:PORT, or off/false/null. */
export function parseHostPort(v: Raw, where: string): HostPort | null {
  if (v === null || v === false) return null;
  const s = str(v, where);
  if (OFF.has(s.toLowerCase())) return null;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m || isIP(m[1]) === 0) bad(where, 'IP:PORT (or [IPv6]:PORT, or off)', v);
  return { host: m![1], port: int(m![2], where, 0, 65535) };
}

export function list(v: Raw, where: string, sep: RegExp = /[\s,]+/): string[] {
  if (Array.isArray(v)) return v.map((x, i) => str(x, `${where}[${i}]`)).filter(Boolean);
  return str(v, where)
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Checks an allow-list entry: an address or a CIDR block. */
export function allowEntry(s: string, where: string): string {
  const [addr, bits, extra] = s.split('/');
  const v = isIP(addr);
  const max = v === 4 ? 32 : 128;
  if (v === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
    bad(where, 'IP addresses or CIDR blocks (10.0.0.0/24)', s);
  return s;
}

export function formatHostPort(h: HostPort | null): string {
  if (!h) return 'off';
  return isIP(h.host) === 6 ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}
