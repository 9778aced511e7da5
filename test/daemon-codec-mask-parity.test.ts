/**
 * The ng codec options (strip, mask, transcode, offer, except) side by side
 * with rtpengine 10.5: the same offers (PCMU, PCMA, telephone-event) to both
 * daemons, and the codecs each writes into the SDP for the callee compared by
 * name, in order. rtpengine's `all` takes telephone-event too, and an `all`
 * that leaves nothing is not applied.
 *
 * Left out on purpose: a named strip that leaves nothing (rtpengine writes an
 * m-line with no formats, which no peer can answer; we refuse the offer).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSdp } from '../lib/sdp/parse';
import { startDaemon, type DaemonProcess } from './helpers/daemonProcess';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { phoneSdp } from './helpers/sdp';
import { RTPENGINE, startRtpengine, type Rtpengine } from './peers/rtpengine';

const CALLER = phoneSdp({
  port: 40000,
  codecs: [
    { pt: 0, name: 'PCMU', rate: 8000 },
    { pt: 8, name: 'PCMA', rate: 8000 },
  ],
  telephoneEvent: 101,
});

const CASES: Record<string, string[]>[] = [
  { mask: ['all'], transcode: ['G722'] },
  { mask: ['all'] },
  { strip: ['all'] },
  { strip: ['all'], transcode: ['PCMA'] },
  { mask: ['PCMU'] },
  { mask: ['all'], except: ['PCMU'] },
  { strip: ['all'], except: ['PCMA'] },
  { mask: ['all'], offer: ['PCMA'] },
  { mask: ['all'], transcode: ['G722'], except: ['telephone-event'] },
  { mask: ['telephone-event'] },
  { strip: ['telephone-event'] },
  { mask: ['all'], transcode: ['opus'] },
  { transcode: ['G722'], offer: ['G722'] },
  { offer: ['PCMA'] },
  { strip: ['all'], offer: ['PCMA', 'PCMU'] },
  { strip: ['PCMU'], offer: ['PCMU'] },
];

async function offered(ng: NgClient, codec: Record<string, string[]>, id: string): Promise<string> {
  const r = await ng.request({ command: 'offer', 'call-id': id, 'from-tag': 'caller', sdp: CALLER, codec });
  assert.equal(str(r.result), 'ok', `${JSON.stringify(codec)}: ${str(r['error-reason'])}`);
  await ng.request({ command: 'delete', 'call-id': id, 'from-tag': 'caller' });
  return parseSdp(str(r.sdp)!)
    .audio!.formats.map((f) => f.name)
    .join(' ');
}

describe(
  'ng codec options side by side with rtpengine 10.5',
  { skip: !RTPENGINE && 'rtpengine-daemon not installed', timeout: 60_000 },
  () => {
    let rtpe: Rtpengine;
    let daemon: DaemonProcess;
    let ng: NgClient;
    before(async () => {
      rtpe = await startRtpengine();
      const [lo, hi] = mediaPorts(60);
      daemon = await startDaemon(['--control-udp', '127.0.0.1:0', '--ports', `${lo}-${hi}`, '--metrics', 'off'], {
        maxMs: 60_000,
        name: 'rms-codec-mask',
      });
      ng = await NgClient.create(daemon.udp);
    });
    after(async () => {
      ng?.close();
      await rtpe?.stop();
      await daemon?.stop();
    });

    it(`the callee is offered the same codecs, in the same order (${CASES.length} cases)`, async () => {
      const differ: string[] = [];
      for (const [i, codec] of CASES.entries()) {
        const theirs = await offered(rtpe.ng, codec, `mask-rtpe-${i}`);
        const ours = await offered(ng, codec, `mask-rms-${i}`);
        if (theirs !== ours) differ.push(`${JSON.stringify(codec)}: rtpengine "${theirs}", ours "${ours}"`);
      }
      assert.deepEqual(differ, []);
    });
  },
);
