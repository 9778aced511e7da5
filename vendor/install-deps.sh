#!/usr/bin/env bash
# Installs the Debian packages the native addon builds and runs against
# (vendor/debian-packages.txt), plus, with --dev, the tools the tests and the
# demo use (vendor/debian-packages-dev.txt). Installs only what is missing;
# runs apt-get update only when something is.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

lists=("$here/debian-packages.txt")
[[ "${1:-}" == "--dev" ]] && lists+=("$here/debian-packages-dev.txt")

wanted=()
for list in "${lists[@]}"; do
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    wanted+=("$pkg")
  done <"$list"
done

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "rtp-media-server: installing Debian packages: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "rtp-media-server: need root to run: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Daemons among the packages (kamailio, redis-server, rtpengine-daemon) must
# not start from their init scripts: the tests start their own, on ports of
# their own, and a packaged rtpengine would sit on 22222 and 30000-40000.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  own_policy=1
fi
trap '[[ -n $own_policy ]] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
