#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need on a fresh Debian 12 machine,
# done only when out of date: system packages, npm packages, the native addon
# (node-gyp) and the TypeScript build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash vendor/install-deps.sh --dev

# Node's headers: use the local ones when the distribution ships them, so the
# native build never needs to download anything.
if [[ -f /usr/include/node/node_api.h && -z "${npm_config_nodedir:-}" ]]; then
  export npm_config_nodedir=/usr
fi

newer_than() { # newer_than TARGET PATH... : true if any PATH is newer than TARGET (or TARGET missing)
  local target="$1"; shift
  [[ -e "$target" ]] || return 0
  [[ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]]
}

if newer_than node_modules/.package-lock.json package.json; then
  echo "rtp-media-server: npm install" >&2
  npm install --no-audit --no-fund --ignore-scripts
fi

addon=build/Release/rtp_media_server.node
if newer_than "$addon" native binding.gyp vendor/libraries.json; then
  echo "rtp-media-server: building the native addon (node-gyp)" >&2
  node vendor/check-deps.js --build
  npx --no-install node-gyp rebuild -j "$(nproc)" >/dev/null
fi

if newer_than dist/.stamp lib bin test examples bench tsconfig.json; then
  echo "rtp-media-server: compiling TypeScript" >&2
  rm -rf dist
  npx --no-install tsc -p tsconfig.json
  touch dist/.stamp
fi
