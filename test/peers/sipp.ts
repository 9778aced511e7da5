/**
 * sipp (Debian package `sip-tester`, SIPp v3.6.1-SCTP-PCAP-RTPSTREAM on Debian
 * 12) as a scripted SIP peer on loopback: a UAC that places one call and a UAS
 * that answers one call, each a foreground child process (no -bg) bounded in
 * time, with a scenario XML generated into a temp dir.
 *
 * What sipp does with the options used here (verified on 3.6.1):
 *
 *  - `-i 127.0.0.1 -p PORT`: SIP over UDP bound to 127.0.0.1:PORT.
 *  - `-mi 127.0.0.1 -mp PORT`: [media_ip] / [media_port]. sipp always binds
 *    UDP media_ip:media_port AND media_ip:media_port+2 (the "video" port) at
 *    start-up, whether or not -rtp_echo is given; without -rtp_echo nothing
 *    reads them (RTP sent there is silently queued and dropped). Port+1 (RTCP)
 *    is not bound, so a peer's RTCP may get ICMP port-unreachable: harmless.
 *    [media_ip_type] is 4. [auto_media_port] adds a per-call offset (we run one
 *    call, so we write literal ports into the SDP instead).
 *  - `-rtp_echo`: two threads echo every datagram received on media_port (and
 *    media_port+2) back to its source address. Do not combine with
 *    play_pcap_audio: the peer then gets two streams (different SSRCs).
 *  - `<exec play_pcap_audio="file.pcap"/>`: starts a thread that sends the UDP
 *    payloads of the pcap with the pcap's timing, through a RAW socket (needs
 *    root or CAP_NET_RAW), from [media_ip]:[media_port] to the c=/m= address of
 *    the last SDP sipp received in the call (the INVITE's offer for a UAS, the
 *    200's answer for a UAC; a later re-INVITE/200 SDP re-targets it). RTP
 *    header bytes are sent as in the file (see pcap.ts). A new
 *    play_pcap_audio cancels the one playing; the call's end cancels it too.
 *    It sends nothing if no SDP was received yet. PITFALL: the source port
 *    is taken from the [media_port] / [media_port+n] KEYWORD sipp substituted
 *    on the "m=audio" line of an SDP it sent; with a literal port number in
 *    the scenario the pcap goes out from UDP port 0. The generated SDP
 *    therefore always uses the keyword (sdpMediaPort = mediaPort + n).
 *    The pcap's UDP destination port only matters relative to the lowest one
 *    in the file (RTP vs RTCP offset); its source port and addresses are
 *    ignored.
 *  - `-timeout Ns` alone does NOT stop sipp while a call is still in progress
 *    (it waits for retransmissions to give up). With `-timeout_error` sipp
 *    exits at the deadline with code 255. We always pass both, and also kill
 *    the process from Node after timeoutSec + 5 s.
 *  - exit codes: 0 all calls succeeded, 1 some call failed (unexpected message,
 *    receive timeout...), 97 internal command, 99 no call processed,
 *    254/255 fatal (bind failure, -timeout_error deadline).
 *  - `-trace_msg -message_file F`: every SIP message sent/received, which we
 *    parse into `messages`, `sdpSent`, `sdpReceived`.
 *  - `-trace_err -error_file F`: unexpected messages and errors (`errorLog`).
 *  - sipp also binds a UDP control socket on 0.0.0.0:8888 (or the next free
 *    port): it never sends on it.
 *  - `-aa` answers INFO, NOTIFY, OPTIONS and UPDATE with 200 automatically.
 *  - every scenario variable must be referenced at least twice, or sipp refuses
 *    to load the scenario ("Variable $x is referenced 1 times!").
 *  - numeric sipp variables print as "2.000000", which is why SDP o= versions
 *    are literal numbers in the generated XML.
 *  - `<exec rtp_stream="raw.ulaw,1,0"/>` (RTPSTREAM build flag) works too and
 *    needs no root: see RtpStream. play_pcap_audio is the default because the
 *    packets (PT, DTMF, ptime, timing) are entirely ours.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnBounded, requireBinary, udpBound, waitUntil, type BoundedProcess } from './proc';
import { buildSdp, type Direction, type SdpCodec } from './sdp';

export const SIPP_PCAP_DIR = '/usr/share/sip-tester';
/** 30 ms PCMA (PT 8), ~7 s, shipped with sip-tester. */
export const SIPP_G711A_PCAP = `${SIPP_PCAP_DIR}/g711a.pcap`;
/** RFC 2833 digit `d` (PT 101, ~160 ms), shipped with sip-tester: d in 0-9, 'star', 'pound'. */
export const sippDtmfPcap = (d: string) => `${SIPP_PCAP_DIR}/dtmf_2833_${d}.pcap`;

