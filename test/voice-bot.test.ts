/**
 * The voice-bot example with a real caller: sipp calls it and sends a known
 * signal (play_pcap_audio); the media server answers, forks the caller to the
 * example's WebSocket echo bot, and plays the bot's answer back into the
 * call. What reached sipp's media port is the caller's own signal, about the
 * bot's delay later (content correlated, delay measured); the bot got the
 * start message, the frames, its marks back and the stop at the hangup.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { EchoBot, VoiceBotServer } from '../examples/voice-bot';
import { tmpDir } from './helpers/call';
import { mediaTap } from './helpers/mediaTap';
import { mediaPorts } from './helpers/ports';
import { bestLag, hoppingTones } from './helpers/rtpPhone';
import { rms } from './helpers/signal';
import { waitFor } from './helpers/wait';
import { writeRtpPcap } from './peers/pcap';
import { findFreePortBlock, hasBinary, killAllPeers } from './peers/proc';
import { PCMU } from './peers/sdp';
import { describeSippResult, runSippUac } from './peers/sipp';

const skip = !hasBinary('sipp')
  ? 'sipp not installed'
  : process.getuid?.() !== 0
    ? 'play_pcap_audio needs root'
    : false;
after(() => killAllPeers());

describe('examples/voice-bot.ts with sipp as the caller', { skip }, () => {
  it('the caller hears the bot answer with their own voice, a second later', { timeout: 40000 }, async (t) => {
    const dir = tmpDir('rms-voicebot-');
    const base = await findFreePortBlock(24);
    const bot = new EchoBot({ port: 0, delayMs: 1000 });
    await bot.listening();
    const server = new VoiceBotServer({
      sipAddress: '127.0.0.14',
      sipPort: base + 20,
      media: { address: '127.0.0.1', ports: mediaPorts(100), tickers: 1 },
      botUrl: bot.url,
    });
    const sig = hoppingTones(3, 8000, 0.3, 77);
    const pcap = path.join(dir, 'caller.pcap');
    writeRtpPcap(pcap, sig, { codec: 'PCMU', ptimeMs: 20 });
    const heard = await mediaTap(base + 12);
    try {
      const uac = await runSippUac({
        remoteHost: '127.0.0.14',
        remotePort: base + 20,
        sipPort: base + 2,
        mediaPort: base + 8,
        sdpMediaPort: base + 12,
        codecs: [PCMU],
        ptime: 20,
        pcap,
        durationMs: 5000,
        timeoutSec: 20,
        workDir: path.join(dir, 'uac'),
      });
      assert.equal(uac.exitCode, 0, describeSippResult(uac));
      await waitFor(() => server.ms.sessions().length === 0, { what: 'the call to end' });
      const call = await waitFor(() => [...bot.calls.values()][0], { what: 'the bot to see the call' });
      assert.ok(call.frames >= 140, `the bot got ${call.frames} frames`);
      assert.ok(call.marks.includes('echo-1') && call.marks.includes('echo-2'), `marks back: ${call.marks}`);
      // what sipp's media port got is the caller's signal
      const got = heard.audio().samples;
      const { corr, lag } = bestLag(sig.subarray(8000, 16000), got, 16000);
      t.diagnostic(`caller heard ${got.length} samples, the signal from sample ${lag - 8000}`);
      assert.ok(corr > 0.9, `the echo is the caller (correlation ${corr.toFixed(3)})`);
      const first = heard.frames.find((f) => rms(f.pcm) > 330)!;
      const delay = first.at - call.firstFrameAt!;
      t.diagnostic(`the caller heard the echo ${delay} ms after the bot got the first frame (bot delay 1000 ms)`);
      assert.ok(delay >= 950 && delay < 1500, `${delay} ms`);
    } finally {
      heard.close();
      server.close();
      await bot.close();
    }
  });
});
