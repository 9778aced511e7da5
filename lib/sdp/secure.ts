/**
 * SDP for secured legs: reads what an offer or answer says about SRTP
 * (a=crypto, RFC 4568), DTLS-SRTP (a=fingerprint, a=setup; RFC 5763/8122),
 * ICE (a=ice-ufrag/pwd, a=candidate, a=ice-lite; RFC 8839), a=mid and
 * BUNDLE (RFC 8843), a=rtcp-mux (RFC 5761), a=rtcp-rsize (RFC 5506) and
 * a=rtcp-fb (RFC 4585), and writes ours:
 *
 *  - answerSecure(): answering an offer (a browser's, an SRTP phone's);
 *  - offerSecure() + acceptSecureAnswer(): offering SRTP to a phone.
 *
 * Each returns the settings for the leg's RtpEndpoint (endpoint.applySecurity)
 * and the attribute lines for buildSdp(). Nothing here touches a socket.
 */
import { isIP } from 'node:net';
import type * as transform from 'sdp-transform';
import { SdpError } from '../errors';
import type {
  SdpCandidate,
  SdpCrypto,
  SdpFingerprint,
  SdpIce,
  SdpMedia,
  SdpSecurity,
  SdpSession,
  SdpSetup,
} from './model';
import {
  DEFAULT_SRTP_SUITES,
  generateIceCredentials,
  generateSrtpKey,
  isSrtpSuite,
  SRTP_MASTER_LENGTH,
  type DtlsCertificate,
  type DtlsRole,
  type SecureEndpointSettings,
  type SrtpKey,
  type SrtpSuite,
} from '../rtp/secure';

const SETUPS = new Set(['actpass', 'active', 'passive', 'holdconn']);
const MAX_CANDIDATES = 32;
const MAX_CRYPTO = 16;
const FINGERPRINT_ALGORITHMS = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

function fingerprintOf(f: { type: string; hash: string } | undefined): SdpFingerprint | undefined {
  if (!f) return undefined;
  const algorithm = String(f.type).toLowerCase();
  const value = String(f.hash).toUpperCase();
  if (!FINGERPRINT_ALGORITHMS.has(algorithm) || !/^[0-9A-F]{2}(:[0-9A-F]{2})+$/.test(value))
    throw new SdpError(`SDP: a=fingerprint "${f.type} ${f.hash}" is not "<sha-1|sha-256|...> <hex pairs>"`);
  return { algorithm, value };
}

