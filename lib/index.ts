export * from './errors';
export { Factory, type FilterDescription } from './graph/Factory';
export { Filter, type FilterEvents, type FilterNotification, type LinkOptions } from './graph/Filter';
export * from './graph/filters';
export { Graph } from './graph/Graph';
export { Ticker, type TickerOptions, type TickerPriority, type TickerStats } from './graph/Ticker';
export type { MethodName } from './graph/methods';
export * from './rtp/RtpEndpoint';
export * from './codecs/table';
export * from './gateway/Gateway';
export { setNativeLogLevel } from './util/log';
export { AudioPeer, type AudioPeerOptions } from './tools/AudioPeer';
export { readWav, writeWav, tone, type Pcm } from './util/wav';
export {
  MediaServer,
  UnknownCallError,
  AdmissionError,
  type AdmissionLimits,
  type ServerLoad,
  type MediaServerOptions,
  type MediaServerEvents,
} from './session/MediaServer';
export {
  MediaSession,
  DuplicateOfferError,
  type SessionInfo,
  type SessionSummary,
  type SessionState,
  type LegInfo,
} from './session/MediaSession';
export { NoCommonCodecError, type CodecPolicy } from './session/negotiation';
export { PortPool, PortsExhaustedError } from './session/PortPool';
export { TickerPool } from './session/TickerPool';
export { parseSdp, SdpError } from './sdp/parse';
export { buildSdp, answerDirection } from './sdp/build';
export type { SdpSession, SdpMedia, SdpFormat, Direction } from './sdp/model';
export * from './codecs/fmtp';
export type {
  NativeRtcpPacket,
  NativeReportBlock,
  NativeXrConfig,
  NativeXrMedia,
  NativeQualityIndicator,
  NativeRxQuality,
  NativeRxQualityConfig,
  NativeXrFill,
} from './native';
export { gatewayQualitySources, type GatewayQualityInfo } from './gateway/qualitySources';
export * from './quality';
export { CallLeg } from './ivr/CallLeg';
export type {
  CallLegOptions,
  CallLegEvents,
  CallLegMode,
  DtmfDigit,
  DtmfSource,
  PlayOptions,
  PlayResult,
  PlayEndReason,
  RecordOptions,
  RecordResult,
  RecordEndReason,
  CollectOptions,
  CollectResult,
  CollectEndReason,
  SendDtmfOptions,
} from './ivr/CallLeg';
export { MediaRoots, readWavInfo, type WavInfo } from './ivr/mediaRoots';
export { Conference, type ConferenceOptions, type ConferenceEvents } from './ivr/Conference';
export {
  validateFlow,
  loadFlow,
  runFlow,
  flowJsonSchema,
  FLOW_NODE_TYPES,
  type Flow,
  type FlowNode,
  type FlowHandlers,
  type FlowRunOptions,
  type FlowResult,
} from './ivr/flow';
export * as bencode from './control/bencode';
export * as ng from './control/ng';
export type { IvrAnswer } from './ivr/answer';
export * as daemon from './daemon';
