/**
 * The SDP state of one leg towards its SIP peer: the peer's current m-line,
 * what we wrote in our last SDP to it (formats, o= version), and the codec
 * both agreed on. Turning that into the leg's media and our SDP is here;
 * deciding the codecs (negotiation.ts) and running the media (MediaLeg) are
 * not.
 */
import { randomInt } from 'node:crypto';
import { ptimeOptions } from '../codecs/table';
import type { LegMedia } from '../media/resolve';
import type { RtpEndpoint } from '../rtp/RtpEndpoint';
import { buildSdp, type SdpFormatSpec } from '../sdp/build';
import type { Direction, SdpFormat, SdpMedia } from '../sdp/model';
import type { SessionContext } from './context';
import { toSpec } from './negotiation';

export class LegSdp {
  /** The o= session id of our SDPs to this leg (kept by a restored call). */
  readonly sessionId: string;
  #version = 0;
  /** The peer's current m-line (its offer or its answer). */
  media?: SdpMedia;
  /** Every m-line of the peer's last offer (an answer mirrors them all). */
  offeredMedia?: SdpMedia[];
  /** What we put in our last SDP to this leg. */
  /** The packet time imposed towards this leg (ng `ptime`): our SDP says it, and we send it (repacketised). */
  ptime?: number;
  ourFormats: SdpFormatSpec[] = [];
  format?: SdpFormat;
  telephoneEvent?: SdpFormat;
  /** The SDP we sent last. */
  last?: string;

  constructor(sessionId = String(randomInt(1, 2 ** 47))) {
    this.sessionId = sessionId;
  }

  get version(): number {
    return this.#version;
  }

  /** A restored call: the version and body our peer saw last (a replay made its own). */
  restore(version: number, last: string | undefined): void {
    this.#version = version;
    this.last = last;
  }

  /** Our formats become the agreed codec (and telephone-event when the peer has it): what an answer carries. */
  settle(): void {
    this.ourFormats = [toSpec(this.format!), ...(this.telephoneEvent ? [toSpec(this.telephoneEvent)] : [])];
  }

  /**
   * The leg's media: the agreed codec at the peer's ptime when the codec
   * allows it, or at the one imposed on this leg (`ptime`).
   */
  legMedia(ctx: SessionContext): LegMedia {
    const f = this.format!;
    const allowed = ptimeOptions(f.codec!, f.fmtp).allowed;
    const fixed = this.ptime !== undefined && allowed.includes(this.ptime);
    const want = fixed ? this.ptime : this.media?.ptime;
    const ptime = want && allowed.includes(want) ? want : undefined;
    const opus = f.codec!.name === 'opus' ? ctx.opus : undefined;
    return {
      codec: f.codec!.name,
      payloadType: f.pt,
      fmtp: f.fmtp,
      ptime,
      telephoneEvent: this.telephoneEvent?.pt,
      opus,
      codec2Mode: f.codec!.name === 'CODEC2' ? ctx.codec2Mode : undefined,
      fixedPtime: fixed || undefined,
    };
  }

  /**
   * Our SDP to this leg (an offer, or with `answering` an answer mirroring
   * the peer's m-lines). The o= version moves only when the SDP changed (RFC
   * 3264 8): the same answer to a 183 and its 200 is the same SDP.
   */
  build(
    ctx: SessionContext,
    endpoint: RtpEndpoint,
    o: { direction: Direction; ptime?: number; answering?: SdpMedia },
  ): string {
    const address = ctx.advertise(endpoint.address);
    const make = (version: number) =>
      buildSdp({
        sessionId: this.sessionId,
        version,
        address,
        audio: {
          address,
          port: endpoint.port,
          rtcpPort: endpoint.rtcpPort,
          formats: this.ourFormats,
          direction: o.direction,
          ptime: this.ptime ?? o.ptime,
        },
        offerMedia: o.answering ? this.offeredMedia : undefined,
        audioIndex: o.answering?.index,
      });
    if (this.last !== undefined && make(this.#version) === this.last) return this.last;
    this.last = make(++this.#version);
    return this.last;
  }
}
