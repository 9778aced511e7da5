/**
 * The three media servers the bench measures, behind one interface: start
 * one with N calls of a codec pair, read its figures, stop it.
 */
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import * as bencode from '../../lib/control/bencode';
import { JsonProc, rssBytes, sleep, withCpus } from './proc';
import { answerFor, audioPort, callerOffer, CALLEE_CODECS } from './sdp';
import { ROOT } from './tools';

export type TargetName = 'package' | 'rtpengine' | 'plain' | 'forward';

export interface Leg {
  /** Server port of the PCMU leg and of the leg in the codec under test. */
  a: number;
  b: number;
  ptB: number;
  /** The callee's codec of this call, when the calls mix codecs. */
  codec?: string;
}

export interface TickerFigures {
  /** ms2 average load, percent of the tick interval. */
  load: number;
  /** Ticks that started an interval or more late, during the window (package only). */
  lateTicks?: number;
  maxLateMs?: number;
}

export interface Running {
  pid: number;
  legs: Leg[];
  /** RSS before the calls were set up. */
  rssBefore: number;
  /** Start of the measurement window. */
  windowStart(): Promise<void>;
  tickers(): Promise<TickerFigures[] | undefined>;
  extra?(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface StartOptions {
  codec: string;
  calls: number;
  genPort: number;
  /** taskset CPU list (e.g. "0"); undefined: all. */
  cpus?: string;
  opusComplexity: number;
  /** MediaServerOptions overrides (package only), for variants. */
  server?: Record<string, unknown>;
}

export interface Target {
  name: TargetName;
  supports(codec: string): boolean;
  start(o: StartOptions): Promise<Running>;
}

const PORT_MIN = 20000;
const PORT_MAX = 32767;

/** The package; `dist` is the compiled tree to run (default this checkout's dist/), for before/after comparisons. */
export function packageTarget(dist = path.join(ROOT, 'dist')): Target {
  return {
    name: 'package',
    supports: () => true,
    async start(o) {
      const script = path.join(dist, 'bench', 'targets', 'package-server.js');
      const cfg = {
        calls: o.calls,
        codec: o.codec,
        genPort: o.genPort,
        portMin: PORT_MIN,
        portMax: PORT_MAX,
        opusComplexity: o.opusComplexity,
        server: o.server,
      };
      const [cmd, args] = withCpus(process.execPath, [script, JSON.stringify(cfg)], o.cpus);
      const p = new JsonProc(cmd, args, { env: TICKER_ENV });
      const ready = await p.next<{ pid: number; rssBefore: number; calls: Leg[] }>(120_000);
      return {
        pid: ready.pid,
        legs: ready.calls,
        rssBefore: ready.rssBefore,
        async windowStart() {
          await p.request('{"cmd":"reset"}');
        },
        async tickers() {
          const s = await p.request<{ tickers: { load: number; lateTicks: number; maxLateMs: number }[] }>(
            '{"cmd":"stats"}',
          );
          return s.tickers.map((t) => ({ load: t.load, lateTicks: t.lateTicks, maxLateMs: t.maxLateMs }));
        },
        async extra() {
          const s = await p.request<Record<string, unknown>>('{"cmd":"stats"}');
          return { callsPerTicker: s.callsPerTicker, chains: s.chains, forks: s.forks };
        },
        stop: () => p.stop('{"cmd":"quit"}'),
      };
    },
  };
}

/**
 * The forwarding plane (lib/forward): relayed PCMU calls only, each two
 * RtpEndpoints joined by a ForwardPlane relay (bench/targets/forward-server.ts).
 */
export function forwardTarget(threads?: number, dist = path.join(ROOT, 'dist')): Target {
  return {
    name: 'forward',
    supports: (codec) => codec === 'PCMU',
    async start(o) {
      const script = path.join(dist, 'bench', 'targets', 'forward-server.js');
      const cfg = { calls: o.calls, genPort: o.genPort, portMin: PORT_MIN, threads };
      const [cmd, args] = withCpus(process.execPath, [script, JSON.stringify(cfg)], o.cpus);
      const p = new JsonProc(cmd, args);
      const ready = await p.next<{ pid: number; rssBefore: number; calls: Leg[] }>(120_000);
      return {
        pid: ready.pid,
        legs: ready.calls,
        rssBefore: ready.rssBefore,
        async windowStart() {},
        async tickers() {
          return undefined;
        },
        async extra() {
          return p.request<Record<string, unknown>>('{"cmd":"stats"}');
        },
        stop: () => p.stop('{"cmd":"quit"}'),
      };
    },
  };
}

/** Real-time priority of ms2 tickers that ask for it, below the load generator's (bench/lib/capacity.ts). */
const TICKER_ENV = { ...process.env, MS_TICKER_SCHEDPRIO: '50' };

export function plainTarget(program: string, prio: 'normal' | 'high' = 'high'): Target {
  return {
    name: 'plain',
    supports: () => true,
    async start(o) {
      const pt = CALLEE_CODECS[o.codec].pt;
      const [cmd, args] = withCpus(
        program,
        [
          '--calls',
          String(o.calls),
          '--codec',
          o.codec,
          '--pt',
          String(pt),
          '--gen-port',
          String(o.genPort),
          '--port-base',
          String(PORT_MIN),
          '--complexity',
          String(o.opusComplexity),
          '--prio',
          String(o.server?.tickerPriority ?? prio),
          // the package's graphs conceal loss unless told not to (variant no-plc)
          '--plc',
          o.server?.plc === false ? '0' : '1',
        ],
        o.cpus,
      );
      const p = new JsonProc(cmd, args, { env: TICKER_ENV });
      const ready = await p.next<{ pid: number; rssBefore: number }>(120_000);
      const legs = Array.from({ length: o.calls }, (_, i) => ({
        a: PORT_MIN + 4 * i,
        b: PORT_MIN + 4 * i + 2,
        ptB: pt,
      }));
      return {
        pid: ready.pid,
        legs,
        rssBefore: ready.rssBefore,
        async windowStart() {},
        async tickers() {
          const s = await p.request<{ tickers: { load: number }[] }>('stats');
          return s.tickers.map((t) => ({ load: t.load }));
        },
        stop: () => p.stop('quit'),
      };
    },
  };
}

/** rtpengine's ng protocol over UDP, with our bencode codec. */
class NgClient {
  readonly #sock = dgram.createSocket('udp4');
  readonly #pending = new Map<string, (v: bencode.BDict) => void>();
  #n = 0;
  constructor(readonly port: number) {
    this.#sock.on('message', (m) => {
      const sp = m.indexOf(0x20);
      const cookie = m.subarray(0, sp).toString();
      const done = this.#pending.get(cookie);
      if (!done) return;
      this.#pending.delete(cookie);
      done(bencode.decode(m.subarray(sp + 1)) as bencode.BDict);
    });
    this.#sock.unref();
  }

