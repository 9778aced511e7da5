/**
 * Bencode (the BitTorrent serialisation, used by rtpengine's "ng" control
 * protocol): integers `i42e`, byte strings `4:spam`, lists `l...e` and
 * dictionaries `d...e`.
 *
 * decode() is strict about syntax (no leading zeros, no `-0`, no truncated
 * or trailing bytes) and bounded (depth, input size, number of values,
 * integer digits), and throws nothing but BencodeError, whatever the input.
 * It accepts dictionary keys in any order by default, because rtpengine and
 * Kamailio's rtpengine module write them in insertion order; `sortedKeys`
 * asks for the canonical order. encode() always writes canonical bencode:
 * keys sorted by their raw bytes.
 */
import { BencodeError } from '../errors';

/** A decoded or encodable value. Dictionaries decode to null-prototype objects. */
export type BValue = number | bigint | string | Buffer | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

export interface DecodeOptions {
  /** Nesting of lists and dictionaries; the top level is depth 1. Default 32. */
  maxDepth?: number;
  /** Largest input accepted, in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Most values (integers, strings, lists, dictionaries, keys not counted) in one input. Default 100000. */
  maxItems?: number;
  /** Longest byte string. Default: maxBytes. */
  maxStringBytes?: number;
  /** Most digits of an integer (sign not counted). Default 20 (any 64-bit value). */
  maxIntegerDigits?: number;
  /**
   * How byte strings come out: 'auto' (default) as a string when they are
   * valid UTF-8, else as a Buffer; 'buffer' always as a Buffer; 'utf8' as a
   * string, and invalid UTF-8 is an error. Keys are always strings and must
   * be valid UTF-8.
   */
  strings?: 'auto' | 'buffer' | 'utf8';
  /** A key seen twice in one dictionary: 'error' (default), or keep the 'first' or the 'last' value. */
  duplicateKeys?: 'error' | 'first' | 'last';
  /** Require keys in ascending byte order, as the bencode specification says. Default false. */
  sortedKeys?: boolean;
}

export interface EncodeOptions {
  /** Nesting limit, which also stops cycles. Default 32. */
  maxDepth?: number;
  /** Largest output, in bytes. Default 16 MiB. */
  maxBytes?: number;
}

const DEFAULTS = {
  maxDepth: 32,
  maxBytes: 1024 * 1024,
  maxItems: 100_000,
  maxIntegerDigits: 20,
};
/** Hard ceiling on maxDepth, so a caller cannot ask the recursive decoder to exhaust the stack. */
const DEPTH_CEILING = 512;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function limit(v: number | undefined, def: number, name: string, ceiling = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v < 1 || v > ceiling)
    throw new BencodeError(`bencode: option ${name} must be an integer 1..${ceiling}, got ${String(v)}`);
  return v;
}

