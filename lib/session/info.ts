/** What a session tells about itself: per leg, and for the whole call (sessions(), stop()). */
import type { LegMode } from '../leg/types';
import type { MediaLeg } from '../leg/MediaLeg';
import type { RtpStats } from '../rtp/RtpEndpoint';
import type { VqSessionReport } from '../quality/vqreport';
import type { Direction } from '../sdp/model';
import type { LegSdp } from './legSdp';

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