  request(d: Record<string, unknown>, timeoutMs = 5000): Promise<bencode.BDict> {
    const cookie = `b${++this.#n}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending.delete(cookie);
        reject(new Error(`rtpengine: no reply to ${String(d.command)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(cookie, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      this.#sock.send(Buffer.concat([Buffer.from(cookie + ' '), bencode.encode(d)]), this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.#sock.close();
  }
}

const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString() : String(v));

/**
 * cliPort: rtpengine's CLI port, its HTTP port the next one (Debian's
 * /etc/rtpengine/rtpengine.conf sets 2224 and 2225; another rtpengine on the
 * machine may hold them).
 */
export function rtpengineTarget(ngPort = 22222, cliPort = 2224): Target {
  return {
    name: 'rtpengine',
    // rtpengine 10.5 has no Codec2
    supports: (codec) => codec !== 'CODEC2',
    async start(o) {
      const [cmd, args] = withCpus(
        '/usr/bin/rtpengine',
        [
          '--table=-1',
          '--interface=127.0.0.1',
          `--listen-ng=127.0.0.1:${ngPort}`,
          `--listen-cli=127.0.0.1:${cliPort}`,
          `--listen-http=127.0.0.1:${cliPort + 1}`,
          '--foreground',
          '--log-stderr',
          '--log-level=3',
          `--port-min=${PORT_MIN}`,
          `--port-max=${PORT_MAX}`,
          '--timeout=600',
          '--delete-delay=0',
          // variant rt-tickers: its threads real-time like our tickers
          ...(o.server?.tickerPriority === 'high' ? ['--scheduling=rr', '--priority=50'] : []),
        ],
        o.cpus,
      );
      const p = new JsonProc(cmd, args);
      const ng = new NgClient(ngPort);
      const stop = async () => {
        ng.close();
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.kill(), 5000);
        await p.exited;
        clearTimeout(t);
      };
      try {
        for (let i = 0; ; i++) {
          try {
            const r = await ng.request({ command: 'ping' }, 300);
            if (text(r.result) === 'pong') break;
          } catch {
            if (i > 50) throw new Error(`rtpengine did not start: ${p.stderr.slice(-5).join('\n')}`);
          }
          await sleep(100);
        }
        const rssBefore = rssBytes(p.pid);
        const transcode = o.codec === 'PCMU' ? undefined : { transcode: [o.codec] };
        const legs: Leg[] = new Array(o.calls);
        const setup = async (i: number) => {
          const callId = `bench-${i}`;
          const offer = await ng.request({
            command: 'offer',
            'call-id': callId,
            'from-tag': `a${i}`,
            sdp: callerOffer(o.genPort),
            ...(transcode ? { codec: transcode } : {}),
          });
          if (text(offer.result) !== 'ok') throw new Error(`rtpengine offer: ${text(offer['error-reason'])}`);
          const offerSdp = text(offer.sdp);
          const { sdp, pt } = answerFor(offerSdp, o.codec, o.genPort);
          const answer = await ng.request({
            command: 'answer',
            'call-id': callId,
            'from-tag': `a${i}`,
            'to-tag': `b${i}`,
            sdp,
          });
          if (text(answer.result) !== 'ok') throw new Error(`rtpengine answer: ${text(answer['error-reason'])}`);
          legs[i] = { a: audioPort(text(answer.sdp)), b: audioPort(offerSdp), ptB: pt };
        };
        for (let i = 0; i < o.calls; i += 32)
          await Promise.all(Array.from({ length: Math.min(32, o.calls - i) }, (_, k) => setup(i + k)));
        return {
          pid: p.pid,
          legs,
          rssBefore,
          async windowStart() {},
          async tickers() {
            return undefined;
          },
          stop,
        };
      } catch (e) {
        await stop();
        throw e;
      }
    },
  };
}

export { CALLEE_CODECS };
