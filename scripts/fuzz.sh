#!/usr/bin/env bash
# Fuzzes the parser, checker and lowering with libFuzzer under ASan and UBSan:
#   scripts/fuzz.sh [SECONDS]        (default 600: the ten-minute run)
# Builds build-fuzz/ with clang 19 (installing clang-19 and libclang-rt-19-dev when they
# are missing), seeds the corpus with examples/, stdlib/ and the .gan programs of
# tests/lit, and runs one fuzzing process. Crashing inputs land in build-fuzz/crashes/;
# reproduce one with build-fuzz/tests/fuzz/ganc_fuzz_check FILE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-600}"
cd "$root"
if ! command -v clang++-19 > /dev/null || [ ! -e /usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.fuzzer-x86_64.a ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  $sudo apt-get install -y -q clang-19 libclang-rt-19-dev
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DGANC_FUZZ=ON -DGANC_BUILD_TESTS=OFF -DGANC_BUILD_BENCH=OFF > build-fuzz-configure.log 2>&1 \
  || { cat build-fuzz-configure.log; exit 1; }
cmake --build build-fuzz --target ganc_fuzz_check -j "${GANC_JOBS:-2}"
corpus=build-fuzz/corpus
mkdir -p "$corpus" build-fuzz/crashes
find examples stdlib tests/lit -name '*.gan' | while read -r f; do cp "$f" "$corpus/${f//\//_}"; done
# -max_len: the largest seed is a few kB; longer inputs only slow the search down.
build-fuzz/tests/fuzz/ganc_fuzz_check "$corpus" -max_total_time="$seconds" -max_len=8192 \
  -timeout=10 -rss_limit_mb=4096 -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1
