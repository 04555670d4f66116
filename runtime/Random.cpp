//===- Random.cpp - counter-based random numbers (Philox4x32-10) ----------===//
#include "Random.h"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <immintrin.h>

#include <cmath>
#include <vector>

namespace ganc::rt {

namespace {
constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
} // namespace

std::array<uint32_t, 4> philox(std::array<uint32_t, 4> c, uint64_t key) {
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kM0) * c[0];
    uint64_t p1 = static_cast<uint64_t>(kM1) * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<uint32_t>(p0)};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

namespace {
uint64_t mix(uint64_t x) {
  // splitmix64's finalizer
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
std::array<uint32_t, 4> block(uint64_t stream, uint64_t blockIndex) {
  return {static_cast<uint32_t>(blockIndex), static_cast<uint32_t>(blockIndex >> 32),
          static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
}
float toUnit(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

/// f(b) for every block of 4 numbers, in chunks of 512 blocks (some 8 us of Philox on
/// one thread): a batch of the tutorial's noise, 3,200 blocks, is shared by two threads.
template <typename F> void parallelBlocks(int64_t n, F f) {
  int64_t blocks = (n + 3) / 4;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, blocks, 512),
                    [&](const tbb::blocked_range<int64_t> &r) {
                      for (int64_t b = r.begin(); b < r.end(); ++b)
                        f(b);
                    });
}
} // namespace

uint64_t purposeKey(const std::string &purpose) {
  uint64_t h = 0xCBF29CE484222325ull; // FNV-1a of the purpose
  for (unsigned char ch : purpose)
    h = (h ^ ch) * 0x100000001B3ull;
  return h;
}

uint64_t streamId(uint64_t key, uint64_t a, uint64_t b, uint64_t c) { return mix(mix(mix(key ^ a) ^ b) ^ c); }

uint64_t streamId(const std::string &purpose, uint64_t a, uint64_t b, uint64_t c) {
  return streamId(purposeKey(purpose), a, b, c);
}

float uniformAt(uint64_t seed, uint64_t stream, uint64_t i) {
  return toUnit(philox(block(stream, i / 4), seed)[i % 4]);
}

namespace {
/// Blocks uniformBlocks computes at once: four vectors of 16 side by side, so that the
/// multiplies of one round overlap instead of waiting on each other.
constexpr int64_t kWideBlocks = 64;

// GCC 12 warns that its own intrinsics read an uninitialized merge source
// (_mm512_undefined_epi32; gcc.gnu.org/bugzilla/show_bug.cgi?id=105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/// out[0, 4 kWideBlocks): the uniform numbers of blocks first .. first + 63, the same as
/// fillUniform's element by element (the 32x32->64-bit multiplies on the even and the
/// odd lanes with vpmuludq, the blocks' words transposed into place, converted with a
/// multiply and an add as toUnit and fillUniform round them). Needs AVX-512F and
/// first's low word + 63 < 2^32 (no carry into the counter's second word).
__attribute__((target("avx512f"))) void uniformBlocks(float *out, uint64_t first, uint64_t stream,
                                                      uint64_t key, float lo, float hi) {
  constexpr int V = kWideBlocks / 16;
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i c0[V], c1[V], c2[V], c3[V];
  for (int v = 0; v < V; ++v) {
    c0[v] = _mm512_add_epi32(
        iota, _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first) + 16 * v)));
    c1[v] = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first >> 32)));
    c2[v] = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(stream)));
    c3[v] = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(stream >> 32)));
  }
  const __m512i m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0)),
                  key1 = _mm512_set1_epi32(static_cast<int>(k1));
    for (int v = 0; v < V; ++v) {
      const __m512i e0 = _mm512_mul_epu32(c0[v], m0),
                    o0 = _mm512_mul_epu32(_mm512_srli_epi64(c0[v], 32), m0);
      const __m512i e1 = _mm512_mul_epu32(c2[v], m1),
                    o1 = _mm512_mul_epu32(_mm512_srli_epi64(c2[v], 32), m1);
      const __m512i lo0 = _mm512_mask_blend_epi32(0xAAAA, e0, _mm512_slli_epi64(o0, 32));
      const __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e0, 32), o0);
      const __m512i lo1 = _mm512_mask_blend_epi32(0xAAAA, e1, _mm512_slli_epi64(o1, 32));
      const __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e1, 32), o1);
      const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1[v]), key0);
      const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3[v]), key1);
      c0[v] = n0, c1[v] = lo1, c2[v] = n2, c3[v] = lo0;
    }
    k0 += kW0;
    k1 += kW1;
  }
  const __m512 scale = _mm512_set1_ps(hi - lo), base = _mm512_set1_ps(lo);
  const __m512 unit = _mm512_set1_ps(1.0f / 16777216.0f);
  for (int v = 0; v < V; ++v) {
    // Words j of blocks 16 v + i, one vector per j, into blocks' order: 4x4 transposes
    // inside each 128-bit lane, then one of the lanes.
    const __m512i t0 = _mm512_unpacklo_epi32(c0[v], c1[v]),
                  t1 = _mm512_unpackhi_epi32(c0[v], c1[v]);
    const __m512i t2 = _mm512_unpacklo_epi32(c2[v], c3[v]),
                  t3 = _mm512_unpackhi_epi32(c2[v], c3[v]);
    const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    const __m512i a = _mm512_shuffle_i32x4(u0, u1, 0x44), b = _mm512_shuffle_i32x4(u2, u3, 0x44);
    const __m512i c = _mm512_shuffle_i32x4(u0, u1, 0xEE), d = _mm512_shuffle_i32x4(u2, u3, 0xEE);
    const __m512i blocks[4] = {_mm512_shuffle_i32x4(a, b, 0x88), _mm512_shuffle_i32x4(a, b, 0xDD),
                               _mm512_shuffle_i32x4(c, d, 0x88), _mm512_shuffle_i32x4(c, d, 0xDD)};
    // Products and sums with an explicit rounding, which the compiler does not fuse
    // into a multiply-add: fused, it would round once where fillUniform rounds twice.
    constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    for (int q = 0; q < 4; ++q) {
      const __m512 u =
          _mm512_mul_round_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(blocks[q], 8)), unit, kNearest);
      const __m512 x = _mm512_add_round_ps(base, _mm512_mul_round_ps(scale, u, kNearest), kNearest);
      _mm512_storeu_ps(out + 64 * v + 16 * q, x);
    }
  }
}
#pragma GCC diagnostic pop
} // namespace

