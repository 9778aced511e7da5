/** The daemon (`rtp-media-server serve`) as a library: embed it, or test it in-process. */
export { Daemon, type DaemonAddresses, type ShutdownResult } from './Daemon';
export { NgServer, type NgServerOptions, type NgServerStats, type NgHandler } from './NgServer';
export { CallControl, type CallControlOptions, type CallEnd } from './calls';
export type { CallTotals, EndReason, MosCounts, PacketCounts } from './callTotals';
export type { ControlStats } from './controlStats';
export type { NgStatistics, StatisticsSource } from './statistics';
export {
  ConfigError,
  OPTIONS,
  configJsonSchema,
  defaultConfig,
  helpText,
  isLoopback,
  loadConfig,
  validate,
  type DaemonConfig,
  type HostPort,
  type LoadedConfig,
  type LogLevel,
} from './config';
export { CollectorClient, type CollectorOptions } from './collector';
export { DaemonMetrics, MOS_BUCKETS } from './metrics';
export { serveMetrics, type HttpEndpoints } from './http';
export { HealthCheck, probeBind, type HealthReport, type MediaAddressState } from './health';
export { createLogger, silentLogger, type Logger, type CreateLoggerOptions } from './log';
export { runCli } from './cli';
