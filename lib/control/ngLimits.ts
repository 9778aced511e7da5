/** Sizes the ng protocol code holds its input to (shared by ng.ts and ngStream.ts). */

/** Longest cookie accepted (Kamailio's are like "0_32690_1"; its buffer is 128 bytes). */
export const NG_MAX_COOKIE_BYTES = 256;
/** Largest request accepted, cookie included. */
export const NG_MAX_MESSAGE_BYTES = 256 * 1024;
/** What bencode.decode may build of one message. */
export const NG_DECODE_LIMITS = { maxDepth: 16, maxItems: 20_000, strings: 'auto', duplicateKeys: 'first' } as const;
