#!/usr/bin/env node
'use strict';
// npm install hook. A prebuilt binary for this platform (prebuilds/, made by
// `npm run prebuildify`) needs no compiler and no -dev packages: it is used
// as is, and only the runtime libraries are checked (with the exact apt-get
// command when one is missing). Without a prebuild, the -dev packages are
// checked and the addon is built from source with node-gyp.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
let prebuilt;
try {
  prebuilt = require('node-gyp-build').path(root);
} catch {
  prebuilt = undefined;
}

if (prebuilt && !prebuilt.includes(`${path.sep}build${path.sep}`)) {
  try {
    require(prebuilt);
    process.stdout.write(`rtp-media-server: using the prebuilt addon ${path.relative(root, prebuilt)}\n`);
    process.exit(0);
  } catch (err) {
    const m = /([^\s:/]+\.so[^\s:]*): cannot open shared object file/.exec(String(err && err.message));
    const { libraries } = require(path.join(__dirname, 'libraries.json'));
    const lib = m && libraries.find((l) => m[1].startsWith(l.soname));
    const runtime = libraries.map((l) => l.runtime).join(' ');
    process.stderr.write(
      `rtp-media-server: the prebuilt addon cannot load: ${lib ? `the system library ${lib.name} (${m[1]}) is missing` : String(err && err.message)}.\n` +
        `Install the runtime libraries with:\n  apt-get install -y --no-install-recommends ${runtime}\n`,
    );
    process.exit(1);
  }
}

// no prebuild for this platform: build from source
execFileSync(process.execPath, [path.join(__dirname, 'check-deps.js'), '--build'], { stdio: 'inherit' });
execFileSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['node-gyp', 'rebuild'], { cwd: root, stdio: 'inherit' });
