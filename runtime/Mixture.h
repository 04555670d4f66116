//===- Mixture.h - 2-D Gaussian mixtures and mode counting ------*- C++ -*-===//
//
// The synthetic data of mode-collapse studies, and the protocol that scores a generator
// on them (PacGAN's, Lin et al. 2018): each generated point goes to its nearest mode; it
// is "high quality" within 3 standard deviations of it; a mode is covered when it has at
// least one high-quality point. Reported: modes covered, the share of high-quality points,
// and the KL divergence of the histogram of (high-quality) points over modes from uniform.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "TrainSpec.h"

#include <array>
#include <string>
#include <vector>

namespace ganc::rt {

struct Mixture {
  std::vector<std::array<double, 2>> modes;
  double std = 0;

  /// ring: `modes` means on a circle of `radius` at angles 2 pi k / modes; grid: an n x n
  /// grid with `spacing` between neighbours, centred on the origin.
  static Mixture fromSpec(const DataSpec &spec);
  /// The 2-D points in one sample of a mixture whose per-sample shape is `sampleShape`:
  /// 1 ([2]), or m with `pack = m` ([m, 2]).
  static int64_t pointsPerSample(const Shape &sampleShape);
  /// `count` points drawn from the mixture (a uniform mode, then Gaussian noise).
  std::vector<float> sample(int64_t count, uint64_t seed) const;
};

struct MixtureScore {
  int64_t samples = 0, modes = 0, covered = 0, highQuality = 0;
  double klToUniform = 0;
  std::vector<int64_t> perMode; ///< high-quality points per mode
};

/// Scores `count` 2-D points (x0, y0, x1, y1, ...) against the mixture.
MixtureScore scoreMixture(const Mixture &m, const float *points, int64_t count);

/// A scatter plot PNG: the points in white over the modes in gray. Throws IoError.
void writeScatterPng(const std::string &path, const Mixture &m, const float *points, int64_t count);

} // namespace ganc::rt
