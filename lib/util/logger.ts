/**
 * The logger the library and the daemon write to: the part of pino's API we
 * call, so a pino logger (or anything with these methods, e.g. a child of the
 * application's own) fits. Fields go first, the message last:
 * `log.warn({ callId }, 'offer refused')`.
 */
export interface LogFn {
  (msg: string): void;
  (fields: object, msg?: string): void;
}

export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace?: LogFn;
  fatal?: LogFn;
  /** A logger that adds `bindings` to every line (pino's child loggers). */
  child?(bindings: Record<string, unknown>): Logger;
}

export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

const drop: LogFn = () => {};

/** A logger that drops everything (the default of library objects). */
export const silentLogger: Logger = { error: drop, warn: drop, info: drop, debug: drop, child: () => silentLogger };

/** `log.child(bindings)` when the logger has children, else the logger itself. */
export function childLogger(log: Logger, bindings: Record<string, unknown>): Logger {
  return log.child ? log.child(bindings) : log;
}
