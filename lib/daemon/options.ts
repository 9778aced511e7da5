/**
 * The daemon's options: one table, each option settable in the JSON config
 * file (by its dotted key), by an environment variable (RMS_*) and by a
 * command-line flag. The same table makes the flags (commander, flags.ts),
 * the config file's JSON Schema (ajv, configFile.ts), `--help` and the
 * reference in docs/deployment.md, so they cannot drift apart. Each option's
 * set() turns a value from any source into the config, or throws a
 * ConfigError naming the option and where the value came from.
 */
import * as os from 'node:os';
import { CODEC2_MODES, type Codec2Mode } from '../codecs/fmtp';
import { findCodec } from '../codecs/table';
import { TRANSCODABLE } from '../session/negotiation';
import type { CodecName } from '../codecs/table';
import {
  allowEntry,
  bad,
  int,
  ip,
  list,
  OFF,
  parseHostPort,
  sHostPort,
  sInt,
  sList,
  sString,
  str,
  type HostPort,
  type Raw,
} from './optionValues';
import { parseRedisTarget, type RedisTarget } from './redisTarget';

export { ConfigError, formatHostPort, isLoopback, parseHostPort, type HostPort } from './optionValues';

/** The daemon's log threshold. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The daemon's whole configuration, as loadConfig() makes it (and `--dry-run` prints it). */
export interface DaemonConfig {
  /** The ng control protocol. */
  control: {
    /** ng over UDP (what Kamailio speaks); null: off. */
    udp: HostPort | null;
    /** ng over TCP; null: off. */
    tcp: HostPort | null;
    /** Peers (IP or CIDR) whose requests are served; others are dropped. Empty: everyone, loopback binds only. */
    allow: string[];
  };
  /** The RTP side. */
  media: {
    /** Local address of the RTP/RTCP sockets (must be this machine's: start fails otherwise). */
    address: string;
    /** Address written into the SDP (default: address). */
    advertisedAddress?: string;
    /** An address of the other IP version. */
    address6?: string;
    /** SDP form of address6. */
    advertisedAddress6?: string;
    /** RTP port range, [min, max]. */
    ports: [number, number];
  };
  /** Media threads (mediastreamer2 tickers). */
  tickers: number;
  /** Tick interval of the tickers, 10 or 20 ms (20: fewer empty socket polls, more latency). */
  tickMs: 10 | 20;
  /** Calls at most (0: no limit); beyond it offers get `load limit`. */
  maxSessions: number;
  /** Refuse offers while the mean ticker load is above this % (0: no limit). */
  maxTickerLoad: number;
  /** Refuse offers while the process uses more than this % of the machine's CPU (0: no limit). */
  maxCpu: number;
  /**
   * Whom a leg takes media from and sends it to: 'once' (default, as
   * rtpengine: the first source, then locked; NATed phones get their audio
   * back), 'strict' (only the address its SDP says), 'always' (follow every
   * source: the media-handover flag per call).
   */
  latch: 'once' | 'strict' | 'always';
  /** The Codec2 mode assumed for a CODEC2 line without a mode, until the peer's packets show its own (docs/codecs.md). */
  codec2Mode: Codec2Mode;
  /** An answered call without RTP and signalling for this long is ended (0: never). */
  mediaTimeoutSec: number;
  /** A call never answered is ended this long after its last signalling (0: never). */
  offerTimeoutSec: number;
  /** Codecs offered to every callee besides the caller's (server-wide transcoding). */
  transcodeCodecs: CodecName[];
  /** Call quality monitoring and RFC 6035 reports. */
  quality: {
    /** Quality sampling period of each call, ms (0: off). */
    sampleMs: number;
    /** VQIntervalReport every this many seconds (0: none). */
    intervalSec: number;
    /** RFC 6035 collector (SIP URI) that gets the CallTerm reports by PUBLISH over UDP. */
    collector?: string;
    /** Where the PUBLISH goes; default the collector URI's host and port (5060). */
    collectorAddress?: HostPort;
  };
  /** Prometheus text on http://HOST:PORT/metrics; null: off. */
  metrics: HostPort | null;
  /** Folders `play media` files must be in. */
  mediaRoots: string[];
  /** On SIGTERM, how long calls may go on before everything is closed. */
  drainTimeoutSec: number;
  /** What goes to stderr. */
  logLevel: LogLevel;
  /** Redis that keeps every call, so that calls survive a restart (null: off). */
  redis: RedisTarget | null;
  /** Prefix of the daemon's Redis keys (`<prefix>call:<Call-ID>`): nodes sharing one Redis database need their own. */
  redisPrefix: string;
}

