/**
 * A bidirectional call through a Gateway over loopback: peer A <-> relay A <->
 * gateway leg a | gateway leg b <-> relay B <-> peer B. Each peer sends a tone
 * and records what it receives.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findCodec } from '../../lib/codecs/table';
import { Factory } from '../../lib/graph/Factory';
import { Ticker } from '../../lib/graph/Ticker';
import { Gateway, type GatewayLegOptions } from '../../lib/gateway/Gateway';
import { AudioPeer } from '../../lib/tools/AudioPeer';
import { UdpRelay } from './relay';
import { voiced } from './signal';
import {
  QualityMonitor,
  type QualityAlert,
  type QualityOptions,
  type QualitySample,
} from '../../lib/quality/QualityMonitor';
import { readWav, tone, writeWav, type Pcm } from '../../lib/util/wav';
import type { NativeRxQuality } from '../../lib/native';
import { sleep } from './wait';

export interface CallSide {
  codec: string;
  ptime?: number;
  fmtp?: string;
  /** Tone this side sends (Hz), or the pitch of its voiced signal. */
  toneHz: number;
  /** 'tone' (default) or 'voiced' (speech-like, for vocoders). */
  signal?: 'tone' | 'voiced';
  /** Extra leg options for the gateway side. */
  leg?: Partial<GatewayLegOptions>;
  /** Drop the n-th packet this side sends towards the gateway. */
  drop?: (n: number) => boolean;
  /** Delay (ms) the n-th packet this side sends towards the gateway. */
  delay?: (n: number) => number;
  /** Duplicate the n-th packet this side sends towards the gateway. */
  duplicate?: (n: number) => boolean;
}

export interface CallResult {
  gateway: Gateway;
  relayA: UdpRelay;
  relayB: UdpRelay;
  /** What peer A received (sent by B, through the gateway). */
  receivedByA: Pcm;
  receivedByB: Pcm;
  sentByA: number;
  sentByB: number;
  gatewayStats: ReturnType<Gateway['stats']>;
  loss: { a: ReturnType<Gateway['lossMetrics']>; b: ReturnType<Gateway['lossMetrics']> };
  rx: { a: NativeRxQuality; b: NativeRxQuality };
  /** With `monitor`: what the quality monitor saw. */
  quality?: { timeline: QualitySample[]; alerts: QualityAlert[] };
  /** dBm0 of the audio decoded from each leg in the middle of the call (undefined when relayed). */
  levels: { a?: number; b?: number };
}

export function tmpDir(prefix = 'rms-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs a call for `seconds` and returns what each side received. Closes everything but the gateway's stats. */
export async function runCall(
  a: CallSide,
  b: CallSide,
  seconds = 2,
  factory = Factory.shared(),
  monitor?: QualityOptions,
  gatewayOptions: { plc?: boolean; meters?: boolean; ticker?: Ticker } = {},
): Promise<CallResult> {
  const dir = tmpDir();
  const codecA = findCodec(a.codec)!;
  const codecB = findCodec(b.codec)!;
  const sendRate = (c: typeof codecA) => (c.name === 'opus' ? 48000 : c.audioRate);
  const fileA = path.join(dir, 'a-send.wav');
  const fileB = path.join(dir, 'b-send.wav');
  const make = (side: CallSide, rate: number) =>
    side.signal === 'voiced' ? voiced(rate, seconds, side.toneHz) : tone(rate, seconds, [side.toneHz]);
  writeWav(fileA, make(a, sendRate(codecA)));
  writeWav(fileB, make(b, sendRate(codecB)));
  const recRate = (c: typeof codecA) => (c.name === 'opus' ? 16000 : c.audioRate);

  const peerTicker = new Ticker({ name: 'test-peers' });
  const peerA = new AudioPeer({
    factory,
    codec: a.codec,
    ptime: a.ptime,
    fmtp: a.fmtp,
    sendFile: fileA,
    sendRate: sendRate(codecA),
    recordFile: path.join(dir, 'a-recv.wav'),
    recordRate: recRate(codecA),
  });
  const peerB = new AudioPeer({
    factory,
    codec: b.codec,
    ptime: b.ptime,
    fmtp: b.fmtp,
    sendFile: fileB,
    sendRate: sendRate(codecB),
    recordFile: path.join(dir, 'b-recv.wav'),
    recordRate: recRate(codecB),
  });
  const relayA = await UdpRelay.create({ peer: { address: '127.0.0.1', port: peerA.port } });
  const relayB = await UdpRelay.create({ peer: { address: '127.0.0.1', port: peerB.port } });
  const gateway = new Gateway({
    factory,
    start: false,
    ...gatewayOptions,
    a: {
      local: { address: '127.0.0.1' },
      remote: { address: '127.0.0.1', port: relayA.nearPort, rtcpPort: peerA.endpoint.rtcpPort },
      codec: a.codec,
      ptime: a.ptime,
      fmtp: a.fmtp,
      ...a.leg,
    },
    b: {
      local: { address: '127.0.0.1' },
      remote: { address: '127.0.0.1', port: relayB.nearPort, rtcpPort: peerB.endpoint.rtcpPort },
      codec: b.codec,
      ptime: b.ptime,
      fmtp: b.fmtp,
      ...b.leg,
    },
  });
  relayA.dropToGateway = a.drop;
  relayB.dropToGateway = b.drop;
  relayA.delayToGateway = a.delay;
  relayA.duplicateToGateway = a.duplicate;
  relayA.setGateway({ address: '127.0.0.1', port: gateway.a.localPort });
  relayB.setGateway({ address: '127.0.0.1', port: gateway.b.localPort });
  peerA.endpoint.setRemote({ address: '127.0.0.1', port: relayA.farPort, rtcpPort: gateway.a.localRtcpPort });
  peerB.endpoint.setRemote({ address: '127.0.0.1', port: relayB.farPort, rtcpPort: gateway.b.localRtcpPort });
  let qm: QualityMonitor | undefined;
  const alerts: QualityAlert[] = [];
  try {
    gateway.start();
    if (monitor) {
      qm = new QualityMonitor(gateway.qualitySources(), monitor);
      qm.on('alert', (al) => alerts.push(al));
    }
    peerA.start(peerTicker);
    peerB.start(peerTicker);
    await sleep(seconds * 500);
    const levels = { a: gateway.audioLevel('a'), b: gateway.audioLevel('b') };
    await sleep(seconds * 500 + 400);
    const sentByA = peerA.endpoint.stats().packetsSent;
    const sentByB = peerB.endpoint.stats().packetsSent;
    qm?.sample();
    qm?.stop();
    const gatewayStats = gateway.stats();
    const loss = { a: gateway.lossMetrics('a'), b: gateway.lossMetrics('b') };
    const rx = { a: gateway.a.endpoint.rxQuality(), b: gateway.b.endpoint.rxQuality() };
    peerA.stop();
    peerB.stop();
    return {
      gateway,
      relayA,
      relayB,
      receivedByA: readWav(path.join(dir, 'a-recv.wav')),
      receivedByB: readWav(path.join(dir, 'b-recv.wav')),
      sentByA,
      sentByB,
      gatewayStats,
      loss,
      rx,
      levels,
      quality: qm ? { timeline: qm.timeline, alerts } : undefined,
    };
  } finally {
    peerA.close();
    peerB.close();
    gateway.close();
    relayA.close();
    relayB.close();
    peerTicker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
