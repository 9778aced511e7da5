/** Builds the SDP a simple phone (an AudioPeer) would send. */
export function phoneSdp(o: {
  port: number;
  codecs: { pt: number; name: string; rate: number; channels?: number; fmtp?: string }[];
  telephoneEvent?: number;
  direction?: string;
  address?: string;
  ptime?: number;
  extra?: string[];
}): string {
  const addr = o.address ?? '127.0.0.1';
  const pts = [...o.codecs.map((c) => c.pt), ...(o.telephoneEvent !== undefined ? [o.telephoneEvent] : [])];
  const lines = [
    'v=0',
    `o=phone 123 1 IN IP4 ${addr}`,
    's=-',
    `c=IN IP4 ${addr}`,
    't=0 0',
    `m=audio ${o.port} RTP/AVP ${pts.join(' ')}`,
  ];
  for (const c of o.codecs) {
    lines.push(`a=rtpmap:${c.pt} ${c.name}/${c.rate}${c.channels ? `/${c.channels}` : ''}`);
    if (c.fmtp) lines.push(`a=fmtp:${c.pt} ${c.fmtp}`);
  }
  if (o.telephoneEvent !== undefined)
    lines.push(`a=rtpmap:${o.telephoneEvent} telephone-event/8000`, `a=fmtp:${o.telephoneEvent} 0-16`);
  if (o.ptime) lines.push(`a=ptime:${o.ptime}`);
  lines.push(`a=${o.direction ?? 'sendrecv'}`);
  if (o.extra) lines.push(...o.extra);
  return lines.join('\r\n') + '\r\n';
}
