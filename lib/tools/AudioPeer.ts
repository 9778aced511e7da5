/**
 * A stand-in phone built from ms2 graphs: it sends a WAV file as RTP in one
 * codec and records what it receives, decoded, to a WAV file. For demos and
 * for testing a SIP application's media path without a real phone.
 */
import { findCodec, defaultPayloadType, ptimeOptions } from '../codecs/table';
import { InvalidStateError, UnknownNameError } from '../errors';
import { Factory } from '../graph/Factory';
import type { Filter } from '../graph/Filter';
import { Graph } from '../graph/Graph';
import type { Ticker } from '../graph/Ticker';
import type { FilePlayer, FileRecorder, RtpSender } from '../graph/filters';
import { RtpEndpoint } from '../rtp/RtpEndpoint';
import { addDecoder, addEncoder } from '../media/chain';

/** What an AudioPeer sends, receives and records. */
export interface AudioPeerOptions {
  /** Default: Factory.shared(). */
  factory?: Factory;
  /** Local address (default 127.0.0.1). */
  address?: string;
  /** Codec name, as in CODECS (case-insensitive). */
  codec: string;
  /** RTP payload type (default: the codec's static or usual dynamic one). */
  payloadType?: number;
  /** Packet time, ms (default: the codec's). */
  ptime?: number;
  /** fmtp for the codec (e.g. Opus "useinbandfec=1"). */
  fmtp?: string;
  /** WAV to send (its rate must be the codec's audio rate, or one the encoder accepts). */
  sendFile?: string;
  /** sendFile's sample rate when the codec has several (Opus: 48000 or 16000). */
  sendRate?: number;
  /** Payload type of RFC 4733 telephone-event, to send and receive DTMF. */
  telephoneEvent?: number;
  /** Where to write what arrives. */
  recordFile?: string;
  /** PCM rate to record at (default: the codec's audio rate). */
  recordRate?: number;
}

/** A stand-in phone: one RTP endpoint, a file player feeding its encoder, a recorder behind its decoder. */
export class AudioPeer {
  /** The RTP session (point it at the far end with setRemote()). */
  readonly endpoint: RtpEndpoint;
  /** The graph of its filters. */
  readonly graph = new Graph();
  /** The player of sendFile, when given. */
  player?: FilePlayer;
  /** The recorder of recordFile, when given. */
  recorder?: FileRecorder;
  /** The RTP sender, when sending. */
  sender?: RtpSender;
  private readonly roots: Filter<any>[] = [];

  constructor(opts: AudioPeerOptions) {
    const codec = findCodec(opts.codec);
    if (!codec?.mime) throw new UnknownNameError(`AudioPeer: unknown codec ${opts.codec}`);
    const pt = opts.payloadType ?? defaultPayloadType(codec);
    const f = opts.factory ?? Factory.shared();
    const g = this.graph;
    this.endpoint = g.addEndpoint(
      new RtpEndpoint({
        address: opts.address ?? '127.0.0.1',
        payloadTypes: [
          { pt, mime: codec.name, clockRate: codec.clockRate, channels: codec.sdpChannels, fmtp: opts.fmtp },
          ...(opts.telephoneEvent !== undefined
            ? [{ pt: opts.telephoneEvent, mime: 'telephone-event', clockRate: 8000 }]
            : []),
        ],
        payloadType: pt,
      }),
    );
    if (opts.sendFile) {
      const player = g.add(f.filePlayer());
      player.open(opts.sendFile);
      const rate = opts.sendRate ?? codec.audioRate;
      const media = { codec, fmtp: opts.fmtp, ptime: opts.ptime ?? ptimeOptions(codec, opts.fmtp).default };
      let head: Filter<any> = player;
      if (!codec.rates.includes(rate)) {
        const rs = g.add(f.resampler());
        rs.setRates(rate, codec.audioRate);
        head = head.link(rs);
      }
      const enc = addEncoder(g, f, media, codec.rates.includes(rate) ? rate : codec.audioRate);
      const send = g.add(f.rtpSender());
      send.setEndpoint(this.endpoint);
      head.link(enc).link(send);
      this.player = player;
      this.sender = send;
      this.roots.push(player);
    }
    if (opts.recordFile) {
      const recv = g.add(f.rtpReceiver());
      recv.setEndpoint(this.endpoint);
      const rate = opts.recordRate ?? codec.audioRate;
      const dec = addDecoder(g, f, { codec, fmtp: opts.fmtp }, rate);
      let head: Filter<any> = recv.link(dec);
      if (!codec.rates.includes(rate)) {
        const rs = g.add(f.resampler());
        rs.setRates(codec.audioRate, rate);
        head = head.link(rs);
      }
      const rec = g.add(f.fileRecorder());
      rec.setSampleRate(rate);
      rec.open(opts.recordFile);
      head.link(rec);
      this.recorder = rec;
      this.roots.push(recv);
    }
  }

  /** Sends one DTMF digit as RFC 4733 events (needs `sendFile` and `telephoneEvent`). */
  sendDtmf(digit: string): void {
    if (!this.sender) throw new InvalidStateError('AudioPeer: DTMF needs a sending peer (sendFile)');
    this.sender.sendDtmf(digit);
  }

  /** The local RTP port. */
  get port(): number {
    return this.endpoint.port;
  }

  /** Attaches the graph to `ticker`: sending and recording begin. */
  start(ticker: Ticker): void {
    this.recorder?.start();
    this.player?.start();
    this.graph.attach(ticker, this.roots);
  }

  /** Stops media and completes the WAV header. */
  stop(): void {
    this.graph.detach();
    if (this.recorder && !this.recorder.closed) {
      this.recorder.stop();
      this.recorder.closeFile();
    }
  }

  /** Stops and frees everything (the recording is closed and readable). */
  close(): void {
    this.stop();
    this.graph.close();
  }
}
