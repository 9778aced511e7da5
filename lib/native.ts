/**
 * The only module that loads the native addon. It declares the addon's raw
 * shapes, hands the addon our error classes, and turns a failed load into a
 * NativeLibraryError that names the missing system library and the command
 * that installs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorClassesByCode, NativeLibraryError } from './errors';
import type { NativeRxQuality, NativeRxQualityConfig, NativeXrFill } from './nativeQuality';

export type ArgKind =
  | 'none'
  | 'int'
  | 'int-out'
  | 'float'
  | 'float-out'
  | 'bool'
  | 'bool-out'
  | 'string'
  | 'char'
  | 'bytes'
  | 'bytes-out'
  | 'rtp-session';

export interface NativeMethodInfo {
  id: number;
  kind: ArgKind;
  bytes?: number;
}

export interface NativeFilterDescInfo {
  id: number;
  name: string;
  text: string;
  category: 'other' | 'encoder' | 'decoder' | 'encoding-capturer' | 'decoder-renderer';
  encFmt?: string;
  inputs: number;
  outputs: number;
  enabled: boolean;
}

export interface NativeFilterInfo {
  name: string;
  id: number;
  inputs: number;
  outputs: number;
  encFmt?: string;
  category: number;
  /** Notifications dropped because JS had 1024 still to take (bounded channel, native/channel.h). */
  eventsDropped: number;
}

export interface NativeLink {
  dir: 'in' | 'out';
  pin: number;
  peer: NativeFilter | null;
  peerPin: number;
}

export interface NativeFactory {
  createFilter(nameOrId: string | number): NativeFilter;
  createEncoder(mime: string): NativeFilter;
  createDecoder(mime: string): NativeFilter;
  listFilters(): NativeFilterDescInfo[];
  registerBuiltinFilter(name: string): void;
  close(): void;
}

export interface NativeFilter {
  link(outPin: number, dst: NativeFilter, inPin: number): void;
  unlink(outPin: number, dst: NativeFilter, inPin: number): void;
  links(): NativeLink[];
  call(methodId: number, arg?: unknown): number | boolean | Buffer | undefined;
  implements(interfaceId: number): boolean;
  hasMethod(methodId: number): boolean;
  onNotify(cb: (eventId: number, payload: Buffer, droppedBefore: number) => void): void;
  info(): NativeFilterInfo;
  isAttached(): boolean;
  close(): void;
}

export interface NativeTickerStats {
  /** ms2's smoothed load: percent of each 10 ms tick spent processing. */
  load: number;
  ticks: number;
  /** Ticks that started one full interval (10 ms) or more behind schedule. */
  lateTicks: number;
  maxLateMs: number;
  lastLateMs: number;
  totalLateMs: number;
  intervalMs: number;
  /** Graphs attached. */
  graphs: number;
  /**
   * RTP/RTCP socket reads made by this ticker's graphs. A socket is read only
   * when epoll reported data for it (until it is empty again).
   */
  socketReads: number;
  /** Reads answered "nothing" without a system call: the socket had no data. */
  socketReadsSkipped: number;
}