/**
 * sipp's `<exec rtp_stream="file,loops,pt"/>` (3.6.1, RTPSTREAM build): sends a
 * RAW headerless G.711 file (pcap.ts writeG711Raw) as 20 ms packets (160
 * bytes) with payload type 0 (PCMU) or 8 (PCMA) (18 = G.729), from the
 * ordinary UDP socket bound on [media_port] (no raw socket, no root needed),
 * to the address of the last SDP received. Unlike play_pcap_audio, sipp
 * makes the RTP headers itself (its own SSRC/seq/timestamps).
 */
export interface RtpStream {
  file: string;
  /** Times the file is played (default 1). */
  loops?: number;
  payloadType: 0 | 8 | 18;
}

export interface SippCommonOptions {
  /** Local SIP UDP port (-p). */
  sipPort: number;
  /** [media_port] (-mp); sipp binds this port and port+2. */
  mediaPort: number;
  /** Local address for SIP and media (-i, -mi). Default 127.0.0.1. */
  ip?: string;
  /** Codecs of the SDP offer (UAC) or answer (UAS), in preference order. */
  codecs: SdpCodec[];
  ptime?: number;
  /**
   * Port written in the SDP m= line instead of mediaPort, e.g. a test's own
   * UDP socket that counts/inspects the RTP the peer sends us. Must be >=
   * mediaPort (written as [media_port+n]). play_pcap_audio then also SENDS
   * from this port (symmetric RTP as seen by the peer); rtp_stream still
   * sends from mediaPort.
   */
  sdpMediaPort?: number;
  /** Extra SDP lines (media level), e.g. ['a=rtcp-mux']. */
  extraSdpLines?: string[];
  /** -rtp_echo: echo what arrives on mediaPort back to its sender. */
  rtpEcho?: boolean;
  /** Global deadline (-timeout N -timeout_error). Default 20 s. */
  timeoutSec?: number;
  /**
   * Directory for the scenario and logs. Default: a new temp dir, removed
   * after a run that exited 0 (kept, and named in describeSippResult, otherwise).
   */
  workDir?: string;
  /** Extra sipp arguments. */
  extraArgs?: string[];
}

export type UacStep =
  /** Wait (a sipp <pause>). */
  | { pause: number }
  /** Start sending a pcap (async; it plays while later steps run). */
  | { play: string }
  /** Start sipp's rtp_stream of a raw G.711 file (see RtpStream). */
  | { stream: RtpStream }
  /** re-INVITE with a new offer (same codecs unless given) and the given direction. */
  | { reinvite: Direction; codecs?: SdpCodec[] }
  /**
   * Wait up to this many ms for the peer's BYE, answer 200 and end (steps
   * after it are ignored and no BYE is sent). Don't put a pause before it:
   * a BYE that arrives during a sipp <pause> is "unexpected" and fails the call.
   */
  | { expectBye: number };

