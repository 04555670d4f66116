//===- Random.cpp - counter-based random numbers (Philox4x32-10) ----------===//
#include "Random.h"

#include <algorithm>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <vector>

namespace ganc::rt {

std::array<uint32_t, 4> philox(std::array<uint32_t, 4> c, uint64_t key) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
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

void fillUniform(float *out, int64_t n, uint64_t seed, uint64_t stream, float lo, float hi) {
  parallelBlocks(n, [&](int64_t b) {
    auto r = philox(block(stream, static_cast<uint64_t>(b)), seed);
    for (int64_t j = 0; j < 4 && b * 4 + j < n; ++j)
      out[b * 4 + j] = lo + (hi - lo) * toUnit(r[j]);
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
