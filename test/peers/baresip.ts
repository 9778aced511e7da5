/**
 * A headless baresip (Debian package `baresip-core`, baresip v1.0.0 on Debian
 * 12) as a SIP peer on loopback, driven over its ctrl_tcp socket.
 *
 * What this version needs and does (verified on 1.0.0):
 *
 *  - `baresip -f DIR -t SECONDS`: DIR holds `config` and `accounts` (we write
 *    both into a temp dir); -t makes baresip quit by itself after SECONDS, and
 *    Node kills it too a few seconds later (proc.ts).
 *  - `net_interface 127.0.0.1`: an IP address works ("Binding to interface or
 *    IP address"); the interface name `lo` does NOT ("could not get IPv4
 *    address"). `sip_listen 127.0.0.1:PORT` binds UDP and TCP on PORT and a
 *    TCP listener on PORT+1 as well, so keep PORT+1 free too.
 *  - `dns_server 127.0.0.1:53`: keeps the resolver on loopback (it opens its
 *    sockets anyway; nothing is resolved for IP-literal URIs).
 *  - no `stdio.so` (needs a tty) and no `alsa`: `audio_player aubridge,nil`
 *    (a silent in-process sink) and `audio_alert aubridge,nil`.
 *  - `module_app menu.so` is REQUIRED: it provides the commands (dial, hangup,
 *    accept, quit, ausrc, ...) that ctrl_tcp forwards; `statmode_default off`
 *    stops its status line spam; `ringback_disabled yes`.
 *  - `module_app ctrl_tcp.so` + `ctrl_tcp_listen 127.0.0.1:PORT`: netstring
 *    framed JSON. Command: {"command":"dial","params":"sip:..","token":"t1"};
 *    response: {"response":true,"ok":true,"data":"","token":"t1"}; events:
 *    {"event":true,"type":"CALL_ESTABLISHED","class":"call","accountaor":..,
 *    "direction":"outgoing","peeruri":..,"id":..,"param":..}. Types seen:
 *    CALL_LOCAL_SDP, CALL_REMOTE_SDP (param offer/answer), CALL_RINGING,
 *    CALL_ESTABLISHED, CALL_RTPESTAB, CALL_RTCP, CALL_CLOSED (param = reason),
 *    AUDIO_ERROR, SHUTDOWN, EXIT (CALL_INCOMING with answermode=manual).
 *  - `audio_source aufile,FILE.wav`: 16-bit WAV loaded whole into memory. By
 *    default its rate/channels must equal the codec's ("must have sample-rate
 *    48000 Hz" for opus) — we set `ausrc_srate`/`ausrc_channels` to the WAV's
 *    values, which makes baresip resample ("enable ausrc resampler"), so one
 *    8 kHz mono WAV works for PCMU, G722, opus/48000/2 and CODEC2.
 *    PITFALL: at the end of the file aufile reports "end of file", menu gets
 *    AUDIO_ERROR and HANGS UP the call. We therefore copy the WAV padded
 *    (looped by default) to at least `sendMinSeconds`.
 *  - `module sndfile.so` + `snd_path DIR`: an audio filter that writes, per
 *    call, DIR/dump-YYYY-MM-DD-hh-mm-ss-enc.wav (what we encode and send) and
 *    DIR/dump-...-dec.wav (what we received and decoded), at the codec's rate
 *    and channels (8000/1 for PCMU/PCMA/CODEC2, 16000/1 for G722, 48000/2 for
 *    opus). The name has 1 s resolution: two calls of one instance in the same
 *    second share a name. The WAV header is completed when the call ends; a
 *    file of a killed process has a 0 data size (lib/util/wav's readWav copes).
 *  - account line without registrar:
 *    `<sip:user@127.0.0.1:PORT>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1`
 *    (codec names as baresip lists them: PCMU/8000/1, PCMA/8000/1,
 *    G722/16000/1, opus/48000/2, CODEC2/8000/1, L16/...).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWav, writeWav } from '../../lib/util/wav';
import {
  requireBinary,
  spawnBounded,
  tailOf,
  tcpConnectable,
  udpBound,
  waitUntil,
  type BoundedProcess,
  type ExitInfo,
} from './proc';

export interface BaresipOptions {
  /** SIP UDP/TCP port (PORT+1 is taken by a TCP listener too). */
  sipPort: number;
  /** ctrl_tcp port. */
  ctrlPort: number;
  /** RTP/RTCP port range (default sipPort+10 .. sipPort+29). */
  rtpPorts?: [number, number];
  /** audio_codecs of the account, e.g. ['PCMU/8000/1']. Default: all loaded codecs. */
  codecs?: string[];
  /** WAV (16-bit) to send in every call. Default: silence, 8 kHz mono. */
  sendWav?: string;
  /** How the WAV is extended to sendMinSeconds: 'loop' (default), 'silence' or 'none'. */
  sendPad?: 'loop' | 'silence' | 'none';
  /** Default: timeoutSec. */
  sendMinSeconds?: number;
  /** Directory for the sndfile recordings (module loaded only when given). */
  recordDir?: string;
  /** SIP user of the account (default 'user'). */
  user?: string;
  answerMode?: 'auto' | 'manual' | 'early';
  ptime?: number;
  /** Local address (default 127.0.0.1). */
  ip?: string;
  /** Extra account parameters, e.g. ';mediaenc=srtp'. */
  extraAccountParams?: string;
  /** Extra config lines (appended; later lines win in baresip). */
  extraConfig?: string[];
  /** Process lifetime bound: baresip -t, and a kill from Node 5 s later. Default 60. */
  timeoutSec?: number;
  /** -s: SIP trace on stdout. */
  sipTrace?: boolean;
  /** -v: verbose debug. */
  verbose?: boolean;
  /** Config dir. Default: a new temp dir, removed by close(). */
  configDir?: string;
  name?: string;
}

