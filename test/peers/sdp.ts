/** Minimal SDP building and parsing for the SIP peer harness (audio only). */

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpCodec {
  pt: number;
  /** Encoding name as in a=rtpmap: PCMU, PCMA, G722, opus, telephone-event, ... */
  name: string;
  rate: number;
  channels?: number;
  fmtp?: string;
}

export const PCMU: SdpCodec = { pt: 0, name: 'PCMU', rate: 8000 };
export const PCMA: SdpCodec = { pt: 8, name: 'PCMA', rate: 8000 };
export const G722: SdpCodec = { pt: 9, name: 'G722', rate: 8000 };
export const telephoneEvent = (pt = 101, rate = 8000): SdpCodec => ({
  pt,
  name: 'telephone-event',
  rate,
  fmtp: '0-16',
});

export interface SdpBuildOptions {
  /** Address for o= and c= (a sipp keyword such as [media_ip] is fine). */
  ip: string;
  /** m= port (a sipp keyword such as [media_port] is fine). */
  port: number | string;
  codecs: SdpCodec[];
  ptime?: number;
  direction?: Direction;
  /** o= session version. */
  version?: number;
  sessionId?: number;
  /** Extra a= (or other) lines appended to the media section, without CRLF. */
  extraLines?: string[];
}

/** SDP text with '\n' line ends (sipp turns them into CRLF when sending). */
export function buildSdp(o: SdpBuildOptions): string {
  const lines = [
    'v=0',
    `o=- ${o.sessionId ?? 4242} ${o.version ?? 1} IN IP4 ${o.ip}`,
    's=-',
    `c=IN IP4 ${o.ip}`,
    't=0 0',
    `m=audio ${o.port} RTP/AVP ${o.codecs.map((c) => c.pt).join(' ')}`,
  ];
  for (const c of o.codecs) {
    lines.push(`a=rtpmap:${c.pt} ${c.name}/${c.rate}${c.channels && c.channels !== 1 ? '/' + c.channels : ''}`);
    if (c.fmtp) lines.push(`a=fmtp:${c.pt} ${c.fmtp}`);
  }
  if (o.ptime) lines.push(`a=ptime:${o.ptime}`);
  lines.push(`a=${o.direction ?? 'sendrecv'}`);
  for (const l of o.extraLines ?? []) lines.push(l);
  return lines.join('\n') + '\n';
}

export interface SdpMedia {
  type: string;
  port: number;
  proto: string;
  payloadTypes: number[];
  /** rtpmap by payload type (static types without rtpmap get their RFC 3551 name). */
  codecs: SdpCodec[];
  ptime?: number;
  direction: Direction;
  /** c= of the media section, else of the session. */
  ip?: string;
  attributes: string[];
}

export interface ParsedSdp {
  origin?: { sessionId: string; version: string; ip: string };
  ip?: string;
  media: SdpMedia[];
  /** The first audio section, when there is one. */
  audio?: SdpMedia;
}

const STATIC_PT: Record<number, SdpCodec> = {
  0: PCMU,
  3: { pt: 3, name: 'GSM', rate: 8000 },
  8: PCMA,
  9: G722,
  18: { pt: 18, name: 'G729', rate: 8000 },
};

export function parseSdp(text: string): ParsedSdp {
  const res: ParsedSdp = { media: [] };
  let sessionDir: Direction = 'sendrecv';
  let cur: SdpMedia | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const k = line[0];
    const v = line.slice(2);
    if (k === 'o') {
      const f = v.split(/\s+/);
      res.origin = { sessionId: f[1], version: f[2], ip: f[5] };
    } else if (k === 'c') {
      const ip = v.split(/\s+/)[2];
      if (cur) cur.ip = ip;
      else res.ip = ip;
    } else if (k === 'm') {
      const f = v.split(/\s+/);
      cur = {
        type: f[0],
        port: Number(f[1]),
        proto: f[2],
        payloadTypes: f.slice(3).map(Number),
        codecs: [],
        direction: sessionDir,
        ip: res.ip,
        attributes: [],
      };
      res.media.push(cur);
    } else if (k === 'a') {
      if (/^(sendrecv|sendonly|recvonly|inactive)$/.test(v)) {
        if (cur) cur.direction = v as Direction;
        else sessionDir = v as Direction;
        continue;
      }
      if (!cur) continue;
      cur.attributes.push(v);
      let m: RegExpMatchArray | null;
      if ((m = v.match(/^rtpmap:(\d+)\s+([^/]+)\/(\d+)(?:\/(\d+))?/))) {
        cur.codecs.push({
          pt: Number(m[1]),
          name: m[2],
          rate: Number(m[3]),
          channels: m[4] ? Number(m[4]) : undefined,
        });
      } else if ((m = v.match(/^fmtp:(\d+)\s+(.*)$/))) {
        const pt = Number(m[1]);
        const c = cur.codecs.find((x) => x.pt === pt);
        if (c) c.fmtp = m[2];
      } else if ((m = v.match(/^ptime:(\d+)/))) {
        cur.ptime = Number(m[1]);
      }
    }
  }
  for (const m of res.media) {
    // Order codecs as in the m= line and fill in static payload types.
    m.codecs = m.payloadTypes
      .map((pt) => m.codecs.find((c) => c.pt === pt) ?? (STATIC_PT[pt] ? { ...STATIC_PT[pt] } : undefined))
      .filter((c): c is SdpCodec => c !== undefined);
  }
  res.audio = res.media.find((m) => m.type === 'audio');
  return res;
}

/** The answer direction RFC 3264 pairs with an offered one. */
export function answerDirection(offer: Direction): Direction {
  return offer === 'sendonly' ? 'recvonly' : offer === 'recvonly' ? 'sendonly' : offer;
}
