/**
 * The codec decisions of the B2BUA, separate from sockets and graphs so they
 * can be tested on SDP alone: what to offer to B given A's offer, which codec
 * each leg uses once B answered, and whether media is relayed or transcoded.
 */
import { CODECS, findCodec, type CodecInfo, type CodecName } from '../codecs/table';
import { codec2FrameMs, parseCodec2Fmtp, parseFmtpPairs, type Codec2Mode } from '../codecs/fmtp';
import { NoCommonCodecError } from '../errors';
import type { SdpFormatSpec } from '../sdp/build';
import type { SdpFormat, SdpMedia } from '../sdp/model';

/** Codecs we can decode and encode, from the codec table. */
export const TRANSCODABLE: CodecName[] = Object.values(CODECS)
  .filter((c) => c.kind === 'audio' && c.mime)
  .map((c) => c.name);

/** Default fmtp we write when we offer a codec ourselves. */
const OUR_FMTP: Partial<Record<CodecName, string>> = {
  G729: 'annexb=no',
  CODEC2: 'mode=2400',
  opus: 'useinbandfec=1',
};

/** The fmtp we offer for `name`; Codec2 names the mode the server assumes. */
function ourFmtp(name: CodecName, codec2Mode?: Codec2Mode): string | undefined {
  return name === 'CODEC2' && codec2Mode !== undefined ? `mode=${codec2Mode}` : OUR_FMTP[name];
}

/**
 * The a=ptime of an offer: the one given, made a multiple of 40 when we offer
 * Codec2 in a 40 ms mode (peers like baresip encode at the ptime they are
 * offered, one frame per packet).
 */
export function offerPtime(formats: SdpFormatSpec[], ptime?: number): number | undefined {
  const c2 = formats.find((f) => f.name.toUpperCase() === 'CODEC2' && parseFmtpPairs(f.fmtp).has('mode'));
  if (!c2) return ptime;
  const frame = codec2FrameMs(parseCodec2Fmtp(c2.fmtp).mode);
  return ptime === undefined ? (frame > 20 ? frame : undefined) : ptime % frame === 0 ? ptime : frame;
}

export function isTelephoneEvent(f: SdpFormat): boolean {
  return f.name.toLowerCase() === 'telephone-event' && f.clockRate === 8000;
}

/** Audio formats of an m-line that we can process, in the offerer's order. */
export function usableFormats(m: SdpMedia): SdpFormat[] {
  return m.formats.filter((f) => f.codec && f.codec.kind === 'audio' && f.codec.mime);
}

export function sameFormat(x: { name: string; fmtp?: string }, y: { name: string; fmtp?: string }): boolean {
  if (x.name.toLowerCase() !== y.name.toLowerCase()) return false;
  // a Codec2 line without a mode is any mode: what it sends is read from the wire
  if (x.name.toUpperCase() === 'CODEC2') {
    if (!parseFmtpPairs(x.fmtp).has('mode') || !parseFmtpPairs(y.fmtp).has('mode')) return true;
    return parseCodec2Fmtp(x.fmtp).mode === parseCodec2Fmtp(y.fmtp).mode;
  }
  return true;
}

export function toSpec(f: SdpFormat | SdpFormatSpec): SdpFormatSpec {
  return { pt: f.pt, name: f.name, clockRate: f.clockRate, channels: f.channels, fmtp: f.fmtp };
}

/**
 * Per-call codec rules for the offer to B, as a SIP proxy gives them (the ng
 * protocol's `codec` options). Names are SDP encoding names, compared without
 * regard to case (RFC 4855); for the caller's own formats a payload type
 * number works too. `all` (or `full`) in strip/mask means every codec of the
 * caller, telephone-event included, except those listed in `except` (kept
 * in place) or `offer` (added back in its order); an `all` that would leave
 * nothing to offer (nothing spared or transcoded) is not applied. As in
 * rtpengine, `telephone-event` can be stripped or masked by name too.
 */
export interface CodecPolicy {
  /**
   * Removed from the callee's offer, and not used towards the caller either
   * (unless the caller offered nothing else: the answer to the caller must
   * carry one of its own codecs).
   */
  strip?: string[];
  /** Removed from the callee's offer only: still used towards the caller, transcoded. */
  mask?: string[];
  /** Added to the callee's offer after the caller's codecs, transcoded when the callee picks them. */
  transcode?: string[];
  /**
   * Caller's codecs offered to the callee even when strip/mask took them,
   * added back in this order after those kept (rtpengine's `codec-offer`:
   * it does not move the codecs nobody took).
   */
  offer?: string[];
  /** Spared by strip/mask `all`. */
  except?: string[];
}

/** The codec name of a policy entry (`opus/48000/2` -> `opus`). */
function entryName(entry: string): string {
  return entry.split('/')[0].trim().toLowerCase();
}

