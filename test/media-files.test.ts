/**
 * Media files: a recording never overwrites (a prompt, a hard link to a file
 * outside the roots, a symlink), names made up by us move to the next free
 * number, and the one WAV parser refuses what cannot play right (3 or 5
 * channels) with a typed error while reading a killed recorder's file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MediaFileError, MediaRoots, readWav, readWavInfo, tone, writeWav } from '../lib';
import { wavHeader } from '../lib/util/wav';
import { tmpDir } from './helpers/call';

const refused = (fn: () => unknown, reason: MediaFileError['reason'], re?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof MediaFileError && e.reason === reason && (!re || re.test(e.message)));

describe('media files', () => {
  it('resolveForWrite creates the file exclusively: no overwrite, no way out through links', () => {
    const root = tmpDir('rms-roots-');
    const outside = tmpDir('rms-outside-');
    const secret = path.join(outside, 'secret.wav');
    fs.writeFileSync(secret, 'outside the roots');
    fs.linkSync(secret, path.join(root, 'hard.wav'));
    fs.symlinkSync(secret, path.join(root, 'soft.wav'));
    writeWav(path.join(root, 'prompt.wav'), tone(8000, 0.2, [440]));
    const prompt = fs.readFileSync(path.join(root, 'prompt.wav'));
    const roots = new MediaRoots([root]);

    refused(() => roots.resolveForWrite('prompt.wav'), 'exists', /already exists/);
    refused(() => roots.resolveForWrite('hard.wav'), 'exists');
    refused(() => roots.resolveForWrite('soft.wav'), 'exists');
    refused(() => roots.resolveForWrite('../escape.wav'), 'outside-roots');
    assert.deepEqual(fs.readFileSync(path.join(root, 'prompt.wav')), prompt);
    assert.equal(fs.readFileSync(secret, 'utf8'), 'outside the roots');

    const made = roots.resolveForWrite('new.wav');
    assert.equal(made, path.join(fs.realpathSync(root), 'new.wav'));
    assert.equal(fs.statSync(made).size, 0, 'created empty, for the recorder');
    refused(() => roots.resolveForWrite('new.wav'), 'exists', /never overwrites/);
    assert.equal(
      roots.resolveForWrite('new.wav', { onExists: 'rename' }),
      path.join(fs.realpathSync(root), 'new-1.wav'),
    );
    assert.equal(
      roots.resolveForWrite('new.wav', { onExists: 'rename' }),
      path.join(fs.realpathSync(root), 'new-2.wav'),
    );
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
