//===- TrainSpec.h - what the trainer needs to know about a model -*- C++ -*-===//
//
// Plain data filled by the driver from the compiled model: parameters with their
// initializers, optimizer hyperparameters (for the per-step scalars), data, noise, and the
// plan. The runtime never sees the compiler's types.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "StepFunction.h"

#include <string>
#include <vector>

namespace ganc::rt {

struct ParamSpec {
  std::string name, owner;
  Shape shape;
  std::string init; ///< glorot_uniform, he_normal, orthogonal (a = gain), zeros, ones, normal,
                   ///< uniform, constant
  double a = 0, b = 0;
};

struct OptimizerSpec {
  std::string kind;
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0;
};

struct DataSpec {
  std::string name;
  std::string kind; ///< "mnist" (path: folder of train-images-idx3-ubyte[.gz]), "idx" (path:
                    ///< file), "npy" (path: a .npy file), or a 2-D mixture: "ring", "grid"
                    ///< (see Mixture.h)
  std::string path;
  double lo = 0, hi = 1;
  bool scaled = false; ///< `scale` was given (it maps uint8 pixels; other data is used as stored)
  Shape shape; ///< per sample
  std::vector<double> params; ///< of a mixture
  /// Class labels of the samples, fed one-hot as data `labelsName` (classes > 0).
  std::string labelsName, labelsPath; ///< path empty: the mnist folder's label file
  int64_t classes = 0;
  int64_t holdOut = 0; ///< the last samples of the file, kept out of training (evaluation)
};

struct NoiseSpec {
  std::string name, dist; ///< uniform (a = low, b = high), normal (a = mean, b = std),
                          ///< truncated_normal (the same, within mean +- bound std),
                          ///< categorical (one-hot rows of `a` classes), dropout
                          ///< (a mask: 0 with probability `a`, else 1 / (1 - a))
  double a = 0, b = 1;
  Shape shape; ///< per sample
  double bound = 0;
};


struct TrainSpec {
  std::string modelName, modelHash;
  std::vector<ParamSpec> params;
  std::vector<std::pair<std::string, Shape>> state; ///< optimizer state, running statistics
  std::vector<std::string> stateOnes;                ///< state that starts at 1, not 0
  DataSpec data;
  std::vector<NoiseSpec> noise; ///< the first is the generator's input
  std::vector<std::string> generatorNoise; ///< what the sampler reads, by input
  bool interactive = false;     ///< progress as one live line (a terminal)
  /// Labels of the additive terms of each objective that the step programs output
  /// ("term.1", ...), e.g. "D: mean(log(D(x)))", "D: -gradient_penalty(g)"; empty: none.
  std::vector<std::string> dTerms, gTerms;
  std::string dPlayer, gPlayer; ///< the first player: the discriminator, or the classifier of
                                ///< a supervised model (whose gPlayer is empty, gSteps 0)
  OptimizerSpec optD, optG;
  int64_t batch = 64, steps = 1000, dSteps = 1, gSteps = 1;
  int64_t sampleEvery = 1000, sampleRows = 4, sampleCols = 4;
  int64_t checkpointEvery = 0, logEvery = 100;
  uint64_t seed = 0;
  double ema = 0; ///< decay of the generator's moving average (0: none)
  std::string outDir;
};

} // namespace ganc::rt
