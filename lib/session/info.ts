/** The shapes of a session: its events and answer options, and what it tells about itself (sessions(), stop()). */
import type { LegMode } from '../leg/types';
import type { MediaLeg } from '../leg/MediaLeg';
import type { LatchMode, RtpStats } from '../rtp/RtpEndpoint';
import type { VqSessionReport } from '../quality/vqreport';
import type { Direction } from '../sdp/model';
import type { LegSdp } from './legSdp';
import type { DtmfDigit } from '../leg/types';
import type { VqAlertReport, VqIntervalReport } from '../quality/vqreport';

/**
 * A leg's SIP dialog, as the application knows it, for the quality reports
 * (RFC 6035 CallID, LocalID, RemoteID, OrigID, DialogID): what we (the media
 * server's side of that dialog) and the peer are called in it.
 */
export interface LegDialog {
  /** Call-ID of this leg's dialog (a B2BUA's two dialogs have their own). */
  callId?: string;
  /** Our tag and the peer's tag in this dialog. */
  localTag?: string;
  remoteTag?: string;
  /** Our URI and the peer's (name-addr or URI), e.g. `"Alice" <sip:alice@example.com>`. */
  local?: string;
  remote?: string;
  /** Whether the peer of this leg started the call (OrigID is then the peer). */
  peerIsCaller?: boolean;
}

export interface LegInfo {
  name: string;
  /** The peer's tag (from-tag of the caller, to-tag of an answer). */
  tag?: string;
  state: 'offered' | 'early' | 'answered';
  mode?: LegMode;
  localPort: number;
  localRtcpPort: number;
  remote?: { address: string; port: number; rtcpPort: number };
  codec?: string;
  payloadType?: number;
  telephoneEvent?: number;
  /** Direction the peer asked for, from its own point of view. */
  direction?: Direction;
}

export interface SessionInfo {
  callId: string;
  kind: 'bridged' | 'ivr' | 'outbound';
  fromTag?: string;
  toTag?: string;
  state: 'offered' | 'early' | 'answered' | 'stopped';
  createdAt: Date;
  /** Both legs use one codec and packets are relayed without decoding. */
  relay: boolean;
  /** `a`: the caller (or our outbound leg); `b`: the callee media follows (absent for IVR calls). */
  legs: { a: LegInfo; b?: LegInfo };
  /** Other answers to our offer (fork branches in early media). */
  branches: LegInfo[];
}

export interface SessionSummary extends SessionInfo {
  durationMs: number;
  stats?: { a: RtpStats; b?: RtpStats };
  /**
   * RFC 6035 VQSessionReport: CallTerm per leg (what we measured on what the
   * leg sent us, and what its peer reported in RTCP XR), once media ran.
   */
  reports?: { a: VqSessionReport; b?: VqSessionReport };
}

/** A leg with its SDP state, as the session keeps it. */
export interface LegFacts {
  leg: MediaLeg;
  sdp: LegSdp;
  tag?: string;
  state: LegInfo['state'];
}

export function legInfo(leg: MediaLeg, sdp: LegSdp, tag: string | undefined, state: LegInfo['state']): LegInfo {
  const m = sdp.media;
  return {
    name: leg.name,
    tag,
    state,
    mode: leg.closed ? undefined : leg.mode,
    localPort: leg.localPort,
    localRtcpPort: leg.localRtcpPort,
    remote: m ? { address: m.address, port: m.port, rtcpPort: m.rtcpPort } : undefined,
    codec: sdp.format?.name,
    payloadType: sdp.format?.pt,
    telephoneEvent: sdp.telephoneEvent?.pt,
    direction: m?.direction,
  };
}

export type SessionState = 'offered' | 'early' | 'answered' | 'stopped';
export type SessionKind = 'bridged' | 'ivr' | 'outbound';

export interface SessionEvents {
  state: (state: SessionState) => void;
  /** A leg was added (a callee branch answered, an outbound leg was offered). */
  leg: (leg: MediaLeg) => void;
  /** A leg ended before the call (a losing fork branch), with its final report. */
  legEnd: (leg: MediaLeg, report: VqSessionReport | undefined) => void;
  /** A digit one of the legs sent. */
  dtmf: (leg: MediaLeg, digit: DtmfDigit) => void;
  /** A VQIntervalReport for a leg (MediaServerOptions.quality.intervalMs). */
  interval: (report: VqIntervalReport) => void;
  /** A VQAlertReport when a leg's MOS, loss, jitter or delay crosses a threshold, or clears. */
  alert: (report: VqAlertReport) => void;
  error: (err: unknown) => void;
}

export interface AnswerOptions {
  toTag?: string;
  /** An answer in a provisional response (183 with SDP): early media, the call is not answered yet. */
  provisional?: boolean;
  /** Which of our offers it answers (offerBranch()); default the one with this to-tag, else the first. */
  branch?: string;
  /** The leg it answers, for an outbound leg offered with offerLeg() (default: the callee side / leg a). */
  leg?: string;
  /**
   * A final answer normally ends the other branches; keep them (a control
   * protocol that cannot tell an 18x from a 200, like rtpengine's ng).
   */
  keepBranches?: boolean;
  /** The answerer's dialog, for the quality reports. */
  dialog?: LegDialog;
  /** Who may send media to the answering leg (RtpEndpointOptions.latch); default the server's. */
  latch?: LatchMode;
  /** Packet time imposed towards the caller (ng `ptime` of an answer), ms. */
  ptime?: number;
}

/** The legs part of SessionInfo: `a`, the callee `b` media follows (or our offer waiting for it), the other branches. */
export function legsInfo(
  a: LegFacts,
  b: LegFacts | undefined,
  callees: LegFacts[],
  slot: { endpoint: { port: number; rtcpPort: number } } | undefined,
): Pick<SessionInfo, 'legs' | 'branches'> {
  const of = (e: LegFacts) => legInfo(e.leg, e.sdp, e.tag, e.state);
  const offered = slot && {
    name: 'b',
    localPort: slot.endpoint.port,
    localRtcpPort: slot.endpoint.rtcpPort,
    state: 'offered' as const,
  };
  return {
    legs: { a: of(a), b: b ? of(b) : offered },
    branches: callees.filter((e) => e !== b).map(of),
  };
}
