/**
 * Per-call latching from the ng flags, as rtpengine reads them: an offer's
 * flags speak for the offerer's side, an answer's for the answerer's.
 *
 *  - `asymmetric`: the peer is not behind NAT; nothing is learnt from what
 *    arrives, media goes to the address its SDP says -> 'strict' (ours also
 *    takes media only from there)
 *  - `media-handover`: a new source takes the stream over -> 'always'
 *  - `strict-source`: after the first source, others are dropped -> 'once'
 *  - `symmetric`: latch (also on a daemon started with `--latch strict`) -> 'once'
 *  - none of these: the daemon's `--latch`
 */
import type { LatchMode } from '../rtp/RtpEndpoint';

export function latchFromFlags(flags: readonly string[]): LatchMode | undefined {
  if (flags.includes('asymmetric')) return 'strict';
  if (flags.includes('media-handover')) return 'always';
  if (flags.includes('strict-source') || flags.includes('symmetric')) return 'once';
  return undefined;
}
