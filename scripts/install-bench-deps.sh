#!/usr/bin/env bash
# Installs what the side-by-side benchmarks compare against: Debian's PyTorch (run with
# /usr/bin/python3) and OpenBLAS, which PyTorch uses for matrix products. Not needed to
# build, train or test ganc.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in python3-torch python3-numpy libopenblas0-pthread libdnnl-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "install-bench-deps: all packages present"; exit 0; }
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
