//===- ClassScoreTest.cpp - the image-model scores of ganc eval -----------===//
#include "ClassScore.h"
#include "Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace ganc::rt;

TEST(ClassScore, FrechetDistanceOfKnownGaussians) {
  // Two samples of one distribution: about 0. A shift by m: |m|^2. Isotropic Gaussians
  // of variances s1^2 and s2^2 in d dimensions: d (s1 - s2)^2, plus the mean term.
  const int64_t n = 20000, d = 3;
  std::vector<float> a(n * d), b(n * d);
  fillNormal(a.data(), n * d, 1, 2, 0.f, 1.f);
  fillNormal(b.data(), n * d, 1, 3, 0.f, 1.f);
  EXPECT_NEAR(frechetDistance(a.data(), n, b.data(), n, d), 0.0, 0.01);
  std::vector<float> c(b);
  for (int64_t i = 0; i < n; ++i)
    c[i * d] += 2, c[i * d + 2] -= 1;
  EXPECT_NEAR(frechetDistance(a.data(), n, c.data(), n, d), 5.0, 0.05);
  fillNormal(c.data(), n * d, 1, 4, 0.f, 3.f);
  EXPECT_NEAR(frechetDistance(a.data(), n, c.data(), n, d), 3 * 4.0, 0.25);
  // Correlated covariances: C_a = [[2, 1], [1, 2]], C_b = I. tr (C_a)^(1/2) = sqrt(3) + 1.
  std::vector<float> e(n * 2), u(n * 2);
  fillNormal(u.data(), n * 2, 5, 6, 0.f, 1.f);
  for (int64_t i = 0; i < n; ++i) { // C_a^(1/2) = [[(sqrt3+1)/2, (sqrt3-1)/2], [..]] times u
    double p = (std::sqrt(3.0) + 1) / 2, q = (std::sqrt(3.0) - 1) / 2;
    e[i * 2] = static_cast<float>(p * u[i * 2] + q * u[i * 2 + 1]);
    e[i * 2 + 1] = static_cast<float>(q * u[i * 2] + p * u[i * 2 + 1]);
  }
  std::vector<float> f(n * 2);
  fillNormal(f.data(), n * 2, 7, 8, 0.f, 1.f);
  double want = 4 + 2 - 2 * (std::sqrt(3.0) + 1);
  EXPECT_NEAR(frechetDistance(e.data(), n, f.data(), n, 2), want, 0.05);
}

TEST(ClassScore, HistogramCoverageConfidenceAndRequests) {
  // 100 samples over 3 classes: 60 sure of class 0, 39 unsure of class 1, 1 of class 2.
  std::vector<float> logits;
  std::vector<int32_t> asked;
  for (int i = 0; i < 100; ++i) {
    int top = i < 60 ? 0 : i < 99 ? 1 : 2;
    float sure = i < 60 ? 10.f : 0.5f;
    for (int k = 0; k < 3; ++k)
      logits.push_back(k == top ? sure : 0.f);
    asked.push_back(i % 2 ? top : (top + 1) % 3);
  }
  ClassScore s = scoreClasses(logits.data(), 100, 3, asked.data(), nullptr, 0);
  EXPECT_EQ(s.histogram, (std::vector<int64_t>{60, 39, 1}));
  EXPECT_EQ(s.covered, 2); // 1% is below the 2% bar
  EXPECT_DOUBLE_EQ(s.confident, 0.6);
  EXPECT_DOUBLE_EQ(s.asRequested, 0.5);
  double kl = 0.6 * std::log(0.6 * 3) + 0.39 * std::log(0.39 * 3) + 0.01 * std::log(0.01 * 3);
  EXPECT_NEAR(s.klToUniform, kl, 1e-12);
  EXPECT_EQ(s.frechet, -1);
}
