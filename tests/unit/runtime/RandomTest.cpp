//===- RandomTest.cpp - noise and initializers: the laws they promise -----===//
#include "Data.h"
#include "Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace ganc::rt;

namespace {
/// The Gram matrix of the k vectors (rows of `m`, or its columns) against each other.
std::vector<double> gram(const std::vector<float> &m, int64_t rows, int64_t cols, bool ofRows) {
  int64_t k = ofRows ? rows : cols, len = ofRows ? cols : rows;
  auto at = [&](int64_t v, int64_t t) { return static_cast<double>(ofRows ? m[v * cols + t] : m[t * cols + v]); };
  std::vector<double> g(static_cast<size_t>(k * k));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t t = 0; t < len; ++t)
        g[i * k + j] += at(i, t) * at(j, t);
  return g;
}
} // namespace

TEST(Random, TruncatedNormalStaysWithinItsBoundAndKeepsItsCentre) {
  NoiseSpec n{"z", "truncated_normal", 0.5, 2.0, {1000}, 1.5};
  std::vector<float> v(20000);
  drawNoise(n, v.data(), static_cast<int64_t>(v.size()), 7, 11);
  double sum = 0, sq = 0;
  for (float x : v) {
    ASSERT_LE(std::fabs(x - 0.5), 1.5 * 2.0 + 1e-5);
    sum += x;
    sq += (x - 0.5) * (x - 0.5);
  }
  EXPECT_NEAR(sum / v.size(), 0.5, 0.03);
  // The variance of a standard normal truncated at +-1.5 is 0.5515; times std^2 = 4.
  EXPECT_NEAR(sq / v.size(), 0.5515 * 4, 0.08);
  // The same seed and stream give the same draws; another stream does not.
  std::vector<float> again(v.size()), other(v.size());
  drawNoise(n, again.data(), static_cast<int64_t>(v.size()), 7, 11);
  drawNoise(n, other.data(), static_cast<int64_t>(v.size()), 7, 12);
  EXPECT_EQ(v, again);
  EXPECT_NE(v, other);
}

TEST(Random, RedrawBeyondGivesUpOnALimitThatKeepsNothing) {
  NoiseSpec n{"z", "normal", 0, 1, {64}};
  std::vector<float> v(64);
  drawNoise(n, v.data(), 64, 1, 2);
  EXPECT_FALSE(redrawBeyond(n, v.data(), 64, 1, 2, 1e-9));
  drawNoise(n, v.data(), 64, 1, 2);
  EXPECT_TRUE(redrawBeyond(n, v.data(), 64, 1, 2, 0.5));
  for (float x : v)
    EXPECT_LE(std::fabs(x), 0.5f);
}

TEST(Random, DropoutMasksDropTheirShareAndKeepTheExpectation) {
  NoiseSpec n{"m", "dropout", 0.3, 0, {100}};
  std::vector<float> v(50000);
  drawNoise(n, v.data(), static_cast<int64_t>(v.size()), 5, 6);
  double zeros = 0, sum = 0;
  for (float x : v) {
    ASSERT_TRUE(x == 0.f || std::fabs(x - 1 / 0.7f) < 1e-6) << x;
    zeros += x == 0.f;
    sum += x;
  }
  EXPECT_NEAR(zeros / v.size(), 0.3, 0.01);
  EXPECT_NEAR(sum / v.size(), 1.0, 0.015);
}

TEST(Random, OrthogonalInitIsSemiOrthogonalAlongItsShorterSide) {
  struct Case {
    int64_t rows, cols;
  };
  for (Case c : {Case{16, 16}, Case{8, 40}, Case{40, 8}, Case{1, 5}}) {
    std::vector<float> m(static_cast<size_t>(c.rows * c.cols));
    fillOrthogonal(m.data(), c.rows, c.cols, 2.0, 3, 4);
    bool ofRows = c.rows <= c.cols;
    int64_t k = ofRows ? c.rows : c.cols;
    std::vector<double> g = gram(m, c.rows, c.cols, ofRows);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        EXPECT_NEAR(g[i * k + j], i == j ? 4.0 : 0.0, 1e-5) << c.rows << "x" << c.cols << " at " << i << "," << j;
  }
}

TEST(Random, PhiloxGivesRandom123sKnownAnswer) {
  // Philox4x32-10 of counter 0 under key 0, from Random123's known-answer vectors.
  EXPECT_EQ(philox({0, 0, 0, 0}, 0),
            (std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
}

TEST(Random, FillUniformIsUniformAtElementByElement) {
  // Groups of 64 blocks run in vectors where the CPU has AVX-512, the rest block by
  // block: 1,031 numbers are four whole groups, a partial one and a partial block.
  const int64_t n = 1031;
  const uint64_t seed = 0x0123456789abcdefull, stream = streamId("test-noise", 7);
  const float lo = -1.5f, hi = 2.0f;
  std::vector<float> out(n);
  fillUniform(out.data(), n, seed, stream, lo, hi);
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(out[i], lo + (hi - lo) * uniformAt(seed, stream, static_cast<uint64_t>(i)))
        << "element " << i;
}
