//===- Trainer.cpp - the alternating D/G training loop --------------------===//
#include "Trainer.h"

#include "Checkpoint.h"
#include "Random.h"
#include "io/Png.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace ganc::rt {

namespace {
// The names lowering gives the per-step Adam scalars (lower/Model.h, names::adam*).
std::string adamLr(const std::string &p) { return p + "@adam.lr_t"; }
std::string adamEps(const std::string &p) { return p + "@adam.eps_t"; }

Shape batched(int64_t n, const Shape &s) {
  Shape out{n};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}
} // namespace

Trainer::Trainer(const TrainSpec &spec, const StepFunction &dStep, const StepFunction &gStep,
                 const StepFunction *sampler, const Dataset &data)
    : spec_(spec), batches_(data, spec.seed) {
  // Every tensor the programs share lives in the store before they are bound.
  for (const ParamSpec &p : spec.params)
    store_.get(p.name, p.shape);
  for (const auto &[name, shape] : spec.state)
    store_.get(name, shape);
  x_ = &store_.get(spec.data.name, batched(spec.batch, spec.data.shape));
  z_ = &store_.get(spec.noise.name, batched(spec.batch, spec.noise.shape));
  d_ = std::make_unique<Executable>(dStep, store_);
  g_ = std::make_unique<Executable>(gStep, store_);
  // The grid sampler reads its own fixed noise, `<noise>@grid`, and the same parameters.
  if (sampler)
    sample_ = std::make_unique<Executable>(*sampler, store_);
}

void Trainer::initialize() {
  for (size_t i = 0; i < spec_.params.size(); ++i) {
    const ParamSpec &p = spec_.params[i];
    Tensor &t = store_.get(p.name, p.shape);
    int64_t n = t.numel();
    int64_t fanIn = p.shape.empty() ? 1 : p.shape[0];
    int64_t fanOut = p.shape.size() > 1 ? p.shape[1] : fanIn;
    uint64_t stream = streamId("init:" + p.name);
    float *d = t.data();
    if (p.init == "zeros" || p.init == "ones" || p.init == "constant") {
      float v = p.init == "zeros" ? 0.f : p.init == "ones" ? 1.f : static_cast<float>(p.a);
      std::fill(d, d + n, v);
    } else if (p.init == "glorot_uniform") {
      float lim = static_cast<float>(std::sqrt(6.0 / static_cast<double>(fanIn + fanOut)));
      fillUniform(d, n, spec_.seed, stream, -lim, lim);
    } else if (p.init == "he_normal") {
      fillNormal(d, n, spec_.seed, stream, 0.f, static_cast<float>(std::sqrt(2.0 / fanIn)));
    } else if (p.init == "normal") {
      fillNormal(d, n, spec_.seed, stream, 0.f, static_cast<float>(p.a));
    } else {
      fillUniform(d, n, spec_.seed, stream, static_cast<float>(p.a), static_cast<float>(p.b));
    }
  }
  for (const auto &[name, shape] : spec_.state) {
    Tensor &t = store_.get(name, shape);
    std::fill(t.data(), t.data() + t.numel(), 0.f);
  }
}

void Trainer::fillNoise(Tensor &z, uint64_t stream) {
  const NoiseSpec &n = spec_.noise;
  if (n.dist == "normal")
    fillNormal(z.data(), z.numel(), spec_.seed, stream, static_cast<float>(n.a), static_cast<float>(n.b));
  else
    fillUniform(z.data(), z.numel(), spec_.seed, stream, static_cast<float>(n.a), static_cast<float>(n.b));
}

void Trainer::setAdamScalars(const OptimizerSpec &o, const std::string &player, int64_t t) {
  if (o.kind != "adam")
    return;
  double bc1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  double bc2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  store_.get(adamLr(player), {}).data()[0] = static_cast<float>(o.lr * std::sqrt(bc2) / bc1);
  store_.get(adamEps(player), {}).data()[0] = static_cast<float>(o.eps * std::sqrt(bc2));
}

