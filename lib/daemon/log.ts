/**
 * The daemon's log: pino, one JSON object per line on stderr (what journald,
 * Loki or an ELK pipeline ingest as is). On a terminal, when pino-pretty is
 * installed (a devDependency, not a runtime one: a production daemon's
 * stderr is not a terminal, and pino-pretty brings some twenty packages),
 * lines are pretty-printed instead; `npx pino-pretty` does the same to a
 * piped log.
 */
import pino from 'pino';
import type { Logger } from '../util/logger';
import type { LogLevel } from './config';

export type { Logger } from '../util/logger';
export { silentLogger } from '../util/logger';

/** How createLogger() writes. */
export interface CreateLoggerOptions {
  /** 'auto' (default): pretty on a terminal when pino-pretty can be loaded, else JSON. */
  format?: 'auto' | 'json' | 'pretty';
  /** Whether the destination is a terminal (default: stderr's). */
  isTty?: boolean;
}

function prettyStream(write?: (line: string) => void): NodeJS.WritableStream | undefined {
  try {
    // optional: absent from a production install
    const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pretty({ colorize: !write, destination: write ? { write } : 2, sync: true, translateTime: 'SYS:standard' });
  } catch {
    return undefined;
  }
}

/**
 * A pino logger at `level` writing to `write` (one call per line) or, by
 * default, synchronously to stderr (a line logged just before exit is not lost).
 */
export function createLogger(level: LogLevel, write?: (line: string) => void, opts: CreateLoggerOptions = {}): Logger {
  const format = opts.format ?? 'auto';
  const tty = opts.isTty ?? (!write && process.stderr.isTTY === true);
  const stream =
    (format === 'pretty' || (format === 'auto' && tty) ? prettyStream(write) : undefined) ??
    (write ? { write } : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'rtp-media-server' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}
