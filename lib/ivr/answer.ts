/**
 * Answering an SDP offer with an IVR leg: the media server terminates the
 * call itself (prompts, digits, recording, conference) instead of bridging
 * it to a callee. Used by MediaServer.ivr().
 */
import { parseSdp, SdpError } from '../sdp/parse';
import { answerDirection, buildSdp } from '../sdp/build';
import type { CodecName } from '../codecs/table';
import { ptimeOptions } from '../codecs/table';
import { NoCommonCodecError, callCost, isTelephoneEvent, toSpec, usableFormats } from '../session/negotiation';
import type { SessionContext } from '../session/MediaSession';
import { CallLeg } from './CallLeg';
import type { MediaRoots } from './mediaRoots';

export interface IvrAnswer {
  leg: CallLeg;
  /** The SDP answer for the caller. */
  answerSdp: string;
}

export function answerWithIvr(
  ctx: SessionContext,
  sdp: string,
  opts: { mediaRoots?: MediaRoots | string[]; codecs?: CodecName[] },
): IvrAnswer {
  const offer = parseSdp(sdp);
  const m = offer.audio;
  if (!m) throw new SdpError('SDP: no usable audio m-line (RTP/AVP or RTP/AVPF with a non-zero port)');
  const mine = opts.codecs ?? ctx.codecs;
  // the offerer's first codec we run
  const format = usableFormats(m).find((f) => mine.includes(f.codec!.name as CodecName));
  if (!format)
    throw new NoCommonCodecError(
      `None of the offered codecs (${m.formats.map((f) => f.name || f.pt).join(', ')}) is one of ours (${mine.join(', ')})`,
    );
  const te = m.formats.find(isTelephoneEvent);
  const allowed = ptimeOptions(format.codec!, format.fmtp).allowed;
  const ptime = m.ptime && allowed.includes(m.ptime) ? m.ptime : undefined;
  const endpoint = ctx.ports.bind({ address: ctx.bindAddressFor(m.ipVersion), ...ctx.endpointOptions });
  // one leg's I/O and its codec's work, for placing it among the calls
  const cost = callCost(format.codec!, format.codec!, false) / 2;
  const ticker = ctx.tickers.acquire(cost);
  let leg: CallLeg;
  try {
    leg = new CallLeg({
      name: 'ivr',
      endpoint,
      factory: ctx.factory,
      ticker,
      codec: format.codec!.name,
      payloadType: format.pt,
      fmtp: format.fmtp,
      ptime,
      telephoneEvent: te?.pt,
      mediaRoots: opts.mediaRoots,
    });
  } catch (err) {
    ctx.ports.release(endpoint);
    ctx.tickers.release(ticker, cost);
    throw err;
  }
  if (!m.zeroAddressHold) leg.setRemote({ address: m.address, port: m.port, rtcpPort: m.rtcpPort });
  leg.on('close', () => {
    ctx.ports.release(endpoint);
    ctx.tickers.release(ticker, cost);
  });
  const address = ctx.advertise(endpoint.address);
  const answerSdp = buildSdp({
    sessionId: String(Date.now()),
    version: 1,
    address,
    audio: {
      address,
      port: endpoint.port,
      rtcpPort: endpoint.rtcpPort,
      formats: [toSpec(format), ...(te ? [toSpec(te)] : [])],
      direction: answerDirection(m.direction, 'sendrecv'),
      ptime,
    },
    offerMedia: offer.media,
    audioIndex: m.index,
  });
  return { leg, answerSdp };
}
