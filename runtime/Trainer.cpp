//===- Trainer.cpp - the alternating D/G training loop --------------------===//
#include "Trainer.h"

#include "Mixture.h"
#include "Random.h"
#include "Report.h"
#include "Threads.h"
#include "io/IoError.h"
#include "io/Png.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

namespace ganc::rt {

namespace {
// The names lowering gives the per-step Adam scalars (lower/Model.h, names::adam*).
std::string adamLr(const std::string &p) { return p + "@adam.lr_t"; }
std::string adamEps(const std::string &p) { return p + "@adam.eps_t"; }
std::string emaWeight(const std::string &p) { return p + "@ema.weight"; }

Shape batched(int64_t n, const Shape &s) {
  Shape out{n};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

std::atomic<bool> stopRequested{false};

extern "C" void onStopSignal(int sig) {
  stopRequested.store(true);
  // A second signal ends the process the usual way.
  std::signal(sig, SIG_DFL);
}

/// Noise phases: which step of the iteration a draw is for.
enum NoisePhase : uint64_t { kNoiseD = 1, kNoiseG = 2, kNoiseGrid = 3 };
} // namespace

void installStopHandlers() {
  stopRequested.store(false);
  std::signal(SIGINT, onStopSignal);
  std::signal(SIGTERM, onStopSignal);
}

Trainer::Trainer(const TrainSpec &spec, const StepFunction &dStep, const StepFunction *gStep,
                 const StepFunction *sampler, const Dataset &data, const StepFunction *evaluator)
    : spec_(spec), batches_(data, spec.seed), data_(data) {
  // Every tensor the programs share lives in the store before they are bound.
  for (const ParamSpec &p : spec.params)
    store_.get(p.name, p.shape);
  for (const auto &[name, shape] : spec.state)
    store_.get(name, shape);
  x_ = &store_.get(spec.data.name, batched(spec.batch, spec.data.shape));
  if (spec.data.classes > 0)
    labels_ = &store_.get(spec.data.labelsName, {spec.batch, spec.data.classes});
  for (const NoiseSpec &n : spec.noise) {
    noise_.push_back(&store_.get(n.name, batched(spec.batch, n.shape)));
    noiseKeys_.push_back(purposeKey("noise:" + n.name));
  }
  const bool evaluates = evaluator && data.heldOutSize() > 0;
  int64_t arenaBytes = dStep.arenaBytes;
  for (const StepFunction *f : {gStep, sampler, evaluates ? evaluator : nullptr})
    if (f)
      arenaBytes = std::max(arenaBytes, f->arenaBytes);
  arena_ = Buffer((arenaBytes + 3) / 4);
  d_ = std::make_unique<Executable>(dStep, store_, &arena_);
  if (gStep)
    g_ = std::make_unique<Executable>(*gStep, store_, &arena_);
  // What the step loop reads and writes besides the programs' own bindings, found once
  // here: no name is built or looked up per step.
  auto termOutputs = [](const Executable &e, size_t count) {
    std::vector<const float *> out;
    for (size_t i = 1; i <= count; ++i)
      out.push_back(e.output("term." + std::to_string(i)));
    return out;
  };
  dSlots_ = playerSlots(*d_, spec.optD, spec.dPlayer);
  if (g_)
    gSlots_ = playerSlots(*g_, spec.optG, spec.gPlayer);
  dTermOutputs_ = termOutputs(*d_, spec.dTerms.size());
  dTerms_.assign(spec.dTerms.size(), 0.f);
  if (g_) {
    gTermOutputs_ = termOutputs(*g_, spec.gTerms.size());
    gTerms_.assign(spec.gTerms.size(), 0.f);
  }
  if (spec.ema > 0)
    emaWeight_ = &store_.get(emaWeight(spec.gPlayer), {});
  if (evaluates) {
    store_.get(spec.data.name + "@eval", batched(data.heldOutSize(), spec.data.shape));
    eval_ = std::make_unique<Executable>(*evaluator, store_, &arena_);
  }
  // The grid sampler reads its own fixed noise, `<noise>@grid`, and the same parameters.
  if (sampler)
    sample_ = std::make_unique<Executable>(*sampler, store_, &arena_);
}

void Trainer::initialize() {
  for (const ParamSpec &p : spec_.params) {
    Tensor &t = store_.get(p.name, p.shape);
    int64_t n = t.numel();
    // A [in, out] matrix (x W); a filter bank [out, in, kh, kw] (conv2d: PyTorch's layout
    // and fans, the kernel's area counting on both sides).
    int64_t fanIn = p.shape.empty() ? 1 : p.shape[0];
    int64_t fanOut = p.shape.size() > 1 ? p.shape[1] : fanIn;
    if (p.shape.size() > 2) {
      int64_t area = n / (p.shape[0] * p.shape[1]);
      fanIn = p.shape[1] * area;
      fanOut = p.shape[0] * area;
    }
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
    } else if (p.init == "orthogonal") {
      // A matrix of the first axis against the rest (a conv kernel's filters).
      int64_t rows = p.shape.empty() ? 1 : p.shape[0];
      fillOrthogonal(d, rows, n / std::max<int64_t>(rows, 1), p.a, spec_.seed, stream);
    } else if (p.init == "normal") {
      fillNormal(d, n, spec_.seed, stream, 0.f, static_cast<float>(p.a));
    } else {
      fillUniform(d, n, spec_.seed, stream, static_cast<float>(p.a), static_cast<float>(p.b));
    }
  }
  for (const auto &[name, shape] : spec_.state) {
    Tensor &t = store_.get(name, shape);
    bool one = std::find(spec_.stateOnes.begin(), spec_.stateOnes.end(), name) != spec_.stateOnes.end();
    std::fill(t.data(), t.data() + t.numel(), one ? 1.f : 0.f);
  }
  step_ = dUpdates_ = gUpdates_ = batchIndex_ = 0;
  openMetrics(false);
}

void Trainer::restore(const std::string &path) {
  CheckpointInfo info = loadCheckpoint(path, spec_.params, spec_.state, store_);
  if (info.modelHash != spec_.modelHash)
    throw IoError(path, "was written by a different version of the model (hash " + info.modelHash +
                            ", this model has " + spec_.modelHash +
                            "); resuming would mix two models. Train from scratch or restore the .gan file");
  if (info.batch != 0 && info.batch != spec_.batch)
    throw IoError(path, "was trained with batch " + std::to_string(info.batch) + ", not " +
                            std::to_string(spec_.batch) + "; resume with --batch " + std::to_string(info.batch));
  if (info.seed != spec_.seed)
    throw IoError(path, "was trained with seed " + std::to_string(info.seed) + ", not " +
                            std::to_string(spec_.seed) + "; resume with --seed " + std::to_string(info.seed));
  step_ = info.step;
  dUpdates_ = info.dUpdates;
  gUpdates_ = info.gUpdates;
  batchIndex_ = info.batches;
  openMetrics(true);
}

std::string Trainer::checkpointPath() const {
  return (std::filesystem::path(spec_.outDir) / "checkpoint.safetensors").string();
}

void Trainer::openMetrics(bool append) {
  if (spec_.outDir.empty())
    return;
  std::string path = (std::filesystem::path(spec_.outDir) / "metrics.csv").string();
  bool fresh = !append || !std::filesystem::exists(path);
  if (append && !fresh) {
    // Keep the rows up to the checkpoint's step: a killed run may have logged past it.
    std::ifstream in(path);
    std::string header, line, kept;
    std::getline(in, header);
    kept = header + "\n";
    while (std::getline(in, line)) {
      long long s = 0;
      double t = 0;
      float d = 0, g = 0, dn = 0, gn = 0;
      if (std::sscanf(line.c_str(), "%lld,%lf,%f,%f,%f,%f", &s, &t, &d, &g, &dn, &gn) < 2 || s > step_)
        continue;
      kept += line + "\n";
      elapsed_ = t;
      rows_.push_back({s, t, d, g, dn, gn});
    }
    in.close();
    std::ofstream(path, std::ios::trunc) << kept;
  }
  metrics_.open(path, fresh ? std::ios::trunc : std::ios::app);
  if (!metrics_)
    throw IoError(path, "cannot open for writing");
  if (fresh) {
    metrics_ << "step,time_s,d_loss,g_loss,d_grad_norm,g_grad_norm";
    // Then each objective's additive terms, labelled with their source (quoted for CSV).
    for (const auto *terms : {&spec_.dTerms, &spec_.gTerms})
      for (const std::string &label : *terms) {
        std::string quoted = "\"";
        for (char c : label)
          quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        metrics_ << "," << quoted << "\"";
      }
    metrics_ << "\n";
  }
}

void Trainer::fillNoise(uint64_t phase, uint64_t counter) {
  for (size_t i = 0; i < spec_.noise.size(); ++i) {
    const NoiseSpec &n = spec_.noise[i];
    Tensor &z = *noise_[i];
    drawNoise(n, z.data(), z.numel(), spec_.seed, streamId(noiseKeys_[i], phase, counter));
  }
}

Trainer::PlayerSlots Trainer::playerSlots(const Executable &e, const OptimizerSpec &opt, const std::string &player) {
  PlayerSlots s;
  if (opt.kind == "adam") {
    s.adamLr = &store_.get(adamLr(player), {});
    s.adamEps = &store_.get(adamEps(player), {});
  }
  s.loss = e.output("loss");
  s.gradNorm = e.output("grad_norm");
  return s;
}

void Trainer::setAdamScalars(const OptimizerSpec &o, const PlayerSlots &slots, int64_t t) {
  if (!slots.adamLr)
    return;
  double bc1 = 1 - std::pow(o.beta1, static_cast<double>(t));
  double bc2 = 1 - std::pow(o.beta2, static_cast<double>(t));
  slots.adamLr->data()[0] = static_cast<float>(o.lr * std::sqrt(bc2) / bc1);
  slots.adamEps->data()[0] = static_cast<float>(o.eps * std::sqrt(bc2));
}

float Trainer::update(Executable &e, const OptimizerSpec &opt, const std::string &player,
                      uint64_t phase, int64_t &updates, float &gradNorm) {
  const PlayerSlots &slots = &e == d_.get() ? dSlots_ : gSlots_;
  fillNoise(phase, static_cast<uint64_t>(updates));
  setAdamScalars(opt, slots, updates + 1);
  e.run();
  float loss = slots.loss[0];
  // The objective's terms, for metrics.csv (the D and the G step's in their own fields).
  std::vector<float> &terms = &e == d_.get() ? dTerms_ : gTerms_;
  const std::vector<const float *> &outputs = &e == d_.get() ? dTermOutputs_ : gTermOutputs_;
  for (size_t i = 0; i < outputs.size(); ++i)
    terms[i] = outputs[i] ? *outputs[i] : NAN;
  gradNorm = slots.gradNorm ? slots.gradNorm[0] : 0.f;
  // Checked before commit: a step that produced NaN or inf is never applied.
  if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
    // The first term of the objective that is not finite, when it has several.
    const std::vector<std::string> &labels = &e == d_.get() ? spec_.dTerms : spec_.gTerms;
    std::string term;
    for (size_t i = 0; term.empty() && i < terms.size() && i < labels.size(); ++i)
      if (!std::isfinite(terms[i]))
        term = labels[i];
    throw DivergenceError(step_ + 1, player, std::isfinite(loss) ? gradNorm : loss, !std::isfinite(loss), term);
  }
  e.commit();
  ++updates;
  return loss;
}

