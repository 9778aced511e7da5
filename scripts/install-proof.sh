#!/usr/bin/env bash
# Install proof: the npm tarball (what `npm pack` makes, prebuild included by
# the prepack step) installs into a fresh project both ways a user meets:
#   A. with the prebuilt addon, with no compiler, make or pkg-config on the
#      PATH (so the prebuild is what loads), from CommonJS and ESM, types too;
#   B. built from source (a tarball without prebuilds/, as on a platform no
#      prebuild fits), with the -dev packages, from an empty npm cache and
#      with Node's headers from /usr/include/node (npm_config_nodedir), so
#      nothing but npm packages is downloaded;
# and on each path a missing system library is named with its apt-get line,
# at install time (vendor/install.js) and at load time (NativeLibraryError).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

tarball=$repo/$(npm pack --silent | tail -1)
work=$(mktemp -d /tmp/rms-install-XXXXXX)
trap 'rm -rf "$work" "$tarball"' EXIT
tar tzf "$tarball" >"$work/contents"
grep -qx 'package/prebuilds/linux-x64/rtp-media-server.glibc.node' "$work/contents" ||
  { echo "the tarball has no linux-x64 prebuild"; exit 1; }

# missing_lib ADDON CMD...: CMD, run with ADDON needing a libcodec2 this system
# lacks (the failure of a machine without the runtime package), must fail
# naming the library and the apt-get command
missing_lib() {
  local addon=$1; shift
  cp "$addon" "$work/addon.orig"
  local needed
  needed=$(patchelf --print-needed "$addon" | grep '^libcodec2\.so')
  patchelf --replace-needed "$needed" libcodec2.so.0.0-missing "$addon"
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  cp "$work/addon.orig" "$addon"
  if [[ $rc -eq 0 ]] || ! grep -q 'codec2 (libcodec2.so.0.0-missing) is missing' <<<"$out" ||
    ! grep -q 'apt-get install -y --no-install-recommends .*libcodec2-1.0' <<<"$out"; then
    echo "no clear missing-library message from: $*"; echo "$out"; exit 1
  fi
}

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
prebuild=node_modules/rtp-media-server/prebuilds/linux-x64/rtp-media-server.glibc.node
test -f "$prebuild"
test ! -d node_modules/rtp-media-server/build || { echo "a source build happened"; exit 1; }

# a transcoded call, PCMU <-> opus, from CommonJS
cat > call.cjs <<'JS'
const { Gateway, Ticker } = require('rtp-media-server');
const { AudioPeer, tone, writeWav } = require('rtp-media-server/tools');
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
import { MediaServer } from 'rtp-media-server';
import { parseSdp } from 'rtp-media-server/sdp';
const ms = new MediaServer({ address: '127.0.0.1', ports: [45000, 45099], tickers: 1 });
const s = ms.offer('esm-1', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n');
console.log(`esm: offered ${parseSdp(s.offerSdp).audio.formats.map((f) => f.name).join(' ')}`);
ms.close();
JS
PATH="$work/bin" node esm.mjs

# the published types: good use compiles, misuse does not
cat > types-ok.ts <<'TS'
import { MediaServer, MediaLeg, type SessionSummary } from 'rtp-media-server';
import { AudioPeer } from 'rtp-media-server/tools';
const ms = new MediaServer({ address: '127.0.0.1', ports: [30000, 30099] });
const summary: SessionSummary = ms.stop('x');
const leg = new MediaLeg({ name: 'x', codec: 'PCMU', local: { address: '127.0.0.1' } });
const played: Promise<{ reason: string; durationMs: number }> = leg.play('a.wav', { bargeIn: true });
const peer: AudioPeer | undefined = undefined;
void summary; void played; void peer;
TS
cat > types-bad.ts <<'TS'
import { MediaServer } from 'rtp-media-server';
new MediaServer({ address: 127 });
TS
PATH="$work/bin" node node_modules/typescript/bin/tsc --strict --noEmit --module node16 --moduleResolution node16 --target es2022 --types node types-ok.ts
if PATH="$work/bin" node node_modules/typescript/bin/tsc --strict --noEmit --module node16 --moduleResolution node16 --target es2022 --types node types-bad.ts >/dev/null 2>&1; then
  echo "types: misuse compiled"; exit 1
fi
echo "types: the public API type-checks, misuse is refused"
missing_lib "$prebuild" env PATH="$work/bin" node node_modules/rtp-media-server/vendor/install.js
missing_lib "$prebuild" env PATH="$work/bin" node -e "require('rtp-media-server').Factory.shared()"
echo "A: prebuilt addon, no compiler on PATH: OK (and a missing library is named)"

# B. from source: the same tarball without prebuilds/
mkdir -p "$work/repack" "$work/src" "$work/npm-cache" "$work/gyp-devdir"
tar xzf "$tarball" -C "$work/repack"
rm -rf "$work/repack/package/prebuilds"
tar czf "$work/src.tgz" -C "$work/repack" package
cd "$work/src"
cat > package.json <<'JSON'
{ "name": "rms-source-proof", "version": "1.0.0", "private": true }
JSON
npm_config_cache="$work/npm-cache" npm_config_nodedir=/usr npm_config_devdir="$work/gyp-devdir" \
  npm install --no-audit --no-fund --loglevel=error --prefer-online "$work/src.tgz" </dev/null >/dev/null
built=node_modules/rtp-media-server/build/Release/rtp_media_server.node
test -f "$built" || { echo "B: no addon was built"; exit 1; }
test ! -d node_modules/rtp-media-server/prebuilds
test -z "$(ls -A "$work/gyp-devdir")" || { echo "B: node-gyp downloaded headers"; exit 1; }
cp "$work/app/call.cjs" . && node call.cjs
missing_lib "$built" node -e "require('rtp-media-server').Factory.shared()"
echo "B: built from source (empty npm cache, headers from /usr/include/node): OK (and a missing library is named)"
echo "install proof: OK"
