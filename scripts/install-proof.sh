#!/usr/bin/env bash
# Install proof: the npm tarball, with a prebuilt addon, installs into a fresh
# project and runs a transcoded call with no compiler on the PATH (so the
# prebuild is what loads), from CommonJS and from ESM, and its types compile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

npm run build:ts >/dev/null
npm run prebuildify >/dev/null
tarball=$repo/$(npm pack --silent | tail -1)
work=$(mktemp -d /tmp/rms-install-XXXXXX)
trap 'rm -rf "$work" "$tarball"' EXIT

# a PATH with node and npm but no compiler, make or pkg-config
mkdir -p "$work/bin" "$work/app"
for t in node npm npx sh bash env uname cat rm mkdir ls; do ln -s "$(command -v $t)" "$work/bin/$t"; done
for t in cc gcc g++ c++ make pkg-config python3; do
  if PATH="$work/bin" command -v "$t" >/dev/null 2>&1; then echo "unexpected $t on the stripped PATH"; exit 1; fi
done

cd "$work/app"
cat > package.json <<'JSON'
{ "name": "rms-install-proof", "version": "1.0.0", "private": true }
JSON
PATH="$work/bin" npm install --no-audit --no-fund --loglevel=error "$tarball" typescript@5 @types/node@20 >/dev/null
PATH="$work/bin" npm ls rtp-media-server
test -f node_modules/rtp-media-server/prebuilds/linux-x64/rtp-media-server.glibc.node
test ! -d node_modules/rtp-media-server/build || { echo "a source build happened"; exit 1; }

# a transcoded call, PCMU <-> opus, from CommonJS
cat > call.cjs <<'JS'
const { AudioPeer, Gateway, Ticker, tone, writeWav } = require('rtp-media-server');
const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rms-proof-'));
writeWav(path.join(dir, 'a.wav'), tone(8000, 2, [1000]));
writeWav(path.join(dir, 'b.wav'), tone(48000, 2, [600]));
const t = new Ticker();
const a = new AudioPeer({ codec: 'PCMU', sendFile: path.join(dir, 'a.wav'), recordFile: path.join(dir, 'a-in.wav') });
const b = new AudioPeer({ codec: 'opus', sendFile: path.join(dir, 'b.wav'), sendRate: 48000, recordFile: path.join(dir, 'b-in.wav'), recordRate: 16000 });
const gw = new Gateway({ ticker: t,
  a: { codec: 'PCMU', local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: a.port } },
  b: { codec: 'opus', local: { address: '127.0.0.1' }, remote: { address: '127.0.0.1', port: b.port } } });
a.endpoint.setRemote({ address: '127.0.0.1', port: gw.a.localPort });
b.endpoint.setRemote({ address: '127.0.0.1', port: gw.b.localPort });
a.start(t); b.start(t);
setTimeout(() => {
  const s = gw.stats();
  a.close(); b.close(); gw.close(); t.close();
  console.log(`cjs: gateway received ${s.a.packetsReceived} PCMU and ${s.b.packetsReceived} opus packets; chain ${gw.directions[0].chain.join(' > ')}`);
  if (s.a.packetsReceived < 50 || s.b.packetsReceived < 50) process.exit(1);
}, 1500);
JS
PATH="$work/bin" node call.cjs

# the same package from ESM
cat > esm.mjs <<'JS'
import { MediaServer, parseSdp } from 'rtp-media-server';
const ms = new MediaServer({ address: '127.0.0.1', ports: [45000, 45099], tickers: 1 });
const s = ms.offer('esm-1', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n');
console.log(`esm: offered ${parseSdp(s.offerSdp).audio.formats.map((f) => f.name).join(' ')}`);
ms.close();
JS
PATH="$work/bin" node esm.mjs

# the published types: good use compiles, misuse does not
cat > types-ok.ts <<'TS'
import { MediaServer, CallLeg, type PlayResult, type SessionSummary } from 'rtp-media-server';
const ms = new MediaServer({ address: '127.0.0.1', ports: [30000, 30099] });
const summary: SessionSummary = ms.stop('x');
const leg: CallLeg | undefined = ms.ivrLeg('x');
const played: Promise<PlayResult> | undefined = leg?.play('a.wav', { bargeIn: true });
void summary; void played;
TS
cat > types-bad.ts <<'TS'
import { MediaServer } from 'rtp-media-server';
new MediaServer({ address: 127 });
TS
PATH="$work/bin" node node_modules/typescript/bin/tsc --strict --noEmit --module commonjs --target es2022 --types node types-ok.ts
if PATH="$work/bin" node node_modules/typescript/bin/tsc --strict --noEmit --module commonjs --target es2022 --types node types-bad.ts >/dev/null 2>&1; then
  echo "types: misuse compiled"; exit 1
fi
echo "types: the public API type-checks, misuse is refused"
echo "install proof: OK (prebuilt addon, no compiler on PATH)"
