//===- ClassScore.h - judging generated images with a classifier -*- C++ -*-===//
//
// `ganc eval` of an image model: a classifier trained by ganc (a supervised model)
// scores the generator's samples. From its class scores (logits) of n generated
// samples: the class histogram (the class with the highest score), the classes covered
// (at least 2% of the samples: mode collapse shows as classes missing), the share of
// confident samples (softmax probability of the top class above 0.9), the KL divergence
// of the histogram from uniform, for a conditional generator the share judged as the
// class it was asked for, and the Frechet distance between the logits of the generated
// samples and those of real held-out ones (FID's formula on the classifier's logits).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace ganc::rt {

struct ClassScore {
  int64_t samples = 0, classes = 0, covered = 0;
  double confident = 0;    ///< share with top softmax probability > 0.9
  double klToUniform = 0;  ///< KL(histogram / samples || uniform), in nats
  double asRequested = -1; ///< share whose top class is the one asked for; -1: unconditional
  double frechet = -1;     ///< Frechet distance to the real samples' logits; -1: none given
  std::vector<int64_t> histogram;
};

/// Scores n samples' logits [n, classes]. `requested` (may be null): the class each
/// sample was generated for. `real` (may be null): logits [nReal, classes] of real data.
ClassScore scoreClasses(const float *logits, int64_t n, int64_t classes, const int32_t *requested,
                        const float *real, int64_t nReal);

/// The Frechet distance between Gaussians fitted to two sets of d-dimensional points,
/// |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)) (Heusel et al., 2017).
double frechetDistance(const float *a, int64_t na, const float *b, int64_t nb, int64_t d);

} // namespace ganc::rt