export interface SippUacOptions extends SippCommonOptions {
  remotePort: number;
  remoteHost?: string;
  /** Request-URI user (-s). Default 'test'. */
  service?: string;
  fromUser?: string;
  /** Direction of the initial offer (default sendrecv). */
  direction?: Direction;
  /** Extra headers in the initial INVITE, e.g. ['X-Test: 1']. */
  extraHeaders?: string[];
  /**
   * Final response expected for the INVITE (default 200). With another status
   * (e.g. 488) the UAC ACKs it and the scenario ends there (exit code 0).
   */
  expectStatus?: number;
  /** pcap played right after the ACK (when `steps` is not given). */
  pcap?: string;
  /** pcap played as soon as a 183 arrives (early media towards the callee). */
  earlyPcap?: string;
  /** rtp_stream started right after the ACK instead of a pcap (when `steps` is not given). */
  stream?: RtpStream;
  /** Call length after the ACK, before BYE (when `steps` is not given). Default 2000. */
  durationMs?: number;
  /** Hold/resume by re-INVITE (when `steps` is not given): sendonly at afterMs, sendrecv forMs later. */
  hold?: { afterMs: number; forMs: number };
  /** Explicit mid-call steps between ACK and BYE (overrides pcap/durationMs/hold). */
  steps?: UacStep[];
}

export interface SippUasOptions extends SippCommonOptions {
  /** pcap played right after the ACK of the initial INVITE. */
  pcap?: string;
  /** rtp_stream started right after the ACK instead of a pcap. */
  stream?: RtpStream;
  /** Send 180 Ringing and wait this long before the 200. */
  ringMs?: number;
  /**
   * Early media: a 183 with SDP (the same answer as the 200's), the pcap
   * played from then on, `ms` before the 200. The 183 carries to-tag
   * `tag` and the 200 `finalTag` (default: the same tag: one early dialog
   * that becomes the call; another one: the 200 comes from another dialog).
   */
  early?: { ms: number; pcap?: string; tag?: string; finalTag?: string };
  /** Answer the INVITE with this final status (e.g. 486, 488) instead of 200 + SDP. */
  rejectWith?: number;
  /** re-INVITEs accepted during the call (default 4). Each is answered 200 + SDP with the mirrored direction. */
  maxReinvites?: number;
  /**
   * Send BYE ourselves when no BYE/re-INVITE came for this long after the
   * (last) ACK. Default: wait for the peer's BYE.
   */
  hangupAfterMs?: number;
}

