/** The RTP endpoint of a new MediaLeg: the one given (set to the leg's media), or one of its own. */
import { InvalidArgumentError } from '../errors';
import { profileOf, type ResolvedMedia } from '../media/resolve';
import { RtpEndpoint } from '../rtp/RtpEndpoint';
import type { MediaLegOptions } from './types';

export function legEndpoint(name: string, opts: MediaLegOptions, media: ResolvedMedia | undefined): RtpEndpoint {
  if (opts.endpoint) {
    if (media) opts.endpoint.setPayloadTypes(profileOf(media), media.payloadType);
    if (opts.remote) opts.endpoint.setRemote(opts.remote);
    return opts.endpoint;
  }
  if (!opts.local) throw new InvalidArgumentError(`${name}: give local { address } or an endpoint`);
  return new RtpEndpoint({
    address: opts.local.address,
    port: opts.local.port,
    rtcpPort: opts.local.rtcpPort,
    remote: opts.remote,
    payloadTypes: media ? profileOf(media) : undefined,
    payloadType: media?.payloadType,
    jitterBuffer: opts.jitterBuffer,
    rtcp: opts.rtcp,
  });
}
