//===- Trainer.h - the alternating D/G training loop ------------*- C++ -*-===//
//
// Runs compiled step programs: for each iteration, `dSteps` discriminator updates then
// `gSteps` generator updates, each on a fresh batch of data and noise. Parameters start
// from their declared initializers; progress lines, sample grids and checkpoints come out
// at the plan's cadence. The loop itself only fills buffers and calls native code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Data.h"
#include "Tensor.h"
#include "TrainSpec.h"

#include <functional>
#include <ostream>

namespace ganc::rt {

/// One logged point of a run.
struct StepStats {
  int64_t step = 0;
  float dLoss = 0, gLoss = 0;
  double stepsPerSecond = 0;
};

class Trainer {
public:
  /// `sampler` draws sampleRows * sampleCols images from fixed noise (may be empty).
  Trainer(const TrainSpec &spec, const StepFunction &dStep, const StepFunction &gStep,
          const StepFunction *sampler, const Dataset &data);

  /// Initializes every parameter from its initializer and the seed; zeroes state.
  void initialize();
  /// Runs `steps` iterations (one D phase then one G phase each), logging to `log`.
  /// Returns the stats at every log point.
  std::vector<StepStats> run(int64_t steps, std::ostream &log);
  /// Writes the final checkpoint and sample grid.
  void finish(std::ostream &log);

  Store &store() { return store_; }
  int64_t step() const { return step_; }
  /// One D update / one G update on the next batch (exposed for tests).
  float stepD();
  float stepG();

private:
  void fillNoise(Tensor &z, uint64_t stream);
  void setAdamScalars(const OptimizerSpec &o, const std::string &player, int64_t t);
  void writeSamples(std::ostream &log);
  void writeCheckpoint(std::ostream &log);

  const TrainSpec &spec_;
  Store store_;
  BatchSampler batches_;
  std::unique_ptr<Executable> d_, g_, sample_;
  Tensor *x_ = nullptr, *z_ = nullptr, *zFixed_ = nullptr;
  int64_t step_ = 0, dUpdates_ = 0, gUpdates_ = 0, batchIndex_ = 0;
};

} // namespace ganc::rt