export interface SipMessage {
  direction: 'sent' | 'received';
  at: string;
  startLine: string;
  /** e.g. 'INVITE', 'ACK' for requests; undefined for responses. */
  method?: string;
  /** Status code for responses. */
  status?: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

export interface SippResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by our Node-side deadline (sipp's own -timeout_error gives exit code 255). */
  timedOut: boolean;
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Contents of the -trace_err file. */
  errorLog: string;
  messages: SipMessage[];
  /** SDP bodies sipp sent / received, in order. */
  sdpSent: string[];
  sdpReceived: string[];
  workDir: string;
  scenarioFile: string;
  args: string[];
}

// ------------------------------------------------------------------ XML

function xmlAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cdata(msg: string): string {
  if (msg.includes(']]>')) throw new Error('SIP message text contains ]]>');
  // sipp trims the text, turns \n into CRLF and ends the headers/body itself.
  return `<![CDATA[\n${msg}\n]]>`;
}

const lines = (...ls: (string | undefined | false)[]) =>
  ls.filter((l): l is string => typeof l === 'string').join('\n');

const sdpDirectionActions = `
      <ereg regexp="a=(sendrecv|sendonly|recvonly|inactive)|$" search_in="body" check_it="false" assign_to="odir"/>
      <strcmp assign_to="cso" variable="odir" value="a=sendonly"/>
      <test assign_to="isso" variable="cso" compare="equal" value="0"/>
      <strcmp assign_to="cro" variable="odir" value="a=recvonly"/>
      <test assign_to="isro" variable="cro" compare="equal" value="0"/>
      <strcmp assign_to="cin" variable="odir" value="a=inactive"/>
      <test assign_to="isin" variable="cin" compare="equal" value="0"/>`;

/**
 * The m= port as a sipp keyword. It must be the [media_port] keyword (not a
 * literal number): sipp takes the SOURCE port of play_pcap_audio from the
 * [media_port(+n)] keyword it substitutes on an "audio" line of a message it
 * sends; with a literal port the pcap is sent from UDP port 0.
 */
function mediaPortOf(o: SippCommonOptions): string {
  const d = (o.sdpMediaPort ?? o.mediaPort) - o.mediaPort;
  if (d < 0) throw new Error('sdpMediaPort must be >= mediaPort (sipp keyword offsets are positive)');
  return d === 0 ? '[media_port]' : `[media_port+${d}]`;
}

function pcapAction(file: string): string {
  return `  <nop><action><exec play_pcap_audio="${xmlAttr(path.resolve(file))}"/></action></nop>`;
}

function streamAction(st: RtpStream): string {
  const v = `${path.resolve(st.file)},${st.loops ?? 1},${st.payloadType}`;
  return `  <nop><action><exec rtp_stream="${xmlAttr(v)}"/></action></nop>`;
}

function mediaAction(m: { pcap?: string; stream?: RtpStream }): string {
  return m.stream ? streamAction(m.stream) : m.pcap ? pcapAction(m.pcap) : '';
}

/** The UAC scenario (exported for inspection/debugging). */
export function uacScenario(o: SippUacOptions): string {
  const from = o.fromUser ?? 'sipp';
  const fromHdr = `From: sipp <sip:${from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`;
  const toHdr = `To: <sip:[service]@[remote_ip]:[remote_port]>`;
  const contact = `Contact: <sip:${from}@[local_ip]:[local_port]>`;
  let version = 1;
  const sdp = (dir: Direction, codecs = o.codecs) =>
    buildSdp({
      ip: '[media_ip]',
      port: mediaPortOf(o),
      codecs,
      ptime: o.ptime,
      direction: dir,
      version: version++,
      extraLines: o.extraSdpLines,
    }).trimEnd();
  const out: string[] = ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="rms-uac">'];
  out.push(
    `  <send retrans="500">${cdata(
      lines(
        `INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0`,
        `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]`,
        fromHdr,
        toHdr,
        `Call-ID: [call_id]`,
        `CSeq: 1 INVITE`,
        contact,
        `Max-Forwards: 70`,
        `User-Agent: sipp-uac`,
        ...(o.extraHeaders ?? []),
        `Content-Type: application/sdp`,
        `Content-Length: [len]`,
        ``,
        sdp(o.direction ?? 'sendrecv'),
        ``,
      ),
    )}</send>`,
    `  <recv response="100" optional="true"/>`,
    `  <recv response="180" optional="true"/>`,
    o.earlyPcap
      ? `  <recv response="183" optional="true">\n    <action><exec play_pcap_audio="${xmlAttr(path.resolve(o.earlyPcap))}"/></action>\n  </recv>`
      : `  <recv response="183" optional="true"/>`,
  );
  const expect = o.expectStatus ?? 200;
  if (expect !== 200) {
    out.push(
      `  <recv response="${expect}"/>`,
      `  <send>${cdata(
        lines(
          `ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0`,
          `[last_Via:]`,
          fromHdr,
          `[last_To:]`,
          `Call-ID: [call_id]`,
          `CSeq: 1 ACK`,
          `Max-Forwards: 70`,
          `Content-Length: 0`,
          ``,
        ),
      )}</send>`,
      `  <timewait milliseconds="200"/>`,
      '</scenario>',
    );
    return out.join('\n') + '\n';
  }
  out.push(`  <recv response="200" rtd="true" rrs="true"/>`);
  const ack = (cseq: number) =>
    `  <send>${cdata(
      lines(
        `ACK [next_url] SIP/2.0`,
        `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]`,
        fromHdr,
        `${toHdr}[peer_tag_param]`,
        `Call-ID: [call_id]`,
        `CSeq: ${cseq} ACK`,
        contact,
        `Max-Forwards: 70`,
        `Content-Length: 0`,
        ``,
      ),
    )}</send>`;
  out.push(ack(1));

  let steps = o.steps;
  if (!steps) {
    steps = [];
    if (o.stream) steps.push({ stream: o.stream });
    else if (o.pcap) steps.push({ play: o.pcap });
    const total = o.durationMs ?? 2000;
    if (o.hold) {
      steps.push(
        { pause: o.hold.afterMs },
        { reinvite: 'sendonly' },
        { pause: o.hold.forMs },
        { reinvite: 'sendrecv' },
      );
      steps.push({ pause: Math.max(0, total - o.hold.afterMs - o.hold.forMs) });
    } else {
      steps.push({ pause: total });
    }
  }
  let cseq = 1;
  for (const st of steps) {
    if ('pause' in st) {
      if (st.pause > 0) out.push(`  <pause milliseconds="${Math.round(st.pause)}"/>`);
    } else if ('play' in st) {
      out.push(pcapAction(st.play));
    } else if ('stream' in st) {
      out.push(streamAction(st.stream));
    } else if ('expectBye' in st) {
      out.push(
        `  <recv request="BYE" timeout="${Math.round(st.expectBye)}"/>`,
        `  <send>${cdata(
          lines(
            `SIP/2.0 200 OK`,
            `[last_Via:]`,
            `[last_From:]`,
            `[last_To:]`,
            `[last_Call-ID:]`,
            `[last_CSeq:]`,
            contact,
            `Content-Length: 0`,
            ``,
          ),
        )}</send>`,
        `  <timewait milliseconds="200"/>`,
        '</scenario>',
      );
      return out.join('\n') + '\n';
    } else {
      cseq++;
      out.push(
        `  <send retrans="500">${cdata(
          lines(
            `INVITE [next_url] SIP/2.0`,
            `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]`,
            fromHdr,
            `${toHdr}[peer_tag_param]`,
            `Call-ID: [call_id]`,
            `CSeq: ${cseq} INVITE`,
            contact,
            `Max-Forwards: 70`,
            `Content-Type: application/sdp`,
            `Content-Length: [len]`,
            ``,
            sdp(st.reinvite, st.codecs),
            ``,
          ),
        )}</send>`,
        `  <recv response="100" optional="true"/>`,
        `  <recv response="200"/>`,
        ack(cseq),
      );
    }
  }
  cseq++;
  out.push(
    `  <send retrans="500">${cdata(
      lines(
        `BYE [next_url] SIP/2.0`,
        `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]`,
        fromHdr,
        `${toHdr}[peer_tag_param]`,
        `Call-ID: [call_id]`,
        `CSeq: ${cseq} BYE`,
        contact,
        `Max-Forwards: 70`,
        `Content-Length: 0`,
        ``,
      ),
    )}</send>`,
    `  <recv response="200" crlf="true"/>`,
    '</scenario>',
  );
  return out.join('\n') + '\n';
}

