/**
 * What an RtpEndpoint needs to be a secured leg: SRTP keys (SDES, RFC 4568),
 * a DTLS-SRTP certificate and role (RFC 5763/5764), ICE-lite credentials
 * (RFC 8445) and rtcp-mux (RFC 5761). The cryptography is native (libsrtp2,
 * bctoolbox/mbedTLS); keys come from node:crypto's CSPRNG. Key material is
 * never put into an error message or a log line.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import type { NativeRtpSession } from '../native';
import {
  secureAddon,
  type NativeDtlsCertificate,
  type NativeSecureEvent,
  type NativeSecureStats,
  type NativeSecureTransport,
} from './nativeSecure';

/** SRTP crypto suites, by their SDP names (RFC 4568, RFC 6188, RFC 7714). */
export type SrtpSuite =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM';

/** Master key + master salt length of each suite, in octets. */
export const SRTP_MASTER_LENGTH: Readonly<Record<SrtpSuite, number>> = {
  AES_CM_128_HMAC_SHA1_80: 30,
  AES_CM_128_HMAC_SHA1_32: 30,
  AES_192_CM_HMAC_SHA1_80: 38,
  AES_192_CM_HMAC_SHA1_32: 38,
  AES_256_CM_HMAC_SHA1_80: 46,
  AES_256_CM_HMAC_SHA1_32: 46,
  AEAD_AES_128_GCM: 28,
  AEAD_AES_256_GCM: 44,
};

/**
 * The order we offer suites in: the RFC 4568 mandatory suite first (every
 * SDES phone has it), then the stronger ones.
 */
export const DEFAULT_SRTP_SUITES: readonly SrtpSuite[] = [
  'AES_CM_128_HMAC_SHA1_80',
  'AEAD_AES_128_GCM',
  'AES_256_CM_HMAC_SHA1_80',
  'AEAD_AES_256_GCM',
  'AES_CM_128_HMAC_SHA1_32',
  'AES_256_CM_HMAC_SHA1_32',
];

export function isSrtpSuite(name: string): name is SrtpSuite {
  return Object.prototype.hasOwnProperty.call(SRTP_MASTER_LENGTH, name);
}

export interface SrtpKey {
  suite: SrtpSuite;
  /** Master key followed by master salt (SRTP_MASTER_LENGTH[suite] octets). */
  key: Buffer;
}

/** SDES keys of one leg: what we send with and what the peer sends with. */
export interface SrtpSettings {
  send: SrtpKey;
  recv: SrtpKey;
}

/** A fresh random master key and salt for `suite`. */
export function generateSrtpKey(suite: SrtpSuite): SrtpKey {
  if (!isSrtpSuite(suite)) throw new InvalidArgumentError(`Unsupported SRTP crypto suite: ${String(suite)}`);
  return { suite, key: randomBytes(SRTP_MASTER_LENGTH[suite]) };
}

function checkKey(k: SrtpKey | undefined, what: string): void {
  if (!k || typeof k !== 'object') throw new InvalidArgumentError(`Expected an SRTP key for ${what}`);
  if (!isSrtpSuite(k.suite))
    throw new InvalidArgumentError(`Unsupported SRTP crypto suite for ${what}: ${String(k.suite)}`);
  if (!Buffer.isBuffer(k.key) || k.key.length !== SRTP_MASTER_LENGTH[k.suite])
    throw new InvalidArgumentError(
      `${what}: ${k.suite} needs a ${SRTP_MASTER_LENGTH[k.suite]}-octet master key and salt` +
        (Buffer.isBuffer(k.key) ? `, got ${k.key.length}` : ', got no Buffer'),
    );
}

/**
 * A certificate and private key for DTLS-SRTP. One per server is enough
 * (peers authenticate it by the fingerprint in our SDP); rotate by generating
 * a new one: calls set up afterwards use it, running calls keep theirs.
 */
export class DtlsCertificate {
  /** @internal */
  readonly native: NativeDtlsCertificate;
  readonly #fingerprints = new Map<string, string>();

  private constructor(native: NativeDtlsCertificate) {
    this.native = native;
  }

  /** A new self-signed certificate (RSA 3072, SHA-256), generated off the main thread (~0.3-0.5 s). */
  static async generate(commonName = 'rtp-media-server'): Promise<DtlsCertificate> {
    const a = secureAddon();
    return new DtlsCertificate(new a.DtlsCertificate(await a.generateDtlsIdentity(commonName)));
  }

  /** An existing certificate and its unencrypted private key (PEM; RSA or ECDSA). */
  static fromPem(certificatePem: string, privateKeyPem: string): DtlsCertificate {
    return new DtlsCertificate(new (secureAddon().DtlsCertificate)(certificatePem, privateKeyPem));
  }

  /** "AB:CD:..." for a=fingerprint (sha-1, sha-224, sha-256, sha-384, sha-512). */
  fingerprint(algorithm = 'sha-256'): string {
    const alg = algorithm.toLowerCase();
    let fp = this.#fingerprints.get(alg);
    if (fp === undefined) {
      fp = this.native.fingerprint(alg);
      this.#fingerprints.set(alg, fp);
    }
    return fp;
  }

