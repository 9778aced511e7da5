import type { MonitoredLeg } from '../quality/QualityMonitor';
import type { LegLossMetrics, PlcKind } from '../media/meters';
import type { GatewayLeg } from './GatewayLeg';

/** What a QualityMonitor reads of one gateway leg. */
export function monitoredLeg(
  gw: {
    readonly relayed: boolean;
    audioLevel(n: 'a' | 'b'): number | undefined;
    lossMetrics(n: 'a' | 'b'): LegLossMetrics;
    plc(n: 'a' | 'b'): PlcKind;
  },
  l: GatewayLeg,
): MonitoredLeg {
  return {
    name: l.name,
    codec: l.codec,
    payloadType: l.payloadType,
    ptime: l.ptime,
    endpoint: l.endpoint,
    stats: () => l.stats(),
    audioLevel: () => gw.audioLevel(l.name),
    lossMetrics: () => gw.lossMetrics(l.name),
    plc: () => (gw.relayed ? 'relayed' : gw.plc(l.name)),
  };
}