/** The UAS scenario (exported for inspection/debugging). */
export function uasScenario(o: SippUasOptions): string {
  const K = o.maxReinvites ?? 4;
  const hangup = o.hangupAfterMs !== undefined;
  const contact = `Contact: <sip:[local_ip]:[local_port];transport=[transport]>`;
  const out: string[] = ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="rms-uas">'];
  const initialActions = hangup
    ? `
      <ereg regexp="[^ \t].*" search_in="hdr" header="From:" check_it="true" assign_to="rfrom"/>
      <ereg regexp="[^ \t].*" search_in="hdr" header="To:" check_it="true" assign_to="lto"/>`
    : '';
  out.push(
    `  <recv request="INVITE" crlf="true" rrs="true">
    <action>${o.rejectWith ? '' : sdpDirectionActions}${initialActions}
    </action>
  </recv>`,
  );
  const resp = (status: string, toHdr: string, body?: string) =>
    cdata(
      lines(
        `SIP/2.0 ${status}`,
        `[last_Via:]`,
        `[last_From:]`,
        toHdr,
        `[last_Call-ID:]`,
        `[last_CSeq:]`,
        contact,
        body !== undefined ? `Content-Type: application/sdp` : undefined,
        `Content-Length: [len]`,
        ``,
        body,
        body !== undefined ? `` : undefined,
      ),
    );
  const early = o.early;
  const toTagged = early?.finalTag
    ? `[last_To:];tag=${early.finalTag}`
    : early?.tag
      ? `[last_To:];tag=${early.tag}`
      : `[last_To:];tag=[pid]SIPpTag01[call_number]`;
  out.push(`  <send>${resp('100 Trying', '[last_To:]')}</send>`);
  if (early) {
    const tag = early.tag ? `[last_To:];tag=${early.tag}` : `[last_To:];tag=[pid]SIPpTag01[call_number]`;
    // the same SDP (o= version 1) as the 200 that follows
    const sdp = buildSdp({
      ip: '[media_ip]',
      port: mediaPortOf(o),
      codecs: o.codecs,
      ptime: o.ptime,
      direction: 'sendrecv',
      version: 1,
      extraLines: o.extraSdpLines,
    }).trimEnd();
    out.push(`  <send>${resp('183 Session Progress', tag, sdp)}</send>`);
    if (early.pcap) out.push(pcapAction(early.pcap));
    out.push(`  <pause milliseconds="${Math.round(early.ms)}"/>`);
  }
  if (o.ringMs !== undefined) {
    out.push(`  <send>${resp('180 Ringing', toTagged)}</send>`);
    if (o.ringMs > 0) out.push(`  <pause milliseconds="${Math.round(o.ringMs)}"/>`);
  }
  if (o.rejectWith) {
    out.push(
      `  <send retrans="500">${resp(`${o.rejectWith} ${reasonPhrase(o.rejectWith)}`, toTagged)}</send>`,
      `  <recv request="ACK" crlf="true"/>`,
      `  <timewait milliseconds="200"/>`,
      '</scenario>',
    );
    return out.join('\n') + '\n';
  }

  let version = 1;
  /** 200 + SDP whose direction mirrors the offer just received, then its ACK, then `after`. */
  const answer = (p: string, toHdr: string, after: string, playAfterAck?: { pcap?: string; stream?: RtpStream }) => {
    const v = version++;
    const variant = (dir: Direction, label?: string) => {
      const sdp = buildSdp({
        ip: '[media_ip]',
        port: mediaPortOf(o),
        codecs: o.codecs,
        ptime: o.ptime,
        direction: dir,
        version: v,
        extraLines: o.extraSdpLines,
      }).trimEnd();
      return [
        label ? `  <label id="${label}"/>` : '',
        `  <send retrans="500">${resp('200 OK', toHdr, sdp)}</send>`,
        `  <recv request="ACK" crlf="true"/>`,
        playAfterAck ? mediaAction(playAfterAck) : '',
        `  <nop next="${after}"/>`,
      ]
        .filter(Boolean)
        .join('\n');
    };
    return [
      `  <nop test="isso" next="${p}so"/>`,
      `  <nop test="isro" next="${p}ro"/>`,
      `  <nop test="isin" next="${p}in"/>`,
      variant('sendrecv'),
      variant('recvonly', `${p}so`),
      variant('sendonly', `${p}ro`),
      variant('inactive', `${p}in`),
    ].join('\n');
  };

  out.push(answer('a', toTagged, 'w0', { pcap: o.pcap, stream: o.stream }));
  const timeoutAttr = hangup ? ` timeout="${Math.round(o.hangupAfterMs!)}" ontimeout="hup"` : '';
  for (let i = 0; i < K; i++) {
    out.push(
      `  <label id="w${i}"/>`,
      `  <recv request="INVITE" optional="true" next="r${i}"${timeoutAttr}>
    <action>${sdpDirectionActions}
    </action>
  </recv>`,
      `  <recv request="BYE" next="bye"${timeoutAttr}/>`,
      `  <label id="r${i}"/>`,
      answer(`x${i}_`, '[last_To:]', `w${i + 1}`),
    );
  }
  out.push(`  <label id="w${K}"/>`, `  <recv request="BYE"${timeoutAttr}/>`, `  <label id="bye"/>`);
  out.push(`  <send>${resp('200 OK', '[last_To:]')}</send>`);
  if (hangup) {
    out.push(
      `  <nop next="end"/>`,
      `  <label id="hup"/>`,
      `  <send retrans="500">${cdata(
        lines(
          `BYE [next_url] SIP/2.0`,
          `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]`,
          `From: [$lto];tag=[pid]SIPpTag01[call_number]`,
          `To: [$rfrom]`,
          `Call-ID: [call_id]`,
          `CSeq: 1000 BYE`,
          contact,
          `Max-Forwards: 70`,
          `Content-Length: 0`,
          ``,
        ),
      )}</send>`,
      `  <recv response="200"/>`,
      `  <label id="end"/>`,
    );
  }
  out.push(`  <timewait milliseconds="200"/>`, '</scenario>');
  return out.join('\n') + '\n';
}

