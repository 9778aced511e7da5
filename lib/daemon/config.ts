/**
 * The daemon's configuration: embedded defaults < the JSON config file
 * (configFile.ts, checked by ajv) < RMS_* environment variables < flags
 * (flags.ts, parsed by commander); then the checks that span options. The
 * option table itself is options.ts.
 */
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import { applyFile } from './configFile';
import { parseFlags } from './flags';
import { ConfigError, defaultConfig, formatHostPort, isLoopback, OPTIONS, type DaemonConfig } from './options';

export {
  ConfigError,
  defaultConfig,
  formatHostPort,
  isLoopback,
  OPTIONS,
  parseHostPort,
  type DaemonConfig,
  type HostPort,
  type LogLevel,
  type OptionSpec,
} from './options';
export { configJsonSchema } from './configFile';
export { SWITCHES } from './flags';

export interface LoadOptions {
  /** Command-line arguments after the subcommand. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: DaemonConfig;
  /** The config file read, if any. */
  file?: string;
  /** Flags that are not options (--help, --dry-run). */
  switches: Set<string>;
}

/** Reads defaults, then the config file (--config / RMS_CONFIG), then RMS_* variables, then flags. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? {};
  const c = defaultConfig();
  const flags = parseFlags(opts.argv ?? []);
  const file = flags.file ?? (env.RMS_CONFIG || undefined);
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the config file ${file}: ${(err as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    applyFile(c, obj, file);
  }
  for (const spec of OPTIONS) {
    const v = env[spec.env];
    if (v !== undefined) spec.set(c, v, spec.env);
  }
  for (const [spec, v] of flags.values) spec.set(c, v, spec.flag);
  return { config: validate(c), file, switches: flags.switches };
}

/** Cross-option checks, after every source is applied. */
export function validate(c: DaemonConfig): DaemonConfig {
  if (c.control.tcp && c.control.tcp.port === -1) {
    if (!c.control.udp) throw new ConfigError('control.tcp "on" means the UDP address, but control.udp is off');
    c.control.tcp = { ...c.control.udp };
  }
  if (!c.control.udp && !c.control.tcp) throw new ConfigError('control.udp and control.tcp are both off: no control');
  for (const [name, hp] of [
    ['control.udp', c.control.udp],
    ['control.tcp', c.control.tcp],
  ] as const)
    if (hp && !isLoopback(hp.host) && c.control.allow.length === 0)
      throw new ConfigError(
        `${name} ${formatHostPort(hp)} is reachable from other machines: whoever reaches it controls calls. ` +
          `Set control.allow (--allow) to the proxies' addresses, or bind a loopback address`,
      );
  if (c.media.address6 && isIP(c.media.address6) === isIP(c.media.address))
    throw new ConfigError('media.address6 must be of the other IP version than media.address');
  if (c.quality.collector && !c.quality.collectorAddress) {
    const m = /^sips?:(?:[^@;?]*@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?/i.exec(c.quality.collector);
    const host = m ? m[1].replace(/^\[|\]$/g, '') : '';
    if (isIP(host) === 0)
      throw new ConfigError(
        `quality.collector ${c.quality.collector}: its host is not an IP address; set quality.collectorAddress`,
      );
    c.quality.collectorAddress = { host, port: m![2] ? Number(m![2]) : 5060 };
  }
  return c;
}

/** The --help text, from OPTIONS. */
export function helpText(): string {
  const lines = [
    'Usage: rtp-media-server serve [--config FILE] [options]',
    '',
    'A media server driven over the rtpengine "ng" protocol (Kamailio\'s rtpengine',
    'module): relays and transcodes RTP, reports call quality (RFC 6035), plays',
    'files and DTMF into calls. SIGTERM: stop taking calls, let them finish',
    '(--drain-timeout), then exit 0. A second SIGTERM closes everything at once.',
    '',
    'Every option can be given in the JSON config file (by its key, e.g.',
    '{"control": {"udp": "127.0.0.1:22222"}}), as an environment variable, or as',
    'a flag; flags beat the environment, which beats the file.',
    '',
    '  --config FILE, -c FILE   JSON config file (env RMS_CONFIG)',
    '  --dry-run                print the effective configuration as JSON and exit',
    '  --help, -h               this text',
    '  --version, -v            the version (rtp-media-server --version)',
    '',
  ];
  for (const o of OPTIONS) {
    lines.push(`  ${o.flag} ${o.arg}`);
    lines.push(`      ${o.help}`);
    lines.push(`      key ${o.key}, env ${o.env}, default ${o.shown}`);
  }
  return lines.join('\n') + '\n';
}
