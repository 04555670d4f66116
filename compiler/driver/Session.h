//===- Session.h - the compilation pipeline, one stage after another -*- C++ -*-===//
//
// A Session owns everything one `ganc` invocation compiles: the sources, diagnostics, the
// checked program, the step graphs and the JIT. Its methods are the pipeline, in order,
// each stopping when a stage reported errors:
//
//   parse + sema -> lower (objectives) -> simplify -> autodiff + updates -> simplify -> JIT
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Jit.h"
#include "lower/Model.h"
#include "sema/Program.h"
#include "support/Diagnostics.h"
#include "TrainSpec.h"

#include <memory>
#include <string>

namespace ganc::driver {

class Session {
public:
  Session() : diags_(sm_) {}

  SourceManager &sources() { return sm_; }
  DiagnosticEngine &diags() { return diags_; }
  const sema::Program &program() const { return *program_; }
  lower::Model &model() { return *model_; }

  /// Parses and checks the model.
  bool analyze(const std::string &path);
  /// Lowers the objectives at `batch` (0: the plan's batch) to the d_step/g_step graphs.
  bool lower(int64_t batch = 0);
  /// Applies the simplification rules to both step graphs.
  void simplify();
  /// Adds gradients and optimizer updates, then simplifies again.
  bool differentiate();
  /// Creates the JIT for the host CPU.
  bool startJit();
  codegen::Jit &jit() { return *jit_; }

  /// The graph of the generator alone for `count` samples, noise input `noiseInput`.
  std::unique_ptr<ir::Graph> sampler(int64_t count, const std::string &noiseInput);

  /// The trainer's view of the model, with `outDir` for its files.
  rt::TrainSpec trainSpec(const std::string &outDir) const;
  /// A hash of the model's source text and the ganc version, stored in checkpoints.
  std::string modelHash() const;

private:
  SourceManager sm_;
  DiagnosticEngine diags_;
  std::unique_ptr<sema::Program> program_;
  std::unique_ptr<lower::Model> model_;
  std::unique_ptr<codegen::Jit> jit_;
  int64_t batch_ = 0;
};

} // namespace ganc::driver