function candidatesOf(m: transform.MediaDescription): SdpCandidate[] {
  const out: SdpCandidate[] = [];
  for (const c of m.candidates ?? []) {
    if (out.length >= MAX_CANDIDATES) break;
    const port = Number(c.port);
    const component = Number(c.component);
    // candidates we cannot use (FQDN or mDNS names, bad numbers) are skipped, not fatal
    if (isIP(String(c.ip)) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    if (component !== 1 && component !== 2) continue;
    out.push({
      foundation: String(c.foundation),
      component,
      transport: String(c.transport).toLowerCase(),
      priority: Number(c.priority) || 0,
      address: String(c.ip),
      port,
      type: String(c.type),
    });
  }
  return out;
}

/** The security-related attributes of one m-line (parseSdp calls this for each). */
export function parseSecurity(
  m: transform.MediaDescription,
  session: transform.SessionDescription,
  protocol: string,
): SdpSecurity {
  const crypto: SdpCrypto[] = [];
  for (const c of m.crypto ?? []) {
    if (crypto.length >= MAX_CRYPTO) break;
    const tag = Number(c.id);
    if (!Number.isInteger(tag) || tag < 0 || tag > 999999999)
      throw new SdpError(`SDP: a=crypto tag ${String(c.id)} is not a 1-9 digit number`);
    crypto.push({
      tag,
      suite: String(c.suite),
      keyParams: String(c.config ?? ''),
      sessionParams: c.sessionConfig ? String(c.sessionConfig) : undefined,
    });
  }
  const setupRaw = m.setup ?? (session as { setup?: string }).setup;
  const setup = setupRaw !== undefined ? String(setupRaw).toLowerCase() : undefined;
  if (setup !== undefined && !SETUPS.has(setup)) throw new SdpError(`SDP: a=setup:${setup} is not one of RFC 4145's`);
  const ufrag = m.iceUfrag ?? (session as { iceUfrag?: string }).iceUfrag;
  const pwd = m.icePwd ?? (session as { icePwd?: string }).icePwd;
  let ice: SdpIce | undefined;
  if (ufrag !== undefined || pwd !== undefined) {
    if (!ufrag || !pwd) throw new SdpError('SDP: a=ice-ufrag and a=ice-pwd come together');
    const options = String(m.iceOptions ?? (session as { iceOptions?: string }).iceOptions ?? '')
      .split(/\s+/)
      .filter(Boolean);
    ice = {
      ufrag: String(ufrag),
      pwd: String(pwd),
      lite: session.icelite === 'ice-lite',
      options,
      candidates: candidatesOf(m),
    };
  }
  const p = protocol.toUpperCase();
  return {
    srtpProfile: /(^|\/)RTP\/SAVPF?$/.test(p),
    avpf: /AVPF$/.test(p),
    dtlsProfile: /^(UDP\/)?TLS\/RTP\/SAVPF?$/.test(p),
    crypto,
    fingerprint: fingerprintOf(
      m.fingerprint ?? (session as { fingerprint?: { type: string; hash: string } }).fingerprint,
    ),
    setup: setup as SdpSetup | undefined,
    ice,
    mid: m.mid !== undefined ? String(m.mid) : undefined,
    rtcpRsize: m.rtcpRsize !== undefined,
    rtcpFb: (m.rtcpFb ?? []).map((f) => ({ payload: String(f.payload), type: String(f.type), subtype: f.subtype })),
  };
}

/** a=group:BUNDLE lists of a session. */
export function bundleGroups(session: transform.SessionDescription): string[][] {
  return (session.groups ?? [])
    .filter((g) => String(g.type).toUpperCase() === 'BUNDLE')
    .map((g) => String(g.mids).split(/\s+/).filter(Boolean));
}

// ---------------------------------------------------------------------------
// SDES key parameters
// ---------------------------------------------------------------------------

// session parameters that change what SRTP does (RFC 4568 6.3); WSH (a window
// size hint) is harmless
const UNSUPPORTED_SESSION_PARAMS =
  /\b(UNENCRYPTED_SRTP|UNENCRYPTED_SRTCP|UNAUTHENTICATED_SRTP|FEC_ORDER|FEC_KEY)\b|\bKDR=(?!0\b)/;

/** The master key||salt of a crypto line we can use, or a reason why not. */
function keyOf(c: SdpCrypto, allowed: readonly SrtpSuite[]): SrtpKey | string {
  if (!isSrtpSuite(c.suite) || !allowed.includes(c.suite)) return `suite ${c.suite} not supported`;
  if (c.sessionParams && UNSUPPORTED_SESSION_PARAMS.test(c.sessionParams)) return 'unsupported session parameters';
  // one key only: several (';'-separated) need MKIs, which we do not use
  const params = c.keyParams.split(';');
  if (params.length !== 1) return 'more than one key (MKI) is not supported';
  const m = /^inline:([A-Za-z0-9+/=]+)(\|[^|]*)?(\|[^|]*)?$/.exec(params[0]);
  if (!m) return 'key parameters are not inline:<base64>[|lifetime][|MKI:length]';
  const fields = [m[2], m[3]].filter(Boolean).map((f) => f!.slice(1));
  if (fields.some((f) => f.includes(':'))) return 'MKI is not supported';
  const key = Buffer.from(m[1], 'base64');
  if (key.length !== SRTP_MASTER_LENGTH[c.suite])
    return `${c.suite} needs ${SRTP_MASTER_LENGTH[c.suite]} octets of key and salt, the line has ${key.length}`;
  return { suite: c.suite, key };
}

/** The first crypto line we can use (RFC 4568 7.1.2: the offerer's order is its preference). */
function pickCrypto(
  lines: SdpCrypto[],
  suites: readonly SrtpSuite[],
): { chosen?: { tag: number; key: SrtpKey }; reasons: string[] } {
  const reasons: string[] = [];
  for (const c of lines) {
    const k = keyOf(c, suites);
    if (typeof k !== 'string') return { chosen: { tag: c.tag, key: k }, reasons };
    reasons.push(`a=crypto:${c.tag}: ${k}`);
  }
  return { reasons };
}

function cryptoLine(tag: number, k: SrtpKey): string {
  return `a=crypto:${tag} ${k.suite} inline:${k.key.toString('base64')}`;
}

// ---------------------------------------------------------------------------
// ICE lines
// ---------------------------------------------------------------------------

export interface LocalTransport {
  /** The address peers reach the endpoint at (the advertised one, if it differs from the bound one). */
  address: string;
  port: number;
  rtcpPort: number;
}

function candidateLines(local: LocalTransport, rtcpMux: boolean): string[] {
  // host candidates only; priority per RFC 8445 5.1.2.1 (type 126, local 65535)
  const prio = (component: number) => (126 << 24) + (65535 << 8) + (256 - component);
  const lines = [`a=candidate:1 1 udp ${prio(1)} ${local.address} ${local.port} typ host`];
  if (!rtcpMux) lines.push(`a=candidate:1 2 udp ${prio(2)} ${local.address} ${local.rtcpPort} typ host`);
  lines.push('a=end-of-candidates');
  return lines;
}

/**
 * Where to send before ICE picks a pair: the peer's best UDP candidate of
 * component 1 in our address family (a browser on loopback offers ::1 too).
 */
function remoteFromCandidates(ice: SdpIce, localAddress: string): { address: string; port: number } | undefined {
  const family = isIP(localAddress);
  const udp = ice.candidates.filter((c) => c.transport === 'udp' && c.component === 1 && isIP(c.address) === family);
  udp.sort((a, b) => b.priority - a.priority);
  const c = udp[0];
  return c ? { address: c.address, port: c.port } : undefined;
}

// ---------------------------------------------------------------------------
// Answering
// ---------------------------------------------------------------------------

export interface SecureAnswerOptions {
  /** Our endpoint: its address and ports go into a=candidate. */
  local: LocalTransport;
  /** Accept DTLS-SRTP offers with this certificate (without one they are refused). */
  certificate?: DtlsCertificate;
  /** SDES suites we accept, in no particular order (default DEFAULT_SRTP_SUITES). */
  suites?: readonly SrtpSuite[];
  /** When an offer allows both, which keying wins (default 'dtls'). */
  prefer?: 'dtls' | 'sdes';
  /**
   * An RTP/AVP offer with a=crypto lines ("best-effort SRTP", as baresip's
   * mediaenc=srtp and many phones' "SRTP optional" send) is answered with
   * SDES when a line is usable (default true); false answers it plain.
   */
  bestEffortSrtp?: boolean;
  /** Our ICE credentials (default: new ones; pass the previous ones on a re-offer to keep ICE going). */
  iceCredentials?: { ufrag: string; pwd: string };
  /** RFC 7675 consent timeout for the endpoint (default 30000 ms). */
  consentTimeoutMs?: number;
  /**
   * The settings the previous answer gave the endpoint: a re-offer that
   * repeats the peer's key keeps ours too (no needless re-key), and one that
   * keeps the fingerprint and roles keeps the DTLS association.
   */
  previous?: SecureEndpointSettings;
}

export interface SecureSdp {
  /** The m-line profile to write (an answer echoes the offer's). */
  protocol: string;
  /** Media-level attribute lines ("a=..."), for buildSdp's AudioSpec.attributes. */
  mediaAttributes: string[];
  /** Session-level attribute lines (a=ice-lite, a=group:BUNDLE), for BuildOptions.sessionAttributes. */
  sessionAttributes: string[];
}

export interface SecureAnswer extends SecureSdp {
  /** For RtpEndpoint.applySecurity(). */
  endpoint: SecureEndpointSettings;
  /** 'dtls', 'sdes' or 'none' (a plain offer). */
  keying: 'dtls' | 'sdes' | 'none';
}

/** Our DTLS role and a=setup value for the setup an offer wrote (RFC 5763 5, RFC 4145 4.1). */
export function answerSetup(offered: SdpSetup | undefined): { role: DtlsRole; setup: 'active' | 'passive' } {
  if (offered === 'holdconn') throw new SdpError('SDP: a=setup:holdconn - the offerer does not want a DTLS connection');
  // actpass and passive: we connect (and must then be the one that does, or
  // Chrome never answers our ClientHello); absent means the offerer is active
  if (offered === 'actpass' || offered === 'passive') return { role: 'client', setup: 'active' };
  return { role: 'server', setup: 'passive' };
}

/**
 * Answers the security of an offered m-line. Throws SdpError when the offer
 * needs what we cannot do (DTLS without a certificate, no usable crypto
 * line, a=setup:holdconn). For a plain offer without ICE it returns
 * keying 'none' and no attributes.
 */
export function answerSecure(offer: SdpSession, media: SdpMedia, opts: SecureAnswerOptions): SecureAnswer {
  const sec = media.security;
  const mediaAttributes: string[] = [];
  const sessionAttributes: string[] = [];
  const endpoint: SecureEndpointSettings = { rtcpMux: media.rtcpMux };
  let keying: SecureAnswer['keying'] = 'none';

  const suites = opts.suites ?? DEFAULT_SRTP_SUITES;
  const sdes = sec.crypto.length > 0 ? pickCrypto(sec.crypto, suites) : undefined;
  // RFC 4568 7.1.4: a re-offer repeating its key may get ours repeated too
  const answerSdes = (c: { tag: number; key: SrtpKey }) => {
    const prev = opts.previous?.srtp;
    const keep = prev && prev.recv.suite === c.key.suite && prev.recv.key.equals(c.key.key);
    const ours = keep ? prev.send : generateSrtpKey(c.key.suite);
    endpoint.srtp = { send: ours, recv: c.key };
    mediaAttributes.push(cryptoLine(c.tag, ours));
    keying = 'sdes';
  };
  if (!sec.srtpProfile) {
    if (sdes?.chosen && (opts.bestEffortSrtp ?? true)) answerSdes(sdes.chosen);
  } else {
    const chosen = sec.dtlsProfile && sec.crypto.length === 0 ? undefined : sdes?.chosen;
    const dtlsPossible = sec.fingerprint !== undefined && opts.certificate !== undefined;
    const useDtls = dtlsPossible && (sec.dtlsProfile || !chosen || (opts.prefer ?? 'dtls') === 'dtls');
    if (useDtls) {
      const { role, setup } = answerSetup(sec.setup);
      const cert = opts.certificate!;
      const prev = opts.previous?.dtls;
      endpoint.dtls =
        prev && prev.certificate === cert && prev.role === role && sameFp(prev.remoteFingerprint, sec.fingerprint!)
          ? prev
          : { certificate: cert, role, remoteFingerprint: sec.fingerprint! };
      mediaAttributes.push(`a=fingerprint:sha-256 ${cert.fingerprint('sha-256')}`, `a=setup:${setup}`);
      keying = 'dtls';
    } else if (chosen) {
      answerSdes(chosen);
    } else if (sec.fingerprint && !opts.certificate) {
      throw new SdpError('SDP: the offer wants DTLS-SRTP and no certificate is configured for it');
    } else {
      const why = sdes?.reasons.length ? sdes.reasons.join('; ') : 'no a=crypto and no a=fingerprint';
      throw new SdpError(`SDP: ${media.protocol} with no usable key: ${why}`);
    }
  }

  if (sec.ice) {
    const creds =
      opts.iceCredentials ??
      (opts.previous?.ice
        ? { ufrag: opts.previous.ice.localUfrag, pwd: opts.previous.ice.localPwd }
        : generateIceCredentials());
    endpoint.ice = {
      localUfrag: creds.ufrag,
      localPwd: creds.pwd,
      remoteUfrag: sec.ice.ufrag,
      ...(opts.consentTimeoutMs !== undefined ? { consentTimeoutMs: opts.consentTimeoutMs } : {}),
    };
    sessionAttributes.push('a=ice-lite');
    mediaAttributes.push(
      `a=ice-ufrag:${creds.ufrag}`,
      `a=ice-pwd:${creds.pwd}`,
      ...candidateLines(opts.local, media.rtcpMux),
    );
    const remote = remoteFromCandidates(sec.ice, opts.local.address);
    if (remote)
      endpoint.remote = {
        address: remote.address,
        port: remote.port,
        rtcpPort: media.rtcpMux ? remote.port : media.rtcpPort,
      };
  }

  if (sec.mid !== undefined) {
    mediaAttributes.push(`a=mid:${sec.mid}`);
    // a single-m-line BUNDLE: the group, with only what we accept in it; an
    // answer without the group is refused under max-bundle
    if (offer.bundle.some((g) => g.includes(sec.mid!))) sessionAttributes.push(`a=group:BUNDLE ${sec.mid}`);
  }
  if (media.rtcpMux) mediaAttributes.push('a=rtcp-mux');
  if (sec.rtcpRsize) mediaAttributes.push('a=rtcp-rsize');
  return { protocol: media.protocol, mediaAttributes, sessionAttributes, endpoint, keying };
}

function sameFp(a: SdpFingerprint, b: SdpFingerprint): boolean {
  return a.algorithm.toLowerCase() === b.algorithm.toLowerCase() && a.value.toUpperCase() === b.value.toUpperCase();
}

// ---------------------------------------------------------------------------
// Offering
// ---------------------------------------------------------------------------

export interface SecureOfferOptions {
  /** SDES (RTP/SAVP[F] with a=crypto) or DTLS-SRTP (UDP/TLS/RTP/SAVP[F]). */
  keying: 'sdes' | 'dtls';
  local: LocalTransport;
  /** AVPF profile (default false). */
  avpf?: boolean;
  /** SDES: the suites offered, one crypto line each, in this order (default DEFAULT_SRTP_SUITES). */
  suites?: readonly SrtpSuite[];
  /** DTLS: our certificate. */
  certificate?: DtlsCertificate;
  /** Offer ICE as a lite agent (default false). */
  ice?: boolean;
  iceCredentials?: { ufrag: string; pwd: string };
  /** Offer a=rtcp-mux (default false: a phone may not do it). */
  rtcpMux?: boolean;
  mid?: string;
}

export interface SecureOffer extends SecureSdp {
  /** What acceptSecureAnswer() needs: our keys by tag, certificate, ICE credentials. */
  pending: {
    keying: 'sdes' | 'dtls';
    keys: Map<number, SrtpKey>;
    certificate?: DtlsCertificate;
    ice?: { ufrag: string; pwd: string };
    localAddress: string;
  };
}

export function offerSecure(opts: SecureOfferOptions): SecureOffer {
  const mediaAttributes: string[] = [];
  const sessionAttributes: string[] = [];
  const keys = new Map<number, SrtpKey>();
  let protocol: string;
  if (opts.keying === 'sdes') {
    protocol = opts.avpf ? 'RTP/SAVPF' : 'RTP/SAVP';
    const suites = opts.suites ?? DEFAULT_SRTP_SUITES;
    if (suites.length === 0) throw new SdpError('SDP: offerSecure needs at least one SRTP suite');
    suites.forEach((suite, i) => {
      const k = generateSrtpKey(suite);
      keys.set(i + 1, k);
      mediaAttributes.push(cryptoLine(i + 1, k));
    });
  } else {
    if (!opts.certificate) throw new SdpError('SDP: a DTLS-SRTP offer needs a certificate');
    protocol = opts.avpf ? 'UDP/TLS/RTP/SAVPF' : 'UDP/TLS/RTP/SAVP';
    // RFC 5763 5: the offerer lets the answerer choose
    mediaAttributes.push(`a=fingerprint:sha-256 ${opts.certificate.fingerprint('sha-256')}`, 'a=setup:actpass');
  }
  let ice: { ufrag: string; pwd: string } | undefined;
  if (opts.ice) {
    ice = opts.iceCredentials ?? generateIceCredentials();
    sessionAttributes.push('a=ice-lite');
    mediaAttributes.push(
      `a=ice-ufrag:${ice.ufrag}`,
      `a=ice-pwd:${ice.pwd}`,
      ...candidateLines(opts.local, !!opts.rtcpMux),
    );
  }
  if (opts.mid !== undefined) mediaAttributes.push(`a=mid:${opts.mid}`);
  if (opts.rtcpMux) mediaAttributes.push('a=rtcp-mux');
  return {
    protocol,
    mediaAttributes,
    sessionAttributes,
    pending: { keying: opts.keying, keys, certificate: opts.certificate, ice, localAddress: opts.local.address },
  };
}

/** The endpoint settings an answer to offerSecure() gives. Throws SdpError if it does not fit the offer. */
export function acceptSecureAnswer(offer: SecureOffer, answer: SdpMedia): SecureEndpointSettings {
  const sec = answer.security;
  const p = offer.pending;
  const endpoint: SecureEndpointSettings = { rtcpMux: answer.rtcpMux && offer.mediaAttributes.includes('a=rtcp-mux') };
  if (answer.protocol.toUpperCase() !== offer.protocol.toUpperCase())
    throw new SdpError(`SDP answer: profile ${answer.protocol}, but we offered ${offer.protocol}`);
  if (p.keying === 'sdes') {
    if (sec.crypto.length !== 1) throw new SdpError(`SDP answer: expected one a=crypto line, got ${sec.crypto.length}`);
    const c = sec.crypto[0];
    const ours = p.keys.get(c.tag);
    if (!ours) throw new SdpError(`SDP answer: a=crypto:${c.tag} answers no crypto line we offered`);
    if (c.suite !== ours.suite) throw new SdpError(`SDP answer: a=crypto:${c.tag} changed the suite to ${c.suite}`);
    const theirs = keyOf(c, [ours.suite]);
    if (typeof theirs === 'string') throw new SdpError(`SDP answer: a=crypto:${c.tag}: ${theirs}`);
    endpoint.srtp = { send: ours, recv: theirs };
  } else {
    if (!sec.fingerprint) throw new SdpError('SDP answer: DTLS-SRTP answered without a=fingerprint');
    // the answerer chose: active means it connects, so we serve (RFC 5763 5)
    const setup = sec.setup ?? 'active';
    if (setup !== 'active' && setup !== 'passive')
      throw new SdpError(`SDP answer: a=setup:${setup} (an answer must be active or passive)`);
    endpoint.dtls = {
      certificate: p.certificate!,
      role: setup === 'active' ? 'server' : 'client',
      remoteFingerprint: sec.fingerprint,
    };
  }
  if (p.ice && sec.ice) {
    endpoint.ice = { localUfrag: p.ice.ufrag, localPwd: p.ice.pwd, remoteUfrag: sec.ice.ufrag };
    const remote = remoteFromCandidates(sec.ice, p.localAddress);
    if (remote)
      endpoint.remote = {
        address: remote.address,
        port: remote.port,
        rtcpPort: endpoint.rtcpMux ? remote.port : answer.rtcpPort,
      };
  }
  return endpoint;
}
