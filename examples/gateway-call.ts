/**
 * The main job, end to end on loopback: a caller speaking PCMU and a callee
 * speaking Opus, bridged by the transcoding gateway. Each side sends speech
 * (espeak-ng, or a generated signal when it is not installed) and records
 * what it hears. Prints per-leg statistics and writes the received audio.
 *
 *   npm run demo            (or: node dist/examples/gateway-call.js [outDir] [seconds])
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Factory, Gateway, Ticker, type RtpStats } from '../lib';
import { QualityMonitor, timelineHtml } from '../lib/quality';
import { AudioPeer, readWav, writeWav, type Pcm } from '../lib/tools';

const outDir = path.resolve(process.argv[2] ?? 'demo-output');
const seconds = Number(process.argv[3] ?? 6);
fs.mkdirSync(outDir, { recursive: true });

/** Speech from espeak-ng at the given rate (mono), or a warble if espeak-ng is missing. */
function speech(text: string, rate: number, file: string): string {
  try {
    const raw = path.join(outDir, `.${path.basename(file)}.raw.wav`);
    execFileSync('espeak-ng', ['-s', '150', '-w', raw, text], { stdio: 'ignore' });
    const src = readWav(raw);
    fs.rmSync(raw);
    writeWav(file, resample(src, rate));
    return 'espeak-ng speech';
  } catch {
    // 300-3400 Hz chirps: not speech, but broadband like it
    const n = rate * seconds;
    const samples = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      const f = 300 + 3100 * ((t * 0.5) % 1);
      samples[i] = Math.round(9000 * Math.sin(2 * Math.PI * f * t));
    }
    writeWav(file, { rate, channels: 1, samples });
    return 'generated chirps (install espeak-ng for speech)';
  }
}

/** Linear-interpolation resampling, enough for a demo source file. */
function resample(pcm: Pcm, rate: number): Pcm {
  if (pcm.rate === rate) return pcm;
  const n = Math.floor((pcm.samples.length * rate) / pcm.rate);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const x = (i * pcm.rate) / rate;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, pcm.samples.length - 1);
    out[i] = Math.round(pcm.samples[i0] + (pcm.samples[i1] - pcm.samples[i0]) * (x - i0));
  }
  return { rate, channels: 1, samples: out };
}

function level(pcm: Pcm): string {
  let acc = 0;
  for (const s of pcm.samples) acc += s * s;
  const rms = Math.sqrt(acc / Math.max(1, pcm.samples.length));
  return `${(pcm.samples.length / pcm.rate).toFixed(1)} s, RMS ${(20 * Math.log10(Math.max(rms, 1) / 32767)).toFixed(1)} dBFS`;
}

function row(name: string, s: RtpStats): string {
  const loss = s.packetsReceived + s.lost > 0 ? (100 * s.lost) / (s.packetsReceived + s.lost) : 0;
  return [
    name.padEnd(22),
    String(s.packetsReceived).padStart(6),
    String(s.packetsSent).padStart(6),
    `${loss.toFixed(1)}%`.padStart(7),
    s.jitterMs.toFixed(2).padStart(8),
    s.jitterBufferMs.toFixed(0).padStart(6),
    String(s.late).padStart(5),
    String(s.rtcpSent).padStart(5),
    String(s.rtcpReceived).padStart(5),
  ].join(' ');
}

