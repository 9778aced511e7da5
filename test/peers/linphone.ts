/**
 * linphonec (Debian linphone-cli, liblinphone 5.1) as a SIP peer for tests:
 * one instance per phone, each with its own config directory, SIP port and
 * RTP port, driven through its command line in a pseudo-terminal (`script`:
 * linphonec reads commands only from a terminal). Audio comes from a WAV
 * (`play`) and what the phone hears goes to a WAV (`record`): no sound card.
 *
 * Quality reporting is on: the phone's account sends its RFC 6035 report
 * (vq-rtcpxr) in a PUBLISH straight to the collector URI (a port in the URI
 * makes liblinphone send it there rather than through the proxy), and RTCP
 * XR (rcvr-rtt, stat-summary, voip-metrics) is enabled, so the phone sends
 * XR to a peer whose SDP has a=rtcp-xr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnBounded, sleep, tailOf, udpBound, waitUntil, type BoundedProcess } from './proc';

export interface LinphoneOptions {
  name: string;
  dir: string;
  sipPort: number;
  rtpPort: number;
  /** Where calls go (the B2BUA): the account's proxy, no REGISTER. */
  proxy: string;
  identity: string;
  collector: string;
  /** Enabled audio codecs in order, e.g. ['PCMU'] (the others are disabled). */
  codecs: string[];
  /** WAV the phone sends (8 kHz mono). */
  playFile: string;
  /** WAV of what it hears. */
  recordFile: string;
  autoAnswer?: boolean;
  /** Interval reports every this many s (0: only at the end). */
  reportIntervalSec?: number;
  maxMs?: number;
}

/** Every audio codec this liblinphone offers (mime, rate, channels): all but the chosen ones are disabled. */
const ALL_CODECS: [string, number, number][] = [
  ['opus', 48000, 2],
  ['speex', 8000, 1],
  ['speex', 16000, 1],
  ['speex', 32000, 1],
  ['PCMU', 8000, 1],
  ['PCMA', 8000, 1],
  ['GSM', 8000, 1],
  ['G722', 8000, 1],
  ['G729', 8000, 1],
  ['L16', 44100, 1],
  ...[16, 24, 32, 40].flatMap((k): [string, number, number][] => [
    [`G726-${k}`, 8000, 1],
    [`AAL2-G726-${k}`, 8000, 1],
  ]),
];

export function linphoneConfig(o: LinphoneOptions): string {
  const chosen = o.codecs.map((c) => ALL_CODECS.find(([m]) => m === c) ?? ([c, 8000, 1] as [string, number, number]));
  const codecs = [...chosen, ...ALL_CODECS.filter(([m]) => !o.codecs.includes(m))];
  const codecLines = codecs
    .map(
      ([m, rate, ch], i) =>
        `[audio_codec_${i}]\nmime=${m}\nrate=${rate}\nchannels=${ch}\nenabled=${o.codecs.includes(m) ? 1 : 0}\n`,
    )
    .join('\n');
  return `[sip]
sip_port=${o.sipPort}
sip_tcp_port=-1
sip_tls_port=-1
default_proxy=0
register_only_when_network_is_up=0
guess_hostname=0
contact="${o.name}" <sip:${o.name}@127.0.0.1:${o.sipPort}>
inc_timeout=60
use_ipv6=0
ipv6_migration_done=1
bind_address=127.0.0.1

[rtp]
audio_rtp_port=${o.rtpPort}
bind_address=127.0.0.1
audio_jitt_comp=60
rtcp_xr_enabled=1
rtcp_xr_rcvr_rtt_mode=all
rtcp_xr_rcvr_rtt_max_size=10000
rtcp_xr_stat_summary_enabled=1
rtcp_xr_voip_metrics_enabled=1

[net]
firewall_policy=0
mtu=1300

[sound]
echocancellation=0
remote_ring=
local_ring=

[video]
enabled=0
capture=0
display=0

[misc]
max_calls=1
uuid=0

[proxy_0]
reg_proxy=${o.proxy}
reg_identity=${o.identity}
reg_expires=3600
reg_sendregister=0
publish=0
dial_escape_plus=0
quality_reporting_collector=${o.collector}
quality_reporting_enabled=1
quality_reporting_interval=${o.reportIntervalSec ?? 0}

${codecLines}`;
}

function udp6Bound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  try {
    return fs.readFileSync('/proc/net/udp6', 'utf8').includes(hex);
  } catch {
    return false;
  }
}

export class Linphone {
  readonly name: string;
  readonly opts: LinphoneOptions;
  #proc: BoundedProcess;
  readonly #console: { text: string };

  private constructor(o: LinphoneOptions, proc: BoundedProcess, console: { text: string }) {
    this.name = o.name;
    this.opts = o;
    this.#proc = proc;
    this.#console = console;
  }

  static async start(o: LinphoneOptions): Promise<Linphone> {
    // without its database directory liblinphone never starts its core (no SIP socket)
    fs.mkdirSync(path.join(o.dir, '.local', 'share', 'linphone'), { recursive: true });
    const rc = path.join(o.dir, 'linphonerc');
    fs.writeFileSync(rc, linphoneConfig(o));
    const console = { text: '' };
    // linphonec only reads a terminal: script gives it one; HOME keeps its database apart
    const cmd = `linphonec -c ${rc}${o.autoAnswer ? ' -a' : ''} -d 4 -l ${path.join(o.dir, 'linphone.log')}`;
    const proc = spawnBounded(`linphonec-${o.name}`, 'script', ['-qfec', cmd, '/dev/null'], {
      maxMs: o.maxMs ?? 90_000,
      stdin: true,
      env: { ...process.env, HOME: o.dir, TERM: 'dumb' },
      onStdout: (d) => {
        console.text += d;
      },
    });
    const phone = new Linphone(o, proc, console);
    await waitUntil(
      () => udpBound(o.sipPort) || udp6Bound(o.sipPort),
      15_000,
      `${o.name} listening on ${o.sipPort}`,
      proc,
    );
    await waitUntil(() => phone.#console.text.includes('linphonec>'), 10_000, `${o.name} prompt`, proc);
    phone.command(`play ${o.playFile}`);
    phone.command(`record ${o.recordFile}`);
    return phone;
  }

  /** Everything the phone printed (its console). */
  get output(): string {
    return this.#console.text;
  }

  /** The liblinphone log (-d 4). */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.opts.dir, 'linphone.log'), 'utf8');
    } catch {
      return '';
    }
  }

  command(line: string): void {
    this.#proc.child.stdin?.write(line + '\n');
  }

  /** Waits for a console line matching `re` (after `from`, an index into output). */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    let m: RegExpExecArray | null = null;
    await waitUntil(
      () => (m = re.exec(this.#console.text.slice(from))) !== null,
      timeoutMs,
      `${this.name}: ${re}\n--- console:\n${tailOf(this.#console.text, 3000)}`,
      this.#proc,
    );
    return m![0];
  }

  call(uri: string): void {
    this.command(`call ${uri}`);
  }

  answer(): void {
    this.command('answer');
  }

  hangup(): void {
    this.command('terminate');
  }

  /** quit, then the process's own end (SIGTERM after a grace period). */
  async close(): Promise<void> {
    if (!this.#proc.running()) return;
    this.command('quit');
    await Promise.race([this.#proc.exited, sleep(4000)]);
    if (this.#proc.running()) await this.#proc.stop(2000);
  }
}
