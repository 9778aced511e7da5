#!/usr/bin/env node
/** `rtp-media-server serve [--config FILE] [options]`: see lib/daemon/cli.ts and docs/deployment.md. */
import { runCli } from '../lib/daemon/cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`rtp-media-server: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