export interface NativeTicker {
  attach(f: NativeFilter): void;
  detach(f: NativeFilter): void;
  stats(): NativeTickerStats;
  resetStats(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativePayloadType {
  pt: number;
  /** Encoding name as in SDP rtpmap (e.g. 'PCMU', 'opus', 'telephone-event'). */
  mime: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  bitrate?: number;
}

export interface NativeJitterBuffer {
  enabled: boolean;
  adaptive: boolean;
  nominalMs: number;
  minMs: number;
  maxMs: number;
  maxPackets: number;
}

export interface NativeRtpStats {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  bytesDelivered: number;
  duplicatesReceived: number;
  late: number;
  lost: number;
  bad: number;
  discarded: number;
  rtcpSent: number;
  rtcpReceived: number;
  jitterMs: number;
  maxJitterMs: number;
  jitterBufferMs: number;
  roundTripMs: number;
  /** RFC 4733 reports dropped because JS had 256 still to take (bounded channel, native/channel.h). */
  telephoneEventsDropped: number;
  /** RTCP datagrams the receive gate refused as malformed before oRTP parsed them (native/core/rtcp_check.h). */
  rtcpInvalid: number;
  /**
   * Bytes of the RTCP datagrams received and handed to oRTP (those that
   * rtcpReceived counts): in the clear only, so 0 on a session read through
   * a security layer (SRTP, DTLS-SRTP).
   */
  rtcpBytesReceived: number;
  /** Why the last one was refused (e.g. 'report count', 'XR block'); only once one was. */
  rtcpLastInvalid?: string;
  /**
   * RTCP packets pushed out of pollRtcp()'s bounded store before a poll took
   * them (it keeps the newest 8 of each kind: SR, RR, each XR block type, per direction).
   */
  rtcpOverflow: number;
}

export interface NativeRtpInfo {
  rtpPort: number;
  rtcpPort: number;
  sendSsrc: number;
  recvSsrc: number;
  sendPayloadType: number;
  recvPayloadType: number;
  users: number;
}

/** One RFC 4733 report from the native tracker (see native/rtp_session.cc). */
export interface NativeTelephoneEventReport {
  /** start: first packet of an event; end: its first end packet; endLost: a new event began before any end packet. */
  phase: 'start' | 'end' | 'endLost';
  event: number;
  volume: number;
  /** In units of the telephone-event RTP clock. */
  duration: number;
  timestamp: number;
}

/**
 * setRemote, setLatch, setSymmetric, setJitterBuffer, enableRtcp,
 * setRtcpInterval and configureXr never wait for a ticker: while a graph
 * runs the session, the change is posted to the ticker thread and applied at
 * the session's next RTP read or send (within a tick); otherwise at once.
 * So stats()/info() right after such a call may still show the old state.
 * Argument errors (a non-numeric address, an address of the other IP
 * version than the bound one) are thrown at once either way.
 */
export type { NativeRxQuality, NativeRxQualityConfig, NativeXrFill } from './nativeQuality';

export interface NativeRtpSession {
  bind(address: string, rtpPort: number, rtcpPort: number): { rtpPort: number; rtcpPort: number };
  setRemote(address: string, rtpPort: number, rtcpPort?: number): void;
  setPayloadTypes(list: NativePayloadType[]): void;
  setSendPayloadType(pt: number): void;
  setRecvPayloadType(pt: number): void;
  setJitterBuffer(jb: NativeJitterBuffer): void;
  setSymmetric(on: boolean): void;
  setLatch(mode: 'strict' | 'once' | 'always'): void;
  enableRtcp(on: boolean): void;
  setRtcpInterval(ms: number): void;
  stats(): NativeRtpStats;
  info(): NativeRtpInfo;
  onTelephoneEvent(cb: (report: NativeTelephoneEventReport) => void): void;
  configureXr(opts: NativeXrConfig): void;
  enableRtcpEvents(): void;
  pollRtcp(): NativeRtcpPacket[];
  setXrMedia(v: NativeXrMedia): void;
  qualityIndicator(): NativeQualityIndicator;
  /** SSRC, next sequence number and timestamp offset of what the session sends. */
  streamState(): NativeStreamState;
  /** Sets them (before any graph runs the session): a restored call's stream goes on. */
  setStreamState(s: NativeStreamResume): void;
  configureRxQuality(o: NativeRxQualityConfig): void;
  rxQuality(): NativeRxQuality;
  setXrFill(v: NativeXrFill): void;
  setCname(cname: string): void;
  close(): void;
}

/** What identifies the stream a session sends. */
export interface NativeStreamState {
  ssrc: number;
  /** The next sequence number. */
  seq: number;
  /** The last RTP timestamp sent, null before the first packet. */
  lastTs: number | null;
}

/** What setStreamState() sets: the stream goes on with this SSRC, next sequence number, next timestamp. */
export interface NativeStreamResume {
  ssrc?: number;
  seq?: number;
  nextTs?: number;
}

/** mediastreamer2's quality indicator (0..5) for what a session receives. */
export interface NativeQualityIndicator {
  rating: number;
  averageRating: number;
  /** Listening quality: without the round-trip term. */
  lqRating: number;
  averageLqRating: number;
  localLossRate: number;
  localLateRate: number;
}

/** What our RTCP XR VoIP metrics report about the audio we decode (absent: unavailable). */
export interface NativeXrMedia {
  plc: 'none' | 'silence' | 'enhanced';
  /** dBm0, -120..0 */
  signalLevel?: number;
  noiseLevel?: number;
  /** 1..5 */
  mosCq?: number;
  mosLq?: number;
}

export interface NativeXrConfig {
  enabled: boolean;
  rcvrRtt?: 'none' | 'all' | 'sender';
  rcvrRttMaxSize?: number;
  statSummary?: boolean;
  voipMetrics?: boolean;
}

export type { NativeReportBlock, NativeRtcpPacket } from './nativeRtcp';
import type { NativeRtcpPacket } from './nativeRtcp';

export type {
  NativeRelayDirectionStats,
  NativeRelayStats,
  NativeRelayRtcpSide,
  NativeRelayEvent,
  NativeRelayOptions,
  NativeRelay,
  NativeForwardPlaneStats,
  NativeForwardPlane,
} from './nativeForward';
import type { NativeRelayOptions, NativeRelay, NativeForwardPlane } from './nativeForward';

export interface NativeConstants {
  methods: Record<string, NativeMethodInfo>;
  events: Record<string, number>;
  filterIds: Record<string, number>;
  interfaces: Record<string, number>;
  sizes: Record<string, number>;
}

export interface NativeAddon {
  Factory: new () => NativeFactory;
  Filter: new () => NativeFilter;
  Ticker: new (name: string, priority: number, intervalMs?: number) => NativeTicker;
  RtpSession: new () => NativeRtpSession;
  /** threads 0: one per CPU. */
  ForwardPlane: new (threads?: number) => NativeForwardPlane;
  Relay: new (
    plane: NativeForwardPlane,
    a: NativeRtpSession,
    b: NativeRtpSession,
    opts?: NativeRelayOptions,
  ) => NativeRelay;
  init(opts: { errors: Record<string, unknown> }): void;
  setLogLevel(level: number): void;
  /** Open descriptors of this process and its RLIMIT_NOFILE (-1: unknown / unlimited). */
  fdUsage(): { open: number; limit: number; hardLimit: number };
  /** Native library log lines to fn (records: [level bit, domain, message, count]); null: back to stderr. */
  setLogSink(fn: ((records: [number, string, string, number][], dropped: number) => void) | null): void;
  /** Caps a socket's kernel send buffer (SO_SNDBUF); returns the size the kernel took. */
  setSocketSendBuffer(fd: number, bytes: number): number;
  constants: NativeConstants;
}

interface LibraryInfo {
  name: string;
  soname: string;
  dev: string;
  runtime: string;
}

const packageRoot = path.resolve(__dirname, '..', '..');

function librariesTable(): LibraryInfo[] {
  try {
    const file = path.join(packageRoot, 'vendor', 'libraries.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { libraries: LibraryInfo[] }).libraries;
  } catch {
    return [];
  }
}

/** Turns a dlopen failure into a message a person can act on. */
export function explainLoadFailure(err: unknown): NativeLibraryError {
  const message = err instanceof Error ? err.message : String(err);
  const libs = librariesTable();
  const missing = /([^\s:/]+\.so[^\s:]*): cannot open shared object file/.exec(message);
  if (missing) {
    const so = missing[1];
    const lib = libs.find((l) => so.startsWith(l.soname));
    if (lib) {
      return new NativeLibraryError(
        `rtp-media-server: the system library ${lib.name} (${so}) is missing. ` +
          `Install it with: apt-get install -y --no-install-recommends ${lib.runtime} ` +
          `(or all native dependencies: bash ${path.join(packageRoot, 'vendor', 'install-deps.sh')})`,
      );
    }
    return new NativeLibraryError(
      `rtp-media-server: a system library is missing (${so}). ` +
        `Install the native dependencies with: bash ${path.join(packageRoot, 'vendor', 'install-deps.sh')}`,
    );
  }
  if (/No native build was found/.test(message)) {
    return new NativeLibraryError(
      'rtp-media-server: no compiled addon found for this platform. Build it with `npm run build:native` ' +
        `(needs the -dev packages: bash ${path.join(packageRoot, 'vendor', 'install-deps.sh')}). Cause: ${message}`,
    );
  }
  return new NativeLibraryError(`rtp-media-server: cannot load the native addon: ${message}`);
}

function load(): NativeAddon {
  let addon: NativeAddon;
  try {
    const override = process.env.RMS_ADDON_PATH;

    addon = override ? require(override) : require('node-gyp-build')(packageRoot);
  } catch (err) {
    throw explainLoadFailure(err);
  }
  addon.init({ errors: errorClassesByCode });
  return addon;
}

let cached: NativeAddon | undefined;

/** The addon, loaded on first use (so importing types never needs it). */
export function addon(): NativeAddon {
  if (!cached) cached = load();
  return cached;
}

export function constants(): NativeConstants {
  return addon().constants;
}