function toBytes(input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (typeof input === 'string') return Buffer.from(input, 'utf8');
  throw new BencodeError(`bencode: expected a Buffer, Uint8Array or string to decode, got ${describe(input)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object (${Object.prototype.toString.call(v)})`;
  return typeof v;
}

const enum Ch {
  Zero = 0x30,
  Nine = 0x39,
  Colon = 0x3a,
  Minus = 0x2d,
  e = 0x65,
  i = 0x69,
  l = 0x6c,
  d = 0x64,
}

class Decoder {
  pos: number;
  items = 0;
  readonly maxDepth: number;
  readonly maxItems: number;
  readonly maxString: number;
  readonly maxIntDigits: number;
  readonly strings: 'auto' | 'buffer' | 'utf8';
  readonly dup: 'error' | 'first' | 'last';
  readonly sorted: boolean;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    opts: DecodeOptions,
    maxBytes: number,
  ) {
    this.pos = start;
    this.maxDepth = limit(opts.maxDepth, DEFAULTS.maxDepth, 'maxDepth', DEPTH_CEILING);
    this.maxItems = limit(opts.maxItems, DEFAULTS.maxItems, 'maxItems');
    this.maxString = limit(opts.maxStringBytes, maxBytes, 'maxStringBytes');
    this.maxIntDigits = limit(opts.maxIntegerDigits, DEFAULTS.maxIntegerDigits, 'maxIntegerDigits', 1000);
    this.strings = opts.strings ?? 'auto';
    if (!['auto', 'buffer', 'utf8'].includes(this.strings))
      throw new BencodeError(`bencode: option strings must be 'auto', 'buffer' or 'utf8'`);
    this.dup = opts.duplicateKeys ?? 'error';
    if (!['error', 'first', 'last'].includes(this.dup))
      throw new BencodeError(`bencode: option duplicateKeys must be 'error', 'first' or 'last'`);
    this.sorted = opts.sortedKeys ?? false;
  }

  fail(message: string, at = this.pos): never {
    throw new BencodeError(`bencode: ${message} at byte ${at}`, at, false);
  }

  truncated(what: string): never {
    throw new BencodeError(`bencode: input ends inside ${what} at byte ${this.buf.length}`, this.buf.length, true);
  }

  count(): void {
    if (++this.items > this.maxItems) this.fail(`more than ${this.maxItems} values`);
  }

  value(depth: number): BValue {
    const b = this.buf;
    if (this.pos >= b.length) this.truncated('a value');
    const c = b[this.pos];
    if (c === Ch.i) return this.integer();
    if (c >= Ch.Zero && c <= Ch.Nine) {
      this.count();
      return this.text(this.bytes());
    }
    if (c === Ch.l || c === Ch.d) {
      if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      return c === Ch.l ? this.list(depth + 1) : this.dict(depth + 1);
    }
    return this.fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  }

  integer(): number | bigint {
    this.count();
    const b = this.buf;
    const start = ++this.pos;
    let p = start;
    if (p < b.length && b[p] === Ch.Minus) p++;
    const digitsStart = p;
    while (p < b.length && b[p] >= Ch.Zero && b[p] <= Ch.Nine) {
      if (p - digitsStart >= this.maxIntDigits) this.fail(`integer longer than ${this.maxIntDigits} digits`, p);
      p++;
    }
    if (p >= b.length) this.truncated('an integer');
    if (b[p] !== Ch.e) this.fail(`unexpected byte 0x${b[p].toString(16).padStart(2, '0')} in an integer`, p);
    const nd = p - digitsStart;
    if (nd === 0) this.fail('integer without digits', start);
    if (b[digitsStart] === Ch.Zero && nd > 1) this.fail('integer with a leading zero', start);
    const negative = digitsStart > start;
    if (negative && b[digitsStart] === Ch.Zero) this.fail('negative zero', start);
    this.pos = p + 1;
    let text = '';
    for (let k = start; k < p; k++) text += String.fromCharCode(b[k]);
    if (nd <= 15) return Number(text);
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** A byte string's bytes (a view of the input). */
  bytes(): Uint8Array {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    let n = 0;
    while (p < b.length && b[p] >= Ch.Zero && b[p] <= Ch.Nine) {
      if (p - start >= 10) this.fail('string length with more than 10 digits', start);
      n = n * 10 + (b[p] - Ch.Zero);
      p++;
    }
    if (p >= b.length) this.truncated('a string length');
    if (b[p] !== Ch.Colon) this.fail(`unexpected byte 0x${b[p].toString(16).padStart(2, '0')} in a string length`, p);
    if (p - start > 1 && b[start] === Ch.Zero) this.fail('string length with a leading zero', start);
    if (n > this.maxString) this.fail(`string of ${n} bytes, more than the ${this.maxString} allowed`, start);
    const from = p + 1;
    if (from + n > b.length) this.truncated(`a string of ${n} bytes`);
    this.pos = from + n;
    return b.subarray(from, from + n);
  }

  text(raw: Uint8Array): string | Buffer {
    if (this.strings === 'buffer') return Buffer.from(raw);
    try {
      return utf8.decode(raw);
    } catch {
      if (this.strings === 'utf8') this.fail('string is not valid UTF-8', this.pos - raw.length);
      return Buffer.from(raw);
    }
  }

  list(depth: number): BValue[] {
    this.count();
    this.pos++;
    const out: BValue[] = [];
    for (;;) {
      if (this.pos >= this.buf.length) this.truncated('a list');
      if (this.buf[this.pos] === Ch.e) {
        this.pos++;
        return out;
      }
      out.push(this.value(depth));
    }
  }

  dict(depth: number): BDict {
    this.count();
    this.pos++;
    const out = Object.create(null) as BDict;
    let prev: Uint8Array | undefined;
    for (;;) {
      if (this.pos >= this.buf.length) this.truncated('a dictionary');
      const c = this.buf[this.pos];
      if (c === Ch.e) {
        this.pos++;
        return out;
      }
      if (c < Ch.Zero || c > Ch.Nine) this.fail('dictionary key that is not a string');
      const keyAt = this.pos;
      const raw = this.bytes();
      let key: string;
      try {
        key = utf8.decode(raw);
      } catch {
        return this.fail('dictionary key is not valid UTF-8', keyAt);
      }
      if (this.sorted && prev && Buffer.compare(prev, raw) >= 0)
        this.fail(`dictionary key ${JSON.stringify(key)} out of order`, keyAt);
      prev = raw;
      const v = this.value(depth);
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        if (this.dup === 'error') this.fail(`duplicate dictionary key ${JSON.stringify(key)}`, keyAt);
        if (this.dup === 'first') continue;
      }
      out[key] = v;
    }
  }
}

