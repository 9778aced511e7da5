/** `rtp-media-server/sdp`: the SDP parser and builder the sessions use, and the codec decisions of offer/answer. */
export { parseSdp } from './parse';
export {
  buildSdp,
  answerDirection,
  wantsToReceive,
  type SdpFormatSpec,
  type AudioSpec,
  type BuildOptions,
} from './build';
export type { SdpSession, SdpMedia, SdpFormat, Direction } from './model';
export {
  offerForB,
  chosenByAnswer,
  codecForA,
  ourOffer,
  usableFormats,
  TRANSCODABLE,
  type CodecPolicy,
} from '../session/negotiation';
