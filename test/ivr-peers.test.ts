/**
 * The example SIP IVR against sipp: sipp calls, plays sipp's own RFC 2833/4733
 * DTMF pcaps (Debian sip-tester's dtmf_2833_N.pcap: each digit with its end
 * packet sent three times), the IVR flow collects them and hangs up with BYE.
 * Each digit must be detected exactly once.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { type DtmfDigit } from '../lib';
import { tone, writeWav } from '../lib/util/wav';
import { IvrServer } from '../examples/ivr-server';
import { tmpDir } from './helpers/call';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';
import { PCMU, telephoneEvent } from './peers/sdp';
import { describeSippResult, runSippUac, sippDtmfPcap } from './peers/sipp';
import { mediaPorts } from './helpers/ports';

const haveSipp = hasBinary('sipp');
const isRoot = process.getuid?.() === 0;
const IVR_IP = '127.0.0.11';

after(() => killAllPeers());

describe(
  'SIP IVR example with sipp',
  { skip: !haveSipp || !isRoot ? 'needs sipp and root (play_pcap_audio)' : false },
  () => {
    it(
      'sipp sends RFC 4733 digits 1 5 9 from its pcaps: each detected once, the flow branches and hangs up',
      { timeout: 30000 },
      async () => {
        const dir = tmpDir('rms-ivr-sipp-');
        writeWav(path.join(dir, 'menu.wav'), tone(8000, 0.4, [700]));
        writeWav(path.join(dir, 'ok.wav'), tone(8000, 0.3, [1200]));
        const base = await findFreePortBlock(12);
        const digits: DtmfDigit[] = [];
        const done: string[][] = [];
        const server = new IvrServer({
          sipAddress: IVR_IP,
          sipPort: base + 10,
          media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
          mediaRoot: dir,
          flow: {
            start: 'menu',
            nodes: {
              menu: {
                type: 'collect',
                prompt: 'menu.wav',
                max: 3,
                timeoutMs: 6000,
                interDigitTimeoutMs: 3000,
                branches: { '159': 'ok' },
                noMatch: 'bye',
              },
              ok: { type: 'play', files: 'ok.wav', next: 'bye' },
              bye: { type: 'hangup' },
            },
          },
        });
        server.on('dtmf', (_id, d) => digits.push(d));
        server.on('done', (_id, r) => done.push(r.path));
        try {
          const uac = await runSippUac({
            remoteHost: IVR_IP,
            remotePort: base + 10,
            sipPort: base,
            mediaPort: base + 2,
            codecs: [PCMU, telephoneEvent(101)],
            ptime: 20,
            steps: [
              { pause: 600 },
              { play: sippDtmfPcap('1') },
              { pause: 500 },
              { play: sippDtmfPcap('5') },
              { pause: 500 },
              { play: sippDtmfPcap('9') },
              { expectBye: 6000 },
            ],
            timeoutSec: 20,
            workDir: path.join(dir, 'uac'),
          });
          assert.equal(uac.exitCode, 0, describeSippResult(uac));
          assert.deepEqual(
            digits.map((d) => [d.digit, d.source]),
            [
              ['1', 'rfc4733'],
              ['5', 'rfc4733'],
              ['9', 'rfc4733'],
            ],
          );
          // the pcaps' end packets carry duration 0x08c0 = 2240 at 8 kHz: 280 ms
          for (const d of digits) assert.equal(d.durationMs, 280, `${d.digit}: ${d.durationMs} ms`);
          assert.deepEqual(done, [['menu', 'ok', 'bye']]);
          assert.equal(server.calls, 0);
          assert.deepEqual(
            server.ms.sessions().map((s) => s.callId),
            [],
          );
          assert.equal(server.ms.ports.inUse, 0, 'the port pair went back to the pool');
        } finally {
          server.close();
        }
      },
    );
  },
);