export interface BaresipEvent {
  type: string;
  class?: string;
  accountaor?: string;
  direction?: string;
  peeruri?: string;
  id?: string;
  param?: string;
  [k: string]: unknown;
}

export interface CtrlResponse {
  ok: boolean;
  data: string;
  token?: string;
}

export interface RecordedFiles {
  /** What this instance received and decoded (dump-*-dec.wav), oldest first. */
  decoded: string[];
  /** What this instance encoded and sent (dump-*-enc.wav). */
  encoded: string[];
}

const CODEC_MODULES = ['g711.so', 'g722.so', 'opus.so', 'codec2.so', 'l16.so'];

/** The config file text (exported for inspection). */
export function baresipConfig(o: BaresipOptions, sendFile: string, srate: number, channels: number): string {
  const ip = o.ip ?? '127.0.0.1';
  const rtp = o.rtpPorts ?? [o.sipPort + 10, o.sipPort + 29];
  const lines = [
    'poll_method epoll',
    `sip_listen ${ip}:${o.sipPort}`,
    `net_interface ${ip}`,
    'dns_server 127.0.0.1:53',
    'call_local_timeout 120',
    'call_max_calls 4',
    'audio_player aubridge,nil',
    'audio_alert aubridge,nil',
    `audio_source aufile,${sendFile}`,
    `ausrc_srate ${srate}`,
    `ausrc_channels ${channels}`,
    `rtp_ports ${rtp[0]}-${rtp[1]}`,
    'rtcp_mux no',
    'jitter_buffer_delay 5-10',
    'rtp_stats no',
    'module_path /usr/lib/baresip/modules',
    ...CODEC_MODULES.map((m) => `module ${m}`),
    'module aufile.so',
    'module aubridge.so',
    ...(o.recordDir ? ['module sndfile.so', `snd_path ${o.recordDir}`] : []),
    'module_tmp account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen ${ip}:${o.ctrlPort}`,
    'statmode_default off',
    'ringback_disabled yes',
    ...(o.extraConfig ?? []),
  ];
  return lines.join('\n') + '\n';
}

/** The accounts file line (exported for inspection). */
export function baresipAccount(o: BaresipOptions): string {
  const ip = o.ip ?? '127.0.0.1';
  let a = `<sip:${o.user ?? 'user'}@${ip}:${o.sipPort}>;regint=0;answermode=${o.answerMode ?? 'auto'}`;
  if (o.codecs?.length) a += `;audio_codecs=${o.codecs.join(',')}`;
  if (o.ptime) a += `;ptime=${o.ptime}`;
  if (o.extraAccountParams) a += o.extraAccountParams;
  return a + '\n';
}