float Trainer::stepD() {
  batches_.fill(x_->data(), spec_.batch, batchIndex_++, labels_ ? labels_->data() : nullptr);
  return update(*d_, spec_.optD, spec_.dPlayer, kNoiseD, dUpdates_, dGradNorm_);
}

float Trainer::stepG() {
  if (!g_)
    return 0;
  if (spec_.ema > 0) {
    // decay_t = min(decay, t / (t + 10)) after t updates (TensorFlow's ExponentialMovingAverage
    // with num_updates, shifted by one): the first update copies the weights, and the
    // average forgets its start quickly while the weights move fast.
    double t = static_cast<double>(gUpdates_);
    emaWeight_->data()[0] = static_cast<float>(1 - std::min(spec_.ema, t / (t + 10)));
  }
  return update(*g_, spec_.optG, spec_.gPlayer, kNoiseG, gUpdates_, gGradNorm_);
}

std::pair<float, float> Trainer::iterate() {
  ParallelRegion region;
  float dLoss = 0, gLoss = 0;
  for (int64_t k = 0; k < spec_.dSteps; ++k)
    dLoss = stepD();
  for (int64_t k = 0; k < spec_.gSteps; ++k)
    gLoss = stepG();
  return {dLoss, gLoss};
}

bool Trainer::run(int64_t until, std::ostream &log) {
  try {
    return runSteps(until, log);
  } catch (const DivergenceError &) {
    metrics_.flush();
    writeReport(false); // the run is over: the report stops reloading
    throw;
  }
}