void fillUniform(float *out, int64_t n, uint64_t seed, uint64_t stream, float lo, float hi) {
  static const bool wide = __builtin_cpu_supports("avx512f");
  auto scalar = [&](int64_t b) {
    auto r = philox(block(stream, static_cast<uint64_t>(b)), seed);
    for (int64_t j = 0; j < 4 && b * 4 + j < n; ++j)
      out[b * 4 + j] = lo + (hi - lo) * toUnit(r[j]);
  };
  if (!wide)
    return parallelBlocks(n, scalar);
  // Groups of kWideBlocks blocks at once; a group that ends past n, or whose counters
  // carry into their second word, block by block.
  const int64_t blocks = (n + 3) / 4, groups = (blocks + kWideBlocks - 1) / kWideBlocks;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, groups, 1024 / kWideBlocks),
                    [&](const tbb::blocked_range<int64_t> &r) {
                      for (int64_t g = r.begin(); g < r.end(); ++g) {
                        const uint64_t first = static_cast<uint64_t>(g * kWideBlocks);
                        if ((g + 1) * kWideBlocks * 4 <= n &&
                            static_cast<uint32_t>(first) <= 0xFFFFFFFFu - (kWideBlocks - 1))
                          uniformBlocks(out + 4 * first, first, stream, seed, lo, hi);
                        else
                          for (int64_t b = g * kWideBlocks;
                               b < std::min(blocks, (g + 1) * kWideBlocks); ++b)
                            scalar(b);
                      }
                    });
}

void fillNormal(float *out, int64_t n, uint64_t seed, uint64_t stream, float mean, float std) {
  parallelBlocks(n, [&](int64_t b) {
    auto r = philox(block(stream, static_cast<uint64_t>(b)), seed);
    float z[4];
    for (int pair = 0; pair < 2; ++pair) {
      // Box-Muller; u1 in (0, 1] keeps log finite.
      double u1 = 1.0 - toUnit(r[2 * pair]), u2 = toUnit(r[2 * pair + 1]);
      double rad = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
      z[2 * pair] = static_cast<float>(rad * std::cos(th));
      z[2 * pair + 1] = static_cast<float>(rad * std::sin(th));
    }
    for (int64_t j = 0; j < 4 && b * 4 + j < n; ++j)
      out[b * 4 + j] = mean + std * z[j];
  });
}

void fillOrthogonal(float *out, int64_t rows, int64_t cols, double gain, uint64_t seed, uint64_t stream) {
  // k vectors of length len, orthonormalized in place: the rows, or the columns of a tall
  // matrix (held transposed while they are worked on).
  const bool wide = rows <= cols;
  const int64_t k = wide ? rows : cols, len = wide ? cols : rows;
  std::vector<float> draws(static_cast<size_t>(k * len));
  fillNormal(draws.data(), k * len, seed, stream, 0.f, 1.f);
  std::vector<double> v(draws.begin(), draws.end());
  for (int64_t i = 0; i < k; ++i) {
    double *vi = v.data() + i * len;
    // Modified Gram-Schmidt, twice ("twice is enough", Giraud et al. 2005): float-exact
    // orthogonality even for a square matrix of a thousand rows.
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t j = 0; j < i; ++j) {
        const double *vj = v.data() + j * len;
        double dot = 0;
        for (int64_t t = 0; t < len; ++t)
          dot += vi[t] * vj[t];
        for (int64_t t = 0; t < len; ++t)
          vi[t] -= dot * vj[t];
      }
    double norm = 0;
    for (int64_t t = 0; t < len; ++t)
      norm += vi[t] * vi[t];
    norm = std::sqrt(norm);
    for (int64_t t = 0; t < len; ++t)
      vi[t] /= norm;
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t t = 0; t < len; ++t)
      out[wide ? i * cols + t : t * cols + i] = static_cast<float>(gain * v[static_cast<size_t>(i * len + t)]);
}

void fillOneHot(float *out, int64_t rows, int64_t classes, uint64_t seed, uint64_t stream) {
  std::fill(out, out + rows * classes, 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    auto c = static_cast<int64_t>(uniformAt(seed, stream, static_cast<uint64_t>(r)) * static_cast<float>(classes));
    out[r * classes + std::min(c, classes - 1)] = 1.f;
  }
}

} // namespace ganc::rt
