#!/usr/bin/env node
'use strict';
// npm install hook. A prebuilt binary for this platform (prebuilds/, put in
// the npm tarball by `npm pack`'s prepack step) needs no compiler and no -dev
// packages: it is used as is, and only the runtime libraries are checked
// (with the exact apt-get command when one is missing). Without a prebuild
// (or with `npm install --build-from-source`), the -dev packages are checked
// and the addon is built from source with node-gyp.
//
// Which node-gyp: the one npm runs install scripts with
// (npm_config_node_gyp, npm's own bundled copy), never `npx node-gyp`: npx
// wants to download node-gyp into the cache and, with no terminal to ask
// (every `npm install`), stops with "npx canceled due to missing packages".
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { libraries } = require(path.join(__dirname, 'libraries.json'));

/** Loads the addon at `file`; on failure prints which system library is missing and exits 1. */
function loadOrExplain(file, what) {
  try {
    require(file);
    return;
  } catch (err) {
    const m = /([^\s:/]+\.so[^\s:]*): cannot open shared object file/.exec(String(err && err.message));
    const lib = m && libraries.find((l) => m[1].startsWith(l.soname));
    const runtime = libraries.map((l) => l.runtime).join(' ');
    process.stderr.write(
      `rtp-media-server: the ${what} addon cannot load: ${lib ? `the system library ${lib.name} (${m[1]}) is missing` : String(err && err.message)}.\n` +
        `Install the runtime libraries with:\n  apt-get install -y --no-install-recommends ${runtime}\n`,
    );
    process.exit(1);
  }
}

/** node-gyp's CLI script: npm's (what npm gives install scripts), else a local install; undefined if none. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  // npm_execpath is npm-cli.js; npm bundles node-gyp beside it
  if (process.env.npm_execpath)
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    /* not installed locally */
  }
  return candidates.find((c) => c && fs.existsSync(c));
}

const fromSource = /^(true|1|rtp-media-server)$/.test(process.env.npm_config_build_from_source || '');
let prebuilt;
try {
  prebuilt = fromSource ? undefined : require('node-gyp-build').path(root);
} catch {
  prebuilt = undefined;
}

if (prebuilt && !prebuilt.includes(`${path.sep}build${path.sep}`)) {
  loadOrExplain(prebuilt, 'prebuilt');
  process.stdout.write(`rtp-media-server: using the prebuilt addon ${path.relative(root, prebuilt)}\n`);
  process.exit(0);
}

// no prebuild for this platform: build from source
execFileSync(process.execPath, [path.join(__dirname, 'check-deps.js'), '--build'], { stdio: 'inherit' });
const gyp = findNodeGyp();
if (!gyp) {
  process.stderr.write(
    'rtp-media-server: no prebuilt addon fits this platform and node-gyp was not found to build one.\n' +
      'Run the install through npm (which provides node-gyp), or install node-gyp: npm install -g node-gyp\n',
  );
  process.exit(1);
}
const env = { ...process.env };
// Node's headers: the distribution's when it ships them, so the build never downloads anything
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
process.stdout.write(`rtp-media-server: building the addon from source (${path.relative(root, gyp) || gyp})\n`);
try {
  execFileSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'inherit', env });
} catch {
  process.stderr.write('rtp-media-server: the native build failed (see node-gyp output above)\n');
  process.exit(1);
}
loadOrExplain(path.join(root, 'build', 'Release', 'rtp_media_server.node'), 'freshly built');
