#!/usr/bin/env node
'use strict';
// Build-time dependency check, used by binding.gyp and CMakeLists.txt:
//   --cflags / --libs   print pkg-config flags for the native libraries
//   --ortp-version      print oRTP's version as MAJOR*10000+MINOR*100+PATCH
//                       (native/core/ortp_shim.h is checked against it)
//   --build             check that every library is there (npm install hook)
// When one is missing it says which, and the exact command that installs it.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { libraries } = require(path.join(__dirname, 'libraries.json'));

const modules = libraries.filter((l) => l.pkgconfig).map((l) => l.pkgconfig);

function pkgConfig(args) {
  return execFileSync('pkg-config', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function missing() {
  try {
    execFileSync('pkg-config', ['--version'], { stdio: 'ignore' });
  } catch {
    return [{ name: 'pkg-config', dev: 'pkg-config' }];
  }
  return libraries.filter((l) => {
    if (!l.pkgconfig) return false;
    try {
      execFileSync('pkg-config', ['--exists', l.pkgconfig], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

function fail(list) {
  const pkgs = list.map((l) => l.dev).join(' ');
  process.stderr.write(
    `rtp-media-server: cannot build the native addon: missing ${list.map((l) => l.name).join(', ')}.\n` +
      `Install with:\n  apt-get install -y --no-install-recommends ${pkgs}\n` +
      `(or run: bash ${path.join(__dirname, 'install-deps.sh')})\n`,
  );
  process.exit(1);
}

const mode = process.argv[2] || '--build';
const absent = missing();
if (absent.length) fail(absent);
if (mode === '--cflags') {
  // include dirs only, one per word, for gyp's include_dirs
  const flags = pkgConfig(['--cflags-only-I', ...modules]).split(/\s+/).filter(Boolean);
  process.stdout.write(flags.map((f) => f.replace(/^-I/, '')).join(' ') + '\n');
} else if (mode === '--libs') {
  process.stdout.write(pkgConfig(['--libs', ...modules]) + '\n');
} else if (mode === '--ortp-version') {
  const [major, minor, patch] = pkgConfig(['--modversion', 'ortp']).split('.').map((n) => parseInt(n, 10) || 0);
  process.stdout.write(`${major * 10000 + minor * 100 + (patch ?? 0)}\n`);
} else if (mode === '--build') {
  // nothing to print: being here means everything is installed
} else {
  process.stderr.write(`unknown option ${mode}\n`);
  process.exit(2);
}
