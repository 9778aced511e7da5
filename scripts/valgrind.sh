#!/usr/bin/env bash
# Memcheck run of the native tests (core_test, secure_test), built without sanitizers.
#
#   bash scripts/valgrind.sh            # configure + build build-valgrind/, run every case
#   bash scripts/valgrind.sh codec2     # only the cases whose name contains "codec2"
#   RMS_VALGRIND_TESTS=secure_test bash scripts/valgrind.sh dtls   # one test binary
#   RMS_VALGRIND_BUILD_DIR=/tmp/vg bash scripts/valgrind.sh
#
# Built RelWithDebInfo (-O2 -g) so that reports have file:line. Exits non-zero
# on a memory error, a definite or possible leak (valgrind's defaults for
# --errors-for-leak-kinds), or a failed check in the test itself.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RMS_VALGRIND_BUILD_DIR:-$root/build-valgrind}"

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind.sh: valgrind not found; install with:" >&2
  echo "  apt-get install -y --no-install-recommends valgrind" >&2
  exit 1
fi

gen=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then gen=(-G Ninja); fi

start=$(date +%s)
cmake -S "$root" -B "$build" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRMS_SANITIZE= \
  -DRMS_BUILD_TESTS=ON \
  -DRMS_BUILD_ADDON=OFF
cmake --build "$build" --target core_test secure_test --parallel

status=0
for test in ${RMS_VALGRIND_TESTS:-core_test secure_test}; do
  RMS_NATIVE_LOG=0 valgrind \
    --tool=memcheck \
    --leak-check=full \
    --error-exitcode=1 \
    --track-origins=yes \
    --num-callers=30 \
    --suppressions="$root/scripts/valgrind.supp" \
    --gen-suppressions=all \
    "$build/$test" "$@" || status=$?
done
if [[ $status -ne 0 ]]; then
  echo "valgrind.sh: FAILED (exit $status) after $(( $(date +%s) - start )) s" >&2
  exit "$status"
fi
echo "valgrind.sh: no memory errors, no leaks, all checks passed in $(( $(date +%s) - start )) s"
