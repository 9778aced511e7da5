/**
 * Two rtp-media-server daemons as one Kamailio rtpengine set: Kamailio picks
 * a node per call from a hash of the Call-ID, so calls spread over both; when
 * one daemon hangs, the first command that goes to it gets no reply within
 * rtpengine_tout_ms x rtpengine_retr, Kamailio disables the node and sends the
 * same command to the other one, and every later call goes there at once; the
 * proxy keeps working when the daemon is then stopped. (A daemon that exited
 * on the same host fails over at once: its closed port answers with ICMP.)
 * Signalling only (no RTP), so no root is needed.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { tmpDir } from '../helpers/call';
import { startDaemon, type DaemonProcess } from '../helpers/daemonProcess';
import { startKamailio, type Kamailio } from './kamailio';
import { findFreePortBlock, hasBinary, killAllPeers } from './proc';
import { PCMU } from './sdp';
import { describeSippResult, runSippUac, startSippUas, type SippResult } from './sipp';

const skip = !hasBinary('kamailio')
  ? 'kamailio not installed (apt-get install -y --no-install-recommends kamailio)'
  : !hasBinary('sipp')
    ? 'sipp not installed'
    : false;

after(() => killAllPeers());

/** Kamailio 5.6's default node choice (hash_algo 0): the Call-ID's byte sum modulo 256, then modulo the weights. */
function byteSum(callId: string): number {
  let s = 0;
  for (const b of Buffer.from(callId)) s += b;
  return s % 256;
}

/** sipp -trace_msg times ("2026-11-26 11:22:26.758123" style) in ms. */
function atMs(at: string): number {
  const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(at);
  if (!m) return NaN;
  return Date.parse(`${m[1]}T${m[2]}Z`) + (m[3] ? Number(`0.${m[3]}`) * 1000 : 0);
}

/** INVITE sent to 200 received, as the UAC saw it. */
function setupMs(r: SippResult): number {
  const invite = r.messages.find((m) => m.direction === 'sent' && m.method === 'INVITE');
  const ok = r.messages.find((m) => m.direction === 'received' && m.status === 200);
  return invite && ok ? atMs(ok.at) - atMs(invite.at) : NaN;
}

/** Call-IDs each daemon took an offer for, from its log. */
function callsOf(d: DaemonProcess): string[] {
  return [...d.proc.stderr().matchAll(/call (\S+): offer from/g)].map((m) => m[1]);
}

describe('two daemons in one Kamailio rtpengine set', { skip }, () => {
  it('calls spread over both nodes; one stops, new calls go to the other', { timeout: 60_000 }, async () => {
    const dir = tmpDir('rms-kam-failover-');
    const base = await findFreePortBlock(60);
    const kamSip = base + 58;
    const daemons: DaemonProcess[] = [];
    let kam: Kamailio | undefined;
    let frozen: DaemonProcess | undefined;
    let slot = 0;
    /** One call through Kamailio: a sipp UAS of its own, a UAC with the given Call-ID. */
    async function call(callId: string): Promise<SippResult> {
      const p = base + 12 * (slot++ % 4); // SIP p and p+2; sipp binds media p+4/p+6 and p+8/p+10
      const uas = await startSippUas({
        sipPort: p,
        mediaPort: p + 4,
        codecs: [PCMU],
        timeoutSec: 15,
        workDir: path.join(dir, `uas-${callId}`),
      });
      try {
        const uac = await runSippUac({
          remoteHost: '127.0.0.1',
          remotePort: p,
          extraArgs: ['-rsa', `127.0.0.1:${kamSip}`, '-cid_str', callId.replace(/^(.*)-1@/, '$1-%u@')],
          sipPort: p + 2,
          mediaPort: p + 8,
          codecs: [PCMU],
          durationMs: 200,
          timeoutSec: 15,
          workDir: path.join(dir, `uac-${callId}`),
        });
        assert.equal(uac.exitCode, 0, describeSippResult(uac) + '\n' + kam!.log().slice(-3000));
        assert.equal((await uas.result).exitCode, 0);
        return uac;
      } finally {
        await uas.stop();
      }
    }
    try {
      for (const ports of ['35200-35299', '35300-35399'])
        daemons.push(
          await startDaemon(
            ['--control-udp=127.0.0.1:0', '--metrics=off', `--ports=${ports}`, '--tickers=1', '--drain-timeout=1'],
            {
              name: `rms-daemon-${ports}`,
            },
          ),
        );
      kam = await startKamailio({
        sipPort: kamSip,
        nodes: daemons.map((d) => d.udp),
        toutMs: 300,
        retr: 1,
        disableTout: 60,
      });

      // 1. six calls, two at a time: Kamailio hashes each Call-ID onto a node
      const spread = Array.from({ length: 6 }, (_, i) => `spread-${i}-1@127.0.0.1`);
      for (let i = 0; i < spread.length; i += 2) await Promise.all(spread.slice(i, i + 2).map(call));
      const [one, two] = daemons.map(callsOf);
      assert.equal(one.length + two.length, 6, `every call on exactly one node: ${one} | ${two}`);
      assert.ok(one.length >= 1 && two.length >= 1, `spread over both: ${one.length} / ${two.length}`);
      // and it is the documented hash: even byte sums on the first node of the set, odd on the second
      for (const id of spread) assert.equal(one.includes(id), byteSum(id) % 2 === 0, id);

      // 2. the first node hangs (SIGSTOP: no reply, and no ICMP error either): the first call
      // for it waits one unanswered offer (rtpengine_tout_ms 300 x retr 1), Kamailio disables the
      // node and sends the offer to the other one; later calls go there at once
      const after = Array.from({ length: 6 }, (_, i) => `after-${i}-1@127.0.0.1`).filter((id) => byteSum(id) % 2 === 0);
      assert.ok(after.length >= 2, 'calls that hash onto the first node');
      const [hungFirst, hungNext] = after;
      frozen = daemons[0];
      frozen.proc.child.kill('SIGSTOP');
      const times = [setupMs(await call(hungFirst)), setupMs(await call(hungNext))];
      // 3. it wakes up and takes the offer that waited in its socket: a call Kamailio will never
      // delete (its media timeout would end it); then it stops for good, closing that call at
      // its drain timeout, and the proxy keeps working on the remaining node
      frozen.proc.child.kill('SIGCONT');
      frozen = undefined;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await daemons[0].stop()).code, 0);
      const last = after[2] ?? `late-0-1@127.0.0.1`;
      times.push(setupMs(await call(last)));
      const moved = callsOf(daemons[1]);
      for (const id of [hungFirst, hungNext, last]) assert.ok(moved.includes(id), `${id} on the remaining node`);
      assert.ok(times[0] >= 290 && times[0] < 1500, `failover call set up in ${times[0]} ms`);
      for (const t of times.slice(1)) assert.ok(t < 250, `later calls set up in ${times.slice(1)} ms`);
      assert.match(kam.log(), /timeout waiting reply/);
      console.log(
        `spread: node 1 ${one.length}, node 2 ${two.length}; failover call set-up ${Math.round(times[0])} ms, ` +
          `next ${times.slice(1).map(Math.round).join('/')} ms`,
      );
    } finally {
      frozen?.proc.child.kill('SIGCONT');
      await kam?.stop();
      for (const d of daemons) await d.stop();
    }
  });
});
