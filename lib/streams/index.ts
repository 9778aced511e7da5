/** Audio streams of a leg: forks to WebSockets or Readables, injection, voice activity (docs/streams.md). */
export type { AudioFork, AudioForkEvents, AudioForkStats } from './AudioFork';
export type { AudioInject, AudioInjectEvents, AudioInjectStats } from './AudioInject';
export type {
  ForkOptions,
  InjectOptions,
  InjectMode,
  ReconnectOptions,
  StreamDirection,
  StreamFormat,
  StreamRate,
  VoiceOptions,
} from './options';
export type { VoiceActivity } from '../graph/streamFilters';
