/**
 * The ng control protocol's transports: a UDP socket (one message per
 * datagram, what Kamailio uses) and optionally a TCP listener (messages back
 * to back, split by NgStreamDecoder). Every message goes through
 * parseRequest -> handler -> formatReply, and through an NgReplyCache keyed
 * by peer address and cookie, so a retransmission (Kamailio resends the same
 * bytes with the same cookie after rtpengine_tout_ms) gets the first reply
 * again without running the command twice, also while the first is still
 * running. The cache is bounded in entries and bytes and swept on a timer.
 * TCP connections are bounded in number, per source address and in idle
 * time, and the stream decoder is linear in the bytes received, so idle or
 * slow connections can neither lock other clients out nor keep a core busy.
 * Nothing a peer sends can make this throw: a message without a
 * cookie is dropped (as rtpengine does), anything else gets a reply, failures
 * included; peers outside the allow-list are dropped without a reply.
 */
import * as dgram from 'node:dgram';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import * as net from 'node:net';
import { RmsError } from '../errors';
import type { BDict } from '../control/bencode';
import { errorReplyFor, formatReply, parseRequest, splitMessage, type NgRequest } from '../control/ng';
import { NgReplyCache } from '../control/ngReplyCache';
import { NgStreamDecoder } from '../control/ngStream';
import type { HostPort } from './config';
import { ControlStats } from './controlStats';
import { silentLogger, type Logger } from './log';

/** Carries out one parsed request and returns its reply dictionary. */
export type NgHandler = (req: NgRequest, peer: { address: string; port: number }) => BDict | Promise<BDict>;

/** Where the ng server listens, whom it serves, and what runs the requests. */
export interface NgServerOptions {
  /** ng over UDP (what Kamailio speaks); null: off. */
  udp?: HostPort | null;
  /** ng over TCP; null: off. */
  tcp?: HostPort | null;
  /** Peer addresses or CIDR blocks allowed; empty: everyone. */
  allow?: string[];
  /** Runs each request. */
  handler: NgHandler;
  /** Where refusals and failures are logged. */
  log?: Logger;
  /** How long replies are kept for retransmissions, ms. Default 60000. */
  replyTtlMs?: number;
  /** Most reply bytes kept for retransmissions. Default 16 MiB. */
  replyCacheBytes?: number;
  /** Most TCP connections at once. Default 64. */
  maxConnections?: number;
  /** Most TCP connections at once from one address. Default 8. */
  maxConnectionsPerSource?: number;
  /** A TCP connection that sends nothing for this long is closed, ms. Default 30000. */
  tcpIdleMs?: number;
}

/** Counters of the control plane. */
export interface NgServerStats {
  /** Messages read (after the allow-list). */
  received: number;
  /** Replies sent, retransmissions included. */
  replies: number;
  /** Requests answered from the cache (retransmissions). */
  retransmissions: number;
  /** Requests whose reply was `error`. */
  errors: number;
  /** Messages dropped: no cookie, or from a peer not allowed. */
  dropped: number;
  /** Requests carried out, by command. */
  commands: Record<string, number>;
  /** TCP connections refused: over the per-source limit. */
  tcpRefused: number;
  /** TCP connections closed for being idle. */
  tcpIdleClosed: number;
}

function blockListOf(allow: string[]): BlockList | undefined {
  if (!allow.length) return undefined;
  const bl = new BlockList();
  for (const a of allow) {
    const [addr, bits] = a.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) bl.addAddress(addr, type);
    else bl.addSubnet(addr, Number(bits), type);
  }
  return bl;
}

