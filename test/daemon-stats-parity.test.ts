/**
 * The ng `query` and `statistics` replies in rtpengine 10.5's shapes, with
 * real daemons on real UDP (test/helpers/ngCall.ts plays Kamailio and two
 * phones). First our daemon alone: the per-tag, per-media and per-stream
 * figures (an RTP and an RTCP stream, their SSRC, last packet, flags and
 * counts, RTCP bytes to the byte), the per-SSRC MOS dictionaries Kamailio
 * reads, and every statistics section with rtpengine's value types. Then,
 * where Debian's rtpengine-daemon is installed, the same call through both:
 * every key path rtpengine's replies have in those sections must be in ours,
 * with the same bencode type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BDict, BValue } from '../lib/control/bencode';
import { startDaemon, type DaemonProcess } from './helpers/daemonProcess';
import { ngCall, type NgCallResult } from './helpers/ngCall';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { RTPENGINE, startRtpengine, type Rtpengine } from './peers/rtpengine';

const d = (v: BValue | undefined) => v as BDict;
const list = (v: BValue | undefined) => v as BValue[];

async function ourDaemon(): Promise<{ daemon: DaemonProcess; ng: NgClient }> {
  const [lo, hi] = mediaPorts(100);
  const daemon = await startDaemon(
    ['--control-udp', '127.0.0.1:0', '--ports', `${lo}-${hi}`, '--metrics', 'off', '--quality-sample-ms', '500'],
    { maxMs: 60_000, name: 'rms-stats' },
  );
  return { daemon, ng: await NgClient.create(daemon.udp) };
}

describe('query and statistics replies in rtpengine 10.5 shapes (our daemon)', () => {
  let daemon: DaemonProcess;
  let ng: NgClient;
  let r: NgCallResult;

  before(async () => {
    ({ daemon, ng } = await ourDaemon());
    r = await ngCall(ng, 4, 'stats');
  });
  after(async () => {
    ng?.close();
    await daemon?.stop();
  });

  it('each tag has created, subscriptions/subscribers naming the other tag, and one audio media with its codec', () => {
    const tags = d(r.query.tags);
    assert.deepEqual(Object.keys(tags).sort(), ['callee-tag', 'caller-tag']);
    for (const [tag, other] of [
      ['caller-tag', 'callee-tag'],
      ['callee-tag', 'caller-tag'],
    ]) {
      const t = d(tags[tag]);
      assert.equal(str(t.tag), tag);
      assert.equal(typeof t.created, 'number');
      assert.ok(Math.abs((t.created as number) - r.startMs / 1000) < 5, `${tag} created ${String(t.created)}`);
      for (const k of ['subscriptions', 'subscribers']) {
        const subs = list(t[k]).map((x) => [str(d(x).tag), str(d(x).type)]);
        assert.deepEqual(subs, [[other, 'offer/answer']], `${tag} ${k}`);
      }
      const medias = list(t.medias);
      assert.equal(medias.length, 1);
      const m = d(medias[0]);
      assert.equal(str(m.codec), 'PCMU/8000');
      assert.equal(str(m.protocol), 'RTP/AVP');
      assert.deepEqual(list(m.flags).map(str), ['initialized', 'send', 'recv']);
    }
    assert.equal(str(d(tags['caller-tag']).label), 'caller');
  });

  it('an RTP and an RTCP stream per media, with what the phone sent: SSRC, last packet, flags, counts', () => {
    const tags = d(r.query.tags);
    for (const [tag, who] of [
      ['caller-tag', 'caller'],
      ['callee-tag', 'callee'],
    ] as const) {
      const [rtp, rtcp] = list(d(list(d(tags[tag]).medias)[0]).streams).map(d);
      assert.ok(rtp && rtcp, `${tag}: two streams`);
      assert.deepEqual(list(rtp.flags).map(str), ['RTP', 'filled', 'confirmed']);
      assert.deepEqual(list(rtcp.flags).map(str), ['RTCP', 'filled', 'confirmed']);
      assert.equal(rtp.SSRC, r.ssrc[who], `${tag}: the SSRC the phone sends`);
      const last = rtp['last packet'] as number;
      assert.ok(
        last >= Math.floor(r.startMs / 1000) && last <= Math.ceil(r.endMs / 1000),
        `${tag}: last packet ${last}`,
      );
      assert.equal(str(rtp['local address']), '127.0.0.1');
      assert.equal(str(rtp.family), 'IPv4');
      assert.equal(rtcp['local port'], (rtp['local port'] as number) + 1);
      assert.equal(d(rtp['advertised endpoint']).port, r.ports[who]);
      assert.equal(d(rtp.endpoint).port, r.ports[who]);
      assert.equal(d(rtcp['advertised endpoint']).port, r.ports[who] + 1);
      const s = d(rtp.stats);
      // the first packets may come before the latch; no more than were sent
      assert.ok((s.packets as number) > r.rtpSent[who] * 0.9 && (s.packets as number) <= r.rtpSent[who]);
      assert.equal(s.bytes, (s.packets as number) * 172);
      const c = d(rtcp.stats);
      assert.equal(c.packets, r.rtcpSent[who], `${tag}: RTCP compounds received`);
      assert.equal(c.bytes, r.rtcpSent[who] * r.rtcpBytes, `${tag}: RTCP bytes received`);
      assert.equal(c.errors, 0);
    }
    const totals = d(r.query.totals);
    assert.equal(d(totals.RTCP).bytes, (r.rtcpSent.caller + r.rtcpSent.callee) * r.rtcpBytes);
    assert.equal(d(totals.RTCP).packets, r.rtcpSent.caller + r.rtcpSent.callee);
  });

  it('per SSRC: average, lowest and highest MOS and a progression, from the quality samples', () => {
    const ssrc = d(r.query.SSRC);
    for (const who of ['caller', 'callee'] as const) {
      const e = d(ssrc[String(r.ssrc[who])]);
      assert.ok(e, `an entry for the ${who}'s SSRC`);
      const avg = d(e['average MOS']);
      const lo = d(e['lowest MOS']);
      const hi = d(e['highest MOS']);
      assert.ok((avg.samples as number) >= 4, `${who}: ${String(avg.samples)} samples`);
      for (const p of [avg, lo, hi]) assert.ok((p.MOS as number) >= 10 && (p.MOS as number) <= 50);
      assert.ok((lo.MOS as number) <= (avg.MOS as number) && (avg.MOS as number) <= (hi.MOS as number));
      for (const p of [lo, hi]) {
        const at = p['reported at'] as number;
        assert.ok(at >= Math.floor(r.startMs / 1000) && at <= Math.ceil(r.endMs / 1000));
      }
      const prog = d(e['MOS progression']);
      assert.equal(typeof prog.interval, 'number');
      assert.ok(list(prog.entries).length >= 1 && list(prog.entries).length <= (avg.samples as number));
      assert.equal(typeof e['cumulative loss'], 'number');
    }
    // the callee's stream lost every 50th packet: its loss shows, the caller's does not
    assert.ok((d(d(ssrc[String(r.ssrc.callee)])['highest MOS'])['packet loss'] as number) >= 0);
    assert.ok((d(ssrc[String(r.ssrc.callee)])['cumulative loss'] as number) >= 3);
    assert.equal(d(ssrc[String(r.ssrc.caller)])['cumulative loss'], 0);
  });

  it('statistics: the sections and value types rtpengine writes, with what the call did', () => {
    const s = d(r.statistics.statistics);
    const cur = d(s.currentstatistics);
    assert.equal(cur.sessionsown, 1);
    assert.equal(cur.media_userspace, 2);
    assert.equal(cur.media_kernel, 0);
    // two phones at 50 packets/s each, plus RTCP; the last one-second tick may
    // fall in the 0.3 s after the media stopped, so the rate may be below 100
    assert.ok(
      (cur.packetrate as number) >= 30 && (cur.packetrate as number) <= 120,
      `packetrate ${String(cur.packetrate)}`,
    );
    assert.equal(cur.packetrate_user, cur.packetrate);
    assert.ok((cur.byterate as number) >= (cur.packetrate as number) * 72);
    const tot = d(s.totalstatistics);
    assert.match(str(tot.uptime)!, /^\d+$/);
    assert.match(str(tot.avgcallduration)!, /^\d+\.\d{6}$/);
    assert.ok((tot.relayedpackets as number) >= (cur.packetrate as number));
    const mos = d(s.mos);
    assert.ok((mos.mos_samples_total as number) >= 8);
    const mean = Number(str(mos.mos_average));
    assert.ok(mean >= 1 && mean <= 5, `mos_average ${mean}`);
    assert.ok(Math.abs(Number(str(mos.mos_total)) / (mos.mos_samples_total as number) - mean) < 1e-3);
    const iface = d(list(s.interfaces)[0]);
    assert.equal(str(iface.address), '127.0.0.1');
    const ports = d(iface.ports);
    assert.equal(ports.used, 4);
    assert.equal((ports.used as number) + (ports.free as number), ports.totals);
    assert.match(str(ports.used_pct)!, /^\d+\.\d\d$/);
    const ctl = d(s.controlstatistics);
    const proxy = d(list(ctl.proxies)[0]);
    assert.equal(str(proxy.proxy), '127.0.0.1');
    assert.equal(proxy.offercount, 1);
    assert.equal(proxy.answercount, 1);
    assert.equal(proxy.querycount, 1);
    assert.match(str(proxy.offerduration)!, /^\d+\.\d{6}$/);
    assert.equal(ctl.totalquerycount, 1);
    assert.deepEqual(list(s.transcoders), []);
  });

  it('after the delete: one managed, regularly terminated session with its duration', () => {
    const tot = d(d(r.after.statistics).totalstatistics);
    assert.equal(tot.managedsessions, 1);
    assert.equal(tot.regularterminatedsessions, 1);
    assert.equal(tot.timeoutsessions, 0);
    assert.equal(tot.zerowaystreams, 0);
    assert.equal(tot.onewaystreams, 0);
    const dur = Number(str(tot.totalcallsduration));
    assert.ok(dur >= 4 && dur < 10, `duration ${dur}`);
    assert.equal(d(d(r.after.statistics).currentstatistics).sessionsown, 0);
    assert.equal(d(d(list(d(r.after.statistics).interfaces)[0]).ports).used, 0);
    assert.equal(d(d(r.after.statistics).controlstatistics).totaldeletecount, 1);
  });
});

/** Every key path of a reply with its bencode type; list items are `[]`, tags `<tag>`, SSRCs `<ssrc>`. */
function keyPaths(v: BValue, at = '', out = new Map<string, string>()): Map<string, string> {
  const type =
    Buffer.isBuffer(v) || typeof v === 'string'
      ? 'string'
      : Array.isArray(v)
        ? 'list'
        : typeof v === 'object'
          ? 'dict'
          : 'integer';
  if (at) out.set(at, type);
  if (Array.isArray(v)) for (const x of v) keyPaths(x, `${at}[]`, out);
  else if (type === 'dict')
    for (const [k, x] of Object.entries(v as BDict)) {
      const key = at.endsWith('/tags') ? '<tag>' : at.endsWith('/SSRC') ? '<ssrc>' : k;
      keyPaths(x, `${at}/${key}`, out);
    }
  return out;
}

