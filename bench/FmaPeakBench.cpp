//===- FmaPeakBench.cpp - this machine's float32 FMA limit, measured ------===//
//
// The ceiling the kernels are compared with in docs/performance.md: independent chains
// of fused multiply-adds held in registers (no memory traffic), enough of them to cover
// the FMA latency on every FMA unit, one copy per thread. Uses AVX-512 when the CPU has
// it and AVX2 + FMA otherwise (detected, never assumed); a FLOP is half an FMA lane.
//
//   build/bench/ganc_fma_peak                   # 1 and 2 threads
//
//===----------------------------------------------------------------------===//
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <cstdint>

namespace {

constexpr int kChains = 12; // > latency (4) x FMA units (2)

/// The sum of a vector's lanes, stored to memory (so the chains' results are used).
float sumLanes(const float *lanes, int n) {
  float total = 0;
  for (int i = 0; i < n; ++i)
    total += lanes[i];
  return total;
}

// Not inlined, and fed a count the optimizer cannot see, so every call does its work.
__attribute__((target("avx512f"), noinline)) float chainsAvx512(int64_t iters) {
  __m512 acc[kChains];
  const __m512 x = _mm512_set1_ps(0.9999999f), y = _mm512_set1_ps(1e-7f);
  for (int k = 0; k < kChains; ++k)
    acc[k] = _mm512_set1_ps(static_cast<float>(k));
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k)
      acc[k] = _mm512_fmadd_ps(acc[k], x, y);
  __m512 sum = acc[0];
  for (int k = 1; k < kChains; ++k)
    sum = _mm512_add_ps(sum, acc[k]);
  float lanes[16]; // (GCC 12's _mm512_reduce_add_ps warns of an uninitialized temporary)
  _mm512_storeu_ps(lanes, sum);
  return sumLanes(lanes, 16);
}

__attribute__((target("avx2,fma"), noinline)) float chainsAvx2(int64_t iters) {
  __m256 acc[kChains];
  const __m256 x = _mm256_set1_ps(0.9999999f), y = _mm256_set1_ps(1e-7f);
  for (int k = 0; k < kChains; ++k)
    acc[k] = _mm256_set1_ps(static_cast<float>(k));
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < kChains; ++k)
      acc[k] = _mm256_fmadd_ps(acc[k], x, y);
  __m256 sum = acc[0];
  for (int k = 1; k < kChains; ++k)
    sum = _mm256_add_ps(sum, acc[k]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return sumLanes(lanes, 8);
}

void BM_FmaPeak(benchmark::State &state) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
    state.SkipWithError("this CPU has neither AVX-512 nor AVX2 with FMA");
    return;
  }
  int64_t iters = 1 << 20;
  const double lanes = avx512 ? 16 : 8;
  for (auto _ : state) {
    benchmark::DoNotOptimize(iters);
    float r = avx512 ? chainsAvx512(iters) : chainsAvx2(iters);
    benchmark::DoNotOptimize(r);
  }
  // Per thread; Google Benchmark sums the threads' rates.
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * lanes * kChains * static_cast<double>(iters) * 1e-9 *
                                                     static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(avx512 ? "AVX-512" : "AVX2+FMA");
}
BENCHMARK(BM_FmaPeak)->Threads(1)->Threads(2)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
