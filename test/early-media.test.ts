/**
 * Early media through the example B2BUA with sipp on both sides: the callee
 * answers 183 with SDP (and sends audio at once), then 200 with SDP, from
 * the same early dialog or from another to-tag. Audio must cross both ways
 * during early media and after the answer, on the port pair the caller got
 * in the 183.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { tone } from '../lib/util/wav';
import { B2bua } from '../examples/b2bua';
import { tmpDir } from './helpers/call';
import { mediaTap, type TapFrame } from './helpers/mediaTap';
import { toneReport } from './helpers/signal';
import { writeRtpPcap } from './peers/pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';
import { PCMA, PCMU, parseSdp, telephoneEvent } from './peers/sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './peers/sipp';
import { mediaPorts } from './helpers/ports';

const haveSipp = hasBinary('sipp');
const isRoot = process.getuid?.() === 0;
const B2BUA_IP = '127.0.0.11';

after(() => killAllPeers());

describe(
  'early media: 183 with SDP, then 200',
  { skip: !haveSipp ? 'sipp not installed' : !isRoot ? 'sipp play_pcap_audio needs root' : false },
  () => {
    for (const sameTag of [true, false]) {
      it(
        `the 200 comes from ${sameTag ? 'the same early dialog' : 'another to-tag'}: audio both ways before and after it, one port pair towards the caller`,
        { timeout: 40000 },
        async () => {
          const dir = tmpDir('rms-early-');
          const base = await findFreePortBlock(24);
          const [uasSip, uacSip, b2buaSip] = [base, base + 2, base + 20];
          const [uasMedia, uacMedia, uasTap, uacTap] = [base + 4, base + 8, base + 12, base + 14];
          let answeredAt = 0;
          const b2bua = new B2bua({
            sipAddress: B2BUA_IP,
            sipPort: b2buaSip,
            target: `sip:service@127.0.0.1:${uasSip}`,
            media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
            onAnswered: () => (answeredAt = Date.now()),
          });
          const toUac = await mediaTap(uacTap);
          const toUas = await mediaTap(uasTap);
          const pcap = (
            name: string,
            hz: number,
            seconds: number,
            codec: 'PCMU' | 'PCMA',
            stream: { ssrc?: number; firstSeq?: number; firstTimestamp?: number } = {},
          ) => {
            const file = path.join(dir, name);
            writeRtpPcap(file, tone(8000, seconds, [hz]).samples, { codec, ptimeMs: 20, ...stream });
            return file;
          };
          // the same dialog goes on with the same RTP stream; another one is another source
          const after183 = sameTag
            ? { ssrc: 0x1234abcd, firstSeq: 1100, firstTimestamp: 160000 + 100 * 160 }
            : { ssrc: 0x7e57_0002 };
          let uas: SippUas | undefined;
          try {
            uas = await startSippUas({
              sipPort: uasSip,
              mediaPort: uasMedia,
              sdpMediaPort: uasTap,
              codecs: [PCMA, telephoneEvent(101)],
              ptime: 20,
              // ringback-like early media at 500 Hz, then the callee's voice at 700 Hz
              early: {
                ms: 1500,
                pcap: pcap('early.pcap', 500, 1.6, 'PCMA'),
                tag: 'early1',
                finalTag: sameTag ? undefined : 'final2',
              },
              pcap: pcap('uas.pcap', 700, 2, 'PCMA', after183),
              timeoutSec: 20,
              workDir: path.join(dir, 'uas'),
            });
            const uac = await runSippUac({
              remoteHost: B2BUA_IP,
              remotePort: b2buaSip,
              sipPort: uacSip,
              mediaPort: uacMedia,
              sdpMediaPort: uacTap,
              codecs: [PCMU, telephoneEvent(101)],
              ptime: 20,
              earlyPcap: pcap('uac.pcap', 1000, 4, 'PCMU'),
              durationMs: 1800,
              timeoutSec: 20,
              workDir: path.join(dir, 'uac'),
            });
            const uasRes = await uas.result;
            assert.equal(uac.exitCode, 0, describeSippResult(uac));
            assert.equal(uasRes.exitCode, 0, describeSippResult(uasRes));
            // the caller got our answer in the 183 and again in the 200: the same port pair
            const ports = uac.sdpReceived.map((s) => parseSdp(s).audio!.port);
            assert.equal(ports.length, 2, `SDPs the caller received: ${ports}`);
            assert.equal(ports[0], ports[1], 'the caller keeps its port pair from the 183 to the 200');
            assert.ok(answeredAt > 0, 'the call was answered');
            const split = (frames: TapFrame[]) => ({
              early: { rate: 8000, channels: 1, samples: join(frames.filter((p) => p.at < answeredAt - 100)) },
              // the early media's last 100 ms, still waiting in the socket when the graph is rebuilt
              // for the 200, play out (live media is kept), behind the 60 ms jitter buffer
              late: { rate: 8000, channels: 1, samples: join(frames.filter((p) => p.at > answeredAt + 250)) },
            });
            // the caller hears the early media, then the callee
            const atUac = split(toUac.frames);
            const early = toneReport(atUac.early, 500);
            const late = toneReport(atUac.late, 700);
            assert.ok(early.marginDb > 15 && early.blocks > 5, `caller hears 500 Hz early: ${JSON.stringify(early)}`);
            assert.ok(
              late.marginDb > 15 && late.blocks > 5,
              `caller hears 700 Hz after the 200: ${JSON.stringify(late)}`,
            );
            // and the callee hears the caller in both phases
            const atUas = split(toUas.frames);
            for (const [phase, pcm] of Object.entries(atUas)) {
              const r = toneReport(pcm, 1000);
              assert.ok(r.marginDb > 15 && r.blocks > 5, `callee hears 1 kHz (${phase}): ${JSON.stringify(r)}`);
            }
            assert.equal(b2bua.ms.sessions().length, 0);
            assert.equal(b2bua.ms.ports.inUse, 0);
          } finally {
            await uas?.stop();
            toUac.close();
            toUas.close();
            b2bua.close();
          }
        },
      );
    }
  },
);

function join(frames: { pcm: Int16Array }[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
  let i = 0;
  for (const f of frames) {
    out.set(f.pcm, i);
    i += f.pcm.length;
  }
  return out;
}
