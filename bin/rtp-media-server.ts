#!/usr/bin/env node
/** `rtp-media-server serve [--config FILE] [options]`: see lib/daemon/cli.ts and docs/deployment.md. */
import { preloadAddon } from '../lib/native';

// `serve`: the native libraries load on another core while the JavaScript does
if (process.argv[2] === 'serve' && !process.argv.some((a) => /^--(dry-run|help|version)$|^-[hv]$/.test(a)))
  preloadAddon();
const { runCli } = require('../lib/daemon/cli') as typeof import('../lib/daemon/cli');

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`rtp-media-server: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