  get certificatePem(): string {
    return this.native.certificatePem();
  }
}

export type DtlsRole = 'client' | 'server';

export interface DtlsFingerprint {
  /** sha-1, sha-224, sha-256, sha-384, sha-512 */
  algorithm: string;
  /** Colon-separated hex pairs. */
  value: string;
}

export interface DtlsSettings {
  certificate: DtlsCertificate;
  /** The role our SDP took: a=setup:active is the client, passive the server (RFC 5763 5). */
  role: DtlsRole;
  /** The peer's a=fingerprint: its certificate must match or no key is ever used. */
  remoteFingerprint: DtlsFingerprint;
}

export interface IceSettings {
  localUfrag: string;
  localPwd: string;
  /** The peer's ufrag: checks must name it (RFC 8445 7.3.1.1). */
  remoteUfrag?: string;
  /** No valid check for this long and we stop sending (RFC 7675: 30000). */
  consentTimeoutMs?: number;
}

const ICE_CHARS = /^[A-Za-z0-9+/]+$/;

/** Random ICE credentials (RFC 8445 5.3: ufrag >= 24 bits, password >= 128 bits of randomness). */
export function generateIceCredentials(): { ufrag: string; pwd: string } {
  return {
    ufrag: randomBytes(6).toString('base64'),
    pwd: randomBytes(18).toString('base64'),
  };
}

export interface DtlsStateEvent {
  state: 'new' | 'connecting' | 'connected' | 'failed' | 'closed';
  /** 0: the RTP socket's handshake, 1: the RTCP socket's (no rtcp-mux). */
  component: number;
  /** Why it failed. */
  reason?: string;
}

export interface IceStateEvent {
  state: 'new' | 'connected' | 'disconnected';
  component: number;
  /** The pair media now goes to, "address:port". */
  selected?: string;
}

export interface ZrtpStateEvent {
  /** started: Hellos go out; sas: agreed, compare it; secure: SRTP keyed both ways. */
  state: 'started' | 'sas' | 'secure';
  sas?: string;
}

export type SecureStats = NativeSecureStats;

/**
 * Everything lib/sdp/secure.ts decides for a leg's endpoint, applied in one
 * go by RtpEndpoint.applySecurity(): keys or DTLS, ICE, rtcp-mux, and (for
 * ICE offers whose c= is 0.0.0.0) where to send until ICE picks a pair.
 */
export interface SecureEndpointSettings {
  srtp?: SrtpSettings;
  dtls?: DtlsSettings;
  ice?: IceSettings;
  rtcpMux: boolean;
  remote?: { address: string; port: number; rtcpPort?: number };
}

export interface SecureEventHandlers {
  dtls: (e: DtlsStateEvent) => void;
  ice: (e: IceStateEvent) => void;
  zrtp: (e: ZrtpStateEvent) => void;
}

function dispatch(e: NativeSecureEvent, on: SecureEventHandlers): void {
  if (e.kind === 'dtls')
    on.dtls({ state: e.state as DtlsStateEvent['state'], component: e.component, reason: e.detail });
  else if (e.kind === 'ice')
    on.ice({ state: e.state as IceStateEvent['state'], component: e.component, selected: e.detail });
  else on.zrtp({ state: e.state as ZrtpStateEvent['state'], sas: e.detail || undefined });
}

function sameFingerprint(a: DtlsFingerprint, b: DtlsFingerprint): boolean {
  return a.algorithm.toLowerCase() === b.algorithm.toLowerCase() && a.value.toUpperCase() === b.value.toUpperCase();
}

/**
 * The security layer of one RtpEndpoint (created on first use). Settings
 * are idempotent: applying the same DTLS or ICE settings again keeps the
 * running handshake and pairs, so a re-INVITE that changes nothing
 * changes nothing.
 */
export class SecureTransport {
  #native: NativeSecureTransport | null;
  #dtls?: DtlsSettings;
  #ice?: IceSettings;
  #srtp?: SrtpSettings;
  #rtcpMux = false;

  #zrtp = false;

