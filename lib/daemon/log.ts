/** The daemon's log: one line per event on stderr, with a level filter. */
import type { LogLevel } from './config';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const max = RANK[level];
  const at = (l: LogLevel) => (msg: string) => {
    if (RANK[l] <= max) write(`${new Date().toISOString()} ${l.toUpperCase()} ${msg.replace(/[\r\n]+/g, ' ')}\n`);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    enabled: (l) => RANK[l] <= max,
  };
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = createLogger('error', () => {});
