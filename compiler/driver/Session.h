//===- Session.h - the compilation pipeline, one stage after another -*- C++ -*-===//
//
// A Session owns everything one `ganc` invocation compiles: the sources, diagnostics, the
// checked program, the step graphs and the JIT. Its methods are the pipeline, in order,
// each stopping when a stage reported errors:
//
//   parse + sema -> lower -> canonicalize -> autodiff (+ updates) -> simplify -> codegen
//
// Each pass can be printed after (--print-after=NAME, --print-after-all), verified after
// (--verify-each) and timed (--time-passes).
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

/// Instrumentation of the pass pipeline.
struct PipelineOptions {
  bool printAfterAll = false;
  std::vector<std::string> printAfter; ///< pass names
  bool verifyEach = false;
  bool timePasses = false;
  std::ostream *log = nullptr; ///< where prints and timings go
};

class Session {
public:
  Session() : diags_(sm_) {}

  void setPipelineOptions(PipelineOptions o) { opts_ = std::move(o); }
  const PipelineOptions &pipelineOptions() const { return opts_; }
  /// The pass names, in pipeline order.
  static const std::vector<std::string> &passNames();

  SourceManager &sources() { return sm_; }
  DiagnosticEngine &diags() { return diags_; }
  const sema::Program &program() const { return *program_; }
  lower::Model &model() { return *model_; }

  /// Parses and checks the model.
  bool analyze(const std::string &path);
  /// Lowers the objectives at `batch` (0: the plan's batch) to the d_step/g_step graphs.
  bool lower(int64_t batch = 0);
  /// Numerically stable and canonical forms, before differentiation.
  void canonicalize();
  /// Adds gradients and optimizer updates to both step graphs.
  bool differentiate();
  /// Algebraic simplification and codegen preparation of the step graphs.
  void optimize();
  /// All of the above from lower on: the step programs, ready for codegen.
  bool buildSteps(int64_t batch = 0);
  /// Creates the JIT for the host CPU.
  bool startJit();
  codegen::Jit &jit() { return *jit_; }
  /// JIT-compiles graphs (timed as the "codegen" pass). A failure is a compiler bug.
  std::vector<rt::StepFunction> compile(const std::vector<const ir::Graph *> &graphs,
                                        codegen::JitOptions options = {});
  /// Prints the pass timings gathered so far (with --time-passes).
  void printTimes(std::ostream &os) const;

  /// The graph of the generator alone for `count` samples; its noise inputs are named
  /// after their sources plus `inputSuffix`.
  std::unique_ptr<ir::Graph> sampler(int64_t count, const std::string &inputSuffix);
  /// The classifier of a supervised model alone, for `count` samples read from input
  /// `inputName` (lower::lowerClassifier), canonicalized and simplified.
  std::unique_ptr<ir::Graph> classifier(int64_t count, const std::string &inputName);

  /// The trainer's view of the model, with `outDir` for its files.
  rt::TrainSpec trainSpec(const std::string &outDir) const;
  /// A hash of the model's source text and the ganc version, stored in checkpoints.
  std::string modelHash() const;

private:
  /// Runs after each pass: prints and verifies the step graphs as asked.
  void afterPass(const std::string &name);
  template <typename F> auto timed(const std::string &name, F f);

  PipelineOptions opts_;
  std::vector<std::pair<std::string, double>> times_;
  SourceManager sm_;
  DiagnosticEngine diags_;
  std::unique_ptr<sema::Program> program_;
  std::unique_ptr<lower::Model> model_;
  std::unique_ptr<codegen::Jit> jit_;
  int64_t batch_ = 0;
};

} // namespace ganc::driver
