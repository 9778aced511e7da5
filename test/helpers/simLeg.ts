/**
 * A QualityLegSource whose receive counters follow a packet sequence the
 * test decides (lost or not, packet by packet), for the quality layer in
 * simulated time: no sockets, no native code.
 */
import { findCodec } from '../../lib/codecs';
import type { QualityLegSource } from '../../lib/quality';
import type { NativeRxQuality } from '../../lib/native';

/** A leg whose receive counters follow a seeded packet sequence, sampled in simulated time. */
export function simulatedLeg(lossAt: (n: number) => boolean) {
  const rx: NativeRxQuality = {
    received: 0,
    expected: 0,
    lost: 0,
    duplicates: 0,
    reordered: 0,
    tooLate: 0,
    a2: { c11: 0, c13: 0, c14: 0, c22: 0, c23: 0, c33: 0 },
    transitions: { rr: 0, rl: 0, lr: 0, ll: 0 },
    gmin: 16,
    jitterMs: 2,
    jitterPackets: 0,
    lastArrivalMs: 0,
    ssrc: 1,
    discarded: 0,
    jitterBuffer: { enabled: true, adaptive: true, nominalMs: 60, maxMs: 60, absMaxMs: 300 },
  };
  let n = 0;
  let prevLost: boolean | undefined;
  let pkt = 0;
  let burst = 0;
  const advance = (packets: number) => {
    for (let i = 0; i < packets; i++, n++) {
      const lost = lossAt(n);
      rx.expected++;
      if (lost) {
        rx.lost++;
        if (pkt >= 16) {
          if (burst === 1) rx.a2.c14++;
          else rx.a2.c13++;
          burst = 1;
          rx.a2.c11 += pkt;
        } else {
          burst++;
          if (pkt === 0) rx.a2.c33++;
          else {
            rx.a2.c23++;
            rx.a2.c22 += pkt - 1;
          }
        }
        pkt = 0;
      } else {
        rx.received++;
        rx.jitterPackets++;
        pkt++;
      }
      if (prevLost !== undefined) {
        const k = `${prevLost ? 'l' : 'r'}${lost ? 'l' : 'r'}` as 'rr' | 'rl' | 'lr' | 'll';
        rx.transitions[k]++;
      }
      prevLost = lost;
    }
  };
  const codec = findCodec('PCMU')!;
  const source: QualityLegSource = {
    media: () => ({ codec, payloadType: 0, ptimeMs: 20 }),
    endpoint: {
      stats: () => ({ roundTripMs: 40 }) as never,
      rxQuality: () => structuredClone(rx),
      configureRxQuality: () => {},
      info: () => ({ sendSsrc: 2, recvSsrc: 1 }),
      setXrMedia: () => {},
      setXrFill: () => {},
      qualityIndicator: () => ({ rating: 4 }) as never,
      pollRtcp: () => [],
    },
    plc: () => 'generic',
    audioLevel: () => undefined,
    speechLevel: () => undefined,
    addresses: () => ({ local: { ip: '127.0.0.1', port: 4000 }, remote: { ip: '127.0.0.1', port: 5000 } }),
    dialog: () => undefined,
  };
  return { source, advance };
}