bool Trainer::runSteps(int64_t until, std::ostream &log) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now(), last = start;
  const double elapsedBefore = elapsed_;
  int64_t lastStep = step_;
  char line[200];
  while (step_ < until) {
    const auto [dLoss, gLoss] = iterate();
    ++step_;
    auto now = Clock::now();
    elapsed_ = elapsedBefore + std::chrono::duration<double>(now - start).count();
    rows_.push_back({step_, elapsed_, dLoss, gLoss, dGradNorm_, gGradNorm_});
    if (metrics_.is_open()) {
      std::snprintf(line, sizeof line, "%lld,%.3f,%.9g,%.9g,%.9g,%.9g", static_cast<long long>(step_),
                    elapsed_, dLoss, gLoss, dGradNorm_, gGradNorm_);
      metrics_ << line;
      // Terms the header announced; a step program that output none leaves them empty.
      for (auto [terms, count] : {std::pair{&dTerms_, spec_.dTerms.size()}, std::pair{&gTerms_, spec_.gTerms.size()}})
        for (size_t i = 0; i < count; ++i) {
          std::snprintf(line, sizeof line, ",%.9g", i < terms->size() ? static_cast<double>((*terms)[i]) : 0.0);
          metrics_ << (i < terms->size() ? line : ",");
        }
      metrics_ << "\n";
    }
    bool lastOne = step_ == until;
    if (step_ % spec_.logEvery == 0 || lastOne) {
      double secs = std::chrono::duration<double>(now - last).count();
      StepStats s{step_, dLoss, gLoss, secs > 0 ? (step_ - lastStep) / secs : 0};
      history_.push_back(s);
      double eta = s.stepsPerSecond > 0 ? (until - step_) / s.stepsPerSecond : 0;
      if (g_)
        std::snprintf(line, sizeof line,
                      "step %7lld/%lld  D loss %8.4f  G loss %8.4f  %8.1f steps/s  ETA %4.0fs",
                      static_cast<long long>(step_), static_cast<long long>(until), dLoss, gLoss,
                      s.stepsPerSecond, eta);
      else // one player: its loss alone
        std::snprintf(line, sizeof line, "step %7lld/%lld  loss %8.4f  %8.1f steps/s  ETA %4.0fs",
                      static_cast<long long>(step_), static_cast<long long>(until), dLoss, s.stepsPerSecond, eta);
      // A terminal gets one line rewritten in place; a file or pipe gets a line per log point.
      log << (spec_.interactive ? "\r" : "") << line << (spec_.interactive && !lastOne ? "" : "\n")
          << std::flush;
      last = now;
      lastStep = step_;
    }
    if (sample_ && spec_.sampleEvery > 0 && step_ % spec_.sampleEvery == 0) {
      writeSamples(log);
      writeReport(true);
    }
    if (spec_.checkpointEvery > 0 && step_ % spec_.checkpointEvery == 0)
      writeCheckpoint(log);
    if (stopRequested.load()) {
      metrics_.flush();
      log << (spec_.interactive ? "\n" : "") << "stopping at step " << step_ << " as asked\n";
      return true;
    }
  }
  metrics_.flush();
  return false;
}