export interface OptionSpec {
  key: string;
  flag: string;
  env: string;
  arg: string;
  /** The default as shown in --help and the docs. */
  shown: string;
  help: string;
  set(c: DaemonConfig, v: Raw, where: string): void;
  /** JSON Schema of the value in the config file (set() checks the finer points: addresses, codecs, ranges of ranges). */
  schema: object;
  /** Repeatable flag: each use appends. */
  repeat?: boolean;
}

type EnumKey = 'latch' | 'logLevel';

/** An option whose value is one of a few words. */
function oneOf<K extends EnumKey>(
  key: K,
  values: readonly DaemonConfig[K][],
  o: Pick<OptionSpec, 'flag' | 'env' | 'shown' | 'help'>,
): OptionSpec {
  const words = values.slice(0, -1).join(', ') + ` or ${values.at(-1)}`;
  return {
    key,
    schema: { enum: [...values] },
    arg: values.join('|'),
    ...o,
    set: (c, v, w) => {
      const s = str(v, w) as DaemonConfig[K];
      if (!values.includes(s)) bad(w, words, v);
      c[key] = s;
    },
  };
}

/** Every option, in the order of --help. */
export const OPTIONS: OptionSpec[] = [
  {
    key: 'control.udp',
    schema: sHostPort,
    flag: '--control-udp',
    env: 'RMS_CONTROL_UDP',
    arg: 'IP:PORT|off',
    shown: '127.0.0.1:22222',
    help: 'ng control protocol over UDP (Kamailio rtpengine_sock "udp:IP:PORT"); port 0 picks one',
    set: (c, v, w) => (c.control.udp = parseHostPort(v, w)),
  },
  {
    key: 'control.tcp',
    schema: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'boolean' }] },
    flag: '--control-tcp',
    env: 'RMS_CONTROL_TCP',
    arg: 'IP:PORT|on|off',
    shown: 'off',
    help: 'ng over TCP too (other ng clients; Kamailio has no TCP); on = the UDP address and port',
    set: (c, v, w) => {
      const s = typeof v === 'boolean' ? String(v) : str(v, w).toLowerCase();
      c.control.tcp = s === 'on' || s === 'true' ? { host: '', port: -1 } : parseHostPort(v, w);
    },
  },
  {
    key: 'control.allow',
    schema: sList,
    flag: '--allow',
    env: 'RMS_CONTROL_ALLOW',
    arg: 'IP[/BITS],...',
    shown: '(none)',
    help: 'peers allowed to send commands (others are dropped); required for a non-loopback control address',
    set: (c, v, w) => (c.control.allow = list(v, w).map((x) => allowEntry(x, w))),
  },
  {
    key: 'media.address',
    schema: sString,
    flag: '--media-address',
    env: 'RMS_MEDIA_ADDRESS',
    arg: 'IP',
    shown: '127.0.0.1',
    help: 'local address of the RTP/RTCP sockets',
    set: (c, v, w) => (c.media.address = ip(v, w)),
  },
  {
    key: 'media.advertisedAddress',
    schema: sString,
    flag: '--advertised-address',
    env: 'RMS_ADVERTISED_ADDRESS',
    arg: 'IP',
    shown: 'media.address',
    help: 'address written into the SDP (e.g. a public address in front of 1:1 NAT)',
    set: (c, v, w) => (c.media.advertisedAddress = ip(v, w)),
  },
  {
    key: 'media.address6',
    schema: sString,
    flag: '--media-address6',
    env: 'RMS_MEDIA_ADDRESS6',
    arg: 'IP',
    shown: '(none)',
    help: 'an address of the other IP version, for peers whose SDP is of that version',
    set: (c, v, w) => (c.media.address6 = ip(v, w)),
  },
  {
    key: 'media.advertisedAddress6',
    schema: sString,
    flag: '--advertised-address6',
    env: 'RMS_ADVERTISED_ADDRESS6',
    arg: 'IP',
    shown: 'media.address6',
    help: 'SDP form of media.address6',
    set: (c, v, w) => (c.media.advertisedAddress6 = ip(v, w)),
  },
  {
    key: 'media.ports',
    schema: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 2, maxItems: 2, items: sInt(1024, 65535) }] },
    flag: '--ports',
    env: 'RMS_PORTS',
    arg: 'MIN-MAX',
    shown: '30000-40000',
    help: 'RTP port range (even RTP port, RTCP on the next); two pairs per call',
    set: (c, v, w) => {
      const parts = Array.isArray(v) ? v : str(v, w).split('-');
      if (parts.length !== 2) bad(w, 'MIN-MAX (or [min, max])', v);
      const lo = int(parts[0], w, 1024, 65535);
      const hi = int(parts[1], w, 1024, 65535);
      if (hi - lo < 3) bad(w, 'a range of at least 4 ports, MIN < MAX', v);
      c.media.ports = [lo, hi];
    },
  },
  {
    key: 'tickers',
    schema: sInt(1, 256),
    flag: '--tickers',
    env: 'RMS_TICKERS',
    arg: 'N',
    shown: 'CPU cores',
    help: 'media threads (mediastreamer2 tickers); each call runs on one',
    set: (c, v, w) => (c.tickers = int(v, w, 1, 256)),
  },
  {
    key: 'tickMs',
    schema: sInt(10, 20),
    flag: '--tick-ms',
    env: 'RMS_TICK_MS',
    arg: 'MS',
    shown: '10',
    help: 'tick interval, 10 or 20; 20 polls each socket half as often (-8 % CPU per Opus call, -21 % per relayed one, docs/benchmarks.md) for ~10-25 ms more latency',
    set: (c, v, w) => {
      const n = int(v, w, 10, 20);
      if (n !== 10 && n !== 20) bad(w, '10 or 20', v);
      c.tickMs = n as 10 | 20;
    },
  },
  {
    key: 'maxSessions',
    schema: sInt(0, 1_000_000),
    flag: '--max-sessions',
    env: 'RMS_MAX_SESSIONS',
    arg: 'N',
    shown: '0 (no limit)',
    help: 'calls at most; new offers beyond get "load limit" (Kamailio then tries its next node)',
    set: (c, v, w) => (c.maxSessions = int(v, w, 0, 1_000_000)),
  },
  {
    key: 'maxTickerLoad',
    schema: sInt(0, 100),
    flag: '--max-ticker-load',
    env: 'RMS_MAX_TICKER_LOAD',
    arg: 'PERCENT',
    shown: '0 (no limit)',
    help: 'refuse new offers while the mean media-thread load is above this % (Kamailio then tries its next node)',
    set: (c, v, w) => (c.maxTickerLoad = int(v, w, 0, 100)),
  },
  {
    key: 'maxCpu',
    schema: sInt(0, 100),
    flag: '--max-cpu',
    env: 'RMS_MAX_CPU',
    arg: 'PERCENT',
    shown: '0 (no limit)',
    help: "refuse new offers while this process uses more than this % of the machine's CPU",
    set: (c, v, w) => (c.maxCpu = int(v, w, 0, 100)),
  },
  oneOf('latch', ['once', 'strict', 'always'], {
    flag: '--latch',
    env: 'RMS_LATCH',
    shown: 'once',
    help: 'whom a leg takes media from: the first source then locked (NAT, as rtpengine), only its SDP address, or every source',
  }),
  {
    key: 'codec2Mode',
    schema: { enum: [...CODEC2_MODES] },
    flag: '--codec2-mode',
    env: 'RMS_CODEC2_MODE',
    arg: CODEC2_MODES.join('|'),
    shown: '2400',
    help: "the Codec2 mode of phones whose SDP names none (baresip's codec2_mode), until their packets show it",
    set: (c, v, w) => {
      const n = int(v, w, 700, 3200);
      if (!CODEC2_MODES.includes(n as Codec2Mode)) bad(w, CODEC2_MODES.join(', '), v);
      c.codec2Mode = n as Codec2Mode;
    },
  },
  {
    key: 'mediaTimeoutSec',
    schema: sInt(0, 86_400),
    flag: '--media-timeout',
    env: 'RMS_MEDIA_TIMEOUT',
    arg: 'SEC',
    shown: '60',
    help: 'end an answered call after this long without RTP/RTCP from either side or signalling (a lost delete); 0: never',
    set: (c, v, w) => (c.mediaTimeoutSec = int(v, w, 0, 86_400)),
  },
  {
    key: 'offerTimeoutSec',
    schema: sInt(0, 86_400),
    flag: '--offer-timeout',
    env: 'RMS_OFFER_TIMEOUT',
    arg: 'SEC',
    shown: '300',
    help: 'end a call that was never answered this long after its last signalling; 0: never',
    set: (c, v, w) => (c.offerTimeoutSec = int(v, w, 0, 86_400)),
  },
  {
    key: 'transcodeCodecs',
    schema: sList,
    flag: '--transcode-codecs',
    env: 'RMS_TRANSCODE_CODECS',
    arg: 'CODEC,...',
    shown: '(none)',
    help: `codecs offered to every callee besides the caller's (${TRANSCODABLE.join(', ')}); per call: codec-transcode-X`,
    set: (c, v, w) =>
      (c.transcodeCodecs = list(v, w).map((n) => {
        const codec = findCodec(n);
        if (!codec || !TRANSCODABLE.includes(codec.name)) bad(w, `codecs among ${TRANSCODABLE.join(', ')}`, n);
        return codec!.name;
      })),
  },
  {
    key: 'quality.sampleMs',
    schema: sInt(0, 60_000),
    flag: '--quality-sample-ms',
    env: 'RMS_QUALITY_SAMPLE_MS',
    arg: 'MS',
    shown: '1000',
    help: 'quality (MOS, loss, jitter) sampling period of each call; 0 turns monitoring off',
    set: (c, v, w) => (c.quality.sampleMs = int(v, w, 0, 60_000)),
  },
  {
    key: 'quality.intervalSec',
    schema: sInt(0, 86_400),
    flag: '--quality-interval',
    env: 'RMS_QUALITY_INTERVAL',
    arg: 'SEC',
    shown: '0 (none)',
    help: 'send a VQIntervalReport to the collector this often during calls',
    set: (c, v, w) => (c.quality.intervalSec = int(v, w, 0, 86_400)),
  },
  {
    key: 'quality.collector',
    schema: { type: 'string' },
    flag: '--collector',
    env: 'RMS_COLLECTOR',
    arg: 'SIP-URI',
    shown: '(none)',
    help: 'RFC 6035 collector: each finished call leg is reported there (PUBLISH vq-rtcpxr over UDP)',
    set: (c, v, w) => {
      const s = str(v, w);
      if (OFF.has(s.toLowerCase())) c.quality.collector = undefined;
      else if (!/^sips?:[^\s<>"]+$/i.test(s)) bad(w, 'a sip: URI', v);
      else c.quality.collector = s;
    },
  },
  {
    key: 'quality.collectorAddress',
    schema: sHostPort,
    flag: '--collector-address',
    env: 'RMS_COLLECTOR_ADDRESS',
    arg: 'IP:PORT',
    shown: "the URI's host:port",
    help: 'where the PUBLISH datagrams go, when the URI host is a name or another address',
    set: (c, v, w) => (c.quality.collectorAddress = parseHostPort(v, w) ?? undefined),
  },
  {
    key: 'metrics',
    schema: sHostPort,
    flag: '--metrics',
    env: 'RMS_METRICS',
    arg: 'IP:PORT|off',
    shown: '127.0.0.1:9900',
    help: 'Prometheus text endpoint, http://IP:PORT/metrics',
    set: (c, v, w) => (c.metrics = parseHostPort(v, w)),
  },
  {
    key: 'mediaRoots',
    schema: sList,
    flag: '--media-root',
    env: 'RMS_MEDIA_ROOTS',
    arg: 'DIR',
    shown: '(none: play media refused)',
    help: 'folder play media may read WAV files from (repeat the flag; env: colon-separated)',
    repeat: true,
    set: (c, v, w) => (c.mediaRoots = Array.isArray(v) ? list(v, w) : list(v, w, /:/)),
  },
  {
    key: 'drainTimeoutSec',
    schema: sInt(0, 86_400),
    flag: '--drain-timeout',
    env: 'RMS_DRAIN_TIMEOUT',
    arg: 'SEC',
    shown: '30',
    help: 'on SIGTERM: refuse new calls, let calls end for up to this long, then close all and exit 0',
    set: (c, v, w) => (c.drainTimeoutSec = int(v, w, 0, 86_400)),
  },
  {
    key: 'redis',
    schema: { anyOf: [{ type: 'string' }, { type: 'null' }, { const: false }] },
    flag: '--redis',
    env: 'RMS_REDIS',
    arg: '[PASSWORD@]IP:PORT[/DB]|off',
    shown: 'off',
    help: 'keep every call in Redis (as rtpengine --redis): calls survive a restart, on the same ports',
    set: (c, v, w) => {
      const s = v === null || v === false ? 'off' : str(v, w);
      c.redis = OFF.has(s.toLowerCase()) ? null : parseRedisTarget(s, w);
    },
  },
  {
    key: 'redisPrefix',
    schema: sString,
    flag: '--redis-prefix',
    env: 'RMS_REDIS_PREFIX',
    arg: 'TEXT',
    shown: 'rms:',
    help: 'prefix of our Redis keys; nodes sharing a Redis database need their own',
    set: (c, v, w) => {
      const s = str(v, w);
      if (!/^[\w:.-]{0,64}$/.test(s)) bad(w, 'up to 64 letters, digits, _ : . -', v);
      c.redisPrefix = s;
    },
  },
  oneOf('logLevel', ['error', 'warn', 'info', 'debug'], {
    flag: '--log-level',
    env: 'RMS_LOG_LEVEL',
    shown: 'info',
    help: 'what goes to stderr',
  }),
];

/** The embedded defaults (the `shown` column of OPTIONS). */
export function defaultConfig(): DaemonConfig {
  return {
    control: { udp: { host: '127.0.0.1', port: 22222 }, tcp: null, allow: [] },
    media: { address: '127.0.0.1', ports: [30000, 40000] },
    tickers: os.availableParallelism?.() ?? os.cpus().length,
    tickMs: 10,
    maxSessions: 0,
    maxTickerLoad: 0,
    maxCpu: 0,
    latch: 'once',
    codec2Mode: 2400,
    mediaTimeoutSec: 60,
    offerTimeoutSec: 300,
    transcodeCodecs: [],
    quality: { sampleMs: 1000, intervalSec: 0 },
    metrics: { host: '127.0.0.1', port: 9900 },
    mediaRoots: [],
    drainTimeoutSec: 30,
    logLevel: 'info',
    redis: null,
    redisPrefix: 'rms:',
  };
}