float Trainer::stepD() {
  batches_.fill(x_->data(), spec_.batch, batchIndex_++);
  fillNoise(*z_, streamId("noise.d", static_cast<uint64_t>(dUpdates_)));
  setAdamScalars(spec_.optD, spec_.dPlayer, ++dUpdates_);
  d_->run();
  d_->commit();
  return d_->output("loss")[0];
}

float Trainer::stepG() {
  fillNoise(*z_, streamId("noise.g", static_cast<uint64_t>(gUpdates_)));
  setAdamScalars(spec_.optG, spec_.gPlayer, ++gUpdates_);
  g_->run();
  g_->commit();
  return g_->output("loss")[0];
}

std::vector<StepStats> Trainer::run(int64_t steps, std::ostream &log) {
  std::vector<StepStats> stats;
  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
  int64_t lastStep = step_;
  for (int64_t i = 0; i < steps; ++i) {
    float dLoss = 0, gLoss = 0;
    for (int64_t k = 0; k < spec_.dSteps; ++k)
      dLoss = stepD();
    for (int64_t k = 0; k < spec_.gSteps; ++k)
      gLoss = stepG();
    ++step_;
    bool lastOne = i + 1 == steps;
    if (step_ % spec_.logEvery == 0 || lastOne) {
      auto now = Clock::now();
      double secs = std::chrono::duration<double>(now - last).count();
      StepStats s{step_, dLoss, gLoss, secs > 0 ? (step_ - lastStep) / secs : 0};
      stats.push_back(s);
      char line[160];
      std::snprintf(line, sizeof line, "step %7lld/%lld  D loss %8.4f  G loss %8.4f  %8.1f steps/s\n",
                    static_cast<long long>(step_), static_cast<long long>(spec_.steps), dLoss,
                    gLoss, s.stepsPerSecond);
      log << line << std::flush;
      last = now;
      lastStep = step_;
    }
    if (sample_ && spec_.sampleEvery > 0 && step_ % spec_.sampleEvery == 0)
      writeSamples(log);
    if (spec_.checkpointEvery > 0 && step_ % spec_.checkpointEvery == 0)
      writeCheckpoint(log);
  }
  return stats;
}

void Trainer::writeSamples(std::ostream &log) {
  // The same latent points every time, so the grids show them improving.
  const std::string zName = spec_.noise.name + "@grid";
  Tensor *z = store_.find(zName);
  if (!z)
    return;
  if (!zFixed_) {
    fillNoise(*z, streamId("noise.grid"));
    zFixed_ = z;
  }
  sample_->run();
  const float *img = sample_->output("sample");
  int64_t per = numElements(spec_.data.shape);
  int64_t h = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(per))));
  int64_t w = h * h == per ? h : per;
  if (h * h != per)
    h = 1;
  char name[64];
  std::snprintf(name, sizeof name, "samples_%07lld.png", static_cast<long long>(step_));
  std::string path = (std::filesystem::path(spec_.outDir) / name).string();
  writeGrayGridPng(path, img, spec_.sampleRows * spec_.sampleCols, h, w, spec_.sampleRows,
                   spec_.sampleCols, static_cast<float>(spec_.data.lo), static_cast<float>(spec_.data.hi));
  log << "wrote " << path << "\n";
}

void Trainer::writeCheckpoint(std::ostream &log) {
  std::string path = (std::filesystem::path(spec_.outDir) / "checkpoint.safetensors").string();
  saveCheckpoint(path, spec_, store_, {spec_.modelName, spec_.modelHash, step_, spec_.seed});
  log << "wrote " << path << " (step " << step_ << ")\n";
}

void Trainer::finish(std::ostream &log) {
  if (sample_ && (spec_.sampleEvery <= 0 || step_ % spec_.sampleEvery != 0))
    writeSamples(log);
  writeCheckpoint(log);
}

} // namespace ganc::rt