function reasonPhrase(code: number): string {
  const m: Record<number, string> = {
    403: 'Forbidden',
    404: 'Not Found',
    480: 'Temporarily Unavailable',
    486: 'Busy Here',
    488: 'Not Acceptable Here',
    500: 'Server Internal Error',
    503: 'Service Unavailable',
    603: 'Decline',
  };
  return m[code] ?? 'Error';
}

// ------------------------------------------------------------- message log

/** Parses a sipp -trace_msg file. */
export function parseSippMessages(text: string): SipMessage[] {
  const res: SipMessage[] = [];
  const blocks = text.replace(/\r\n/g, '\n').split(/^-{20,} (\S+ \S+)\s*$/m);
  // blocks: [preamble, date1, block1, date2, block2, ...]
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const at = blocks[i];
    const b = blocks[i + 1].replace(/^\n/, '');
    const m = b.match(/^\S+ message (sent|received)[^\n]*\n\n?/);
    if (!m) continue;
    const raw = b.slice(m[0].length).replace(/\n+$/, '\n');
    const sep = raw.indexOf('\n\n');
    const head = sep >= 0 ? raw.slice(0, sep) : raw;
    let body = sep >= 0 ? raw.slice(sep + 2) : '';
    const hl = head.split('\n');
    const headers: Record<string, string> = {};
    for (const h of hl.slice(1)) {
      const c = h.indexOf(':');
      if (c > 0) {
        const k = h.slice(0, c).trim().toLowerCase();
        const v = h.slice(c + 1).trim();
        headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
      }
    }
    const cl = Number(headers['content-length'] ?? headers['l'] ?? NaN);
    if (Number.isFinite(cl)) {
      if (cl === 0) body = '';
      else body = body.replace(/\n+$/, '\n');
    }
    const startLine = hl[0].trim();
    const sm = startLine.match(/^SIP\/2\.0 (\d{3})/);
    res.push({
      direction: m[1] as 'sent' | 'received',
      at,
      startLine,
      method: sm ? undefined : startLine.split(' ')[0],
      status: sm ? Number(sm[1]) : undefined,
      headers,
      body,
      raw,
    });
  }
  return res;
}

