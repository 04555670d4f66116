//===- MixtureTest.cpp - 2-D mixtures and the mode-counting protocol ------===//
#include "Mixture.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace ganc::rt;

namespace {

DataSpec spec(const std::string &kind, std::vector<double> params) {
  DataSpec d;
  d.name = "x";
  d.kind = kind;
  d.shape = {2};
  d.params = std::move(params);
  return d;
}

TEST(Mixture, RingAndGridModesFollowTheProtocol) {
  Mixture ring = Mixture::fromSpec(spec("ring", {8, 1.0, 0.01}));
  ASSERT_EQ(ring.modes.size(), 8u);
  EXPECT_NEAR(ring.modes[2][0], 0.0, 1e-12); // angle pi/2
  EXPECT_NEAR(ring.modes[2][1], 1.0, 1e-12);
  Mixture grid = Mixture::fromSpec(spec("grid", {5, 2.0, 0.05}));
  ASSERT_EQ(grid.modes.size(), 25u);
  EXPECT_EQ(grid.modes.front()[0], -4.0);
  EXPECT_EQ(grid.modes.back()[1], 4.0);
  EXPECT_EQ(grid.std, 0.05);
}

TEST(Mixture, ScoresPerfectCollapsedAndFarSamples) {
  Mixture m = Mixture::fromSpec(spec("ring", {8, 1.0, 0.01}));
  std::vector<float> perfect, collapsed, far;
  for (int i = 0; i < 800; ++i) {
    auto &mode = m.modes[i % 8];
    perfect.push_back(static_cast<float>(mode[0]));
    perfect.push_back(static_cast<float>(mode[1]));
    collapsed.push_back(static_cast<float>(m.modes[3][0]));
    collapsed.push_back(static_cast<float>(m.modes[3][1]));
    far.push_back(0.f);
    far.push_back(0.f);
  }
  MixtureScore p = scoreMixture(m, perfect.data(), 800);
  EXPECT_EQ(p.covered, 8);
  EXPECT_EQ(p.highQuality, 800);
  EXPECT_NEAR(p.klToUniform, 0.0, 1e-12);
  MixtureScore c = scoreMixture(m, collapsed.data(), 800);
  EXPECT_EQ(c.covered, 1);
  EXPECT_NEAR(c.klToUniform, std::log(8.0), 1e-12);
  MixtureScore f = scoreMixture(m, far.data(), 800);
  EXPECT_EQ(f.covered, 0);
  EXPECT_EQ(f.highQuality, 0);
}

TEST(Mixture, RealSamplesScoreAsTheDataShould) {
  // Within 3 std of a 2-D Gaussian's mean: 1 - exp(-4.5) = 98.9% of its samples.
  for (auto d : {spec("ring", {8, 1.0, 0.01}), spec("grid", {5, 2.0, 0.05})}) {
    Mixture m = Mixture::fromSpec(d);
    std::vector<float> pts = m.sample(20000, 7);
    MixtureScore s = scoreMixture(m, pts.data(), 20000);
    EXPECT_EQ(s.covered, s.modes);
    EXPECT_NEAR(static_cast<double>(s.highQuality) / 20000, 0.989, 0.005);
    EXPECT_LT(s.klToUniform, 0.01);
  }
}

} // namespace
