//===- Checkpoint.cpp - saving and restoring a run ------------------------===//
#include "Checkpoint.h"

#include "io/IoError.h"
#include "io/SafeTensors.h"

#include <algorithm>
#include <cmath>

namespace ganc::rt {

namespace {
NamedTensor named(const std::string &name, const Tensor &t) {
  return {name, t.shape, std::vector<float>(t.data(), t.data() + t.numel())};
}
} // namespace

void saveCheckpoint(const std::string &path, const TrainSpec &spec, const Store &store,
                    const CheckpointInfo &info) {
  std::vector<NamedTensor> tensors;
  for (const ParamSpec &p : spec.params)
    tensors.push_back(named(p.name, store.all().at(p.name)));
  for (const auto &[name, shape] : spec.state)
    tensors.push_back(named(name, store.all().at(name)));
  writeSafeTensors(path, tensors,
                   {{"format", "ganc-checkpoint-1"},
                    {"model", info.modelName},
                    {"model_hash", info.modelHash},
                    {"step", std::to_string(info.step)},
                    {"d_updates", std::to_string(info.dUpdates)},
                    {"g_updates", std::to_string(info.gUpdates)},
                    {"batches", std::to_string(info.batches)},
                    {"batch", std::to_string(info.batch)},
                    {"seed", std::to_string(info.seed)}});
}

CheckpointInfo loadCheckpoint(const std::string &path, const std::vector<ParamSpec> &params,
                              const std::vector<std::pair<std::string, Shape>> &state,
                              Store &store) {
  SafeTensorsFile f = readSafeTensors(path);
  auto meta = [&](const char *key) -> std::string {
    auto it = f.metadata.find(key);
    return it == f.metadata.end() ? "" : it->second;
  };
  if (meta("format") != "ganc-checkpoint-1")
    throw IoError(path, "not a ganc checkpoint (no 'format: ganc-checkpoint-1' metadata)");
  CheckpointInfo info;
  info.modelName = meta("model");
  info.modelHash = meta("model_hash");
  // Counts no run reaches (2^40 steps) are a damaged file: resuming from them would
  // overflow the batch order's index or Adam's step count. (A recorded batch size other
  // than the run's is refused by Trainer::restore, whose limit is the driver's.)
  constexpr int64_t kMostCount = int64_t(1) << 40, kMostSeed = int64_t(1) << 53;
  auto number = [&](const char *key, int64_t most) -> int64_t {
    long long n = -1;
    try {
      size_t used = 0;
      std::string v = meta(key);
      n = std::stoll(v, &used);
      if (used != v.size())
        n = -1;
    } catch (const std::exception &) {
    }
    if (n < 0)
      throw IoError(path, std::string("bad or missing '") + key + "' metadata");
    if (n > most)
      throw IoError(path, std::string("'") + key + "' metadata is " + std::to_string(n) +
                              ", more than a run can make (" + std::to_string(most) +
                              "): the file is damaged");
    return n;
  };
  info.step = number("step", kMostCount);
  info.dUpdates = number("d_updates", kMostCount);
  info.gUpdates = number("g_updates", kMostCount);
  info.batches = number("batches", kMostCount);
  info.batch = meta("batch").empty() ? 0 : number("batch", kMostCount); // 0: not recorded
  info.seed = static_cast<uint64_t>(number("seed", kMostSeed));
  auto restore = [&](const std::string &name, const Shape &shape, const char *what) {
    const NamedTensor *t = f.find(name);
    if (!t)
      throw IoError(path, "has no " + std::string(what) + " '" + name + "' (a checkpoint of another model?)");
    if (t->shape != shape)
      throw IoError(path, std::string(what) + " '" + name + "' has a different shape than the model declares");
    // No run saves a NaN or an infinity (a step that makes one is never applied).
    auto bad =
        std::find_if(t->data.begin(), t->data.end(), [](float v) { return !std::isfinite(v); });
    if (bad != t->data.end())
      throw IoError(path, std::string(what) + " '" + name + "' holds " +
                              (std::isnan(*bad) ? "NaN" : "an infinity") + " (element " +
                              std::to_string(bad - t->data.begin()) + "): the file is damaged");
    Tensor &dst = store.get(name, shape);
    std::copy(t->data.begin(), t->data.end(), dst.data());
  };
  for (const ParamSpec &p : params)
    restore(p.name, p.shape, "parameter");
  for (const auto &[name, shape] : state)
    restore(name, shape, "state tensor"); // optimizer moments, running statistics, averages
  return info;
}

} // namespace ganc::rt
