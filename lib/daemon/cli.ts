/**
 * The command line of `rtp-media-server`: `serve` runs the daemon until
 * SIGTERM/SIGINT (graceful: see Daemon.shutdown; a second signal closes at
 * once) and prints one JSON line `{"event":"ready",...}` on stdout once every
 * socket is bound, with the real addresses (port 0 in the config picks one),
 * and `{"event":"exit",...}` when it stops. Exit codes: 0 done, 1 cannot
 * start, 2 bad command line or configuration.
 */
import type { AddressInfo } from 'node:net';
import { ConfigError, helpText, loadConfig, type DaemonConfig } from './config';
import { Daemon } from './Daemon';
import { createLogger } from './log';

const fmt = (a?: AddressInfo) =>
  a ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : null;

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

/** Runs a command; resolves with an exit code, or undefined while `serve` keeps running. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.stdout(helpText());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd !== 'serve') {
    io.stderr(`rtp-media-server: unknown command ${JSON.stringify(cmd)}; try --help\n`);
    return 2;
  }
  let config: DaemonConfig;
  let switches: Set<string>;
  try {
    ({ config, switches } = loadConfig({ argv: rest, env: io.env }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`rtp-media-server: ${err.message}\n`);
    return 2;
  }
  if (switches.has('--help')) {
    io.stdout(helpText());
    return 0;
  }
  if (switches.has('--dry-run')) {
    io.stdout(JSON.stringify(config, null, 2) + '\n');
    return 0;
  }
  const log = createLogger(config.logLevel, io.stderr);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(config, { log });
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  // a bug in one call's path must not drop every other call: log and go on
  process.on('uncaughtException', (err) => log.error(`uncaught exception: ${err.stack ?? err}`));
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${(err as Error)?.stack ?? err}`));
  const a = daemon.addresses();
  io.stdout(
    JSON.stringify({ event: 'ready', pid: process.pid, udp: fmt(a.udp), tcp: fmt(a.tcp), metrics: fmt(a.metrics) }) +
      '\n',
  );
  log.info(
    `rtp-media-server: ng udp ${fmt(a.udp) ?? 'off'}, tcp ${fmt(a.tcp) ?? 'off'}, metrics ${fmt(a.metrics) ?? 'off'}, ` +
      `media ${config.media.address} ports ${config.media.ports.join('-')}, ${config.tickers} ticker(s)`,
  );
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info(`${sig}: draining (${config.drainTimeoutSec} s at most)`);
      daemon.shutdown().then((r) => {
        io.stdout(JSON.stringify({ event: 'exit', ...r }) + '\n');
        process.exit(0);
      });
    } else {
      log.warn(`${sig} again: closing every call now`);
      daemon.close().then(() => process.exit(0));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return undefined;
}