/** Writes the WAV to send, extended to `minSeconds`; returns its path, rate and channels. */
function prepareSendWav(
  o: BaresipOptions,
  dir: string,
  minSeconds: number,
): { file: string; rate: number; channels: number } {
  const out = path.join(dir, 'send.wav');
  if (!o.sendWav) {
    const rate = 8000;
    writeWav(out, { rate, channels: 1, samples: new Int16Array(Math.ceil(rate * minSeconds)) });
    return { file: out, rate, channels: 1 };
  }
  const pcm = readWav(o.sendWav);
  const pad = o.sendPad ?? 'loop';
  const need = Math.ceil(pcm.rate * minSeconds) * pcm.channels;
  if (pad === 'none' || pcm.samples.length >= need || pcm.samples.length === 0) {
    fs.copyFileSync(o.sendWav, out);
  } else {
    const samples = new Int16Array(need);
    if (pad === 'loop') for (let i = 0; i < need; i++) samples[i] = pcm.samples[i % pcm.samples.length];
    else samples.set(pcm.samples);
    writeWav(out, { rate: pcm.rate, channels: pcm.channels, samples });
  }
  return { file: out, rate: pcm.rate, channels: pcm.channels };
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  private readonly consumed = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly pending = new Map<string, (r: CtrlResponse) => void>();
  private tokenSeq = 0;
  private buf = Buffer.alloc(0);
  private closed = false;

  private constructor(
    readonly opts: BaresipOptions,
    readonly configDir: string,
    readonly proc: BoundedProcess,
    private readonly sock: net.Socket,
  ) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', () => {
      /* process ended */
    });
    sock.on('close', () => {
      for (const [, r] of this.pending) r({ ok: false, data: 'ctrl_tcp connection closed' });
      this.pending.clear();
      this.wake();
    });
  }

  /** Starts baresip and resolves once its ctrl_tcp socket is connected. */
  static async start(o: BaresipOptions): Promise<Baresip> {
    requireBinary('baresip', 'baresip-core');
    const dir = o.configDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'baresip-'));
    fs.mkdirSync(dir, { recursive: true });
    if (o.recordDir) fs.mkdirSync(o.recordDir, { recursive: true });
    const timeoutSec = o.timeoutSec ?? 60;
    const send = prepareSendWav(o, dir, o.sendMinSeconds ?? timeoutSec);
    fs.writeFileSync(path.join(dir, 'config'), baresipConfig(o, send.file, send.rate, send.channels));
    fs.writeFileSync(path.join(dir, 'accounts'), baresipAccount(o));
    const args = ['-f', dir, '-t', String(timeoutSec)];
    if (o.sipTrace) args.push('-s');
    if (o.verbose) args.push('-v');
    const proc = spawnBounded(o.name ?? `baresip:${o.sipPort}`, 'baresip', args, {
      cwd: dir,
      maxMs: (timeoutSec + 5) * 1000,
    });
    const ip = o.ip ?? '127.0.0.1';
    try {
      await waitUntil(() => tcpConnectable(o.ctrlPort, ip), 8000, `baresip ctrl_tcp on ${o.ctrlPort}`, proc);
      await waitUntil(() => udpBound(o.sipPort, ip), 3000, `baresip SIP on udp ${o.sipPort}`, proc);
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ port: o.ctrlPort, host: ip });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      return new Baresip(o, dir, proc, sock);
    } catch (e) {
      await proc.stop(500);
      throw e;
    }
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(this.buf.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(len)) {
        this.buf = Buffer.alloc(0); // desynchronised: drop
        break;
      }
      if (this.buf.length < colon + 1 + len + 1) break;
      const body = this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
      this.buf = this.buf.subarray(colon + 1 + len + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(body) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg.event) {
        this.events.push(msg as BaresipEvent);
        this.wake();
      } else if (msg.response) {
        const token = typeof msg.token === 'string' ? msg.token : undefined;
        const r: CtrlResponse = { ok: msg.ok === true, data: String(msg.data ?? ''), token };
        const key = token ?? '';
        const cb = this.pending.get(key);
        if (cb) {
          this.pending.delete(key);
          cb(r);
        }
      }
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Sends a menu command ('dial', 'hangup', 'accept', 'ausrc', 'quit', 'listcalls', ...). */
  command(command: string, params?: string, timeoutMs = 5000): Promise<CtrlResponse> {
    if (this.closed || this.sock.destroyed) return Promise.resolve({ ok: false, data: 'closed' });
    const token = `t${++this.tokenSeq}`;
    const json = Buffer.from(JSON.stringify(params === undefined ? { command, token } : { command, params, token }));
    return new Promise<CtrlResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        resolve({ ok: false, data: `no response to ${command} in ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending.set(token, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.sock.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
    });
  }

  async dial(uri: string): Promise<CtrlResponse> {
    const r = await this.command('dial', uri);
    if (!r.ok) throw new Error(`baresip dial ${uri} failed: ${r.data}`);
    return r;
  }

  /** Hangs up the current call. */
  hangup(): Promise<CtrlResponse> {
    return this.command('hangup');
  }

  /** Answers an incoming call (answerMode 'manual'). */
  accept(): Promise<CtrlResponse> {
    return this.command('accept');
  }

  /**
   * Resolves with the next not-yet-returned event of `type` (events that came
   * before the call count: nothing is missed between a command and its wait).
   * Each call consumes one event of that type. Rejects after timeoutMs, or
   * when baresip exits first.
   */
  waitFor(type: string, timeoutMs = 10000, pred?: (e: BaresipEvent) => boolean): Promise<BaresipEvent> {
    return new Promise<BaresipEvent>((resolve, reject) => {
      const check = () => {
        const from = this.consumed.get(type) ?? 0;
        for (let i = from; i < this.events.length; i++) {
          const e = this.events[i];
          if (e.type === type && (!pred || pred(e))) {
            this.consumed.set(type, i + 1);
            done();
            resolve(e);
            return true;
          }
        }
        if (!this.proc.running() || this.sock.destroyed) {
          done();
          reject(
            new Error(
              `baresip ${this.opts.sipPort} ended while waiting for ${type}; events: ${this.eventTypes()}\n${tailOf(this.log(), 3000)}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${type} on baresip ${this.opts.sipPort}; events: ${this.eventTypes()}\n${tailOf(this.log(), 3000)}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => {
        check();
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  eventTypes(): string {
    return this.events.map((e) => e.type).join(',');
  }

  /** stdout+stderr of baresip. */
  log(): string {
    return this.proc.stdout() + this.proc.stderr();
  }

  recordedFiles(): RecordedFiles {
    const dir = this.opts.recordDir;
    if (!dir || !fs.existsSync(dir)) return { decoded: [], encoded: [] };
    const files = fs.readdirSync(dir).sort();
    return {
      decoded: files.filter((f) => /^dump-.*-dec\.wav$/.test(f)).map((f) => path.join(dir, f)),
      encoded: files.filter((f) => /^dump-.*-enc\.wav$/.test(f)).map((f) => path.join(dir, f)),
    };
  }

  /** Sends quit, waits up to graceMs for the exit, then kills. Safe to call twice. */
  async close(graceMs = 3000): Promise<ExitInfo> {
    const r = await this.shutdown(graceMs);
    if (!this.opts.configDir) fs.rmSync(this.configDir, { recursive: true, force: true });
    return r;
  }

  private async shutdown(graceMs: number): Promise<ExitInfo> {
    if (!this.closed && this.proc.running()) {
      this.closed = true;
      // 'quit' answers only after the shutdown started; don't wait for it.
      const token = `t${++this.tokenSeq}`;
      const json = Buffer.from(JSON.stringify({ command: 'quit', token }));
      try {
        this.sock.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
      } catch {
        /* socket gone */
      }
      const t = setTimeout(() => void this.proc.stop(1000), graceMs);
      const r = await this.proc.exited;
      clearTimeout(t);
      this.sock.destroy();
      return r;
    }
    this.closed = true;
    this.sock.destroy();
    return this.proc.stop(1000);
  }
}

/** Starts a baresip instance (see Baresip.start). */
export function startBaresip(o: BaresipOptions): Promise<Baresip> {
  return Baresip.start(o);
}