/** The ng control protocol over UDP and TCP: cookies, the reply cache for retransmissions, the allow-list. */
export class NgServer {
  readonly #opts: NgServerOptions;
  readonly #log: Logger;
  readonly #cache: NgReplyCache;
  readonly #allow?: BlockList;
  #udp?: dgram.Socket;
  #tcp?: net.Server;
  readonly #conns = new Set<net.Socket>();
  readonly #perSource = new Map<string, number>();
  #sweeper?: NodeJS.Timeout;
  #closed = false;
  /** Per proxy and command, for the statistics command's controlstatistics. */
  readonly control = new ControlStats();
  /** Counters for /metrics and the statistics command. */
  readonly stats: NgServerStats = {
    received: 0,
    replies: 0,
    retransmissions: 0,
    errors: 0,
    dropped: 0,
    commands: {},
    tcpRefused: 0,
    tcpIdleClosed: 0,
  };

  constructor(opts: NgServerOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? silentLogger;
    const ttlMs = opts.replyTtlMs ?? 60_000;
    this.#cache = new NgReplyCache({ ttlMs, maxBytes: opts.replyCacheBytes });
    this.#allow = blockListOf(opts.allow ?? []);
    // expired replies go even when no request comes to sweep them
    this.#sweeper = setInterval(() => this.#cache.sweep(), Math.max(100, Math.min(ttlMs, 5000)));
    this.#sweeper.unref();
  }

  /** The retransmission cache: replies kept, their bytes, and replies pushed out early. */
  get cache(): { entries: number; bytes: number; evicted: number } {
    return { entries: this.#cache.size, bytes: this.#cache.bytes, evicted: this.#cache.evicted };
  }

  /** Binds the configured sockets; rejects (and closes what was bound) when one cannot be bound. */
  async listen(): Promise<void> {
    try {
      if (this.#opts.udp) await this.#listenUdp(this.#opts.udp);
      if (this.#opts.tcp) await this.#listenTcp(this.#opts.tcp);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The bound addresses (with the real ports when 0 was asked for). */
  /** The bound sockets' addresses. */
  addresses(): { udp?: AddressInfo; tcp?: AddressInfo } {
    return {
      udp: this.#udp ? (this.#udp.address() as AddressInfo) : undefined,
      tcp: this.#tcp ? (this.#tcp.address() as AddressInfo) : undefined,
    };
  }

  /** Closes both sockets and every TCP connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#udp?.close();
    } catch {
      /* not bound */
    }
    this.#tcp?.close();
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    this.#perSource.clear();
    clearInterval(this.#sweeper);
    this.#cache.clear();
  }

  #allowed(address: string): boolean {
    if (!this.#allow) return true;
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    return this.#allow.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  #listenUdp(hp: HostPort): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: isIP(hp.host) === 6 ? 'udp6' : 'udp4' });
      s.once('error', reject);
      s.bind(hp.port, hp.host, () => {
        s.off('error', reject);
        // a send or receive error must not end the daemon; log it
        s.on('error', (err) => this.#log.error(`ng udp: ${err.message}`));
        s.on('message', (msg, rinfo) => {
          this.#onMessage(msg, rinfo, (reply) =>
            s.send(reply, rinfo.port, rinfo.address, (err) => {
              if (err) this.#log.warn(`ng udp: reply to ${rinfo.address}:${rinfo.port} failed: ${err.message}`);
            }),
          );
        });
        this.#udp = s;
        resolve();
      });
    });
  }

  #listenTcp(hp: HostPort): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer((sock) => this.#onConnection(sock));
      srv.maxConnections = this.#opts.maxConnections ?? 64;
      srv.once('error', reject);
      srv.listen({ port: hp.port, host: hp.host }, () => {
        srv.off('error', reject);
        srv.on('error', (err) => this.#log.error(`ng tcp: ${err.message}`));
        this.#tcp = srv;
        resolve();
      });
    });
  }

