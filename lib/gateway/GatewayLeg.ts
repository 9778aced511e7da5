import { InvalidArgumentError } from '../errors';
import type { CodecInfo } from '../codecs/table';
import type { OpusSettings } from '../graph/filters';
import { profileOf, resolveMedia, sameCoding, type LegMedia, type ResolvedMedia } from '../media/resolve';
import { RtpEndpoint, type JitterBufferOptions, type RtpAddress, type RtpStats } from '../rtp/RtpEndpoint';

export interface GatewayLegOptions extends LegMedia {
  /** Local address to bind, and optional fixed ports (0/absent: a free even/odd pair). */
  local?: { address: string; port?: number; rtcpPort?: number };
  /** An endpoint bound beforehand (e.g. from a port pool); the gateway then does not close it. */
  endpoint?: RtpEndpoint;
  /** Where to send this leg's RTP. May be set later with leg.setRemote(). */
  remote?: RtpAddress;
  jitterBuffer?: Partial<JitterBufferOptions> | false;
  /** RTCP on this leg (default true). */
  rtcp?: boolean;
}

/** One side of a Gateway: its RTP endpoint and codec. */
export class GatewayLeg {
  readonly name: 'a' | 'b';
  readonly endpoint: RtpEndpoint;
  /** @internal */
  readonly ownsEndpoint: boolean;
  #media: ResolvedMedia;
  /** The endpoint's own jitter buffer, put back when the leg stops being relayed. */
  readonly #jitterBuffer: JitterBufferOptions | false;

  /** @internal */
  constructor(name: 'a' | 'b', opts: GatewayLegOptions) {
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError(`Expected options for gateway leg ${name}`);
    this.name = name;
    this.#media = resolveMedia(name, opts);
    if (opts.endpoint) {
      this.endpoint = opts.endpoint;
      this.ownsEndpoint = false;
      this.endpoint.setPayloadTypes(profileOf(this.#media), this.#media.payloadType);
      if (opts.remote) this.endpoint.setRemote(opts.remote);
    } else {
      if (!opts.local) throw new InvalidArgumentError(`gateway leg ${name}: give local { address } or an endpoint`);
      this.endpoint = new RtpEndpoint({
        address: opts.local.address,
        port: opts.local.port,
        rtcpPort: opts.local.rtcpPort,
        remote: opts.remote,
        payloadTypes: profileOf(this.#media),
        payloadType: this.#media.payloadType,
        jitterBuffer: opts.jitterBuffer,
        rtcp: opts.rtcp,
      });
      this.ownsEndpoint = true;
    }
    this.#jitterBuffer = this.endpoint.jitterBuffer;
  }

  /** @internal Relayed packets skip the jitter buffer (the peers have theirs); decoded ones use the leg's own. */
  useJitterBuffer(on: boolean): void {
    const want = on ? this.#jitterBuffer : false;
    if (want !== this.endpoint.jitterBuffer) this.endpoint.setJitterBuffer(want);
  }

  /** @internal */
  get media(): ResolvedMedia {
    return this.#media;
  }
  get codec(): CodecInfo {
    return this.#media.codec;
  }
  get payloadType(): number {
    return this.#media.payloadType;
  }
  get ptime(): number {
    return this.#media.ptime;
  }
  get fmtp(): string | undefined {
    return this.#media.fmtp;
  }
  get bitrate(): number | undefined {
    return this.#media.bitrate;
  }
  get opus(): OpusSettings | undefined {
    return this.#media.opus;
  }
  get telephoneEvent(): number | undefined {
    return this.#media.telephoneEvent;
  }
  get localPort(): number {
    return this.endpoint.port;
  }
  get localRtcpPort(): number {
    return this.endpoint.rtcpPort;
  }

  setRemote(remote: RtpAddress): void {
    this.endpoint.setRemote(remote);
  }

  stats(): RtpStats {
    return this.endpoint.stats();
  }

  /** @internal Validates and applies new media (graph detached). */
  setMedia(m: LegMedia): void {
    const next = resolveMedia(this.name, m, this.#media);
    this.endpoint.setPayloadTypes(profileOf(next), next.payloadType);
    this.#media = next;
  }

  /** @internal */
  sameFormatAs(other: GatewayLeg): boolean {
    return sameCoding(this.#media, other.#media);
  }
}
