import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tmpDir } from './helpers/call';

const root = path.resolve(__dirname, '..', '..');
const addonPath = path.join(root, 'build', 'Release', 'rtp_media_server.node');
const hasPatchelf = spawnSync('patchelf', ['--version']).status === 0;

describe('missing native libraries', () => {
  it(
    'at load time: names the library and the apt-get command',
    { skip: !hasPatchelf && 'patchelf not installed' },
    () => {
      // A copy of the addon that needs a libcodec2 this system does not have:
      // the same failure as a machine without the runtime package.
      const dir = tmpDir('rms-load-');
      const copy = path.join(dir, 'rtp_media_server.node');
      fs.copyFileSync(addonPath, copy);
      const needed = execFileSync('patchelf', ['--print-needed', copy], { encoding: 'utf8' })
        .split('\n')
        .find((l) => l.startsWith('libcodec2.so'));
      assert.ok(needed, 'the addon links libcodec2');
      execFileSync('patchelf', ['--replace-needed', needed, 'libcodec2.so.0.0-missing', copy]);
      const r = spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(path.join(root, 'dist', 'lib'))}).Factory.shared()`],
        {
          env: { ...process.env, RMS_ADDON_PATH: copy },
          encoding: 'utf8',
        },
      );
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /NativeLibraryError/);
      assert.match(r.stderr, /system library codec2 \(libcodec2\.so\.0\.0-missing\) is missing/);
      assert.match(r.stderr, /apt-get install -y --no-install-recommends libcodec2-1\.0/);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  );

  it('at build time: names the -dev package that is missing', () => {
    // pkg-config sees every .pc file but codec2's
    const dir = tmpDir('rms-pc-');
    const pcDir = '/usr/lib/x86_64-linux-gnu/pkgconfig';
    for (const f of fs.readdirSync(pcDir))
      if (f !== 'codec2.pc') fs.symlinkSync(path.join(pcDir, f), path.join(dir, f));
    for (const extra of ['/usr/share/pkgconfig', '/usr/lib/pkgconfig'])
      if (fs.existsSync(extra))
        for (const f of fs.readdirSync(extra))
          if (!fs.existsSync(path.join(dir, f))) fs.symlinkSync(path.join(extra, f), path.join(dir, f));
    const r = spawnSync(process.execPath, [path.join(root, 'vendor', 'check-deps.js'), '--build'], {
      env: { ...process.env, PKG_CONFIG_LIBDIR: dir, PKG_CONFIG_PATH: '' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing codec2\./);
    assert.match(r.stderr, /apt-get install -y --no-install-recommends libcodec2-dev/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