void Trainer::writeSamples(std::ostream &log) {
  // The same latent points every time, so the grids show them improving.
  Tensor *z = nullptr;
  for (const NoiseSpec &n : spec_.noise)
    if (Tensor *t = store_.find(n.name + "@grid")) {
      drawGridNoise(n, t->data(), t->numel(), spec_.seed, streamId("noise:" + n.name, kNoiseGrid, 0));
      z = z ? z : t;
    }
  if (!z)
    return;
  sample_->run();
  const float *img = sample_->output("sample");
  char name[64];
  std::snprintf(name, sizeof name, "samples_%07lld.png", static_cast<long long>(step_));
  std::string path = (std::filesystem::path(spec_.outDir) / name).string();
  if (spec_.data.kind == "ring" || spec_.data.kind == "grid") {
    writeScatterPng(path, Mixture::fromSpec(spec_.data), img, z->shape[0] * Mixture::pointsPerSample(spec_.data.shape));
    if (!spec_.interactive)
      log << "wrote " << path << "\n";
    return;
  }
  int64_t per = numElements(spec_.data.shape);
  int64_t h = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(per))));
  int64_t w = h * h == per ? h : per;
  if (h * h != per)
    h = 1;
  writeGrayGridPng(path, img, spec_.sampleRows * spec_.sampleCols, h, w, spec_.sampleRows,
                   spec_.sampleCols, static_cast<float>(spec_.data.lo), static_cast<float>(spec_.data.hi));
  if (!spec_.interactive)
    log << "wrote " << path << "\n";
}

