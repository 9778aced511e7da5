/**
 * The rtpengine "ng" control protocol, as Kamailio's rtpengine module speaks
 * it: each message is a cookie, one space and a bencoded dictionary; the
 * reply carries the same cookie. This module reads requests into a typed,
 * normalized model (ngParse, ngArgs), formats replies (ngReply), caches
 * replies by cookie so that a retransmitted request gets the same bytes
 * without running again (ngReplyCache), and splits a TCP byte stream into
 * messages (ngStream). It opens no socket and touches no call: the daemon
 * (`rtp-media-server serve`) wires it to MediaServer.
 *
 * docs/control-protocol.md lists the commands and options and what Kamailio
 * sends.
 */
export * from './ngTypes';
export { splitMessage, parseRtppFlags, NG_MAX_UNKNOWN_FLAGS, NG_MAX_UNKNOWN_FLAG_CHARS, type NgFrame } from './ngArgs';
export { parseRequest, type ParseOptions } from './ngParse';
export * from './ngReply';
export { NgReplyCache, type ReplyCacheOptions } from './ngReplyCache';
export { NgStreamDecoder, type StreamDecoderOptions } from './ngStream';