/**
 * rtpengine's paths we do not write, and why: the round trips of an SSRC's
 * MOS points (rtpengine works them out from the SRs and RRs it relays; our
 * relay passes RTCP on without timing it, so we have no figure), and
 * Graphite's interval statistics (we have no Graphite reporting interval).
 */
const NOT_OURS = [/\/round-trip time( leg)?$/, /^\/statistics\/intervalstatistics(\/|$)/];

/** The sections compared: the query reply's and the statistics reply's that Kamailio and monitoring read. */
const SECTIONS = [
  /^\/(created|created_us|last signal|result)$/,
  /^\/(SSRC|tags|totals)(\/|$)/,
  /^\/statistics\/(currentstatistics|totalstatistics|mos|controlstatistics|interfaces|transcoders)(\/|$)/,
];

function missing(theirs: BDict, ours: BDict): string[] {
  const t = keyPaths(theirs);
  const o = keyPaths(ours);
  const out: string[] = [];
  for (const [p, type] of t) {
    if (!SECTIONS.some((re) => re.test(p)) || NOT_OURS.some((re) => re.test(p))) continue;
    if (!o.has(p)) out.push(`${p} (missing)`);
    else if (o.get(p) !== type) out.push(`${p} (${o.get(p)}, rtpengine ${type})`);
  }
  return out;
}

