/**
 * A real browser on a WebRTC leg: headless Chromium sends its offer to a
 * small signalling server here; we answer with an RtpEndpoint (Opus,
 * DTLS-SRTP, ICE-lite, rtcp-mux, BUNDLE) bridged by the Gateway to a plain
 * RTP PCMU peer. Audio is checked both ways: the peer decodes the
 * browser's tone, and the browser (WebAudio, posted back) the peer's.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Gateway } from '../../lib/gateway/Gateway';
import { Ticker } from '../../lib/graph/Ticker';
import { RtpEndpoint } from '../../lib/rtp/RtpEndpoint';
import { DtlsCertificate, type DtlsStateEvent, type IceStateEvent, type SecureStats } from '../../lib/rtp/secure';
import { buildSdp } from '../../lib/sdp/build';
import { parseSdp } from '../../lib/sdp/parse';
import { answerSecure } from '../../lib/sdp/secure';
import { AudioPeer } from '../../lib/tools/AudioPeer';
import { readWav, tone, writeWav, type Pcm } from '../../lib/util/wav';
import { tmpDir } from '../helpers/call';
import { toneReport } from '../helpers/signal';
import { haveChromium, startChromium } from './chromium';
import { killAllPeers } from './proc';
import { webrtcPage } from './webrtcPage';

const BROWSER_HZ = 660;
const PEER_HZ = 1000;

after(() => killAllPeers());

interface Call {
  gateway: Gateway;
  a: RtpEndpoint;
  b: RtpEndpoint;
  peer: AudioPeer;
  dtls: DtlsStateEvent[];
  ice: IceStateEvent[];
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > 8 * 1024 * 1024) req.destroy(new Error('body too large'));
      else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

describe(
  'WebRTC: headless Chromium <-> Gateway <-> plain RTP',
  { skip: haveChromium ? false : 'chromium not installed' },
  () => {
    let cert: DtlsCertificate;
    before(async () => {
      cert = await DtlsCertificate.generate('webrtc-test');
    });

    it(
      'Opus over DTLS-SRTP/ICE-lite/rtcp-mux/BUNDLE to a browser, PCMU to the peer: audio both ways',
      { timeout: 60000 },
      async () => {
        const dir = tmpDir('rms-webrtc-');
        const captureWav = path.join(dir, 'mic.wav');
        writeWav(captureWav, tone(48000, 10, [BROWSER_HZ], 0.4));
        const peerWav = path.join(dir, 'peer.wav');
        writeWav(peerWav, tone(8000, 20, [PEER_HZ], 0.4));
        const ticker = new Ticker({ name: 'webrtc' });
        const logs: string[] = [];
        let call: Call | undefined;
        let browserStats: Record<string, unknown> | undefined;
        let offerSdp = '';
        let answerSdp = '';
        let resolveResult!: (p: Pcm) => void;
        let failEarly!: (e: Error) => void;
        const result = new Promise<Pcm>((r, j) => ((resolveResult = r), (failEarly = j)));

        const answer = (sdp: string): string => {
          const offer = parseSdp(sdp);
          const m = offer.secureAudio;
          assert.ok(m, 'the browser offered secured audio');
          const opus = m.formats.find((f) => f.name.toLowerCase() === 'opus');
          assert.ok(opus, 'the browser offered Opus');
          const a = new RtpEndpoint({ address: '127.0.0.1' });
          const dtls: DtlsStateEvent[] = [];
          const ice: IceStateEvent[] = [];
          a.on('dtlsState', (e) => dtls.push(e));
          a.on('iceState', (e) => ice.push(e));
          const sec = answerSecure(offer, m, {
            certificate: cert,
            local: { address: '127.0.0.1', port: a.port, rtcpPort: a.rtcpPort },
          });
          a.applySecurity(sec.endpoint);
          const peer = new AudioPeer({
            codec: 'PCMU',
            payloadType: 0,
            sendFile: peerWav,
            recordFile: path.join(dir, 'peer-rec.wav'),
          });
          const b = new RtpEndpoint({ address: '127.0.0.1', remote: { address: '127.0.0.1', port: peer.port } });
          peer.endpoint.setRemote({ address: '127.0.0.1', port: b.port });
          const gateway = new Gateway({
            a: { endpoint: a, codec: 'opus', payloadType: opus.pt, fmtp: opus.fmtp },
            b: { endpoint: b, codec: 'PCMU' },
            ticker,
          });
          peer.start(ticker);
          call = { gateway, a, b, peer, dtls, ice };
          return buildSdp({
            sessionId: String(Date.now()),
            version: 1,
            address: '127.0.0.1',
            sessionAttributes: sec.sessionAttributes,
            audio: {
              address: '127.0.0.1',
              port: a.port,
              rtcpPort: a.rtcpPort,
              formats: [{ pt: opus.pt, name: 'opus', clockRate: 48000, channels: 2, fmtp: opus.fmtp }],
              direction: 'sendrecv',
              protocol: sec.protocol,
              attributes: sec.mediaAttributes,
            },
            offerMedia: offer.media,
            audioIndex: m.index,
          });
        };

        const server = http.createServer((req, res) => {
          void (async () => {
            const body = await readBody(req);
            try {
              if (req.method === 'GET' && req.url === '/') {
                res.writeHead(200, { 'content-type': 'text/html' }).end(webrtcPage(3000));
              } else if (req.url === '/offer') {
                offerSdp = body.toString();
                answerSdp = answer(offerSdp);
                res.writeHead(200, { 'content-type': 'application/sdp' }).end(answerSdp);
              } else if (req.url === '/log') {
                logs.push(body.toString());
                if (/^(offer refused|error)/.test(body.toString())) failEarly(new Error(`page: ${logs.join(' | ')}`));
                res.writeHead(204).end();
              } else if (req.url === '/stats') {
                browserStats = JSON.parse(body.toString()) as Record<string, unknown>;
                res.writeHead(204).end();
              } else if (req.url === '/result') {
                const samples = new Int16Array(body.buffer, body.byteOffset, Math.floor(body.length / 2));
                resolveResult({ rate: 48000, channels: 1, samples: Int16Array.from(samples) });
                res.writeHead(204).end();
              } else {
                res.writeHead(404).end();
              }
            } catch (err) {
              logs.push(`server: ${(err as Error).stack}`);
              res.writeHead(500).end(String((err as Error).message));
            }
          })();
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        const browser = startChromium({ url, captureWav });
        let secure: SecureStats | undefined;
        try {
          let timer: NodeJS.Timeout | undefined;
          const heard = await Promise.race([
            result,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                const st = JSON.stringify(call?.a.secureStats());
                reject(new Error(`no result from the browser in 40 s; page log: ${logs.join(' | ')}; stats ${st}`));
              }, 40000);
            }),
          ]).finally(() => clearTimeout(timer));
          assert.ok(call, 'the browser sent an offer');
          secure = call.a.secureStats();
          call.peer.stop();
          const [rtp] = secure!.components;
          const ctx = `page log: ${logs.join(' | ')}\nsecure: ${JSON.stringify(secure)}\nbrowser: ${JSON.stringify(browserStats)}`;
          // the transport as the browser sees it
          assert.equal((browserStats?.dtls as { state?: string })?.state, 'connected', ctx);
          assert.ok(((browserStats?.inbound as { packets?: number })?.packets ?? 0) > 100, ctx);
          // ... and as we do
          assert.equal(rtp.dtls?.state, 'connected', ctx);
          assert.equal(rtp.dtls?.role, 'client', 'we answered a=setup:active and connect');
          assert.equal(rtp.ice?.state, 'connected', ctx);
          // the pair is one of the browser's candidates (it gathers every local
          // interface, and its checks from any of them reach our loopback port)
          const candidates = parseSdp(offerSdp).secureAudio!.security.ice!.candidates.map(
            (c) => `${c.address}:${c.port}`,
          );
          assert.ok(candidates.includes(rtp.ice?.selected ?? ''), `${rtp.ice?.selected} in ${candidates.join(', ')}`);
          assert.ok((rtp.ice?.answered ?? 0) >= 1 && rtp.ice?.badAuth === 0, ctx);
          assert.equal(secure!.rtcpMux, true);
          assert.ok(rtp.srtp.rtpUnprotected > 100 && rtp.srtp.rtpProtected > 100, ctx);
          assert.ok(rtp.srtp.rtcpUnprotected >= 1, `the browser's SRTCP came over the RTP port: ${ctx}`);
          assert.equal(rtp.srtp.authFailures + rtp.srtp.replays, 0, ctx);
          assert.ok(call.dtls.some((e) => e.state === 'connected'));
          assert.ok(call.ice.some((e) => e.state === 'connected'));
          // the answer kept what the browser needs
          assert.match(answerSdp, /^a=group:BUNDLE \S+$/m);
          assert.match(answerSdp, /^a=ice-lite$/m);
          assert.match(answerSdp, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF \d+$/m);
          // audio: the browser heard the peer, the peer heard the browser
          const byBrowser = toneReport(heard, PEER_HZ);
          assert.ok(
            byBrowser.dominantFraction > 0.8,
            `the browser heard the peer's ${PEER_HZ} Hz: ${JSON.stringify(byBrowser)}; ${ctx}`,
          );
          const notEcho = toneReport(heard, BROWSER_HZ);
          assert.ok(notEcho.dominantFraction < 0.1, `and not its own tone: ${JSON.stringify(notEcho)}`);
          const byPeer = toneReport(readWav(path.join(dir, 'peer-rec.wav')), BROWSER_HZ);
          assert.ok(
            byPeer.dominantFraction > 0.8,
            `the peer heard the browser's ${BROWSER_HZ} Hz: ${JSON.stringify(byPeer)}; ${ctx}`,
          );
        } finally {
          await browser.close();
          server.close();
          if (call) {
            call.gateway.close();
            call.peer.close();
            call.a.close();
            call.b.close();
          }
          ticker.close();
        }
      },
    );
  },
);
