/**
 * The Gateway's two legs as QualityLegSource (lib/quality/source.ts), so the
 * quality layer reads them without knowing the Gateway. The application
 * adds what only it knows: the SIP dialog of each leg, the addresses as
 * written in SDP, whether the peer sends (hold).
 */
import type { CodecInfo } from '../codecs/table';
import type { LegDialog, PlcKind, QualityEndpoint, QualityLegSource } from '../quality/source';
import type { RtpAddress } from '../rtp/RtpEndpoint';

/** What the adapter reads of a gateway (a structural type: no import of Gateway, no cycle). */
export interface GatewayLike {
  readonly closed: boolean;
  readonly relayed: boolean;
  readonly a: GatewayLegLike;
  readonly b: GatewayLegLike;
  plc(leg: 'a' | 'b'): PlcKind;
  audioLevel(leg: 'a' | 'b'): number | undefined;
  speechLevel(leg: 'a' | 'b'): number | undefined;
}
interface GatewayLegLike {
  readonly codec: CodecInfo;
  readonly payloadType: number;
  readonly ptime: number;
  readonly fmtp?: string;
  readonly endpoint: QualityEndpoint & { address: string; port: number; readonly remote?: RtpAddress };
}

export interface GatewayQualityInfo {
  dialog?: (leg: 'a' | 'b') => LegDialog | undefined;
  /** Addresses as advertised; default the endpoint's bound address and its remote. */
  addresses?: (leg: 'a' | 'b') => ReturnType<QualityLegSource['addresses']>;
  receiving?: (leg: 'a' | 'b') => boolean;
}

export function gatewayQualitySources(
  gw: GatewayLike,
  info: GatewayQualityInfo = {},
): { a: QualityLegSource; b: QualityLegSource } {
  const source = (n: 'a' | 'b'): QualityLegSource => {
    const leg = () => (n === 'a' ? gw.a : gw.b);
    return {
      media: () => {
        const l = leg();
        return { codec: l.codec, payloadType: l.payloadType, ptimeMs: l.ptime, fmtp: l.fmtp };
      },
      endpoint: leg().endpoint,
      plc: () => (gw.relayed ? 'relayed' : gw.plc(n)),
      audioLevel: () => (gw.closed ? undefined : gw.audioLevel(n)),
      speechLevel: () => gw.speechLevel(n),
      addresses: () => {
        if (info.addresses) return info.addresses(n);
        const ep = leg().endpoint;
        const r = ep.remote;
        return { local: { ip: ep.address, port: ep.port }, remote: r ? { ip: r.address, port: r.port } : undefined };
      },
      dialog: () => info.dialog?.(n),
      receiving: () => info.receiving?.(n) ?? true,
    };
  };
  return { a: source('a'), b: source('b') };
}
