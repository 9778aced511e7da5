/**
 * Kamailio 5.6.3's rtpengine module calling start_forwarding() on the ACK
 * of a call through `rtp-media-server serve` (sipp UAC -> Kamailio -> sipp
 * UAS): the daemon forks the call's audio to the WebSocket the flags name
 * (`forward-to=`, an extension key) and, with `inject`, plays what the bot
 * sends back; the BYE's delete ends the fork with a stop message.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { tmpDir } from '../helpers/call';
import { startDaemon, type DaemonProcess } from '../helpers/daemonProcess';
import { mediaTap } from '../helpers/mediaTap';
import { bestLag, hoppingTones } from '../helpers/rtpPhone';
import { waitFor } from '../helpers/wait';
import { pcmOf, wsBot } from '../helpers/wsBot';
import { startKamailio, type Kamailio } from './kamailio';
import { writeRtpPcap } from './pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './proc';
import { PCMU } from './sdp';
import { describeSippResult, runSippUac, startSippUas, type SippUas } from './sipp';

const skip = !hasBinary('kamailio')
  ? 'kamailio not installed'
  : !hasBinary('sipp')
    ? 'sipp not installed'
    : process.getuid?.() !== 0
      ? 'sipp play_pcap_audio needs root'
      : false;
after(() => killAllPeers());

describe('Kamailio start_forwarding() with the daemon', { skip }, () => {
  it("forks the call to a WebSocket bot and plays the bot's answer to the caller", { timeout: 45_000 }, async () => {
    const dir = tmpDir('rms-kam-fwd-');
    const base = await findFreePortBlock(20);
    const bot = await wsBot();
    // the bot answers with a 1 kHz-free signal of its own
    const answer = hoppingTones(2, 16000, 0.3, 88);
    bot.onFrame = (c) => {
      if (c.frames.length === 10) c.send(Buffer.from(answer.buffer));
    };
    let daemon: DaemonProcess | undefined;
    let kam: Kamailio | undefined;
    let uas: SippUas | undefined;
    const toUac = await mediaTap(base + 14);
    try {
      daemon = await startDaemon(['--control-udp=127.0.0.1:0', '--ports=35100-35199', '--tickers=1']);
      kam = await startKamailio({
        sipPort: base + 16,
        nodes: [daemon.udp],
        flags: 'trust-address replace-origin replace-session-connection ICE=remove',
        forwardFlags: `forward-to=${bot.url} inject`,
      });
      const sig = hoppingTones(3, 8000, 0.3, 87);
      const uacPcap = path.join(dir, 'uac.pcap');
      writeRtpPcap(uacPcap, sig, { codec: 'PCMU', ptimeMs: 20 });
      uas = await startSippUas({
        sipPort: base,
        mediaPort: base + 4,
        sdpMediaPort: base + 12,
        codecs: [PCMU],
        ptime: 20,
        timeoutSec: 20,
        workDir: path.join(dir, 'uas'),
      });
      const uac = await runSippUac({
        remoteHost: '127.0.0.1',
        remotePort: base,
        extraArgs: ['-rsa', `127.0.0.1:${base + 16}`, '-cid_str', 'kam-fwd-%u@127.0.0.1'],
        sipPort: base + 2,
        mediaPort: base + 8,
        sdpMediaPort: base + 14,
        codecs: [PCMU],
        ptime: 20,
        pcap: uacPcap,
        durationMs: 3500,
        timeoutSec: 20,
        workDir: path.join(dir, 'uac'),
      });
      assert.equal(uac.exitCode, 0, describeSippResult(uac) + '\n' + kam.log().slice(-3000));
      const c = (await waitFor(() => bot.connections.find((x) => x.events.length), { what: 'the fork' }))!;
      const start = c.events[0].msg;
      assert.match(start.call, /^kam-fwd-/);
      assert.ok(start.inject, 'inject requested through the flags');
      await waitFor(() => c.closed, { what: 'the fork to end with the BYE' });
      assert.deepEqual([c.events.at(-1)!.msg.event, c.events.at(-1)!.msg.reason], ['stop', 'closed']);
      assert.ok(c.frames.length > 100, `${c.frames.length} frames`);
      const got = pcmOf(c.frames);
      const rate = start.rate as number;
      const ref = Int16Array.from({ length: rate }, (_, i) => sig[Math.floor(8000 + (i * 8000) / rate)]);
      assert.ok(bestLag(ref, got, rate * 2).corr > 0.5, 'the fork carries the caller');
      // the caller heard the bot's answer (at 8 kHz)
      const ans8 = Int16Array.from({ length: 8000 }, (_, i) => answer[4000 + i * 2]);
      assert.ok(
        bestLag(ans8.subarray(0, 4000), toUac.audio().samples, 16000).corr > 0.8,
        "the bot's answer reached the caller",
      );
      const uasRes = await uas.result;
      assert.equal(uasRes.exitCode, 0, describeSippResult(uasRes));
    } finally {
      toUac.close();
      await uas?.stop();
      await kam?.stop();
      await daemon?.stop();
      await bot.close();
    }
  });
});