describe(
  'side by side with rtpengine 10.5: every key path of its replies is in ours',
  { skip: !RTPENGINE && 'rtpengine-daemon not installed' },
  () => {
    let rtpe: Rtpengine;
    let rtpeNg: NgClient;
    let daemon: DaemonProcess;
    let ng: NgClient;
    let theirs: NgCallResult;
    let ours: NgCallResult;

    before(async () => {
      rtpe = await startRtpengine();
      rtpeNg = rtpe.ng;
      ({ daemon, ng } = await ourDaemon());
      // one after the other: the two calls do not share the machine's time
      theirs = await ngCall(rtpeNg, 5, 'rtpe');
      ours = await ngCall(ng, 5, 'rms');
    });
    after(async () => {
      ng?.close();
      await rtpe?.stop();
      await daemon?.stop();
    });

    it('rtpengine itself reported what the comparison needs (MOS for an SSRC, both streams, the proxy)', () => {
      assert.ok(Object.keys(d(theirs.query.SSRC)).length >= 1, 'rtpengine computed MOS from the RTCP');
      assert.equal(list(d(list(d(d(theirs.query.tags)['caller-tag']).medias)[0]).streams).length, 2);
      assert.equal(list(d(d(theirs.statistics.statistics).controlstatistics).proxies).length, 1);
    });

    it('query: tags, medias, streams, SSRC MOS entries and totals', () => {
      assert.deepEqual(missing(theirs.query, ours.query), []);
    });

    it('delete carries the same as query', () => {
      assert.deepEqual(missing(theirs.deleted, ours.deleted), []);
    });

    it('statistics: current, total, mos, control, interfaces, transcoders', () => {
      assert.deepEqual(missing(theirs.statistics, ours.statistics), []);
      assert.deepEqual(missing(theirs.after, ours.after), []);
    });
  },
);
