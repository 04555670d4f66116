#!/usr/bin/env bash
# Side by side, in one invocation: one training iteration (one D step + one G step, batch
# 128) of the tutorial's GAN, and of the DCGAN (examples/dcgan_mnist.gan), in ganc and in
# PyTorch, alternating rounds so both see the same machine state. PyTorch gets its best settings: OpenBLAS told the real CPU family
# (Debian's OpenBLAS 0.3.21 misdetects recent CPUs and falls back to SSE kernels), and the
# better of 1 and 2 threads. Prints iterations/s and the ganc/PyTorch ratio.
#
#   scripts/install-bench-deps.sh   # once: python3-torch, OpenBLAS
#   bench/compare_pytorch.sh [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GANC_BUILD:-$root/build}"
rounds="${1:-2}"
steps="${PYTORCH_STEPS:-1500}"
cd "$root"
[ -x "$build/bench/ganc_bench" ] || { echo "build first: scripts/build.sh"; exit 1; }
[ -f data/mnist/train-images-idx3-ubyte ] || scripts/fetch-mnist.sh data/mnist

ganc_rate() { # threads [benchmark]
  local bench="${2:-MnistIteration}"
  "$build/bench/ganc_bench" --benchmark_filter="$bench/batch:128/threads:$1/" \
    --benchmark_min_time=2 --benchmark_format=csv 2>/dev/null |
    awk -F, -v b="$bench" '$0 ~ b { printf "%.2f\n", 1000 / $3 }' | tail -1
}
torch_rate() { # threads [script steps]: for PyTorch's own (OpenMP) pool and for OpenBLAS's
  OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Cooperlake}" OPENBLAS_NUM_THREADS="$1" OMP_NUM_THREADS="$1" \
    /usr/bin/python3 "bench/pytorch/${2:-mnist_gan.py}" \
    --data data/mnist --steps "${3:-$steps}" --threads "$1" | sed -E 's/.* ([0-9.]+) it\/s.*/\1/'
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for r in $(seq 1 "$rounds"); do
  g1=$(ganc_rate 1); t1=$(torch_rate 1); g2=$(ganc_rate 2); t2=$(torch_rate 2)
  g=$(best "$g1" "$g2"); t=$(best "$t1" "$t2")
  printf 'round %d: ganc %8.1f it/s (1 thread %.1f, 2 threads %.1f)   PyTorch %8.1f it/s (1 thread %.1f, 2 threads %.1f)   ratio %.2f\n' \
    "$r" "$g" "$g1" "$g2" "$t" "$t1" "$t2" "$(echo "$g / $t" | bc -l)"
done
for r in $(seq 1 "$rounds"); do
  g1=$(ganc_rate 1 DcganIteration); t1=$(torch_rate 1 dcgan.py 30)
  g2=$(ganc_rate 2 DcganIteration); t2=$(torch_rate 2 dcgan.py 30)
  g=$(best "$g1" "$g2"); t=$(best "$t1" "$t2")
  printf 'DCGAN round %d: ganc %6.2f it/s (1 thread %.2f, 2 threads %.2f)   PyTorch %6.2f it/s (1 thread %.2f, 2 threads %.2f)   ratio %.2f\n' \
    "$r" "$g" "$g1" "$g2" "$t" "$t1" "$t2" "$(echo "$g / $t" | bc -l)"
done
