/**
 * rtp-media-server: what an application constructs or receives. Everything
 * else sits behind subpath exports: `rtp-media-server/daemon` (the ng
 * daemon as a library), `/ng` (the control protocol codec), `/quality`
 * (E-model, RFC 6035 reports, the monitor), `/sdp`, `/codecs`, `/tools`
 * (a stand-in phone, WAV helpers) and `/errors` (every error class).
 */

// calls
export { MediaServer } from './session/MediaServer';
export type {
  MediaServerOptions,
  MediaServerEvents,
  IvrAnswer,
  AdmissionLimits,
  ServerLoad,
} from './session/MediaServer';
export { MediaSession } from './session/MediaSession';
export type {
  AnswerOptions,
  SessionEvents,
  SessionKind,
  SessionState,
  SessionInfo,
  SessionSummary,
  LegInfo,
  LegDialog,
} from './session/info';
export type { CodecPolicy } from './session/negotiation';

// legs and what runs on them
export { MediaLeg } from './leg/MediaLeg';
// received from a session or a leg (leg.bridge), never constructed
export type { Bridge, BridgeOptions, BridgeEvents, BridgedLeg } from './leg/Bridge';
export type * from './leg/types';
// audio streams of a leg (MediaLeg.fork(), inject(), detectVoice()): received, never constructed
export type * from './streams';
export { Conference } from './ivr/Conference';
export type { ConferenceOptions, ConferenceEvents } from './ivr/Conference';
export { MediaRoots } from './media/mediaRoots';
export type { WavInfo } from './media/mediaRoots';
export { runFlow, validateFlow, loadFlow } from './ivr/flow';
export type { Flow, FlowNode, FlowHandlers, FlowRunOptions, FlowResult } from './ivr/flow';

// the transcoding gateway and the graph API underneath
export { Gateway } from './gateway/Gateway';
export type {
  GatewayOptions,
  GatewayLegOptions,
  GatewayLeg,
  GatewayEvents,
  GatewayDigit,
  GatewayDirection,
  GatewayPlayResult,
  GatewayPlayEndReason,
  LegMedia,
  LegLossMetrics,
  PlcKind,
} from './gateway/Gateway';
export { Factory } from './graph/Factory';
export type { FilterDescription } from './graph/Factory';
export { Filter } from './graph/Filter';
export type { FilterEvents, FilterNotification, LinkOptions } from './graph/Filter';
export type * from './graph/filters';
export { Graph } from './graph/Graph';
export { Ticker } from './graph/Ticker';
export type { TickerOptions, TickerPriority, TickerStats } from './graph/Ticker';
export type { MethodName } from './graph/methods';
export { RtpEndpoint } from './rtp/RtpEndpoint';
export type {
  RtpEndpointOptions,
  RtpAddress,
  RtpStats,
  RtpInfo,
  JitterBufferOptions,
  LatchMode,
  PayloadTypeSpec,
  TelephoneEvent,
  TelephoneEventEnd,
} from './rtp/RtpEndpoint';
export { setNativeLogLevel, routeNativeLog, type NativeLogRoute, type NativeLogOptions } from './util/log';
export type { Logger, LogFn } from './util/logger';

// quality reports
export { formatVqReport, parseVqReport } from './quality/vqreport';
export { buildVqPublish } from './quality/publish';
export type { VqReport, VqSessionReport, VqIntervalReport, VqAlertReport, VqMetrics } from './quality/vqreport';

// the errors an application meets most (all of them: rtp-media-server/errors)
export {
  RmsError,
  InvalidArgumentError,
  InvalidStateError,
  SdpError,
  NoCommonCodecError,
  UnknownCallError,
  AdmissionError,
  DuplicateOfferError,
  PortsExhaustedError,
  MediaFileError,
  NativeLibraryError,
} from './errors';
