//===- Model.h - a .gan model lowered to graph IR ---------------*- C++ -*-===//
//
// Lowering turns the checked AST into graph IR by elaborating it: calls to user and
// stdlib functions are inlined at the sizes that actually flow into them, so every shape
// is checked against real numbers and every parameter gets its path name
// (`G.dense_1.W`: player, call site, declaration). The result is one graph per step
// program: `d_step` and `g_step` (the players' objectives, then, after training() adds
// them, gradients and optimizer updates) and `sample` (the generator alone).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "sema/Program.h"
#include "support/Diagnostics.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ganc::lower {

/// How a parameter starts: glorot_uniform, he_normal, orthogonal(gain = 1), zeros, ones,
/// normal(std), uniform(low, high), constant(v).
struct Initializer {
  std::string kind = "glorot_uniform";
  double a = 0, b = 0;
};

struct ParamInfo {
  std::string name;   ///< path, e.g. "D.dense_1.W"
  ir::Shape shape;
  std::string owner;  ///< the player it belongs to
  Initializer init;
  SourceLoc loc;        ///< the `param` statement
  SourceRange calledAt; ///< the call of the function that declares it (loc, in a player)
};

/// Every parameter of the model, in the order lowering first met them.
struct ParamTable {
  std::vector<ParamInfo> params;
  std::map<std::string, size_t> index;
  const ParamInfo *find(const std::string &name) const {
    auto it = index.find(name);
    return it == index.end() ? nullptr : &params[it->second];
  }
};

/// Names the runtime uses for per-step values of the step programs.
namespace names {
inline std::string state(const std::string &param, const char *slot) { return param + "@" + slot; }
inline std::string adamLr(const std::string &player) { return player + "@adam.lr_t"; }
inline std::string adamEps(const std::string &player) { return player + "@adam.eps_t"; }
/// The weight of the new parameters in the moving average: 1 - decay_t.
inline std::string emaWeight(const std::string &player) { return player + "@ema.weight"; }
inline const char *kEmaSlot = "ema";
/// The mask of the k-th dropout of `site` (e.g. "D.dropout_1") in `player`'s step program.
inline std::string dropoutMask(const std::string &site, const std::string &player, int k) {
  return site + "@mask." + player + "." + std::to_string(k);
}
inline const char *kLoss = "loss";
inline const char *kGradNorm = "grad_norm";
inline const char *kSample = "sample";
inline const char *kOutput = "output";
/// A classifier's features: the activations its last dense layer reads.
inline const char *kFeatures = "features";
/// The value of the i-th (from 1) additive term of an objective.
inline std::string term(size_t i) { return "term." + std::to_string(i); }
} // namespace names

/// State the forward pass updates (not the optimizer) and the sampler reads: running
/// statistics of batch-norm layers, power-iteration vectors of spectral norm. Tensors
/// start at 0 unless listed in `ones`.
struct RunningStats {
  std::vector<std::pair<std::string, ir::Shape>> tensors;
  std::vector<std::string> ones;

  /// Registers a tensor once, however many times its layer runs.
  void add(const std::string &name, const ir::Shape &shape, bool startsAtOne) {
    for (const auto &t : tensors)
      if (t.first == name)
        return;
    tensors.push_back({name, shape});
    if (startsAtOne)
      ones.push_back(name);
  }
};

/// A dropout layer's mask in a training step: a graph input of shape [batch, shape...]
/// that the runtime fills before every update with 0 (probability p) or 1 / (1 - p).
struct DropoutMask {
  std::string name;
  ir::Shape shape; ///< per sample
  double p = 0;
};

/// An additive term of an objective (`mean(log(D(x)))` of `A + B`), output by its step
/// program for metrics.csv: where it is written, and whether it is subtracted.
struct ObjectiveTerm {
  SourceRange range;
  bool subtracted = false;
};

struct Model {
  ParamTable params;
  std::vector<ObjectiveTerm> dTerms, gTerms; ///< empty: a one-term objective
  RunningStats running;
  std::vector<DropoutMask> masks; ///< of both step programs
  std::unique_ptr<ir::Graph> dStep, gStep; ///< gStep is null in a supervised model
  /// The step programs there are: d_step, then g_step unless the model is supervised.
  std::vector<ir::Graph *> steps() const {
    std::vector<ir::Graph *> out{dStep.get()};
    if (gStep)
      out.push_back(gStep.get());
    return out;
  }
  /// Optimizer-state tensors (Adam moments, momentum buffers) per step program, which
  /// the runtime zero-initializes.
  std::vector<std::pair<std::string, ir::Shape>> state;
};

/// Lowers both objectives for a batch of `batch` samples. Returns null after reporting
/// errors (shape mismatches, objectives that are not scalars, ...).
std::unique_ptr<Model> lowerObjectives(const sema::Program &p, int64_t batch,
                                       DiagnosticEngine &diags);

/// Appends gradients and optimizer updates to both step graphs. Reports an error when a
/// player's objective does not depend on any of its parameters.
bool addTraining(Model &m, const sema::Program &p, DiagnosticEngine &diags);

/// The moving averages of the generator's parameters (`ema` in the plan; none without):
/// state the G step updates and sampling reads in place of the parameters.
std::vector<std::pair<std::string, ir::Shape>> movingAverages(const Model &m, const sema::Program &p);
/// Lowers the classifier of a supervised model alone for `count` samples of the data,
/// read from input `inputName`: output "output" (batch norm with running statistics,
/// dropout off), for evaluation on held-out samples, and, when the classifier ends in a
/// dense layer, output "features": the [count, d] activations that layer reads (what
/// `ganc eval` compares generated and real samples by).
std::unique_ptr<ir::Graph> lowerClassifier(const sema::Program &p, int64_t count, const std::string &inputName,
                                           DiagnosticEngine &diags);
/// Lowers the generator alone for `count` samples: output "sample". Batch norm uses the
/// running statistics; with `ema` in the plan, the parameters are the moving averages. Each input reads the noise source sema chose for it
/// (Program::generatorNoise), as a graph input named after it plus `inputSuffix`.
std::unique_ptr<ir::Graph> lowerSampler(const sema::Program &p, int64_t count,
                                        const std::string &inputSuffix, DiagnosticEngine &diags);

} // namespace ganc::lower
