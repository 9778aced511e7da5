/**
 * The `SSRC` section of query and delete replies, in rtpengine's shape:
 * per SSRC, `cumulative loss`, `average MOS`, `lowest MOS` and `highest
 * MOS` (each `MOS` x10, `round-trip time` end to end and `round-trip time
 * leg` in µs, `jitter` in ms, `packet loss` in percent, `reported at` in
 * epoch seconds or, for the average, `samples`) and a `MOS progression` of
 * about ten of those points. Kamailio's rtpengine module reads the first
 * three into its mos_* variables. A point is one quality sample of the leg
 * (what we measured on what the leg sends us, over the alert window); a
 * figure the sample lacks is left out, never written as 0. The end-to-end
 * round trip is this leg's plus the other leg's at the same sample, as
 * rtpengine adds the two legs' round trips.
 */
import { dict, type BDict } from '../control/bencode';
import type { QualitySample } from '../quality/QualityMonitor';

const round = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? undefined : Math.round(v));

/** The figures of one sample, as an rtpengine MOS point (no `reported at`). */
function figures(s: QualitySample, other: QualitySample | undefined): BDict {
  const leg = s.rttMs !== undefined && s.rttMs > 0 ? s.rttMs * 1000 : undefined;
  const far = other?.rttMs !== undefined && other.rttMs > 0 ? other.rttMs * 1000 : undefined;
  return dict({
    MOS: Math.round(s.mosCq! * 10),
    'round-trip time': leg !== undefined && far !== undefined ? Math.round(leg + far) : undefined,
    'round-trip time leg': round(leg),
    jitter: round(s.jitterMs),
    'packet loss': round(s.lossPercent),
  });
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/**
 * The SSRC entry of one leg from its samples (`other`: the samples of the
 * leg it is bridged to), undefined when no sample has a MOS.
 */
export function ssrcEntry(
  samples: readonly QualitySample[],
  leg: string,
  other: string | undefined,
  cumulativeLoss: number | undefined,
): BDict | undefined {
  const mine = samples.filter((s) => s.leg === leg && s.mosCq !== undefined && Number.isFinite(s.mosCq));
  if (!mine.length) return undefined;
  const peerAt = new Map<number, QualitySample>();
  if (other !== undefined) for (const s of samples) if (s.leg === other) peerAt.set(s.atMs, s);
  const point = (s: QualitySample) => {
    const d = figures(s, peerAt.get(s.atMs));
    d['reported at'] = Math.floor(s.atMs / 1000);
    return d;
  };
  const points = mine.map((s) => figures(s, peerAt.get(s.atMs)));
  const avg = (k: string) => round(mean(points.flatMap((p) => (typeof p[k] === 'number' ? [p[k] as number] : []))));
  let lowest = mine[0];
  let highest = mine[0];
  for (const s of mine) {
    if (s.mosCq! < lowest.mosCq!) lowest = s;
    if (s.mosCq! > highest.mosCq!) highest = s;
  }
  // about ten entries: one per tenth of the span, the first sample of each step
  const first = Math.floor(mine[0].atMs / 1000);
  const interval = Math.floor((Math.floor(mine[mine.length - 1].atMs / 1000) - first) / 10);
  const entries: BDict[] = [];
  let next = first;
  for (const s of mine) {
    if (Math.floor(s.atMs / 1000) < next) continue;
    next += interval;
    entries.push(point(s));
  }
  return dict({
    'cumulative loss': round(cumulativeLoss),
    'average MOS': dict({
      MOS: avg('MOS'),
      'round-trip time': avg('round-trip time'),
      'round-trip time leg': avg('round-trip time leg'),
      jitter: avg('jitter'),
      'packet loss': avg('packet loss'),
      samples: mine.length,
    }),
    'lowest MOS': point(lowest),
    'highest MOS': point(highest),
    'MOS progression': dict({ interval, entries }),
  });
}