  #onConnection(sock: net.Socket): void {
    const peer = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    if (!this.#allowed(peer.address)) {
      this.stats.dropped++;
      this.#log.warn(`ng tcp: connection from ${peer.address} refused (not in control.allow)`);
      sock.destroy();
      return;
    }
    // one address cannot take every connection (64 idle ones locked out
    // every other TCP client)
    const n = this.#perSource.get(peer.address) ?? 0;
    if (n >= (this.#opts.maxConnectionsPerSource ?? 8)) {
      this.stats.tcpRefused++;
      this.#log.warn(`ng tcp: connection from ${peer.address} refused (${n} open from there already)`);
      sock.destroy();
      return;
    }
    this.#perSource.set(peer.address, n + 1);
    this.#conns.add(sock);
    const decoder = new NgStreamDecoder();
    sock.setTimeout(this.#opts.tcpIdleMs ?? 30_000, () => {
      this.stats.tcpIdleClosed++;
      this.#log.info(`ng tcp ${peer.address}:${peer.port}: idle, closing`);
      sock.destroy();
    });
    sock.on('close', () => {
      this.#conns.delete(sock);
      const left = (this.#perSource.get(peer.address) ?? 1) - 1;
      if (left > 0) this.#perSource.set(peer.address, left);
      else this.#perSource.delete(peer.address);
    });
    sock.on('error', (err) => this.#log.debug(`ng tcp ${peer.address}:${peer.port}: ${err.message}`));
    sock.on('data', (chunk) => {
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        // the stream cannot be followed any more (rtpengine closes it too)
        this.#log.warn(`ng tcp ${peer.address}:${peer.port}: ${(err as Error).message}; closing`);
        sock.destroy();
        return;
      }
      for (const m of messages)
        this.#onMessage(m, peer, (reply) => {
          if (!sock.destroyed) sock.write(reply);
        });
    });
  }

  /** One message from an allowed or not allowed peer; never throws, never rejects. */
  #onMessage(msg: Buffer, peer: { address: string; port: number }, send: (reply: Buffer) => void): void {
    if (this.#closed) return;
    if (!this.#allowed(peer.address)) {
      this.stats.dropped++;
      this.#log.debug(`ng: dropped ${msg.length} bytes from ${peer.address} (not in control.allow)`);
      return;
    }
    this.stats.received++;
    let cookie: string;
    try {
      cookie = splitMessage(msg).cookie;
    } catch (err) {
      this.stats.dropped++;
      this.#log.warn(`ng: ${(err as Error).message} from ${peer.address}:${peer.port}; no reply`);
      return;
    }
    this.#cache
      .reply(`${peer.address} ${cookie}`, () => this.#produce(msg, cookie, peer))
      .then(({ reply, cached }) => {
        if (cached) {
          this.stats.retransmissions++;
          this.#log.debug(`ng: retransmission of ${cookie} from ${peer.address}:${peer.port}, answered from the cache`);
        }
        this.stats.replies++;
        send(reply);
      })
      .catch((err) => this.#log.error(`ng: no reply for ${cookie}: ${String((err as Error)?.stack ?? err)}`));
  }

  /** The reply bytes for one message: every failure becomes an error reply. */
  async #produce(msg: Buffer, cookie: string, peer: { address: string; port: number }): Promise<Buffer> {
    let reply: BDict;
    let command = '?';
    const t0 = process.hrtime.bigint();
    try {
      const req = parseRequest(msg);
      command = req.command;
      this.stats.commands[command] = (this.stats.commands[command] ?? 0) + 1;
      if (req.warnings.length) this.#log.debug(`ng ${cookie} ${command}: ${req.warnings.join('; ')}`);
      reply = await this.#opts.handler(req, peer);
    } catch (err) {
      reply = errorReplyFor(err);
      // typed errors are refusals a proxy or operator should see (warn); anything else is our bug (error, with the stack)
      const typed = err instanceof RmsError;
      const fields = { cookie, command, peer: `${peer.address}:${peer.port}`, code: (err as RmsError)?.code };
      const what = `ng ${cookie} ${command} from ${peer.address}:${peer.port}: ${String((err as Error)?.message ?? err)}`;
      if (typed) this.#log.warn(fields, what);
      else this.#log.error({ ...fields, err }, `${what} (internal)`);
    }
    if (reply.result === 'error') this.stats.errors++;
    this.control.record(peer.address, command, process.hrtime.bigint() - t0, reply.result === 'error');
    return formatReply(cookie, reply);
  }
}
