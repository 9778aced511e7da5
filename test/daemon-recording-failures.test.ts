/**
 * A recording that cannot be written never touches the call's media: the
 * daemon over ng with its media roots on a small tmpfs (a real full disk).
 *
 *  - a 255-character Call-ID: the default file name would pass the file
 *    system's 255-byte limit; it is shortened (ending in a hash) and records;
 *  - an output-destination too long for a file name: a clear error, media on;
 *  - the disk fills up mid-recording: that recording stops with a complete
 *    WAV header (its data size what the file holds), one log line naming the
 *    file, while packets keep flowing both ways; later commands work;
 *  - the same for a lone leg's own recording (MediaLeg.record()): it ends
 *    with reason 'failed' and one 'error' event.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MediaLeg, MediaServer } from '../lib';
import { Daemon, defaultConfig, validate } from '../lib/daemon';
import { createLogger } from '../lib/daemon/log';
import { readWav } from '../lib/util/wav';
import { tmpDir } from './helpers/call';
import { NgClient, str } from './helpers/ngClient';
import { mediaPorts } from './helpers/ports';
import { hoppingTones, rtpPhone, type RtpPhone } from './helpers/rtpPhone';
import { phoneSdp } from './helpers/sdp';
import { sleep } from './helpers/wait';

const isRoot = process.getuid?.() === 0;
const PCMU = [{ pt: 0, name: 'PCMU', rate: 8000 }];
const PCMA = [{ pt: 8, name: 'PCMA', rate: 8000 }];

describe('recordings that cannot be written', { skip: isRoot ? false : 'mounting a tmpfs needs root' }, () => {
  const dir = tmpDir('rms-recfail-');
  const lines: string[] = [];
  let daemon: Daemon;
  let ng: NgClient;

  before(async () => {
    // 64 KiB: four seconds of an 8 kHz recording
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    const config = validate({
      ...defaultConfig(),
      control: { udp: { host: '127.0.0.1', port: 0 }, tcp: null, allow: [] },
      media: { address: '127.0.0.1', ports: mediaPorts(40) },
      tickers: 1,
      mediaRoots: [dir],
      drainTimeoutSec: 1,
    });
    daemon = await Daemon.start(config, { log: createLogger('info', (l) => lines.push(l)) });
    const udp = daemon.addresses().udp!;
    ng = await NgClient.create({ host: udp.address, port: udp.port });
  });

  after(async () => {
    ng?.close();
    await daemon?.close();
    execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A transcoded call through the daemon between two phones; returns where to send. */
  async function call(callId: string, pa: RtpPhone, pb: RtpPhone) {
    const offer = await ng.request({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'alice',
      sdp: phoneSdp({ port: pa.port, codecs: PCMU }),
      codec: { transcode: ['PCMA'] },
    });
    assert.equal(offer.result, 'ok', JSON.stringify(offer));
    const toB = Number(/^m=audio (\d+)/m.exec(str(offer.sdp)!)![1]);
    const answer = await ng.request({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'alice',
      'to-tag': 'bob',
      sdp: phoneSdp({ port: pb.port, codecs: PCMA }),
    });
    assert.equal(answer.result, 'ok', JSON.stringify(answer));
    const toA = Number(/^m=audio (\d+)/m.exec(str(answer.sdp)!)![1]);
    return { a: { address: '127.0.0.1', port: toA }, b: { address: '127.0.0.1', port: toB } };
  }

  it('a 255-character Call-ID records under a shortened name; a name too long is refused, media on', async () => {
    const callId = `${'x'.repeat(240)}@long.example`.padEnd(255, 'y');
    const pa = await rtpPhone('PCMU');
    const pb = await rtpPhone('PCMA');
    try {
      const to = await call(callId, pa, pb);
      const talk = Promise.all([pa.play(hoppingTones(2), to.a), pb.play(hoppingTones(2, 8000, 0.3, 9), to.b)]);
      await sleep(300);
      const tooLong = await ng.request({
        command: 'start recording',
        'call-id': callId,
        'output-destination': `${'z'.repeat(300)}.wav`,
      });
      assert.equal(tooLong.result, 'error');
      assert.match(str(tooLong['error-reason'])!, /Cannot (create|record)/);
      const rec = await ng.request({ command: 'start recording', 'call-id': callId });
      assert.equal(rec.result, 'ok', JSON.stringify(rec));
      await sleep(600);
      assert.equal((await ng.request({ command: 'stop recording', 'call-id': callId })).result, 'ok');
      await talk;
      const files = fs.readdirSync(dir).filter((f) => f.startsWith('recording-xxx'));
      assert.equal(files.length, 1, JSON.stringify(files));
      assert.ok(Buffer.byteLength(files[0]) <= 255 - 6, `${files[0].length} bytes`);
      assert.ok(readWav(path.join(dir, files[0])).samples.length > 8000 * 0.4, 'it holds the call');
      // both ways the call went on (the refusal touched nothing; the recording's
      // start and stop each rebuild the graph, which can cost a packet or two)
      assert.ok(pb.headers().length >= pa.sent.length - 6, `B got ${pb.headers().length} of ${pa.sent.length}`);
      assert.ok(pa.headers().length >= pb.sent.length - 6, `A got ${pa.headers().length} of ${pb.sent.length}`);
      for (const f of files) fs.rmSync(path.join(dir, f));
    } finally {
      await ng.request({ command: 'delete', 'call-id': callId });
      pa.close();
      pb.close();
    }
  });

  it('the disk fills up mid-recording: that recording stops cleanly, once, and the call goes on', async () => {
    const callId = 'full-disk@test';
    const pa = await rtpPhone('PCMU');
    const pb = await rtpPhone('PCMA');
    try {
      const to = await call(callId, pa, pb);
      const talk = Promise.all([pa.play(hoppingTones(6), to.a), pb.play(hoppingTones(6, 8000, 0.3, 9), to.b)]);
      await sleep(200);
      const before = lines.length;
      const rec = await ng.request({ command: 'start recording', 'call-id': callId });
      assert.equal(rec.result, 'ok', JSON.stringify(rec));
      await talk;
      await sleep(300);
      const file = path.join(dir, 'recording-full-disk@test.wav');
      const about = lines.slice(before).filter((l) => l.includes('recording-full-disk@test.wav'));
      assert.equal(about.length, 1, `one log line about the file:\n${about.join('\n')}`);
      assert.match(about[0], /stopped.*ENOSPC/);
      // the header says what the file holds, and it holds whole samples of the call
      const bytes = fs.readFileSync(file);
      assert.equal(bytes.readUInt32LE(40), bytes.length - 44, 'data size = what the file holds');
      assert.equal(bytes.readUInt32LE(4), bytes.length - 8, 'RIFF size');
      assert.equal((bytes.length - 44) % 2, 0);
      assert.ok(bytes.length > 40_000, `${bytes.length} bytes: it recorded until the disk was full`);
      // the call's media never stopped: everything sent went through, both ways
      assert.ok(pb.headers().length >= pa.sent.length - 3, `B got ${pb.headers().length} of ${pa.sent.length}`);
      assert.ok(pa.headers().length >= pb.sent.length - 3, `A got ${pa.headers().length} of ${pb.sent.length}`);
      // and the call still answers: query, play, stop recording (nothing left to stop)
      assert.equal((await ng.request({ command: 'query', 'call-id': callId })).result, 'ok');
      const stop = await ng.request({ command: 'stop recording', 'call-id': callId });
      assert.equal(stop.result, 'ok');
      fs.rmSync(file);
    } finally {
      await ng.request({ command: 'delete', 'call-id': callId });
      pa.close();
      pb.close();
    }
  });

  it("a lone leg's recording on a full disk ends with reason 'failed' and one error event", async () => {
    const phone = await rtpPhone('PCMU');
    const leg = new MediaLeg({
      codec: 'PCMU',
      local: { address: '127.0.0.1' },
      remote: { address: '127.0.0.1', port: phone.port },
      mediaRoots: [dir],
    });
    const errors: Error[] = [];
    leg.on('error', (e) => errors.push(e as Error));
    try {
      const talk = phone.play(hoppingTones(6), { address: '127.0.0.1', port: leg.localPort });
      const result = await leg.record('leg.wav', { maxDurationMs: 10_000 });
      await talk;
      assert.equal(result.reason, 'failed');
      assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
      assert.match(errors[0].message, /leg\.wav stopped: writing failed \(ENOSPC\)/);
      const bytes = fs.readFileSync(path.join(dir, 'leg.wav'));
      assert.equal(bytes.readUInt32LE(40), bytes.length - 44, 'data size = what the file holds');
      assert.ok(bytes.length > 40_000, `${bytes.length} bytes`);
    } finally {
      leg.close();
      phone.close();
      fs.rmSync(path.join(dir, 'leg.wav'), { force: true });
    }
  });

  it('a relayed call whose recording fails goes back to the forwarding plane', async () => {
    const ms = new MediaServer({ address: '127.0.0.1', ports: mediaPorts(20), tickers: 1 });
    const errors: Error[] = [];
    ms.on('error', (e) => errors.push(e as Error));
    const pa = await rtpPhone('PCMU');
    const pb = await rtpPhone('PCMU');
    try {
      const s = ms.offer('relay-rec', phoneSdp({ port: pa.port, codecs: PCMU }));
      ms.answer('relay-rec', phoneSdp({ port: pb.port, codecs: PCMU }));
      const bridge = s.bridge!;
      assert.ok(bridge.currentRelay, 'relayed on the forwarding plane');
      const to = s.info().legs;
      const talk = Promise.all([
        pa.play(hoppingTones(6), { address: '127.0.0.1', port: to.a.localPort }),
        pb.play(hoppingTones(6, 8000, 0.3, 9), { address: '127.0.0.1', port: to.b!.localPort }),
      ]);
      await sleep(200);
      bridge.startRecording(path.join(dir, 'relay.wav'));
      assert.ok(!bridge.currentRelay, 'recording: on graphs');
      await talk;
      await sleep(200);
      assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
      assert.ok(bridge.currentRelay, 'the failed recording let the call go back to the relay');
      assert.equal(bridge.recordingFile, undefined);
      s.stop();
    } finally {
      pa.close();
      pb.close();
      ms.close();
      fs.rmSync(path.join(dir, 'relay.wav'), { force: true });
    }
  });
});
