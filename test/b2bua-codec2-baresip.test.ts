/**
 * baresip's Codec2 at every mode it has, through the example B2BUA, to and
 * from PCMU, opus and G722. baresip writes no Codec2 fmtp and sends the mode
 * of its `codec2_mode` setting: the gateway assumes 2400, reads the real mode
 * from the packets and sends baresip that mode back. Each call checks both
 * directions by pitch (Codec2 is a vocoder: each side sends a voiced signal
 * at its own pitch, so an echo or a mix-up cannot pass).
 *
 * baresip 1.0 encodes one Codec2 frame per packet at its account ptime: the
 * 40 ms modes need `ptime=40` (at 20 ms it refuses every frame, EPROTO, and
 * sends nothing), which is what its users configure. As callee it encodes
 * at the ptime of our offer: the server is told the mode its Codec2 phones
 * run (MediaServer codec2Mode), and offers that mode at a ptime of 40 ms.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Codec2Mode } from '../lib/codecs/fmtp';
import { readWav, writeWav, type Pcm } from '../lib/util/wav';
import { B2bua } from '../examples/b2bua';
import { tmpDir } from './helpers/call';
import { mediaPorts } from './helpers/ports';
import { pitchReport, voiced } from './helpers/signal';
import { startBaresip, type Baresip } from './peers/baresip';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';

const haveBaresip = hasBinary('baresip');
const B2BUA_IP = '127.0.0.10';

/** libcodec2's mode numbers, which baresip's codec2_mode takes. */
const LIBCODEC2_MODE: Record<number, number> = { 3200: 0, 2400: 1, 1600: 2, 1400: 3, 1300: 4, 1200: 5, 700: 8 };

after(() => killAllPeers());

function monoAfter(file: string, skipSeconds: number): Pcm {
  const got = readWav(file);
  const mono =
    got.channels === 1
      ? got.samples
      : Int16Array.from({ length: got.samples.length / got.channels }, (_, i) => got.samples[i * got.channels]);
  return { rate: got.rate, channels: 1, samples: mono.subarray(Math.round(got.rate * skipSeconds)) };
}

describe(
  "baresip's Codec2 modes through the B2BUA (no fmtp: the mode is read from the wire)",
  { skip: haveBaresip ? false : 'baresip not installed' },
  () => {
    const cases: { mode: Codec2Mode; other: string; codec2Calls: boolean }[] = [
      { mode: 3200, other: 'PCMU/8000/1', codec2Calls: true },
      { mode: 2400, other: 'PCMU/8000/1', codec2Calls: false },
      { mode: 1600, other: 'opus/48000/2', codec2Calls: true },
      { mode: 1400, other: 'opus/48000/2', codec2Calls: false },
      { mode: 1300, other: 'G722/16000/1', codec2Calls: true },
      { mode: 1200, other: 'G722/16000/1', codec2Calls: false },
      { mode: 700, other: 'PCMU/8000/1', codec2Calls: true },
    ];
    for (const c of cases) {
      const label = c.mode === 700 ? '700C' : String(c.mode);
      const title = c.codec2Calls ? `CODEC2 ${label} -> ${c.other}` : `${c.other} -> CODEC2 ${label}`;
      it(`${title}: each side hears the other's voice`, { timeout: 45000 }, async () => {
        const dir = tmpDir('rms-c2modes-');
        const base = await findFreePortBlock(100);
        const c2Wav = path.join(dir, 'c2.wav');
        const otherWav = path.join(dir, 'other.wav');
        writeWav(c2Wav, voiced(8000, 2, 140));
        writeWav(otherWav, voiced(8000, 2, 200));
        const b2bua = new B2bua({
          sipAddress: B2BUA_IP,
          sipPort: base + 90,
          target: `sip:callee@127.0.0.1:${c.codec2Calls ? base + 40 : base}`,
          media: {
            address: '127.0.0.1',
            ports: mediaPorts(200),
            tickers: 1,
            // offering to baresip, the server says which mode its phones run (their
            // encoder takes the offer's ptime); answering it, the packets tell
            codec2Mode: c.codec2Calls ? undefined : c.mode,
          },
        });
        let c2: Baresip | undefined;
        let other: Baresip | undefined;
        try {
          // the Codec2 phone on base, the other one on base + 40
          [c2, other] = await Promise.all([
            startBaresip({
              sipPort: base,
              ctrlPort: base + 2,
              rtpPorts: [base + 10, base + 29],
              codecs: ['CODEC2/8000/1'],
              ptime: c.mode >= 2400 ? 20 : 40,
              extraConfig: [`codec2_mode ${LIBCODEC2_MODE[c.mode]}`],
              sendWav: c2Wav,
              recordDir: path.join(dir, 'rec-c2'),
              user: 'callee',
              timeoutSec: 35,
            }),
            startBaresip({
              sipPort: base + 40,
              ctrlPort: base + 42,
              rtpPorts: [base + 50, base + 69],
              codecs: [c.other],
              sendWav: otherWav,
              recordDir: path.join(dir, 'rec-other'),
              user: 'callee',
              timeoutSec: 35,
            }),
          ]);
          const caller = c.codec2Calls ? c2 : other;
          const callee = c.codec2Calls ? other : c2;
          await caller.dial(`sip:callee@${B2BUA_IP}:${base + 90}`);
          await caller.waitFor('CALL_ESTABLISHED', 10000);
          await callee.waitFor('CALL_ESTABLISHED', 10000);
          const [info] = b2bua.ms.sessions();
          assert.equal(info.relay, false);
          await new Promise((r) => setTimeout(r, 3000));
          await caller.hangup();
          await caller.waitFor('CALL_CLOSED', 5000);
          await callee.waitFor('CALL_CLOSED', 5000);

          const heardByOther = other.recordedFiles().decoded;
          const heardByC2 = c2.recordedFiles().decoded;
          assert.equal(heardByOther.length, 1, `the ${c.other} phone recorded one call`);
          assert.equal(heardByC2.length, 1, 'the Codec2 phone recorded one call');
          const p1 = pitchReport(monoAfter(heardByOther[0], 0.5), 140);
          assert.ok(
            p1.blocks > 15 && p1.matchFraction > 0.5,
            `${c.other} heard the Codec2 ${label} phone at 140 Hz: ${JSON.stringify(p1)}`,
          );
          const p2 = pitchReport(monoAfter(heardByC2[0], 0.5), 200);
          assert.ok(
            p2.blocks > 15 && p2.matchFraction > 0.5,
            `the Codec2 ${label} phone heard ${c.other} at 200 Hz: ${JSON.stringify(p2)}`,
          );
        } finally {
          await Promise.all([c2?.close(), other?.close()]);
          b2bua.close();
        }
      });
    }
  },
);