void Trainer::writeCheckpoint(std::ostream &log) {
  metrics_.flush();
  saveCheckpoint(checkpointPath(), spec_, store_,
                 {spec_.modelName, spec_.modelHash, step_, dUpdates_, gUpdates_, batchIndex_, spec_.batch,
                  spec_.seed});
  if (!spec_.interactive)
    log << "wrote " << checkpointPath() << " (step " << step_ << ")\n";
}

void Trainer::writeReport(bool live) {
  if (spec_.outDir.empty())
    return;
  rt::writeReport({spec_.modelName, spec_.outDir, rows_, step_, spec_.steps, live, spec_.dPlayer,
                   spec_.gPlayer});
}

double Trainer::heldOutAccuracy() {
  if (!eval_)
    return -1;
  const int64_t n = data_.heldOutSize(), row = data_.rowSize();
  Tensor &x = store_.get(spec_.data.name + "@eval", batched(n, spec_.data.shape));
  for (int64_t i = 0; i < n; ++i)
    std::copy(data_.heldOutRow(i), data_.heldOutRow(i) + row, x.data() + i * row);
  eval_->run();
  const float *scores = eval_->output("output");
  const int64_t classes = data_.classes();
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float *s = scores + i * classes;
    right += std::max_element(s, s + classes) - s == data_.heldOutLabel(i);
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

void Trainer::finish(std::ostream &log) {
  if (sample_ && (spec_.sampleEvery <= 0 || step_ % spec_.sampleEvery != 0))
    writeSamples(log);
  if (double acc = heldOutAccuracy(); acc >= 0) {
    char line[160];
    std::snprintf(line, sizeof line, "held-out accuracy %.2f%% (%lld samples kept out of training)\n", 100 * acc,
                  static_cast<long long>(data_.heldOutSize()));
    log << line;
  }
  writeCheckpoint(log);
  writeReport(false);
  if (spec_.interactive)
    log << "wrote " << checkpointPath() << " (step " << step_ << ")\n";
}

} // namespace ganc::rt
