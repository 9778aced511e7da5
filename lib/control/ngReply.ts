/** ng replies: ok, pong, error with the reasons Kamailio reads, load limit, and their bytes. */
import { ControlProtocolError, RmsError } from '../errors';
import { dict, encode, isDict, type BDict, type BValue } from './bencode';
import { NG_MAX_COOKIE_BYTES } from './ngLimits';
import { NG_MAX_UDP_REPLY_BYTES, NG_REASONS } from './ngTypes';

// ---------------------------------------------------------------------------
// Replies

/** `{result: 'ok', ...fields}`; undefined fields are left out. */
export function okReply(fields: Record<string, BValue | undefined> = {}): BDict {
  return dict({ ...fields, result: 'ok' });
}

/** The reply to ping. */
export function pongReply(): BDict {
  return dict({ result: 'pong' });
}

/** `{result: 'error', 'error-reason': reason}`: nothing else, as the protocol asks. */
export function errorReply(reason: string): BDict {
  return dict({ result: 'error', 'error-reason': oneLine(reason) });
}

/**
 * `{result: 'load limit', message}`: only for a proxy that listed `load limit`
 * in `supports` (Kamailio always does); it then tries the next node.
 */
export function loadLimitReply(message: string = NG_REASONS.sessionLimit): BDict {
  return dict({ result: 'load limit', message: oneLine(message) });
}

function oneLine(s: string): string {
  const t = String(s).replace(/[\r\n\t]+/g, ' ');
  return t.length > 512 ? t.slice(0, 509) + '...' : t;
}

/**
 * The error reply for a failure: a ControlProtocolError's reason, an
 * RmsError's message (the ports-exhausted one as "Ran out of ports", which
 * makes Kamailio try its next node), anything else as "Internal error" (its
 * text stays in our logs, not in the reply).
 */
export function errorReplyFor(err: unknown): BDict {
  if (err instanceof ControlProtocolError) return errorReply(err.reason);
  if (err instanceof RmsError) {
    if (err.code === 'ERR_RMS_PORTS_EXHAUSTED') return errorReply(NG_REASONS.outOfPorts);
    // a node at its limits: Kamailio tries the next one on this exact reason
    if (err.code === 'ERR_RMS_ADMISSION') return errorReply(NG_REASONS.sessionLimit);
    // out of file descriptors: this node is full, another one can take the call
    if (err.code === 'ERR_RMS_DESCRIPTORS') return errorReply(NG_REASONS.sessionLimit);
    return errorReply(err.message);
  }
  return errorReply(NG_REASONS.internal);
}

/**
 * The reply message: the request's cookie, a space, the bencoded reply. A
 * reply larger than maxBytes (default: one UDP datagram) is replaced by an
 * error reply saying so.
 */
export function formatReply(cookie: string, reply: BDict, maxBytes: number = NG_MAX_UDP_REPLY_BYTES): Buffer {
  if (typeof cookie !== 'string' || cookie.length === 0 || cookie.length > NG_MAX_COOKIE_BYTES || cookie.includes(' '))
    throw new ControlProtocolError('ng: formatReply needs the request cookie');
  if (!isDict(reply) || typeof reply.result !== 'string')
    throw new ControlProtocolError('ng: a reply is a dictionary with a result string');
  const head = Buffer.from(cookie + ' ', 'latin1');
  let body: Buffer;
  try {
    body = encode(reply, { maxBytes: Math.max(1, maxBytes - head.length) });
  } catch (err) {
    if (!(err instanceof ControlProtocolError) || !/larger than/.test(err.message)) throw err;
    body = encode(errorReply(NG_REASONS.replyTooLarge));
  }
  return Buffer.concat([head, body]);
}

/** The reply bytes for a request that could not be read, or undefined when it had no cookie. */
export function formatErrorReply(err: unknown, maxBytes?: number): Buffer | undefined {
  const cookie = err instanceof ControlProtocolError ? err.cookie : undefined;
  return cookie === undefined ? undefined : formatReply(cookie, errorReplyFor(err), maxBytes);
}
