//===- Trainer.h - the alternating D/G training loop ------------*- C++ -*-===//
//
// Runs compiled step programs: for each iteration, `dSteps` discriminator updates then
// `gSteps` generator updates, each on a fresh batch of data and noise. Parameters start
// from their declared initializers (or a checkpoint, to resume exactly); progress, a
// metrics.csv row per iteration, sample grids and checkpoints come out at the plan's
// cadence. A non-finite loss stops the run before the step is applied; SIGINT/SIGTERM
// finish the current iteration, save, and stop. The loop itself only fills buffers and
// calls native code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Checkpoint.h"
#include "Data.h"
#include "Report.h"
#include "Tensor.h"
#include "TrainSpec.h"

#include <fstream>
#include <ostream>
#include <stdexcept>
#include <utility>

namespace ganc::rt {

/// One logged point of a run.
struct StepStats {
  int64_t step = 0;
  float dLoss = 0, gLoss = 0;
  double stepsPerSecond = 0;
};

/// A loss or a gradient became NaN or infinite; the step that produced it was not applied.
class DivergenceError : public std::runtime_error {
public:
  DivergenceError(int64_t step, std::string player, float value, bool inLoss, std::string term = "")
      : std::runtime_error("diverged"), step(step), player(std::move(player)), value(value),
        inLoss(inLoss), term(std::move(term)) {}
  int64_t step;
  std::string player;
  float value;
  bool inLoss; ///< else in the gradient
  std::string term; ///< the first non-finite term of the objective (its label), if known
};

class Trainer {
public:
  /// `gStep` is null for a supervised model (one player, spec.gSteps 0). `sampler` draws
  /// sampleRows * sampleCols images from fixed noise (may be null). `evaluator` (may be
  /// null) is the classifier of a supervised model on the data's held-out samples, all
  /// at once: its input is `<data>@eval`, its output "output" holds one score per class.
  Trainer(const TrainSpec &spec, const StepFunction &dStep, const StepFunction *gStep,
          const StepFunction *sampler, const Dataset &data, const StepFunction *evaluator = nullptr);

  /// Initializes every parameter from its initializer and the seed; zeroes state.
  void initialize();
  /// Continues from a checkpoint of this model: tensors, step and every counter. Throws
  /// IoError when the checkpoint is of a different model (hash) or malformed.
  void restore(const std::string &path);
  /// Runs iterations until step `until` (or a stop request), logging to `log`. Returns
  /// true when it stopped early because of SIGINT/SIGTERM.
  bool run(int64_t until, std::ostream &log);
  /// Writes the final checkpoint and sample grid; a supervised model with held-out
  /// samples reports its accuracy on them.
  void finish(std::ostream &log);
  /// The share of held-out samples the classifier puts in their class (its highest
  /// score), or -1 without an evaluator or held-out samples.
  double heldOutAccuracy();

  Store &store() { return store_; }
  int64_t step() const { return step_; }
  const std::vector<StepStats> &history() const { return history_; }
  /// One iteration of the schedule (its D updates, then its G updates) in one parallel
  /// region, so that the team of threads stays awake from the batch copy to the last
  /// kernel. Returns the last D and G losses (G's 0 without a G).
  std::pair<float, float> iterate();

  /// Path of the checkpoint this run writes.
  std::string checkpointPath() const;

private:
  /// One D update / one G update on the next batch.
  float stepD();
  float stepG();
  void fillNoise(uint64_t phase, uint64_t counter);
  /// What one player's updates read and write besides its program's bindings.
  struct PlayerSlots {
    Tensor *adamLr = nullptr, *adamEps = nullptr; ///< Adam's per-step scalars (Adam only)
    const float *loss = nullptr, *gradNorm = nullptr;
  };
  void setAdamScalars(const OptimizerSpec &o, const PlayerSlots &slots, int64_t t);
  void writeSamples(std::ostream &log);
  void writeCheckpoint(std::ostream &log);
  void writeReport(bool live);
  bool runSteps(int64_t until, std::ostream &log);
  void openMetrics(bool append);
  /// One optimizer step of a player: noise, per-step scalars, run, check, commit.
  float update(Executable &e, const OptimizerSpec &opt, const std::string &player, uint64_t phase,
               int64_t &updates, float &gradNorm);
  PlayerSlots playerSlots(const Executable &e, const OptimizerSpec &opt, const std::string &player);

  const TrainSpec &spec_;
  Store store_;
  BatchSampler batches_;
  /// The temporaries of every program below: they run one at a time, so one arena as
  /// large as the largest plan serves them all (the DCGAN's D and G steps plan 43 and 45
  /// MB). Declared before them, so it outlives them.
  Buffer arena_;
  std::unique_ptr<Executable> d_, g_, sample_, eval_;
  const Dataset &data_;
  Tensor *x_ = nullptr, *labels_ = nullptr;
  std::vector<Tensor *> noise_;
  std::vector<uint64_t> noiseKeys_; ///< purposeKey("noise:<name>") of each noise
  PlayerSlots dSlots_, gSlots_;
  int64_t step_ = 0, dUpdates_ = 0, gUpdates_ = 0, batchIndex_ = 0;
  double elapsed_ = 0; ///< seconds of training so far, over resumes
  float dGradNorm_ = 0, gGradNorm_ = 0;
  std::vector<float> dTerms_, gTerms_; ///< the last update's objective terms
  std::vector<const float *> dTermOutputs_, gTermOutputs_; ///< where the programs put them
  Tensor *emaWeight_ = nullptr; ///< the G step's per-step EMA weight (with `ema`)
  std::vector<MetricRow> rows_; ///< metrics.csv, in memory for the report
  std::vector<StepStats> history_;
  std::ofstream metrics_;
};

/// Installs SIGINT/SIGTERM handlers that ask running trainers to stop after the current
/// iteration (a second signal kills the process as usual).
void installStopHandlers();

} // namespace ganc::rt
