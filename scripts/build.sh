#!/usr/bin/env bash
# Configures and builds ganc: scripts/build.sh [DIR] [BUILD_TYPE] [extra cmake args...]
# Two parallel jobs by default (GANC_JOBS overrides): the reference machine has two cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-build}"
type="${2:-Release}"
shift $(( $# > 2 ? 2 : $# ))
cd "$root"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" > "$dir.configure.log" 2>&1 \
  || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j "${GANC_JOBS:-2}"
