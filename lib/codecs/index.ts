/** `rtp-media-server/codecs`: the codec table (SDP name, ms2 format, rates, ptimes, costs) and fmtp helpers. */
export * from './table';
export * from './fmtp';
