/**
 * The leg model with real SIP peers (sipp): an IVR that calls out and plays
 * a prompt the callee hears, then records what the callee says; hold and
 * resume by re-INVITE on an IVR leg; a B2BUA call into which the application
 * plays a prompt and whose callee leg it records both ways - all through the
 * public leg API (MediaLeg.play/record, MediaServer.outbound(),
 * MediaSession.reoffer()).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { validateFlow } from '../lib';
import { readWav, tone, writeWav } from '../lib/util/wav';
import { B2bua } from '../examples/b2bua';
import { IvrServer } from '../examples/ivr-server';
import { tmpDir } from './helpers/call';
import { mediaTap } from './helpers/mediaTap';
import { mediaPorts } from './helpers/ports';
import { toneReport } from './helpers/signal';
import { waitFor } from './helpers/wait';
import { writeRtpPcap } from './peers/pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';
import { PCMA, PCMU, parseSdp, telephoneEvent } from './peers/sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './peers/sipp';

const haveSipp = hasBinary('sipp');
const isRoot = process.getuid?.() === 0;
const skip = !haveSipp ? 'sipp not installed' : !isRoot ? 'sipp play_pcap_audio needs root' : false;

after(() => killAllPeers());

function pcapOf(dir: string, name: string, hz: number, seconds: number, codec: 'PCMU' | 'PCMA'): string {
  const file = path.join(dir, name);
  writeRtpPcap(file, tone(8000, seconds, [hz]).samples, { codec, ptimeMs: 20 });
  return file;
}

describe('the leg model with sipp peers', { skip }, () => {
  it('an IVR calls a sipp UAS out, plays it a prompt, records its answer, hangs up', { timeout: 40000 }, async () => {
    const dir = tmpDir('rms-outbound-');
    writeWav(path.join(dir, 'prompt.wav'), tone(16000, 1.2, [800]));
    const base = await findFreePortBlock(24);
    const flow = validateFlow({
      start: 'hello',
      nodes: {
        hello: { type: 'play', files: 'prompt.wav', next: 'listen' },
        listen: { type: 'record', file: 'answer.wav', maxDurationMs: 1500, next: 'end' },
        end: { type: 'hangup' },
      },
    });
    const ivr = new IvrServer({
      sipAddress: '127.0.0.12',
      sipPort: base + 20,
      media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
      mediaRoot: dir,
      flow,
    });
    const heard = await mediaTap(base + 12); // what the IVR sends the callee
    let uas: SippUas | undefined;
    try {
      uas = await startSippUas({
        sipPort: base,
        mediaPort: base + 4,
        sdpMediaPort: base + 12,
        codecs: [PCMA, telephoneEvent(101)],
        ptime: 20,
        pcap: pcapOf(dir, 'uas.pcap', 600, 4, 'PCMA'),
        timeoutSec: 20,
        workDir: path.join(dir, 'uas'),
      });
      const done = new Promise<string[]>((resolve) => ivr.on('done', (_id, r) => resolve(r.path)));
      const callId = await ivr.dial(`sip:service@127.0.0.1:${base}`);
      assert.equal(ivr.ms.get(callId).kind, 'outbound');
      assert.deepEqual(await done, ['hello', 'listen', 'end']);
      const res = await uas.result;
      assert.equal(res.exitCode, 0, describeSippResult(res));
      // it was offered our codecs, answered PCMA: the prompt reached it as PCMA at 800 Hz
      assert.ok(parseSdp(res.sdpReceived[0]).audio!.codecs.length > 1, 'an offer of our codecs');
      assert.deepEqual([...new Set(heard.packets.map((p) => p.pt))], [8]);
      const prompt = toneReport(heard.audio(), 800);
      assert.ok(prompt.marginDb > 15 && prompt.blocks > 10, `the callee hears the prompt: ${JSON.stringify(prompt)}`);
      // and what it said was recorded
      const rec = toneReport(readWav(path.join(dir, 'answer.wav')), 600);
      assert.ok(rec.marginDb > 15 && rec.blocks > 5, `the recording holds the callee: ${JSON.stringify(rec)}`);
      await waitFor(() => ivr.ms.sessions().length === 0, { what: 'the call to end' });
      assert.equal(ivr.ms.ports.inUse, 0);
    } finally {
      await uas?.stop();
      heard.close();
      ivr.close();
    }
  });

  it(
    'hold and resume by re-INVITE on an IVR leg: nothing is sent while held, the prompt goes on after',
    {
      timeout: 40000,
    },
    async () => {
      const dir = tmpDir('rms-ivrhold-');
      writeWav(path.join(dir, 'long.wav'), tone(8000, 6, [500]));
      const base = await findFreePortBlock(24);
      const flow = validateFlow({
        start: 'p',
        nodes: { p: { type: 'play', files: 'long.wav', next: 'end' }, end: { type: 'hangup' } },
      });
      const ivr = new IvrServer({
        sipAddress: '127.0.0.13',
        sipPort: base + 20,
        media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
        mediaRoot: dir,
        flow,
      });
      const heard = await mediaTap(base + 14);
      try {
        const uac = await runSippUac({
          remoteHost: '127.0.0.13',
          remotePort: base + 20,
          sipPort: base + 2,
          mediaPort: base + 8,
          sdpMediaPort: base + 14,
          codecs: [PCMU, telephoneEvent(101)],
          ptime: 20,
          steps: [
            { pause: 1000 },
            { reinvite: 'sendonly' },
            { pause: 1500 },
            { reinvite: 'sendrecv' },
            { expectBye: 8000 },
          ],
          timeoutSec: 20,
          workDir: path.join(dir, 'uac'),
        });
        assert.equal(uac.exitCode, 0, describeSippResult(uac));
        // the IVR answered the hold with recvonly and the resume with sendrecv, on the same port
        const answers = uac.sdpReceived.map((s) => parseSdp(s).audio!);
        assert.deepEqual(
          answers.map((a) => a.direction),
          ['sendrecv', 'recvonly', 'sendrecv'],
        );
        assert.equal(new Set(answers.map((a) => a.port)).size, 1);
        // the longest silence in what it sent: the hold (about 1.5 s), not the whole call
        const at = heard.frames.map((f) => f.at);
        const gaps = at.slice(1).map((t, i) => t - at[i]);
        const longest = Math.max(...gaps);
        assert.ok(longest > 1000, `a gap while on hold (longest ${longest} ms)`);
        const after = heard.frames.filter((f) => f.at > at[gaps.indexOf(longest)] + 500);
        assert.ok(after.length > 50, `the prompt goes on after the resume (${after.length} packets)`);
        const tone500 = toneReport(heard.audio(), 500);
        assert.ok(tone500.marginDb > 15, `the caller hears the prompt: ${JSON.stringify(tone500)}`);
        await waitFor(() => ivr.ms.sessions().length === 0, { what: 'the call to end' });
      } finally {
        heard.close();
        ivr.close();
      }
    },
  );

  it(
    'a B2BUA call: the application plays the caller a prompt and records the callee both ways',
    {
      timeout: 40000,
    },
    async () => {
      const dir = tmpDir('rms-b2bua-ops-');
      writeWav(path.join(dir, 'welcome.wav'), tone(8000, 1, [440]));
      const base = await findFreePortBlock(24);
      const ops: Promise<unknown>[] = [];
      const b2bua = new B2bua({
        sipAddress: '127.0.0.14',
        sipPort: base + 20,
        target: `sip:service@127.0.0.1:${base}`,
        media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1, mediaRoots: [dir] },
        onAnswered: (s) => {
          ops.push(s.a.play('welcome.wav'));
          ops.push(s.b!.record('call.wav', { bothDirections: true, maxDurationMs: 2500 }));
        },
      });
      const toUac = await mediaTap(base + 14);
      let uas: SippUas | undefined;
      try {
        uas = await startSippUas({
          sipPort: base,
          mediaPort: base + 4,
          sdpMediaPort: base + 12,
          codecs: [PCMA, telephoneEvent(101)],
          ptime: 20,
          pcap: pcapOf(dir, 'uas.pcap', 600, 4, 'PCMA'),
          timeoutSec: 20,
          workDir: path.join(dir, 'uas'),
        });
        const uac = await runSippUac({
          remoteHost: '127.0.0.14',
          remotePort: base + 20,
          sipPort: base + 2,
          mediaPort: base + 8,
          sdpMediaPort: base + 14,
          codecs: [PCMU, telephoneEvent(101)],
          ptime: 20,
          pcap: pcapOf(dir, 'uac.pcap', 1000, 4, 'PCMU'),
          durationMs: 3000,
          timeoutSec: 20,
          workDir: path.join(dir, 'uac'),
        });
        assert.equal(uac.exitCode, 0, describeSippResult(uac));
        assert.equal((await uas.result).exitCode, 0);
        const [played, recorded] = (await Promise.all(ops)) as [{ reason: string }, { reason: string; path: string }];
        assert.equal(played.reason, 'eof');
        assert.equal(recorded.reason, 'max-duration');
        // the caller heard the prompt first, then the callee
        const first = toUac.frames.slice(0, 40).flatMap((f) => [...f.pcm]);
        const prompt = toneReport({ rate: 8000, channels: 1, samples: Int16Array.from(first) }, 440);
        assert.ok(prompt.marginDb > 15, `the caller hears the prompt first: ${JSON.stringify(prompt)}`);
        const callee = toneReport(toUac.audio(), 600);
        assert.ok(callee.blocks > 5, `then the callee: ${JSON.stringify(callee)}`);
        // the recording holds both directions of the callee's leg: what it said (600) and heard (1000)
        const rec = readWav(recorded.path);
        for (const hz of [600, 1000]) {
          const r = toneReport(rec, hz);
          assert.ok(r.blocks > 3, `${hz} Hz in the recording: ${JSON.stringify(r)}`);
        }
        await waitFor(() => b2bua.ms.sessions().length === 0, { what: 'the call to end' });
        assert.equal(b2bua.ms.ports.inUse, 0);
      } finally {
        await uas?.stop();
        toUac.close();
        b2bua.close();
      }
    },
  );
});
