/**
 * Splits an ng byte stream (rtpengine's --listen-tcp-ng) into messages.
 * There is no extra framing on TCP: messages are `cookie SP dictionary`
 * back to back, and a message ends where its bencoded dictionary ends.
 * Replies go back the same way (formatReply). CR/LF between messages is
 * skipped. push() returns the complete messages so far; a ControlProtocolError
 * from it means the stream cannot be followed any more: close it.
 *
 * Linear in the bytes received: a scanner follows the bencode structure
 * (nesting depth, string lengths) from where the last chunk ended, so a
 * message that trickles in byte by byte is looked at once, not once per
 * chunk (re-parsing the whole buffer per chunk let 60 slow connections keep
 * a core busy); received bytes go into a buffer that grows by doubling.
 * Only a complete message is decoded (bencode.decodePrefix), once, with the
 * usual limits.
 */
import { ControlProtocolError } from '../errors';
import { decodePrefix } from './bencode';
import { NG_DECODE_LIMITS, NG_MAX_COOKIE_BYTES, NG_MAX_MESSAGE_BYTES } from './ngLimits';

/** Limits of the TCP stream decoder. */
export interface StreamDecoderOptions {
  /** Largest message, cookie included. Default NG_MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
}

function fail(message: string): never {
  throw new ControlProtocolError(message, 'ERR_RMS_CONTROL_PROTOCOL', message);
}

const enum Mode {
  Cookie, // looking for the space after the cookie
  Item, // expecting a bencode item (or 'e' closing a list/dictionary)
  Int, // inside i...e
  Len, // digits of a string length
  Str, // inside a string's bytes
}

const SP = 0x20;
const COLON = 0x3a;
const E = 0x65;

export class NgStreamDecoder {
  #buf: Buffer = Buffer.alloc(0);
  #len = 0; // bytes held in #buf
  #msgStart = 0; // first byte of the message being scanned
  #pos = 0; // next byte to scan
  #mode = Mode.Cookie;
  #depth = 0;
  #strLeft = 0;
  #lenAcc = 0;
  #scanned = 0;
  readonly #max: number;
  #failed = false;

  constructor(opts: StreamDecoderOptions = {}) {
    this.#max = opts.maxMessageBytes ?? NG_MAX_MESSAGE_BYTES;
  }

  /** Bytes held that are not yet a whole message. */
  get buffered(): number {
    return this.#len - this.#msgStart;
  }

  /** Bytes the scanner has looked at since the start (about the bytes received: each is looked at once). */
  get scanned(): number {
    return this.#scanned;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.#failed) fail('ng stream: already failed; close the connection');
    try {
      return this.#push(chunk);
    } catch (err) {
      this.#failed = true;
      if (err instanceof ControlProtocolError) throw err;
      throw new ControlProtocolError(`ng stream: ${String((err as Error)?.message ?? err)}`);
    }
  }

  #append(chunk: Uint8Array): void {
    // drop what earlier messages used, then grow by doubling
    if (this.#msgStart > 0) {
      this.#buf.copy(this.#buf, 0, this.#msgStart, this.#len);
      this.#len -= this.#msgStart;
      this.#pos -= this.#msgStart;
      this.#msgStart = 0;
    }
    if (this.#len + chunk.length > this.#buf.length) {
      const next = Buffer.alloc(Math.max(this.#len + chunk.length, 2 * this.#buf.length, 256));
      this.#buf.copy(next, 0, 0, this.#len);
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #push(chunk: Uint8Array): Buffer[] {
    if (!(chunk instanceof Uint8Array)) fail('ng stream: a chunk must be bytes');
    this.#append(chunk);
    const out: Buffer[] = [];
    const b = this.#buf;
    while (this.#pos < this.#len) {
      const c = b[this.#pos];
      this.#scanned++;
      switch (this.#mode) {
        case Mode.Cookie:
          if (this.#pos === this.#msgStart && (c === 0x0d || c === 0x0a)) {
            this.#msgStart++; // CR/LF between messages
          } else if (c === SP) {
            if (this.#pos === this.#msgStart) fail('ng stream: a message starts with a space (no cookie)');
            this.#mode = Mode.Item;
          } else if (this.#pos - this.#msgStart >= NG_MAX_COOKIE_BYTES) {
            fail(`ng stream: no cookie within ${NG_MAX_COOKIE_BYTES + 1} bytes`);
          }
          this.#pos++;
          continue;
        case Mode.Item:
          if (this.#depth === 0 && c !== 0x64) fail('ng stream: a cookie is not followed by a bencoded dictionary');
          if (c === 0x64 || c === 0x6c) this.#depth++;
          else if (c === E) {
            if (this.#depth === 0) fail('ng stream: unexpected end of a list or dictionary');
            this.#depth--;
          } else if (c === 0x69) this.#mode = Mode.Int;
          else if (c >= 0x30 && c <= 0x39) {
            this.#mode = Mode.Len;
            this.#lenAcc = c - 0x30;
          } else fail(`ng stream: not bencode (byte 0x${c.toString(16)})`);
          break;
        case Mode.Int:
          if (c === E) this.#mode = Mode.Item;
          else if (!((c >= 0x30 && c <= 0x39) || c === 0x2d)) fail('ng stream: bad integer');
          break;
        case Mode.Len:
          if (c === COLON) {
            this.#mode = this.#lenAcc > 0 ? Mode.Str : Mode.Item;
            this.#strLeft = this.#lenAcc;
          } else if (c >= 0x30 && c <= 0x39) {
            this.#lenAcc = this.#lenAcc * 10 + (c - 0x30);
            if (this.#lenAcc > this.#max) fail(`ng stream: a string longer than the ${this.#max}-byte message limit`);
          } else fail('ng stream: bad string length');
          break;
        case Mode.Str: {
          // skip the string's bytes at once
          const take = Math.min(this.#strLeft, this.#len - this.#pos);
          this.#pos += take;
          this.#scanned += take - 1;
          this.#strLeft -= take;
          if (this.#strLeft === 0) this.#mode = Mode.Item;
          this.#checkSize();
          continue;
        }
      }
      this.#pos++;
      this.#checkSize();
      if (this.#mode === Mode.Item && this.#depth === 0 && c === E) out.push(this.#complete());
    }
    if (this.#msgStart === this.#len) {
      // nothing partial: start over at 0, and let a large buffer go
      this.#len = this.#pos = this.#msgStart = 0;
      if (this.#buf.length > 64 * 1024) this.#buf = Buffer.alloc(0);
    }
    return out;
  }

  #checkSize(): void {
    if (this.#pos - this.#msgStart > this.#max) fail(`ng stream: message larger than ${this.#max} bytes`);
  }

  // The scanner found the end of a message: decode it once (limits apply).
  #complete(): Buffer {
    const msg = Buffer.from(this.#buf.subarray(this.#msgStart, this.#pos));
    const sp = msg.indexOf(SP);
    try {
      const { end } = decodePrefix(msg, sp + 1, { ...NG_DECODE_LIMITS, maxBytes: Math.max(1, this.#max - sp - 1) });
      if (end !== msg.length) fail('ng stream: message ends before its dictionary does');
    } catch (err) {
      if (err instanceof ControlProtocolError && /^ng stream/.test(err.message)) throw err;
      fail(`ng stream: ${(err as Error).message}`);
    }
    this.#msgStart = this.#pos;
    this.#mode = Mode.Cookie;
    return msg;
  }
}
