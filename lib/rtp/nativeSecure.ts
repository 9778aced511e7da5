/**
 * Shapes of the addon's security classes (native/secure/secure_wrap.cc):
 * NativeSecureTransport, NativeDtlsCertificate, generateDtlsIdentity.
 */
import { addon, type NativeRtpSession } from '../native';

export interface NativeSrtpCounters {
  rtpProtected: number;
  rtcpProtected: number;
  rtpUnprotected: number;
  rtcpUnprotected: number;
  /** Tag mismatch: forged, corrupted, plain or wrongly keyed packets. */
  authFailures: number;
  /** Packets whose index was seen before (or fell behind the replay window). */
  replays: number;
  otherFailures: number;
  protectFailures: number;
  /** Packets accepted under the previous receive key after a re-key. */
  oldKeyUsed: number;
}

export interface NativeDtlsStats {
  state: 'new' | 'connecting' | 'connected' | 'failed' | 'closed';
  role: 'client' | 'server';
  datagramsIn: number;
  datagramsOut: number;
  fingerprintMismatches: number;
  failures: number;
  failure?: string;
}

export interface NativeIceStats {
  state: 'new' | 'connected' | 'disconnected';
  /** The pair media goes to, "address:port". */
  selected?: string;
  requests: number;
  answered: number;
  badAuth: number;
  malformed: number;
  indications: number;
  /** Datagrams (DTLS, SRTP) from sources no valid check came from. */
  unvalidated: number;
  consentLost: number;
  sendsRefused: number;
}

export interface NativeSecureComponent {
  srtp: NativeSrtpCounters;
  dtls?: NativeDtlsStats;
  ice?: NativeIceStats;
}

export interface NativeZrtpStats {
  started: boolean;
  /** SRTP keyed by ZRTP. */
  secure: boolean;
  /** The short authentication string for the users to compare, once agreed. */
  sas?: string;
  verified: boolean;
}

export interface NativeSecureStats {
  protection: 'none' | 'sdes' | 'dtls' | 'zrtp';
  sendSuite: string | null;
  recvSuite: string | null;
  rtcpMux: boolean;
  /** false once the RTP session is closed. */
  attached: boolean;
  beforeKeysIn: number;
  beforeKeysOut: number;
  unknownDropped: number;
  /** RTCP refused as malformed once decrypted, before oRTP parsed it (native/core/rtcp_check.h). */
  rtcpInvalid: number;
  stunIn: number;
  dtlsIn: number;
  /** [RTP socket, RTCP socket] */
  components: [NativeSecureComponent, NativeSecureComponent];
  zrtp?: NativeZrtpStats;
}

export interface NativeSecureEvent {
  kind: 'dtls' | 'ice' | 'zrtp';
  component: number;
  state: string;
  detail?: string;
}

export interface NativeSecureTransport {
  /** A direction left out keeps its key (and its SRTP context). */
  setSdes(o: { sendSuite?: string; sendKey?: Buffer; recvSuite?: string; recvKey?: Buffer }): void;
  setDtls(o: { certificate: NativeDtlsCertificate; role: 'client' | 'server'; remoteFingerprint: string }): void;
  clearProtection(): void;
  setZrtp(): void;
  setZrtpVerified(yes: boolean): void;
  setIce(o: { localUfrag: string; localPwd: string; remoteUfrag?: string; consentTimeoutMs?: number }): void;
  clearIce(): void;
  setRtcpMux(on: boolean): void;
  stats(): NativeSecureStats;
  takeEvents(): NativeSecureEvent[];
  onEvents(cb: () => void): void;
  close(): void;
}

export interface NativeDtlsCertificate {
  fingerprint(algorithm?: string): string;
  certificatePem(): string;
}

export interface NativeSecureAddon {
  SecureTransport: new (session: NativeRtpSession) => NativeSecureTransport;
  DtlsCertificate: new (certOrGenerated: unknown, keyPem?: string) => NativeDtlsCertificate;
  generateDtlsIdentity(commonName?: string): Promise<unknown>;
  srtpSuites: { name: string; masterLength: number }[];
}

export function secureAddon(): NativeSecureAddon {
  return addon() as unknown as NativeSecureAddon;
}