function isSdp(m: SipMessage): boolean {
  return /application\/sdp/i.test(m.headers['content-type'] ?? m.headers['c'] ?? '') && m.body.trim().length > 0;
}

// ------------------------------------------------------------------ running

function mkWorkDir(o: SippCommonOptions, tag: string): string {
  if (o.workDir) {
    fs.mkdirSync(o.workDir, { recursive: true });
    return o.workDir;
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), `sipp-${tag}-`));
}

function commonArgs(o: SippCommonOptions, dir: string, scenarioFile: string): string[] {
  const ip = o.ip ?? '127.0.0.1';
  const args = [
    '-sf',
    scenarioFile,
    '-i',
    ip,
    '-p',
    String(o.sipPort),
    '-mi',
    ip,
    '-mp',
    String(o.mediaPort),
    '-m',
    '1',
    '-l',
    '1',
    '-timeout',
    `${o.timeoutSec ?? 20}s`,
    '-timeout_error',
    '-nostdin',
    '-aa',
    '-trace_err',
    '-error_file',
    path.join(dir, 'errors.log'),
    '-trace_msg',
    '-message_file',
    path.join(dir, 'messages.log'),
    '-trace_screen',
    '-screen_file',
    path.join(dir, 'screen.log'),
  ];
  if (o.rtpEcho) args.push('-rtp_echo');
  return args.concat(o.extraArgs ?? []);
}

