//===- Program.h - a checked .gan model -------------------------*- C++ -*-===//
//
// What sema hands to lowering: every module parsed (the model and the stdlib modules it
// imports), names resolved to declarations, the players, the two objectives, the data and
// noise sources with their per-sample shapes, and the training plan with defaults filled.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ast/Ast.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ganc::sema {

/// A data source: `data x ~ mnist("dir", scale = [0, 1])` or `idx("file", shape = [n])`.
struct DataSpec {
  std::string name;
  SourceLoc loc;
  std::string kind;       ///< "mnist" (a folder), "idx" or "npy" (one file), "ring" or "grid"
  std::string path;       ///< resolved against the .gan file's folder
  double lo = 0, hi = 1;  ///< pixel values are scaled to [lo, hi]
  bool scaled = false;    ///< `scale` was given
  std::vector<int64_t> shape; ///< per-sample shape
  std::vector<double> params; ///< ring: modes, radius, std; grid: n, spacing, std
  int64_t holdOut = 0;        ///< the last samples, kept out of training to evaluate on
  /// `data y ~ labels(x, classes = 10)`: the class of each sample, one-hot, as data `y`.
  std::string labelsName;
  SourceLoc labelsLoc;
  int64_t classes = 0;    ///< 0: no labels
  std::string labelsPath; ///< an IDX label file; empty for mnist (its folder has one)
};

/// A noise source: `noise z ~ uniform(-1, 1, [100])`, `normal(0, 1, [100])`,
/// `truncated_normal(0, 1, [100], bound = 2)` (normal draws beyond mean +- bound std
/// redrawn), or `categorical(10)`: a class drawn uniformly, one-hot (the condition of a
/// conditional generator).
struct NoiseSpec {
  std::string name;
  SourceLoc loc;
  std::string dist; ///< "uniform" (a = low, b = high), "normal" (a = mean, b = std),
                    ///< "truncated_normal" (the same, and bound) or "categorical" (a = classes)
  double a = 0, b = 1;
  std::vector<int64_t> shape;
  double bound = 0; ///< truncated_normal: how many stds from the mean a draw may lie
};

struct OptimizerSpec {
  std::string kind = "adam"; ///< sgd, momentum, rmsprop, adam
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, momentum = 0.9, alpha = 0.99;
  double clip = 0; ///< > 0: weights clipped to [-clip, clip] after each update (WGAN)
  SourceLoc loc;
};

/// The largest batch a model may train with (the train block's and --batch's limit).
inline constexpr int64_t kMostBatch = int64_t(1) << 20;

struct TrainPlan {
  int64_t batch = 64;
  int64_t steps = 10000;
  uint64_t seed = 0;
  OptimizerSpec optD, optG;
  int64_t dSteps = 1, gSteps = 1; ///< schedule: dSteps D updates, then gSteps G updates
  int64_t sampleEvery = 1000;
  int64_t sampleRows = 4, sampleCols = 4;
  int64_t checkpointEvery = 0; ///< 0: only at the end
  int64_t logEvery = 100;
  double ema = 0; ///< > 0: the generator's weights are averaged with this decay (sampling uses them)
};

struct Objective {
  const ast::FuncDecl *player = nullptr;
  const ast::GameStmt *stmt = nullptr;
};

struct Program {
  std::vector<std::unique_ptr<ast::Module>> modules; ///< main module first
  const ast::Module *main = nullptr;
  std::string modelName; ///< the file's stem, e.g. "mnist"
  std::map<std::string, const ast::FuncDecl *> funcs;
  std::map<std::string, const ast::ConstDecl *> consts;
  /// The constants' values as evalConstant finds them (a constant used twice in another's
  /// definition is evaluated once: C1 = C0 + C0, C2 = C1 + C1, ... took time doubling
  /// with each).
  mutable std::map<std::string, double> constValues;
  std::map<std::string, const ast::GameStmt *> values;
  std::vector<DataSpec> data;
  std::vector<NoiseSpec> noise; ///< the generator's (first) input first
  /// The noise source sampling feeds each input of the generator, by name.
  std::vector<std::string> generatorNoise;
  const ast::FuncDecl *generator = nullptr;
  const ast::FuncDecl *discriminator = nullptr;
  /// The one player of a supervised model (no generator, no discriminator): trained
  /// like a discriminator, by dObjective, plan.optD and the D step program.
  const ast::FuncDecl *classifier = nullptr;
  Objective dObjective, gObjective;
  bool supervised() const { return classifier != nullptr; }
  /// The player trained by the first step program: the discriminator, or the classifier.
  const ast::FuncDecl *firstPlayer() const { return classifier ? classifier : discriminator; }
  TrainPlan plan;
};

} // namespace ganc::sema
