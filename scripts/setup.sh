#!/usr/bin/env bash
# Sets up ganc on a fresh Debian 12 machine: installs the Debian packages it needs,
# builds it (Release, in build/), and fetches the MNIST digits into data/mnist.
# Safe to run again: each step skips what is already done.
#
#   scripts/setup.sh && build/bin/ganc train examples/mnist.gan
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/install-deps.sh
scripts/build.sh build Release
scripts/fetch-mnist.sh data/mnist
echo "setup: done. Train the tutorial's GAN with: build/bin/ganc train examples/mnist.gan"
