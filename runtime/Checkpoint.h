//===- Checkpoint.h - saving and restoring a run ----------------*- C++ -*-===//
//
// A checkpoint is a safetensors file: every parameter by its source path
// (`G.dense_1.W`), optimizer state (`G.dense_1.W@adam.m`), and metadata: the model's name
// and hash, the step, the seed. Written atomically (temporary file, fsync, rename).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Tensor.h"
#include "TrainSpec.h"

#include <cstdint>
#include <string>

namespace ganc::rt {

/// Where a run stands: enough, with the tensors, to continue it exactly.
struct CheckpointInfo {
  std::string modelName, modelHash;
  int64_t step = 0;                ///< completed iterations
  int64_t dUpdates = 0, gUpdates = 0; ///< optimizer steps taken by each player
  int64_t batches = 0;             ///< data batches drawn
  int64_t batch = 0;               ///< samples per batch
  uint64_t seed = 0;
};

/// Saves the tensors of `store` named in `spec` (parameters and state).
void saveCheckpoint(const std::string &path, const TrainSpec &spec, const Store &store,
                    const CheckpointInfo &info);

/// Loads the parameters into `store`, and the optimizer state named in `state` (pass an
/// empty list to sample from a checkpoint). Throws IoError naming the file when it is not
/// a checkpoint of this model (a missing tensor, a shape that differs).
CheckpointInfo loadCheckpoint(const std::string &path, const std::vector<ParamSpec> &params,
                              const std::vector<std::pair<std::string, Shape>> &state,
                              Store &store);

} // namespace ganc::rt