function startSipp(name: string, args: string[], dir: string, scenarioFile: string, o: SippCommonOptions) {
  const ownDir = !o.workDir;
  requireBinary('sipp', 'sip-tester');
  const proc = spawnBounded(name, 'sipp', args, {
    cwd: dir,
    env: { ...process.env, TERM: 'dumb' },
    maxMs: ((o.timeoutSec ?? 20) + 5) * 1000,
  });
  const result: Promise<SippResult> = proc.exited.then((ex) => {
    const read = (f: string) => {
      try {
        return fs.readFileSync(path.join(dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    const messages = parseSippMessages(read('messages.log'));
    if (ownDir && ex.code === 0) fs.rmSync(dir, { recursive: true, force: true });
    return {
      exitCode: ex.code,
      signal: ex.signal,
      timedOut: ex.timedOut,
      ok: ex.code === 0,
      stdout: proc.stdout(),
      stderr: proc.stderr(),
      errorLog: read('errors.log'),
      messages,
      sdpSent: messages.filter((m) => m.direction === 'sent' && isSdp(m)).map((m) => m.body),
      sdpReceived: messages.filter((m) => m.direction === 'received' && isSdp(m)).map((m) => m.body),
      workDir: dir,
      scenarioFile,
      args,
    };
  });
  return { proc, result };
}

/** Places one call and resolves when sipp has exited. */
export async function runSippUac(o: SippUacOptions): Promise<SippResult> {
  const dir = mkWorkDir(o, 'uac');
  const scenarioFile = path.join(dir, 'uac.xml');
  fs.writeFileSync(scenarioFile, uacScenario(o));
  const args = [
    `${o.remoteHost ?? '127.0.0.1'}:${o.remotePort}`,
    '-s',
    o.service ?? 'test',
    ...commonArgs(o, dir, scenarioFile),
  ];
  const { result } = startSipp('sipp-uac', args, dir, scenarioFile, o);
  return result;
}

export interface SippUas {
  readonly proc: BoundedProcess;
  readonly workDir: string;
  readonly scenarioFile: string;
  /** Resolves when sipp exits (after one call, its timeout, or stop()). */
  readonly result: Promise<SippResult>;
  /** Kills sipp (SIGTERM then SIGKILL) and resolves with its result. */
  stop(): Promise<SippResult>;
}

/** Starts a UAS for one call; resolves once its SIP port is bound. */
export async function startSippUas(o: SippUasOptions): Promise<SippUas> {
  const dir = mkWorkDir(o, 'uas');
  const scenarioFile = path.join(dir, 'uas.xml');
  fs.writeFileSync(scenarioFile, uasScenario(o));
  const args = commonArgs(o, dir, scenarioFile);
  const { proc, result } = startSipp('sipp-uas', args, dir, scenarioFile, o);
  try {
    await waitUntil(() => udpBound(o.sipPort, o.ip ?? '127.0.0.1'), 5000, `sipp UAS on udp ${o.sipPort}`, proc);
  } catch (e) {
    await proc.stop(500);
    const r = await result;
    throw new Error(`${(e as Error).message}\nerrors.log:\n${r.errorLog}\nstdout tail:\n${r.stdout.slice(-2000)}`);
  }
  return {
    proc,
    workDir: dir,
    scenarioFile,
    result,
    async stop() {
      await proc.stop(1000);
      return result;
    },
  };
}

/** A short human-readable summary for assertion messages. */
export function describeSippResult(r: SippResult): string {
  const flow = r.messages.map((m) => `${m.direction === 'sent' ? '->' : '<-'} ${m.startLine}`).join('\n');
  return [
    `exit=${r.exitCode} signal=${r.signal} timedOut=${r.timedOut} dir=${r.workDir}`,
    `args: sipp ${r.args.join(' ')}`,
    `flow:\n${flow}`,
    r.errorLog ? `errors.log:\n${r.errorLog.slice(-3000)}` : '',
    r.stderr ? `stderr:\n${r.stderr.slice(-2000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
