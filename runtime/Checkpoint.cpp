//===- Checkpoint.cpp - saving and restoring a run ------------------------===//
#include "Checkpoint.h"

#include "io/IoError.h"
#include "io/SafeTensors.h"

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
                    {"seed", std::to_string(info.seed)}});
}

CheckpointInfo loadCheckpoint(const std::string &path, const std::vector<ParamSpec> &params,
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
  try {
    info.step = std::stoll(meta("step"));
    info.seed = std::stoull(meta("seed"));
  } catch (const std::exception &) {
    throw IoError(path, "bad 'step' or 'seed' metadata");
  }
  for (const ParamSpec &p : params) {
    const NamedTensor *t = f.find(p.name);
    if (!t)
      throw IoError(path, "has no parameter '" + p.name + "' (a checkpoint of another model?)");
    if (t->shape != p.shape)
      throw IoError(path, "parameter '" + p.name + "' has a different shape than the model declares");
    Tensor &dst = store.get(p.name, p.shape);
    std::copy(t->data.begin(), t->data.end(), dst.data());
  }
  return info;
}

} // namespace ganc::rt
