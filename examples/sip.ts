/**
 * The examples' SIP stack: the `sip` package, which the examples need and the
 * media server does not (it is a devDependency, not a runtime dependency of
 * rtp-media-server). Without it, a clear message instead of a stack trace.
 */
export function loadSip(example: string): any {
  try {
    return require('sip');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    process.stderr.write(
      `${example}: this example uses the "sip" package for its SIP signalling, and rtp-media-server ` +
        `does not depend on it. Install it beside rtp-media-server: npm install sip\n`,
    );
    process.exit(1);
  }
}