function listMatches(list: readonly string[] | undefined, f: { pt?: number; name: string }): boolean {
  if (!list?.length) return false;
  const name = f.name.toLowerCase();
  return list.some(
    (e) => entryName(e) === name || (f.pt !== undefined && /^\d+$/.test(e.trim()) && Number(e) === f.pt),
  );
}

const TE = { name: 'telephone-event' };

function hasAll(list: readonly string[] | undefined): boolean {
  return !!list?.some((e) => e === 'all' || e === 'full');
}

/**
 * Whether the policy keeps a caller's format (telephone-event included, as
 * rtpengine does) out of the callee's offer.
 */
function hiddenFromB(p: CodecPolicy, f: { pt?: number; name: string }): boolean {
  if (listMatches(p.strip, f) || listMatches(p.mask, f)) return true;
  return (hasAll(p.strip) || hasAll(p.mask)) && !listMatches(p.except, f);
}

/** Whether the policy keeps a caller's format from being used on the caller's leg. */
export function avoidedForA(p: CodecPolicy | undefined, f: SdpFormat): boolean {
  if (!p) return false;
  if (listMatches(p.strip, f)) return true;
  return hasAll(p.strip) && !listMatches(p.except, f) && !listMatches(p.offer, f);
}

/** Codec names of a policy's transcode list that the codec table cannot transcode. */
export function unknownTranscodeCodecs(p: CodecPolicy | undefined): string[] {
  return (p?.transcode ?? []).filter((e) => {
    const c = findCodec(entryName(e));
    return !c || !TRANSCODABLE.includes(c.name);
  });
}

/**
 * What we offer to B: A's usable codecs first (so B can pick one and media is
 * relayed untouched), minus what the call's policy strips or masks, plus
 * what its `offer` brings back; then the policy's transcode codecs; then,
 * when transcoding is allowed server-wide, the codecs of `preference` A did
 * not offer, each with a payload type A's offer leaves free; then
 * telephone-event unless the policy took it.
 */
export function offerForB(
  a: SdpMedia,
  preference: CodecName[],
  transcode: boolean,
  policy: CodecPolicy = {},
  codec2Mode?: Codec2Mode,
): SdpFormatSpec[] {
  const usable = usableFormats(a);
  if (usable.length === 0) {
    const offered = a.formats.map((f) => f.name || String(f.pt)).join(', ');
    throw new NoCommonCodecError(
      `No common codec: offered ${offered || 'nothing'}; supported ${TRANSCODABLE.join(', ')}`,
    );
  }
  let out: SdpFormatSpec[] = usable.filter((f) => !hiddenFromB(policy, f)).map(toSpec);
  // `offer` brings back what strip/mask took, in its own order (it moves nothing else)
  for (const e of policy.offer ?? [])
    for (const f of usable) if (listMatches([e], f) && !out.some((o) => o.pt === f.pt)) out.push(toSpec(f));
  const used = new Set(a.formats.map((f) => f.pt));
  const freePt = (wanted?: number) => {
    if (wanted !== undefined && !used.has(wanted)) return wanted;
    for (let pt = 96; pt <= 127; pt++) if (!used.has(pt)) return pt;
    return undefined;
  };
  const add = (name: string, explicit: boolean) => {
    const c = findCodec(name);
    if (!c || !c.mime || out.some((f) => sameFormat(f, { name: c.name, fmtp: ourFmtp(c.name, codec2Mode) }))) return;
    // a codec the policy hid comes back only when asked for by name
    if (!explicit && (listMatches(policy.strip, { name: c.name }) || listMatches(policy.mask, { name: c.name })))
      return;
    const own = usable.find((f) => sameFormat(f, { name: c.name, fmtp: ourFmtp(c.name, codec2Mode) }));
    if (own) return void out.push(toSpec(own)); // stripped from A's list, transcoded back in: A's own format
    const pt = c.staticPt ?? freePt(c.dynamicPt);
    if (pt === undefined || (c.staticPt !== undefined && used.has(pt))) return;
    used.add(pt);
    out.push({ pt, name: c.name, clockRate: c.clockRate, channels: c.sdpChannels, fmtp: ourFmtp(c.name, codec2Mode) });
  };
  for (const e of policy.transcode ?? []) add(entryName(e), true);
  if (transcode) for (const name of preference) add(name, false);
  // `all` that leaves nothing (no except, nothing transcoded) is not applied, as rtpengine does
  const allIgnored = out.length === 0 && (hasAll(policy.strip) || hasAll(policy.mask));
  if (allIgnored) out = usable.filter((f) => !listMatches(policy.strip, f) && !listMatches(policy.mask, f)).map(toSpec);
  if (out.length === 0)
    throw new NoCommonCodecError(
      `The codec options leave nothing to offer to the callee (offered ${usable.map((f) => f.name).join(', ')})`,
    );
  const te = a.formats.find(isTelephoneEvent);
  const tePt = te ? te.pt : freePt(101);
  const teHidden = allIgnored ? listMatches(policy.strip, TE) || listMatches(policy.mask, TE) : hiddenFromB(policy, TE);
  if (tePt !== undefined && !teHidden)
    out.push({ pt: tePt, name: 'telephone-event', clockRate: 8000, fmtp: te?.fmtp ?? '0-16' });
  return out;
}