function decodeAt(
  input: unknown,
  offset: number,
  opts: DecodeOptions,
): { value: BValue; end: number; bytes: Uint8Array } {
  if (opts === null || typeof opts !== 'object') throw new BencodeError('bencode: options must be an object');
  const bytes = toBytes(input);
  const maxBytes = limit(opts.maxBytes, DEFAULTS.maxBytes, 'maxBytes');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > bytes.length)
    throw new BencodeError(`bencode: offset ${String(offset)} is outside the input`);
  const d = new Decoder(bytes, offset, opts, maxBytes);
  try {
    if (bytes.length - offset > maxBytes) {
      // For a stream, only the value itself must fit: decode within a window.
      const window = bytes.subarray(0, offset + maxBytes);
      const w = new Decoder(window, offset, opts, maxBytes);
      try {
        const value = w.value(0);
        return { value, end: w.pos, bytes };
      } catch (err) {
        if (err instanceof BencodeError && err.incomplete)
          throw new BencodeError(`bencode: value larger than ${maxBytes} bytes`, offset + maxBytes, false);
        throw err;
      }
    }
    const value = d.value(0);
    return { value, end: d.pos, bytes };
  } catch (err) {
    if (err instanceof BencodeError) throw err;
    // RangeError from a runaway input or anything unforeseen: still the typed error.
    throw new BencodeError(`bencode: cannot decode: ${(err as Error)?.message ?? String(err)}`, d.pos, false);
  }
}

/**
 * Decodes one complete value that must span the whole input (trailing bytes
 * are an error). Strings given as input are taken as UTF-8.
 */
export function decode(input: Uint8Array | string, opts: DecodeOptions = {}): BValue {
  const size = input instanceof Uint8Array ? input.length : typeof input === 'string' ? Buffer.byteLength(input) : 0;
  const maxBytes = limit(opts?.maxBytes, DEFAULTS.maxBytes, 'maxBytes');
  if (size > maxBytes) throw new BencodeError(`bencode: input of ${size} bytes is larger than the ${maxBytes} allowed`);
  const { value, end, bytes } = decodeAt(input, 0, opts);
  if (end !== bytes.length) throw new BencodeError(`bencode: trailing data at byte ${end}`, end, false);
  return value;
}

/**
 * Decodes the value that starts at `offset` and returns it with the offset
 * just past it; bytes after it are left alone. For a stream: a BencodeError
 * with `incomplete` set means the value is not all there yet.
 */
export function decodePrefix(
  input: Uint8Array | string,
  offset = 0,
  opts: DecodeOptions = {},
): { value: BValue; end: number } {
  const { value, end } = decodeAt(input, offset, opts);
  return { value, end };
}

