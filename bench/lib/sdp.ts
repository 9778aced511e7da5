/** SDP of the load generator's two phones: a PCMU caller and a callee in the codec under test. */

export interface CodecSpec {
  /** SDP encoding name. */
  name: string;
  rtpmap: string;
  pt: number;
  fmtp?: string;
}

/** What the callee (leg b) uses for each codec under test. */
export const CALLEE_CODECS: Record<string, CodecSpec> = {
  PCMU: { name: 'PCMU', rtpmap: 'PCMU/8000', pt: 0 },
  PCMA: { name: 'PCMA', rtpmap: 'PCMA/8000', pt: 8 },
  G722: { name: 'G722', rtpmap: 'G722/8000', pt: 9 },
  G729: { name: 'G729', rtpmap: 'G729/8000', pt: 18, fmtp: 'annexb=no' },
  opus: { name: 'opus', rtpmap: 'opus/48000/2', pt: 111, fmtp: 'stereo=0; sprop-stereo=0' },
  CODEC2: { name: 'CODEC2', rtpmap: 'CODEC2/8000', pt: 96, fmtp: 'mode=2400' },
};

const TE = 101;

function sdp(port: number, formats: { pt: number; rtpmap: string; fmtp?: string }[], te: number | undefined): string {
  const pts = [...formats.map((f) => f.pt), ...(te !== undefined ? [te] : [])];
  const lines = [
    'v=0',
    `o=bench ${port} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
  ];
  for (const f of formats) {
    lines.push(`a=rtpmap:${f.pt} ${f.rtpmap}`);
    if (f.fmtp) lines.push(`a=fmtp:${f.pt} ${f.fmtp}`);
  }
  if (te !== undefined) lines.push(`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} 0-16`);
  lines.push('a=ptime:20', 'a=sendrecv');
  return lines.join('\r\n') + '\r\n';
}

/**
 * A phone's SDP with one codec (CALLEE_CODECS entry, at payload type `pt`)
 * and, unless `te` is false, telephone-event: for the bench scripts that
 * drive MediaServer directly (admission, leaks, soak).
 */
export function phoneSdp(port: number, codec: string, opts: { pt?: number; te?: boolean } = {}): string {
  const c = CALLEE_CODECS[codec];
  if (!c) throw new Error(`no bench SDP for ${codec}`);
  return sdp(port, [{ ...c, pt: opts.pt ?? c.pt }], opts.te === false ? undefined : TE);
}

/** The caller's offer: PCMU and telephone-event, like most phones. */
export function callerOffer(port: number): string {
  return sdp(port, [{ pt: 0, rtpmap: 'PCMU/8000' }], TE);
}

/** Payload type of `codec` in an SDP offer (and of telephone-event), by rtpmap. */
export function payloadTypeIn(offer: string, codec: string, exact = false): number | undefined {
  const re = new RegExp(`^a=rtpmap:(\\d+) ${codec}${exact ? '\\b' : '/'}`, 'im');
  const m = re.exec(offer);
  return m ? Number(m[1]) : undefined;
}

/**
 * The callee's answer to a server's offer: only `codec` (with the payload
 * type the offer gave it) and telephone-event if offered.
 */
export function answerFor(offer: string, codec: string, port: number): { sdp: string; pt: number } {
  const spec = CALLEE_CODECS[codec];
  if (!spec) throw new Error(`no callee spec for ${codec}`);
  const pt = payloadTypeIn(offer, spec.name);
  if (pt === undefined) throw new Error(`the offer has no ${codec}:\n${offer}`);
  const te = payloadTypeIn(offer, 'telephone-event/8000', true);
  return { sdp: sdp(port, [{ pt, rtpmap: spec.rtpmap, fmtp: spec.fmtp }], te), pt };
}

/** The port of the (first) audio m-line. */
export function audioPort(s: string): number {
  const m = /^m=audio (\d+) /m.exec(s);
  if (!m) throw new Error(`no m=audio in\n${s}`);
  return Number(m[1]);
}

/** Payload type of `codec` in an answer (the first format of its m-line if absent by name). */
export function answeredPt(s: string, codec: string): number {
  return payloadTypeIn(s, codec) ?? Number(/^m=audio \d+ \S+ (\d+)/m.exec(s)![1]);
}
