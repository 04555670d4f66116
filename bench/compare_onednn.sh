#!/usr/bin/env bash
# ganc's kernels against oneDNN at the models' shapes (bench/OneDnnBench.cpp), each
# shape and thread count run side by side: ganc, then oneDNN, each in a process of its
# own (oneDNN's OpenMP threads keep spinning after its runs and would slow whatever the
# same process ran next), for ROUNDS rounds. On a machine whose speed drifts from minute
# to minute (a shared virtual machine), alternating shape by shape keeps both sides
# under the same conditions. Each round times a side as the least of 10 short runs:
# other tenants of the host slow runs down and never speed them up, and the least moved
# by a few percent from round to round where medians of one-second runs moved by a
# quarter. The medians of the rounds are printed with their ratio.
#
#   scripts/install-bench-deps.sh   # once: libdnnl-dev
#   bench/compare_onednn.sh [ROUNDS]   # GANC_BUILD=... if the build is not in build/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GANC_BUILD:-$root/build}"
rounds="${1:-3}"
bench="$build/bench/ganc_onednn_bench"
[ -x "$bench" ] || { echo "build first (with libdnnl-dev installed): scripts/build.sh"; exit 1; }

time_us() { # filter -> microseconds per call (real time), the least of 10 short runs
  "$bench" --benchmark_filter="$1" --benchmark_min_time=0.05 --benchmark_repetitions=10 \
    --benchmark_format=csv 2>/dev/null |
    awk -F, 'NR > 1 && $1 ~ /real_time"?$/ { t = $3; u = $5; gsub(/"/, "", u)
      if (u == "ms") t *= 1000; else if (u == "ns") t /= 1000; print t }' | sort -g | head -1
}
label() { # the shape's description, from the benchmark's label
  "$bench" --benchmark_filter="$1" --benchmark_min_time=0.01 --benchmark_format=csv 2>/dev/null |
    awk -F, 'NR > 1 && $1 ~ /real_time/ { gsub(/"/, "", $8); print $8 }' | tail -1
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for name in $("$bench" --benchmark_list_tests 2>/dev/null | grep -E '^(Gemm|Conv)Ganc/'); do
  theirs="${name/Ganc\//OneDnn/}"
  g=() o=()
  for _ in $(seq 1 "$rounds"); do
    g+=("$(time_us "^$name\$")")
    o+=("$(time_us "^$theirs\$")")
  done
  gm=$(median "${g[@]}") om=$(median "${o[@]}")
  threads="${name#*threads:}"
  printf '%-46s %s thread(s)  ganc %9.1f us   oneDNN %9.1f us   oneDNN/ganc %.2f\n' \
    "$(label "^$name\$")" "${threads%/real_time}" "$gm" "$om" "$(echo "$om / $gm" | bc -l)"
done
