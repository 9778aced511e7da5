/**
 * The command line of `rtp-media-server`: `serve` runs the daemon until
 * SIGTERM/SIGINT (graceful: see Daemon.shutdown; a second signal closes at
 * once) and prints one JSON line `{"event":"ready",...}` on stdout once every
 * socket is bound, with the real addresses (port 0 in the config picks one),
 * and `{"event":"exit",...}` when it stops. Exit codes: 0 done, 1 cannot
 * start, 2 bad command line or configuration. Logs: pino JSON on stderr.
 */
import { Command, CommanderError } from 'commander';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
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

/** The package's version (from its package.json, two folders above dist/lib/daemon or lib/daemon). */
export function packageVersion(): string {
  for (const up of ['../../..', '../..']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, up, 'package.json'), 'utf8'));
      if (pkg.name === 'rtp-media-server') return String(pkg.version);
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

/**
 * The top level, by commander: `serve`, `help`, -h/--help, -v/--version, and
 * an unknown command refused with the closest one suggested. What follows
 * `serve` goes to loadConfig (flags.ts parses it).
 */
function topLevel(argv: string[], io: CliIo): { code: number } | { serve: string[] } {
  if (argv.length === 0) {
    io.stdout(helpText());
    return { code: 2 };
  }
  let serve: string[] | undefined;
  const program = new Command('rtp-media-server')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => {} })
    .configureHelp({ formatHelp: () => helpText() })
    .showSuggestionAfterError(true)
    .version(packageVersion(), '-v, --version', 'print the version and exit');
  program
    .command('serve')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action((_args: string[], _opts: unknown, cmd: Command) => {
      serve = cmd.args;
    });
  program.command('help').action(() => io.stdout(helpText()));
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.version' || err.code === 'commander.helpDisplayed' || err.code === 'commander.help')
      return { code: 0 };
    const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
    const suggestion = /\(Did you mean (\S+?)\?\)/.exec(err.message)?.[1];
    const what =
      err.code === 'commander.unknownCommand'
        ? `unknown command ${JSON.stringify(quoted)}`
        : err.code === 'commander.unknownOption'
          ? `unknown option ${JSON.stringify(quoted)}`
          : err.message.replace(/^error: /, '');
    io.stderr(`rtp-media-server: ${what}${suggestion ? `; did you mean ${suggestion}?` : ''}; try --help\n`);
    return { code: 2 };
  }
  return serve ? { serve } : { code: 0 };
}

/** Runs a command; resolves with an exit code, or undefined while `serve` keeps running. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number | undefined> {
  const top = topLevel(argv, io);
  if ('code' in top) return top.code;
  const rest = top.serve;
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
    // the Redis password stays out of what is printed
    const shown = config.redis?.password ? { ...config, redis: { ...config.redis, password: '***' } } : config;
    io.stdout(JSON.stringify(shown, null, 2) + '\n');
    return 0;
  }
  const log = createLogger(config.logLevel, io.stderr);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(config, { log });
  } catch (err) {
    log.error({ err }, `cannot start: ${(err as Error).message}`);
    return 1;
  }
  // a bug in one call's path must not drop every other call: log and go on
  process.on('uncaughtException', (err) => log.error({ err }, `uncaught exception: ${err.message}`));
  process.on('unhandledRejection', (err) =>
    log.error({ err }, `unhandled rejection: ${(err as Error)?.message ?? err}`),
  );
  const a = daemon.addresses();
  io.stdout(
    JSON.stringify({
      event: 'ready',
      pid: process.pid,
      udp: fmt(a.udp),
      tcp: fmt(a.tcp),
      metrics: fmt(a.metrics),
      restored: daemon.restored,
    }) + '\n',
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
