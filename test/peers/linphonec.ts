/**
 * linphonec (Debian `linphone-cli`, liblinphone 5.1) as a SIP peer, headless:
 * it wants a terminal, so it runs under `script -qfec` (a pseudo-tty) and
 * reads its commands ("call <uri>", "terminate", "quit") from our stdin.
 * Its own config file (an lpconfig INI) per instance, HOME in a temp dir with
 * the database directory made (without it liblinphone never opens its SIP
 * socket), IPv4 loopback only, no sound card (it uses none and says so).
 *
 * What it prints that tests use: "Call N is fully encrypted and auth token
 * is XXXX." once ZRTP has agreed (XXXX is the SAS).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasBinary, spawnBounded, waitUntil, type BoundedProcess } from './proc';

export const haveLinphonec = hasBinary('linphonec') && hasBinary('script');

export interface LinphonecOptions {
  sipPort: number;
  rtpPort: number;
  /** none, srtp, zrtp, dtls */
  mediaEncryption?: string;
  mandatory?: boolean;
  maxMs?: number;
}

export class Linphonec {
  private constructor(
    readonly proc: BoundedProcess,
    readonly dir: string,
  ) {}

  static async start(o: LinphonecOptions): Promise<Linphonec> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-linphonec-'));
    // without its database directory liblinphone never starts its core (no SIP socket)
    fs.mkdirSync(path.join(dir, '.local', 'share', 'linphone'), { recursive: true });
    const rc = path.join(dir, 'linphonerc');
    fs.writeFileSync(
      rc,
      [
        '[sip]',
        `sip_port=${o.sipPort}`,
        'sip_tcp_port=-1',
        'sip_tls_port=-1',
        'default_proxy=-1',
        'guess_hostname=0',
        `contact=<sip:linphonec@127.0.0.1:${o.sipPort}>`,
        'use_ipv6=0',
        'ipv6_migration_done=1',
        'bind_address=127.0.0.1',
        `media_encryption=${o.mediaEncryption ?? 'none'}`,
        `media_encryption_mandatory=${o.mandatory ? 1 : 0}`,
        '[rtp]',
        `audio_rtp_port=${o.rtpPort}`,
        'bind_address=127.0.0.1',
        '[sound]',
        'echocancellation=0',
        '',
      ].join('\n'),
    );
    const proc = spawnBounded('linphonec', 'script', ['-qfec', `linphonec -c ${rc}`, '/dev/null'], {
      cwd: dir,
      maxMs: o.maxMs ?? 40000,
      env: { ...process.env, HOME: dir, TERM: 'dumb' },
      stdin: true,
    });
    const l = new Linphonec(proc, dir);
    await waitUntil(() => l.output().includes('linphonec>'), 10000, 'the linphonec prompt', proc);
    return l;
  }

  output(): string {
    return this.proc.stdout() + this.proc.stderr();
  }

  command(line: string): void {
    this.proc.child.stdin?.write(line + '\n');
  }

  /** The SAS linphonec printed for a ZRTP call, once it did. */
  sas(): string | undefined {
    return /auth token is (\S+?)\.?\s*$/m.exec(this.output())?.[1];
  }

  async close(): Promise<void> {
    this.command('terminate');
    this.command('quit');
    await Promise.race([this.proc.exited, new Promise((r) => setTimeout(r, 3000))]);
    await this.proc.stop(1000);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
