/** What a MediaServer lends its sessions: pools, addresses, codec policy and media settings. */
import type { Codec2Mode } from '../codecs/fmtp';
import type { CodecName } from '../codecs/table';
import type { Factory } from '../graph/Factory';
import type { ForwardPlane } from '../forward/ForwardPlane';
import type { OpusSettings } from '../graph/filters';
import type { MediaRoots } from '../media/mediaRoots';
import type { QualityOptions } from '../quality/QualityMonitor';
import type { JitterBufferOptions, LatchMode } from '../rtp/RtpEndpoint';
import type { PortPool } from './PortPool';
import type { TickerPool } from './TickerPool';

export interface SessionContext {
  factory: Factory;
  ports: PortPool;
  tickers: TickerPool;
  bindAddress: string;
  advertisedAddress: string;
  /** The local address of that IP version (throws SdpError when the server has none). */
  bindAddressFor(ipVersion: 4 | 6): string;
  /** The address to write into SDP for a local address. */
  advertise(local: string): string;
  codecs: CodecName[];
  transcode: boolean;
  prefer: 'offerer' | 'cost';
  /** Quality monitoring of answered calls; undefined: off. */
  quality?: QualityOptions;
  endpointOptions: {
    rtcp?: boolean;
    jitterBuffer?: Partial<JitterBufferOptions> | false;
    latch?: LatchMode;
  };
  /** Opus encoder settings for legs that send Opus. */
  opus?: OpusSettings;
  /** The Codec2 mode assumed when a peer's fmtp names none. */
  codec2Mode?: Codec2Mode;
  /** Packet loss concealment on transcoded directions; default true. */
  plc?: boolean;
  /** Media roots of IVR legs when the call gives none. */
  mediaRoots?: MediaRoots;
  /** The forwarding plane same-codec bridges relay through (made on first use); undefined: ms2 relay graphs. */
  forwarder?: () => ForwardPlane;
}
