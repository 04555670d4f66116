//===- Session.cpp - the compilation pipeline, one stage after another ----===//
#include "driver/Session.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "opt/Simplify.h"
#include "sema/Sema.h"
#include "support/Error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

namespace ganc::driver {

const std::vector<std::string> &Session::passNames() {
  static const std::vector<std::string> names = {"lower", "canonicalize", "autodiff", "simplify"};
  return names;
}

template <typename F> auto Session::timed(const std::string &name, F f) {
  auto t0 = std::chrono::steady_clock::now();
  auto result = f();
  times_.push_back({name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
  return result;
}

void Session::afterPass(const std::string &name) {
  std::ostream &log = opts_.log ? *opts_.log : std::cerr;
  bool print = opts_.printAfterAll ||
               std::find(opts_.printAfter.begin(), opts_.printAfter.end(), name) != opts_.printAfter.end();
  for (const ir::Graph *g : model_->steps()) {
    if (opts_.verifyEach) {
      std::string problem = ir::verifyGraph(*g);
      if (!problem.empty())
        internalError(name, "the verifier rejects " + g->name() + " after '" + name + "': " + problem);
    }
    if (print) {
      log << "// after " << name << "\n";
      ir::printGraph(log, *g, &sm_);
    }
  }
}

bool Session::analyze(const std::string &path) {
  program_ = timed("parse+sema", [&] { return sema::analyze(path, sm_, diags_, {GANC_STDLIB_DIR}); });
  return program_ != nullptr;
}

bool Session::lower(int64_t batch) {
  batch_ = batch > 0 ? batch : program_->plan.batch;
  model_ = timed("lower", [&] { return lower::lowerObjectives(*program_, batch_, diags_); });
  if (!model_)
    return false;
  afterPass("lower");
  return true;
}

void Session::canonicalize() {
  timed("canonicalize", [&] {
    bool changed = false;
    for (ir::Graph *g : model_->steps())
      changed |= opt::canonicalize(*g);
    return changed;
  });
  afterPass("canonicalize");
}

bool Session::differentiate() {
  if (!timed("autodiff", [&] { return lower::addTraining(*model_, *program_, diags_); }))
    return false;
  afterPass("autodiff");
  return true;
}

void Session::optimize() {
  timed("simplify", [&] {
    bool changed = false;
    for (ir::Graph *g : model_->steps())
      changed |= opt::simplify(*g);
    return changed;
  });
  afterPass("simplify");
}

bool Session::buildSteps(int64_t batch) {
  if (!lower(batch))
    return false;
  canonicalize();
  if (!differentiate())
    return false;
  optimize();
  return true;
}

std::vector<rt::StepFunction> Session::compile(const std::vector<const ir::Graph *> &graphs,
                                               codegen::JitOptions options) {
  std::vector<rt::StepFunction> fns;
  std::string error;
  if (!options.sources)
    options.sources = &sm_;
  if (options.cacheDir.empty())
    options.cacheDir = codegen::Jit::defaultCacheDir();
  int hits = jit_->cacheHits();
  bool ok = timed("codegen", [&] { return jit_->compile(graphs, options, fns, error); });
  if (!ok)
    internalError("codegen", error);
  if (jit_->cacheHits() > hits)
    times_.back().first = "codegen (from the object cache)";
  return fns;
}

void Session::printTimes(std::ostream &os) const {
  double total = 0;
  for (auto &[name, secs] : times_)
    total += secs;
  os << "===-------------------------------------------------------------===\n"
     << "                      ganc pass execution timing\n"
     << "===-------------------------------------------------------------===\n";
  char line[128];
  for (auto &[name, secs] : times_) {
    std::snprintf(line, sizeof line, "  %10.2f ms  %5.1f%%  %s\n", secs * 1e3, total > 0 ? 100 * secs / total : 0,
                  name.c_str());
    os << line;
  }
  std::snprintf(line, sizeof line, "  %10.2f ms  100.0%%  total\n", total * 1e3);
  os << line;
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

namespace {
/// A forward-only program (sampler, classifier) made ready for codegen.
std::unique_ptr<ir::Graph> simplified(std::unique_ptr<ir::Graph> g) {
  if (g) {
    opt::canonicalize(*g);
    opt::simplify(*g);
  }
  return g;
}
} // namespace

std::unique_ptr<ir::Graph> Session::sampler(int64_t count, const std::string &inputSuffix) {
  return simplified(lower::lowerSampler(*program_, count, inputSuffix, diags_));
}

std::unique_ptr<ir::Graph> Session::classifier(int64_t count, const std::string &inputName) {
  return simplified(lower::lowerClassifier(*program_, count, inputName, diags_));
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
  s.state.insert(s.state.end(), model_->running.tensors.begin(), model_->running.tensors.end());
  for (auto &avg : lower::movingAverages(*model_, p))
    s.state.push_back(std::move(avg));
  s.stateOnes = model_->running.ones;
  const sema::DataSpec &d = p.data.front();
  s.data = {d.name, d.kind, d.path, d.lo, d.hi, d.scaled, d.shape, d.params, d.labelsName, d.labelsPath, d.classes, d.holdOut};
  for (const sema::NoiseSpec &n : p.noise)
    s.noise.push_back({n.name, n.dist, n.a, n.b, n.shape, n.bound});
  for (const lower::DropoutMask &mask : model_->masks)
    s.noise.push_back({mask.name, "dropout", mask.p, 0, mask.shape, 0});
  s.generatorNoise = p.generatorNoise;
  auto labels = [&](const std::vector<lower::ObjectiveTerm> &terms, const std::string &player) {
    std::vector<std::string> out;
    for (const lower::ObjectiveTerm &t : terms)
      out.push_back(player + ": " + (t.subtracted ? "-" : "") +
                    sm_.text(t.range.begin.file).substr(t.range.begin.offset, t.range.length));
    return out;
  };
  s.dTerms = labels(model_->dTerms, p.firstPlayer()->name);
  if (p.generator)
    s.gTerms = labels(model_->gTerms, p.generator->name);
  s.dPlayer = p.firstPlayer()->name;
  s.gPlayer = p.generator ? p.generator->name : ""; // a supervised model has one player
  auto opt = [](const sema::OptimizerSpec &o) {
    return rt::OptimizerSpec{o.kind, o.lr, o.beta1, o.beta2, o.eps};
  };
  s.optD = opt(p.plan.optD);
  s.optG = opt(p.plan.optG);
  s.batch = batch_;
  s.steps = p.plan.steps;
  s.dSteps = p.plan.dSteps;
  s.gSteps = p.supervised() ? 0 : p.plan.gSteps;
  s.sampleEvery = p.plan.sampleEvery;
  s.sampleRows = p.plan.sampleRows;
  s.sampleCols = p.plan.sampleCols;
  s.checkpointEvery = p.plan.checkpointEvery;
  s.logEvery = p.plan.logEvery;
  s.seed = p.plan.seed;
  s.ema = p.plan.ema;
  s.outDir = outDir;
  return s;
}

} // namespace ganc::driver
