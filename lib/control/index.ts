/** `rtp-media-server/ng`: rtpengine's ng control protocol - the strict bencode codec and the request/reply model. */
export * as bencode from './bencode';
export * from './ng';
