#!/usr/bin/env bash
# Runs every test of ganc: sets up (packages, build, MNIST) if needed, runs the suite on
# the Release build, then builds with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DGANC_SANITIZE=ON, in build-asan/) and runs the whole suite again under them.
#
#   scripts/test.sh            # everything
#   GANC_SKIP_SANITIZE=1 scripts/test.sh   # the Release suite only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j 2

if [ "${GANC_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
  scripts/build.sh build-asan RelWithDebInfo -DGANC_SANITIZE=ON -DGANC_BUILD_BENCH=OFF
  # JIT-compiled code is not instrumented, but every buffer it touches is allocated by
  # instrumented code, so out-of-bounds kernels still show up.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir build-asan --output-on-failure -j 2
fi
echo "== all tests passed"
