#!/usr/bin/env bash
# `npm pack` / `npm publish` step: the tarball carries the compiled
# TypeScript (dist/) and the linux-x64 glibc prebuild (prebuilds/, made by
# prebuildify), so `npm install` on such a machine needs no compiler and no
# -dev packages. Each is rebuilt only when older than its sources.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

newer_than() { # true if any PATH is newer than TARGET (or TARGET missing)
  local target="$1"; shift
  [[ -e "$target" ]] || return 0
  [[ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]]
}

if newer_than dist/.stamp lib bin test examples bench tsconfig.json; then
  echo "prepack: compiling TypeScript" >&2
  npm run --silent build:ts
fi
prebuild=prebuilds/linux-x64/rtp-media-server.glibc.node
if newer_than "$prebuild" native binding.gyp vendor/libraries.json; then
  echo "prepack: prebuildify (linux-x64, glibc)" >&2
  node vendor/check-deps.js --build
  [[ -f /usr/include/node/node_api.h && -z "${npm_config_nodedir:-}" ]] && export npm_config_nodedir=/usr
  npm run --silent prebuildify >/dev/null
fi
test -f "$prebuild"