/**
 * Our own offer (an outbound leg): `first` (e.g. the codec the other leg
 * already uses, so that a peer taking it is relayed), then our codecs in
 * preference order minus what the policy strips, then telephone-event.
 */
export function ourOffer(
  preference: CodecName[],
  policy: CodecPolicy = {},
  first: SdpFormat[] = [],
  codec2Mode?: Codec2Mode,
): SdpFormatSpec[] {
  const out: SdpFormatSpec[] = first.map(toSpec);
  const used = new Set(out.map((f) => f.pt));
  const dynamic = () => {
    for (let pt = 96; pt <= 127; pt++) if (!used.has(pt)) return pt;
    return undefined;
  };
  for (const name of [...(policy.transcode ?? []).map(entryName), ...preference]) {
    const c = findCodec(name);
    if (!c || !c.mime || out.some((f) => sameFormat(f, { name: c.name, fmtp: ourFmtp(c.name, codec2Mode) }))) continue;
    if (listMatches(policy.strip, { name: c.name }) || listMatches(policy.mask, { name: c.name })) continue;
    const pt = c.staticPt ?? (c.dynamicPt !== undefined && !used.has(c.dynamicPt) ? c.dynamicPt : dynamic());
    if (pt === undefined || used.has(pt)) continue;
    used.add(pt);
    out.push({ pt, name: c.name, clockRate: c.clockRate, channels: c.sdpChannels, fmtp: ourFmtp(c.name, codec2Mode) });
  }
  if (out.length === 0) throw new NoCommonCodecError('The codec options leave nothing to offer');
  const te = used.has(101) ? dynamic() : 101;
  if (te !== undefined && !listMatches(policy.strip, TE) && !listMatches(policy.mask, TE))
    out.push({ pt: te, name: 'telephone-event', clockRate: 8000, fmtp: '0-16' });
  return out;
}

/** B's choice: the first format of its answer that we offered. */
export function chosenByAnswer(answer: SdpMedia, offered: SdpFormatSpec[]): SdpFormat {
  for (const f of usableFormats(answer)) if (offered.some((o) => sameFormat(o, f))) return f;
  throw new NoCommonCodecError(
    `The answer picked no codec we offered (answered ${answer.formats.map((f) => f.name || f.pt).join(', ')})`,
  );
}

/**
 * Expected CPU of a call in µs per 20 ms, to spread calls over tickers:
 * RTP I/O, jitter buffers and RTCP of both legs, plus, when transcoded, the
 * codecs' work and the filters around them. Opus is counted at the 8-16 kHz
 * API rate and default complexity the gateway uses with narrow- and wideband
 * peers, not the table's 48 kHz figure. Measured on the project machine
 * (docs/benchmarks.md); only the ratios between calls matter.
 */
export function callCost(a: CodecInfo | null, b: CodecInfo | null, relay: boolean): number {
  const IO = 20;
  if (relay) return IO;
  const work = (c: CodecInfo | null) =>
    !c ? 0 : c.name === 'opus' ? OPUS_NB_COST : c.costUs ? c.costUs.encode + c.costUs.decode : OPUS_NB_COST;
  return IO + 5 + work(a) + work(b);
}

/** RmsOpusEnc at 8-16 kHz, complexity 5, plus the decoder (µs per 20 ms). */
const OPUS_NB_COST = 60;

/** Encode + decode cost of a codec per 20 ms frame (µs), from the codec table. */
function costOf(f: SdpFormat): number {
  const c = f.codec?.costUs;
  return c ? c.encode + c.decode : Number.MAX_SAFE_INTEGER;
}

/**
 * A's codec given B's: the same one when A offered it (relay, no decoding);
 * otherwise A's first usable one ('offerer', RFC 3264's preference order) or
 * the cheapest to transcode ('cost', from the codec table's measured costs).
 */
export function codecForA(
  a: SdpMedia,
  b: SdpFormat,
  prefer: 'offerer' | 'cost' = 'offerer',
  policy?: CodecPolicy,
): { format: SdpFormat; relay: boolean } {
  const usable = usableFormats(a);
  const same = usable.find((f) => sameFormat(f, b));
  if (same) return { format: same, relay: true };
  const allowed = usable.filter((f) => !avoidedForA(policy, f));
  const choices = allowed.length ? allowed : usable;
  if (prefer === 'cost')
    return { format: choices.reduce((best, f) => (costOf(f) < costOf(best) ? f : best)), relay: false };
  return { format: choices[0], relay: false };
}