/** True for the dictionaries decode() returns and for plain object literals. */
export function isDict(v: unknown): v is BDict {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/** A null-prototype dictionary with the given entries (keys like "__proto__" stay plain keys). */
export function dict(entries: Record<string, BValue | undefined> | Iterable<[string, BValue | undefined]> = {}): BDict {
  const out = Object.create(null) as BDict;
  const it =
    Symbol.iterator in Object(entries) ? (entries as Iterable<[string, BValue | undefined]>) : Object.entries(entries);
  for (const [k, v] of it) if (v !== undefined) out[k] = v;
  return out;
}

class Encoder {
  chunks: Buffer[] = [];
  size = 0;
  readonly seen = new Set<object>();
  constructor(
    readonly maxDepth: number,
    readonly maxBytes: number,
  ) {}

  push(b: Buffer): void {
    this.size += b.length;
    if (this.size > this.maxBytes) throw new BencodeError(`bencode: output larger than ${this.maxBytes} bytes`);
    this.chunks.push(b);
  }

  str(bytes: Uint8Array): void {
    this.push(Buffer.from(`${bytes.length}:`, 'latin1'));
    this.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  value(v: unknown, depth: number, where: string): void {
    switch (typeof v) {
      case 'number':
        if (!Number.isSafeInteger(v))
          throw new BencodeError(`bencode: ${where} is ${v}, and bencode integers must be safe integers`);
        this.push(Buffer.from(`i${v === 0 ? 0 : v}e`, 'latin1'));
        return;
      case 'bigint':
        this.push(Buffer.from(`i${v}e`, 'latin1'));
        return;
      case 'string':
        this.str(Buffer.from(v, 'utf8'));
        return;
      case 'object': {
        if (v === null) break;
        if (v instanceof Uint8Array) {
          this.str(v);
          return;
        }
        if (depth >= this.maxDepth) throw new BencodeError(`bencode: ${where} nests deeper than ${this.maxDepth}`);
        if (this.seen.has(v)) throw new BencodeError(`bencode: ${where} refers to itself`);
        this.seen.add(v);
        if (Array.isArray(v)) {
          this.push(Buffer.from('l'));
          v.forEach((item, n) => {
            if (item === undefined) throw new BencodeError(`bencode: ${where}[${n}] is undefined`);
            this.value(item, depth + 1, `${where}[${n}]`);
          });
          this.push(Buffer.from('e'));
        } else if (v instanceof Map || isDict(v)) {
          const entries: [Buffer, string, unknown][] = [];
          const src: Iterable<[unknown, unknown]> = v instanceof Map ? v.entries() : Object.entries(v);
          for (const [k, val] of src) {
            if (typeof k !== 'string') throw new BencodeError(`bencode: ${where} has a key that is not a string`);
            if (val === undefined) continue;
            entries.push([Buffer.from(k, 'utf8'), k, val]);
          }
          entries.sort((a, b) => Buffer.compare(a[0], b[0]));
          for (let n = 1; n < entries.length; n++)
            if (Buffer.compare(entries[n - 1][0], entries[n][0]) === 0)
              throw new BencodeError(`bencode: ${where} has the key ${JSON.stringify(entries[n][1])} twice`);
          this.push(Buffer.from('d'));
          for (const [raw, k, val] of entries) {
            this.str(raw);
            this.value(val, depth + 1, `${where}.${k}`);
          }
          this.push(Buffer.from('e'));
        } else break;
        this.seen.delete(v);
        return;
      }
    }
    throw new BencodeError(`bencode: ${where} is ${describe(v)}, which bencode cannot represent`);
  }
}

/**
 * Encodes integers (safe numbers or bigints), strings (as UTF-8), Buffers and
 * Uint8Arrays, arrays, and plain objects or Maps with string keys (written in
 * sorted order; undefined values are left out). Anything else (booleans,
 * null, fractions) is a BencodeError.
 */
export function encode(value: unknown, opts: EncodeOptions = {}): Buffer {
  const e = new Encoder(
    limit(opts.maxDepth, DEFAULTS.maxDepth, 'maxDepth', DEPTH_CEILING),
    limit(opts.maxBytes, 16 * 1024 * 1024, 'maxBytes'),
  );
  e.value(value, 0, 'value');
  return Buffer.concat(e.chunks, e.size);
}
