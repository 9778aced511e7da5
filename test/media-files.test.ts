/**
 * Media files: a recording never overwrites (a prompt, a hard link to a file
 * outside the roots, a symlink), and the one WAV parser refuses what cannot play right (3 or 5
 * channels) with a typed error while reading a killed recorder's file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MediaFileError, MediaLeg, MediaRoots, Ticker } from '../lib';
import { readWav, readWavInfo, tone, writeWav } from '../lib/tools';
import { wavHeader } from '../lib/util/wav';
import { tmpDir } from './helpers/call';

const refused = (fn: () => unknown, reason: MediaFileError['reason'], re?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof MediaFileError && e.reason === reason && (!re || re.test(e.message)));

describe('media files', () => {
  it('a recording never overwrites: a prompt, a hard link out of the roots, a symlink are refused', async () => {
    const root = tmpDir('rms-roots-');
    const outside = tmpDir('rms-outside-');
    const secret = path.join(outside, 'secret.wav');
    fs.writeFileSync(secret, 'outside the roots');
    fs.linkSync(secret, path.join(root, 'hard.wav'));
    fs.symlinkSync(secret, path.join(root, 'soft.wav'));
    writeWav(path.join(root, 'prompt.wav'), tone(8000, 0.2, [440]));
    const prompt = fs.readFileSync(path.join(root, 'prompt.wav'));
    const ticker = new Ticker({ name: 'rec' });
    const leg = new MediaLeg({
      name: 'rec',
      codec: 'PCMU',
      local: { address: '127.0.0.1' },
      ticker,
      mediaRoots: [root],
    });
    try {
      for (const name of ['prompt.wav', 'hard.wav'])
        await assert.rejects(
          leg.record(name, { maxDurationMs: 100 }),
          (e: unknown) => e instanceof MediaFileError && e.reason === 'exists',
        );
      await assert.rejects(leg.record('soft.wav', { maxDurationMs: 100 }), MediaFileError);
      await assert.rejects(
        leg.record('../escape.wav', { maxDurationMs: 100 }),
        (e: unknown) => e instanceof MediaFileError && e.reason === 'outside-roots',
      );
      assert.deepEqual(fs.readFileSync(path.join(root, 'prompt.wav')), prompt, 'the prompt is untouched');
      assert.equal(fs.readFileSync(secret, 'utf8'), 'outside the roots', 'the file outside is untouched');
      const r = await leg.record('new.wav', { maxDurationMs: 100 });
      assert.equal(r.path, path.join(fs.realpathSync(root), 'new.wav'));
      await assert.rejects(
        leg.record('new.wav', { maxDurationMs: 100 }),
        (e: unknown) => e instanceof MediaFileError && e.reason === 'exists',
      );
    } finally {
      leg.close();
      ticker.close();
    }
  });

  it('one WAV parser: mono and stereo play, 3 and 5 channels are refused, a killed recording still reads', () => {
    const dir = tmpDir('rms-wav-');
    for (const channels of [1, 2]) {
      const f = path.join(dir, `c${channels}.wav`);
      writeWav(f, { rate: 16000, channels, samples: new Int16Array(16000 * channels) });
      assert.deepEqual(readWavInfo(f), { rate: 16000, channels, durationMs: 1000 });
    }
    for (const channels of [3, 5]) {
      const f = path.join(dir, `c${channels}.wav`);
      writeWav(f, { rate: 8000, channels, samples: new Int16Array(8000 * channels) });
      refused(() => readWavInfo(f), 'not-wav', new RegExp(`${channels} channels`));
      refused(() => new MediaRoots([dir]).wav(`c${channels}.wav`), 'not-wav');
      assert.equal(readWav(f).channels, channels, 'readWav itself reads any channel count');
    }
    // a recorder killed before closing: data size 0; both readers take the rest of the file
    const killed = path.join(dir, 'killed.wav');
    fs.writeFileSync(killed, Buffer.concat([wavHeader(8000, 1, 0), Buffer.alloc(1600, 1)]));
    assert.equal(readWav(killed).samples.length, 800);
    assert.equal(readWavInfo(killed).durationMs, 100);
    const bad = path.join(dir, 'bad.wav');
    fs.writeFileSync(bad, 'RIFF....WAVEjunk');
    refused(() => readWavInfo(bad), 'not-wav', /no data chunk/);
    assert.throws(() => readWav(bad), MediaFileError);
  });
});
