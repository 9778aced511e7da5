/**
 * Headless Chromium (Debian `chromium`) as a WebRTC peer: it opens a page
 * and the page does the rest (getUserMedia from a WAV file, an
 * RTCPeerConnection, results posted back). No DevTools protocol is needed.
 *
 * Flags that matter (Chromium 156): --use-fake-ui-for-media-stream and
 * --use-fake-device-for-media-stream --use-file-for-fake-audio-capture=WAV
 * (the "microphone" plays the WAV, looped); --allow-loopback-in-peer-connection
 * (else no candidate on 127.0.0.1); --autoplay-policy=no-user-gesture-required
 * (the remote track must play in an <audio> element to reach WebAudio).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasBinary, spawnBounded, type BoundedProcess } from './proc';

export const haveChromium = hasBinary('chromium');

export interface ChromiumOptions {
  url: string;
  /** WAV the fake microphone plays. */
  captureWav: string;
  /** Lifetime bound (default 40 s). */
  maxMs?: number;
}

export interface Chromium {
  proc: BoundedProcess;
  close(): Promise<void>;
}

export function startChromium(o: ChromiumOptions): Chromium {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    '--disable-default-apps',
    '--no-first-run',
    '--no-default-browser-check',
    '--mute-audio=false',
    '--autoplay-policy=no-user-gesture-required',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${o.captureWav}`,
    '--allow-loopback-in-peer-connection',
    `--user-data-dir=${profile}`,
    o.url,
  ];
  // its own process group (it makes itself a session leader anyway): the
  // renderer, GPU and utility processes go with it
  const proc = spawnBounded('chromium', 'chromium', args, { maxMs: o.maxMs ?? 40000, detached: true });
  // proc.ts kills its children by pid at exit; the group needs its own kill
  const killGroup = () => {
    try {
      if (proc.pid > 0) process.kill(-proc.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  process.once('exit', killGroup);
  return {
    proc,
    async close() {
      process.off('exit', killGroup);
      if (proc.running() && proc.pid > 0) {
        try {
          process.kill(-proc.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.pid > 0) {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
