#!/usr/bin/env bash
# AddressSanitizer (+ LeakSanitizer) run of the native core test.
#
#   bash scripts/asan.sh                 # configure + build build-asan/, run ctest
#   RMS_SANITIZE=address,undefined bash scripts/asan.sh
#   RMS_ASAN_BUILD_DIR=/tmp/asan bash scripts/asan.sh
#
# Only test/native/core_test is built (RMS_BUILD_ADDON=OFF): an ASan-built
# rtp_media_server.node cannot be loaded into a node binary that is not itself
# built with ASan (it would need LD_PRELOAD=libasan.so).
#
# The test gets LSAN_OPTIONS=suppressions=scripts/lsan.supp from CMakeLists.txt
# (set_tests_properties ENVIRONMENT), so `ctest --test-dir build-asan` alone
# behaves the same. Exits non-zero when the build, a check, or a sanitizer fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RMS_ASAN_BUILD_DIR:-$root/build-asan}"
sanitize="${RMS_SANITIZE:-address}"

gen=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi

start=$(date +%s)
cmake -S "$root" -B "$build" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRMS_SANITIZE="$sanitize" \
  -DRMS_BUILD_TESTS=ON \
  -DRMS_BUILD_ADDON=OFF
cmake --build "$build" --target core_test secure_test --parallel
ctest --test-dir "$build" --output-on-failure --no-tests=error
echo "asan.sh: -fsanitize=$sanitize: all tests passed in $(( $(date +%s) - start )) s"
