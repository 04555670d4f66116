//===- Session.cpp - the compilation pipeline, one stage after another ----===//
#include "driver/Session.h"

#include "opt/Simplify.h"
#include "sema/Sema.h"

#include <cstdio>

namespace ganc::driver {

bool Session::analyze(const std::string &path) {
  program_ = sema::analyze(path, sm_, diags_, {GANC_STDLIB_DIR});
  return program_ != nullptr;
}

bool Session::lower(int64_t batch) {
  batch_ = batch > 0 ? batch : program_->plan.batch;
  model_ = lower::lowerObjectives(*program_, batch_, diags_);
  return model_ != nullptr;
}

void Session::simplify() {
  opt::simplify(*model_->dStep);
  opt::simplify(*model_->gStep);
}

bool Session::differentiate() {
  if (!lower::addTraining(*model_, *program_, diags_))
    return false;
  simplify();
  return true;
}

bool Session::startJit() {
  std::string error;
  jit_ = codegen::Jit::create(error);
  if (!jit_) {
    diags_.error({}, "cannot start the JIT for this CPU: " + error);
    return false;
  }
  return true;
}

std::unique_ptr<ir::Graph> Session::sampler(int64_t count, const std::string &noiseInput) {
  auto g = lower::lowerSampler(*program_, count, noiseInput, diags_);
  if (g)
    opt::simplify(*g);
  return g;
}

std::string Session::modelHash() const {
  // FNV-1a over every source the model was built from, and the compiler version.
  uint64_t h = 0xCBF29CE484222325ull;
  auto feed = [&](const std::string &s) {
    for (unsigned char c : s)
      h = (h ^ c) * 0x100000001B3ull;
  };
  feed(GANC_VERSION);
  for (auto &m : program_->modules)
    feed(sm_.text(m->fileId));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

rt::TrainSpec Session::trainSpec(const std::string &outDir) const {
  const sema::Program &p = *program_;
  rt::TrainSpec s;
  s.modelName = p.modelName;
  s.modelHash = modelHash();
  for (const lower::ParamInfo &pi : model_->params.params)
    s.params.push_back({pi.name, pi.owner, pi.shape, pi.init.kind, pi.init.a, pi.init.b});
  s.state = model_->state;
  const sema::DataSpec &d = p.data.front();
  s.data = {d.name, d.kind, d.path, d.lo, d.hi, d.shape};
  for (const sema::NoiseSpec &n : p.noise)
    s.noise.push_back({n.name, n.dist, n.a, n.b, n.shape});
  s.dPlayer = p.discriminator->name;
  s.gPlayer = p.generator->name;
  auto opt = [](const sema::OptimizerSpec &o) {
    return rt::OptimizerSpec{o.kind, o.lr, o.beta1, o.beta2, o.eps};
  };
  s.optD = opt(p.plan.optD);
  s.optG = opt(p.plan.optG);
  s.batch = batch_;
  s.steps = p.plan.steps;
  s.dSteps = p.plan.dSteps;
  s.gSteps = p.plan.gSteps;
  s.sampleEvery = p.plan.sampleEvery;
  s.sampleRows = p.plan.sampleRows;
  s.sampleCols = p.plan.sampleCols;
  s.checkpointEvery = p.plan.checkpointEvery;
  s.logEvery = p.plan.logEvery;
  s.seed = p.plan.seed;
  s.outDir = outDir;
  return s;
}

} // namespace ganc::driver
