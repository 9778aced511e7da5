/**
 * liblinphone (linphonec, Debian linphone-cli) <-> the example B2BUA <->
 * liblinphone, with an RFC 6035 collector of ours that both phones and the
 * B2BUA publish to:
 *
 * - the call sets up both ways (linphonec as caller and as callee), audio
 *   crosses in both directions (PCMU on one side, PCMA on the other:
 *   transcoded), and either side's BYE ends it cleanly;
 * - each phone's own vq-rtcpxr report has RemoteMetrics from our XR, and our
 *   CallTerm reports have RemoteMetrics from theirs;
 * - every body we send passes the RFC 6035 4.6.1 grammar check, and carries
 *   the dialog identifiers the phones' own reports carry (Call-ID, tags).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseVqReport, type VqReport } from '../lib';
import { readWav, tone, writeWav } from '../lib/tools';
import { B2bua } from '../examples/b2bua';
import { tmpDir } from './helpers/call';
import { toneReport } from './helpers/signal';
import { checkAbnf } from './helpers/vqAbnf';
import { Linphone } from './peers/linphone';
import { findFreePortBlock, hasBinary, killAllPeers, sleep, waitUntil } from './peers/proc';

const sip = require('sip');

const haveLinphone = hasBinary('linphonec') && hasBinary('script');
// the sip package reads a request-URI on its own host as a flow token: the
// B2BUA gets a loopback address no peer uses
const B2BUA_IP = '127.0.0.10';

interface Published {
  userAgent: string;
  body: string;
}

describe('linphonec <-> example B2BUA <-> linphonec', { skip: !haveLinphone && 'linphonec not installed' }, () => {
  let dir: string;
  let base: number;
  let b2bua: B2bua;
  let collector: any;
  let alice: Linphone;
  let bob: Linphone;
  const published: Published[] = [];
  const logs: string[] = [];

  before(async () => {
    dir = tmpDir('rms-linphone-');
    base = await findFreePortBlock(200);
    collector = sip.create(
      { address: '127.0.0.1', port: base, publicAddress: '127.0.0.1', tcp: false },
      (rq: { method: string; headers: Record<string, any>; content?: string }) => {
        if (rq.method === 'PUBLISH')
          published.push({ userAgent: String(rq.headers['user-agent'] ?? ''), body: rq.content ?? '' });
        collector.send(sip.makeResponse(rq, 200, 'OK'));
      },
    );
    b2bua = new B2bua({
      sipAddress: B2BUA_IP,
      sipPort: base + 2,
      target: `sip:bob@127.0.0.1:${base + 4}`,
      media: { address: '127.0.0.1', ports: [base + 100, base + 199] },
      collector: `sip:collector@127.0.0.1:${base}`,
      intervalSec: 3,
      log: (l) => logs.push(l),
    });
    writeWav(path.join(dir, 'alice.wav'), tone(8000, 30, [1000], 0.3));
    writeWav(path.join(dir, 'bob.wav'), tone(8000, 30, [600], 0.3));
    const common = { proxy: `sip:${B2BUA_IP}:${base + 2}`, collector: `sip:collector@127.0.0.1:${base}` };
    [bob, alice] = await Promise.all([
      Linphone.start({
        ...common,
        name: 'bob',
        dir: path.join(dir, 'bob'),
        sipPort: base + 4,
        rtpPort: base + 40,
        identity: '"Bob" <sip:bob@127.0.0.1>',
        codecs: ['PCMA'],
        playFile: path.join(dir, 'bob.wav'),
        recordFile: path.join(dir, 'bob-heard.wav'),
        autoAnswer: true,
      }),
      Linphone.start({
        ...common,
        name: 'alice',
        dir: path.join(dir, 'alice'),
        sipPort: base + 6,
        rtpPort: base + 50,
        identity: '"Alice Liddell" <sip:alice@127.0.0.1>',
        codecs: ['PCMU'],
        playFile: path.join(dir, 'alice.wav'),
        recordFile: path.join(dir, 'alice-heard.wav'),
      }),
    ]);
  });

  after(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    killAllPeers();
    b2bua?.close();
    collector?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One call alice -> B2BUA -> bob of `seconds`, hung up by `hangup`. */
  async function call(seconds: number, hangup: 'alice' | 'bob') {
    const from = { alice: alice.output.length, bob: bob.output.length };
    const before = published.length;
    alice.call(`sip:bob@${B2BUA_IP}:${base + 2}`);
    await alice.waitFor(/Call \d+ with .* connected/, 20_000, from.alice);
    await bob.waitFor(/Call \d+ with .* connected/, 20_000, from.bob);
    await sleep(seconds * 1000);
    (hangup === 'alice' ? alice : bob).hangup();
    await alice.waitFor(/Call \d+ with .* ended/, 10_000, from.alice);
    await bob.waitFor(/Call \d+ with .* ended/, 10_000, from.bob);
    // the CallTerm reports of both phones and of both our legs
    const callTerms = () =>
      published.slice(before).filter((p) => /^VQSessionReport\s*:\s*CallTerm/.test(p.body)).length;
    await waitUntil(() => callTerms() >= 4, 15_000, `4 CallTerm reports (have ${callTerms()})`);
    return published.slice(before).map((p) => ({ ...p, report: parseVqReport(p.body) }));
  }

  let first: (Published & { report: VqReport })[] = [];

  it('linphonec calls through the B2BUA: transcoded audio both ways, hang-up by the caller', async () => {
    first = await call(8, 'alice');
    assert.equal(b2bua.calls, 0, 'the call is gone');
    assert.equal(b2bua.ms.sessions().length, 0);
    assert.equal(b2bua.ms.ports.inUse, 0);
    assert.ok(
      logs.some((l) => /answered, "?PCMU"? <-> "?PCMA"?/.test(l)),
      logs.join('\n'),
    );
    // what each phone heard (its record file): the other one's tone
    await sleep(500);
    const bobHeard = toneReport(readWav(path.join(dir, 'bob-heard.wav')), 1000);
    const aliceHeard = toneReport(readWav(path.join(dir, 'alice-heard.wav')), 600);
    assert.ok(bobHeard.marginDb > 15 && bobHeard.blocks > 30, `bob heard alice: ${JSON.stringify(bobHeard)}`);
    assert.ok(aliceHeard.marginDb > 15 && aliceHeard.blocks > 30, `alice heard bob: ${JSON.stringify(aliceHeard)}`);
  });

  it('RemoteMetrics both ways: the phones report our XR, our CallTerm reports theirs', () => {
    const ours = first.filter((p) => p.userAgent.startsWith('rtp-media-server'));
    const phones = first.filter((p) => p.userAgent.startsWith('Linphone'));
    const oursTerm = ours.filter((p) => p.report.kind === 'VQSessionReport');
    const phonesTerm = phones.filter((p) => p.report.kind === 'VQSessionReport');
    assert.equal(oursTerm.length, 2);
    assert.equal(phonesTerm.length, 2, phones.map((p) => p.body).join('\n---\n'));
    for (const p of phonesTerm) {
      const rm = p.report.remoteMetrics;
      assert.ok(rm?.qualityEst?.moscq !== undefined, `the phone's report has our XR in RemoteMetrics:\n${p.body}`);
      assert.ok(rm.jitterBuffer?.nominalMs !== undefined, p.body);
      assert.ok(rm.packetLoss?.networkLossPercent !== undefined, p.body);
    }
    for (const p of oursTerm) {
      const rm = p.report.remoteMetrics;
      assert.ok(rm?.qualityEst?.moslq !== undefined, `our report has the phone's XR:\n${p.body}`);
      assert.ok(rm.packetLoss?.networkLossPercent !== undefined, p.body);
      // and our own figures: media came, so an estimate and a loss rate
      assert.ok((p.report.localMetrics.qualityEst?.moscq ?? 0) >= 4, p.body);
      assert.equal(p.report.localMetrics.packetLoss?.networkLossPercent, 0, p.body);
    }
    // interval reports came during the call (every 3 s here)
    assert.ok(ours.filter((p) => p.report.kind === 'VQIntervalReport').length >= 2);
  });

  it('every body we sent passes the RFC 6035 grammar check and carries the dialogs the phones carry', () => {
    const ours = first.filter((p) => p.userAgent.startsWith('rtp-media-server'));
    for (const p of ours) assert.deepEqual(checkAbnf(p.body), [], p.body);
    const phone = (ua: string, localMatch: RegExp) =>
      first.find(
        (p) => p.userAgent.startsWith(ua) && p.report.kind === 'VQSessionReport' && localMatch.test(p.report.localId),
      )!;
    const aliceReport = phone('Linphone', /alice/);
    const bobReport = phone('Linphone', /bob/);
    const legA = ours.find((p) => p.report.kind === 'VQSessionReport' && p.report.callId === aliceReport.report.callId);
    const legB = ours.find((p) => p.report.kind === 'VQSessionReport' && p.report.callId === bobReport.report.callId);
    assert.ok(legA && legB, `our CallTerm reports carry the phones' Call-IDs: ${ours.map((p) => p.report.callId)}`);
    assert.notEqual(aliceReport.report.callId, bobReport.report.callId, 'two dialogs, two Call-IDs');
    // tags: liblinphone writes DialogID as callid;to-tag=..;from-tag=..[;ssrc]
    const tags = (d: string | undefined) => ({
      to: /to-tag=([^;\s]+)/.exec(d ?? '')?.[1],
      from: /from-tag=([^;\s]+)/.exec(d ?? '')?.[1],
    });
    const phoneDialog = (r: (typeof first)[number]) => tags(/^DialogID\s*:\s*(.*)$/m.exec(r.body)?.[1]);
    assert.deepEqual(
      tags(`;to-tag=${legA.report.dialogId!.toTag};from-tag=${legA.report.dialogId!.fromTag}`),
      phoneDialog(aliceReport),
    );
    assert.deepEqual(
      tags(`;to-tag=${legB.report.dialogId!.toTag};from-tag=${legB.report.dialogId!.fromTag}`),
      phoneDialog(bobReport),
    );
    // identities as the dialogs have them: the caller with its display name, originator of both dialogs
    assert.match(legA.report.remoteId, /^"Alice Liddell" <sip:alice@127\.0\.0\.1/);
    assert.match(legA.report.origId, /^"Alice Liddell" <sip:alice@/);
    assert.match(legB.report.localId, /^"Alice Liddell" <sip:alice@/);
    assert.match(legB.report.remoteId, /sip:bob@127\.0\.0\.1/);
    assert.match(legB.report.origId, /^"Alice Liddell"/);
  });

  it('linphonec as callee hangs up: the B2BUA ends both sides cleanly', async () => {
    const reports = await call(3, 'bob');
    assert.equal(b2bua.calls, 0);
    assert.equal(b2bua.ms.sessions().length, 0);
    assert.equal(b2bua.ms.ports.inUse, 0);
    assert.ok(
      logs.some((l) => /BYE from b/.test(l)),
      logs.join('\n'),
    );
    const ours = reports.filter((p) => p.userAgent.startsWith('rtp-media-server'));
    for (const p of ours) assert.deepEqual(checkAbnf(p.body), [], p.body);
  });
});
