/** `rtp-media-server/tools`: a stand-in phone built from ms2 graphs, and WAV helpers, for demos and tests. */
export { AudioPeer, type AudioPeerOptions } from './AudioPeer';
export { readWav, writeWav, tone, type Pcm } from '../util/wav';
export { readWavInfo } from '../media/mediaRoots';