async function main() {
  const factory = Factory.shared();
  const callerWav = path.join(outDir, 'caller-says.wav');
  const calleeWav = path.join(outDir, 'callee-says.wav');
  const srcKind = speech(
    'Hello, this is the caller, speaking G seven eleven mu law through the gateway.',
    8000,
    callerWav,
  );
  speech('And this is the callee, answering in Opus at forty eight kilohertz.', 48000, calleeWav);

  const phones = new Ticker({ name: 'demo-phones' });
  const caller = new AudioPeer({
    factory,
    codec: 'PCMU',
    sendFile: callerWav,
    recordFile: path.join(outDir, 'caller-heard.wav'),
  });
  const callee = new AudioPeer({
    factory,
    codec: 'opus',
    sendFile: calleeWav,
    sendRate: 48000,
    recordFile: path.join(outDir, 'callee-heard.wav'),
    recordRate: 48000,
  });

  // The gateway: leg a faces the caller (PCMU), leg b the callee (Opus).
  const gw = new Gateway({
    factory,
    a: { local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: caller.port }, codec: 'PCMU' },
    b: { local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: callee.port }, codec: 'opus' },
  });
  caller.endpoint.setRemote({ address: '127.0.0.1', port: gw.a.localPort });
  callee.endpoint.setRemote({ address: '127.0.0.1', port: gw.b.localPort });
  const monitor = new QualityMonitor(gw.qualitySources(), { sampleMs: 500, intervalMs: 2000 });
  caller.start(phones);
  callee.start(phones);

  console.log(`rtp-media-server demo: PCMU caller <-> gateway <-> Opus callee on 127.0.0.1 (${srcKind})`);
  for (const d of gw.directions)
    console.log(`  ${d.from} -> ${d.to}: ${d.chain.join(' -> ')}  (PCM ${d.decodeRate} -> ${d.encodeRate} Hz)`);
  console.log(
    `  leg a: ${gw.a.codec.name}/${gw.a.codec.clockRate} pt ${gw.a.payloadType} on port ${gw.a.localPort}; leg b: ${gw.b.codec.name}/${gw.b.codec.clockRate} pt ${gw.b.payloadType} on port ${gw.b.localPort}`,
  );

  await new Promise((r) => setTimeout(r, seconds * 1000));
  monitor.sample();
  monitor.stop();
  const reports = { a: monitor.report('a'), b: monitor.report('b') };
  const stats = gw.stats();
  caller.stop();
  callee.stop();

  console.log('\nper-leg statistics (gateway side)');
  console.log(
    `${'leg'.padEnd(22)} ${'recv'.padStart(6)} ${'sent'.padStart(6)} ${'loss'.padStart(7)} ${'jit ms'.padStart(8)} ${'jb ms'.padStart(6)} ${'late'.padStart(5)} ${'rtcpS'.padStart(5)} ${'rtcpR'.padStart(5)}`,
  );
  console.log(row(`a (caller, PCMU)`, stats.a));
  console.log(row(`b (callee, opus)`, stats.b));
  console.log(
    `ticker: load ${stats.ticker.load.toFixed(2)}%, late ticks ${stats.ticker.lateTicks}, max late ${stats.ticker.maxLateMs} ms`,
  );

  console.log('\nreceived audio');
  console.log(
    `  ${path.join(outDir, 'callee-heard.wav')}: what the Opus callee heard (${level(readWav(path.join(outDir, 'callee-heard.wav')))})`,
  );
  console.log(
    `  ${path.join(outDir, 'caller-heard.wav')}: what the PCMU caller heard (${level(readWav(path.join(outDir, 'caller-heard.wav')))})`,
  );

  const chart = path.join(outDir, 'quality.html');
  fs.writeFileSync(
    chart,
    timelineHtml(
      monitor,
      'rtp-media-server demo: call quality',
      { a: 'leg a (caller, PCMU)', b: 'leg b (callee, Opus)' },
      reports,
    ),
  );
  console.log(`  ${chart}: the call's quality timeline (MOS, loss, jitter, round trip per leg)`);
  // no media on a leg: no estimate (n/a), never a made-up MOS
  const mos = (leg: 'a' | 'b') => reports[leg].localMetrics.qualityEst?.moscq ?? 'n/a (no media)';
  console.log(`  MOS-CQ over the call: leg a ${mos('a')}, leg b ${mos('b')}`);

  caller.close();
  callee.close();
  gw.close();
  phones.close();
  factory.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