  constructor(session: NativeRtpSession, on: SecureEventHandlers) {
    const n = new (secureAddon().SecureTransport)(session);
    n.onEvents(() => {
      if (!this.#native) return;
      for (const e of this.#native.takeEvents()) dispatch(e, on);
    });
    this.#native = n;
  }

  get #n(): NativeSecureTransport {
    if (!this.#native) throw new InvalidStateError('The endpoint is closed');
    return this.#native;
  }

  get protection(): 'none' | 'sdes' | 'dtls' | 'zrtp' {
    return this.#zrtp ? 'zrtp' : this.#dtls ? 'dtls' : this.#srtp ? 'sdes' : 'none';
  }

  /**
   * ZRTP (RFC 6189) on this leg: in-band key agreement with the peer, and a
   * SAS for the users to compare (the 'zrtpState' event, secureStats().zrtp).
   * Encryption is mandatory from now on: nothing passes before ZRTP keys
   * SRTP. Final: the leg's keying cannot change afterwards.
   */
  setZrtp(): void {
    if (this.#zrtp) return;
    this.#n.setZrtp();
    this.#zrtp = true;
    this.#srtp = undefined;
    this.#dtls = undefined;
  }

  /** The users compared the SAS and it matched (or, false: take that back). */
  setZrtpVerified(yes: boolean): void {
    this.#n.setZrtpVerified(yes);
  }

  get dtls(): DtlsSettings | undefined {
    return this.#dtls;
  }

  get ice(): IceSettings | undefined {
    return this.#ice;
  }

  get rtcpMux(): boolean {
    return this.#rtcpMux;
  }

  /** SDES keys (replaces DTLS). A re-key keeps accepting the old receive key for a few seconds. */
  setSrtp(s: SrtpSettings): void {
    if (!s || typeof s !== 'object') throw new InvalidArgumentError('Expected SRTP settings { send, recv }');
    checkKey(s.send, 'srtp.send');
    checkKey(s.recv, 'srtp.recv');
    // a key that did not change keeps its SRTP context: a new context would
    // restart the rollover counter (keystream reuse after a wrap) and the
    // replay window
    const cur = this.#srtp;
    const same = (a: SrtpKey | undefined, b: SrtpKey) => !!a && a.suite === b.suite && a.key.equals(b.key);
    const sendChanged = !same(cur?.send, s.send);
    const recvChanged = !same(cur?.recv, s.recv);
    if (sendChanged || recvChanged)
      this.#n.setSdes({
        ...(sendChanged ? { sendSuite: s.send.suite, sendKey: s.send.key } : {}),
        ...(recvChanged ? { recvSuite: s.recv.suite, recvKey: s.recv.key } : {}),
      });
    this.#srtp = {
      send: { ...s.send, key: Buffer.from(s.send.key) },
      recv: { ...s.recv, key: Buffer.from(s.recv.key) },
    };
    this.#dtls = undefined;
  }

  /** DTLS-SRTP (replaces SDES). The same settings again keep the running association. */
  setDtls(d: DtlsSettings): void {
    if (!d || !(d.certificate instanceof DtlsCertificate))
      throw new InvalidArgumentError('Expected DTLS settings with a DtlsCertificate');
    if (d.role !== 'client' && d.role !== 'server')
      throw new InvalidArgumentError(`DTLS role must be 'client' or 'server', not ${String(d.role)}`);
    const fp = d.remoteFingerprint;
    if (!fp || typeof fp.algorithm !== 'string' || typeof fp.value !== 'string' || !/^[0-9A-Fa-f:]+$/.test(fp.value))
      throw new InvalidArgumentError('Expected remoteFingerprint { algorithm, value: "AB:CD:..." }');
    const cur = this.#dtls;
    if (cur && cur.certificate === d.certificate && cur.role === d.role && sameFingerprint(cur.remoteFingerprint, fp))
      return;
    this.#n.setDtls({
      certificate: d.certificate.native,
      role: d.role,
      remoteFingerprint: `${fp.algorithm.toLowerCase()} ${fp.value}`,
    });
    this.#dtls = d;
    this.#srtp = undefined;
  }

  /** Back to plain RTP. */
  clearProtection(): void {
    this.#n.clearProtection();
    this.#dtls = undefined;
    this.#srtp = undefined;
  }

  /** ICE-lite with these credentials, or none. The same credentials again keep the pairs. */
  setIce(i: IceSettings | undefined): void {
    if (i === undefined) {
      if (this.#ice) this.#n.clearIce();
      this.#ice = undefined;
      return;
    }
    if (typeof i.localUfrag !== 'string' || !ICE_CHARS.test(i.localUfrag) || i.localUfrag.length < 4)
      throw new InvalidArgumentError('ICE: localUfrag must be 4+ ice-chars (A-Z a-z 0-9 + /)');
    if (typeof i.localPwd !== 'string' || !ICE_CHARS.test(i.localPwd) || i.localPwd.length < 22)
      throw new InvalidArgumentError('ICE: localPwd must be 22+ ice-chars (A-Z a-z 0-9 + /)');
    if (i.remoteUfrag !== undefined && (typeof i.remoteUfrag !== 'string' || i.remoteUfrag.length === 0))
      throw new InvalidArgumentError('ICE: remoteUfrag must be a non-empty string');
    const cur = this.#ice;
    if (
      cur &&
      cur.localUfrag === i.localUfrag &&
      cur.localPwd === i.localPwd &&
      cur.remoteUfrag === i.remoteUfrag &&
      cur.consentTimeoutMs === i.consentTimeoutMs
    )
      return;
    this.#n.setIce({ ...i });
    this.#ice = { ...i };
  }

  setRtcpMux(on: boolean): void {
    if (on === this.#rtcpMux) return;
    this.#n.setRtcpMux(on);
    this.#rtcpMux = on;
  }

  stats(): SecureStats {
    return this.#n.stats();
  }

  close(): void {
    this.#native?.close();
    this.#native = null;
  }
}
