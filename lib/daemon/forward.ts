/**
 * start forwarding / stop forwarding: rtpengine's names for sending a
 * call's media elsewhere (its recording daemon). Here the named
 * participants' decoded audio is forked to a WebSocket given by the
 * extension key `forward-to` (MediaLeg.fork(), the public API), one fork per
 * leg; nobody named forks the call (the offerer's leg, both directions,
 * mixed). With the `inject` flag what the WebSocket sends back plays into the
 * leg. Forks end with stop forwarding, or with the call.
 */
import type { BDict } from '../control/bencode';
import { okReply, type NgStartForwarding, type NgStopForwarding } from '../control/ng';
import type { MediaLeg } from '../leg/MediaLeg';
import type { AudioFork, ForkOptions } from '../streams';
import { legsOf, type CallView } from './inject';
import { refuse } from './refuse';

const forksOf = new WeakMap<CallView, Map<MediaLeg, AudioFork[]>>();

function named(req: { participant: NgStartForwarding['participant'] }): boolean {
  const p = req.participant;
  return p.all !== undefined || p.fromTag !== undefined || p.label !== undefined || p.address !== undefined;
}

/** start forwarding or stop forwarding. */
export function forwarding(req: NgStartForwarding | NgStopForwarding, e: CallView): BDict {
  return req.command === 'start forwarding' ? startForwarding(req, e) : stopForwarding(req, e);
}

export function startForwarding(req: NgStartForwarding, e: CallView): BDict {
  if (!req.forwardTo) refuse('start forwarding needs forward-to (a ws:// or wss:// URL to fork the audio to)');
  const s = e.session;
  if ((s.state !== 'answered' && s.state !== 'early') || !s.bridge)
    refuse('The call is not answered yet: no media to forward');
  const legs = named(req) ? legsOf(e, req.participant) : [s.a];
  const direction = (req.direction ?? (named(req) ? 'in' : 'both')) as ForkOptions['direction'];
  let map = forksOf.get(e);
  if (!map) forksOf.set(e, (map = new Map()));
  const started: AudioFork[] = [];
  try {
    for (const leg of legs) {
      const fork = leg.fork({
        url: req.forwardTo,
        direction,
        format: req.format as ForkOptions['format'],
        rate: req.rate as ForkOptions['rate'],
        stereo: req.stereo || undefined,
        inject: req.inject || undefined,
        call: req.callId,
        metadata: req.metadata !== undefined ? { ng: req.metadata } : undefined,
      });
      started.push(fork);
      map.set(leg, [...(map.get(leg) ?? []), fork]);
      fork.on('stop', () => {
        const list = map!.get(leg)?.filter((f) => f !== fork) ?? [];
        if (list.length) map!.set(leg, list);
        else map!.delete(leg);
      });
    }
  } catch (err) {
    for (const f of started) f.stop('refused');
    throw err;
  }
  return okReply({ forks: started.map((f) => f.id) });
}

export function stopForwarding(req: NgStopForwarding, e: CallView): BDict {
  const map = forksOf.get(e);
  const legs = named(req) ? legsOf(e, req.participant) : [...(map?.keys() ?? [])];
  let n = 0;
  for (const leg of legs)
    for (const f of [...(map?.get(leg) ?? [])]) {
      f.stop('stop forwarding');
      n++;
    }
  return okReply(n ? {} : { warning: 'nothing was being forwarded' });
}
