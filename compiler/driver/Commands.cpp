//===- Commands.cpp - the ganc subcommands --------------------------------===//
//
//   ganc train  FILE.gan [--steps N] [--out DIR] [--seed S] [--threads T] [--batch B] [--profile]
//               [--profile-all] [--resume]
//   ganc sample FILE.gan --checkpoint PATH -n N --out SAMPLES.npy [--seed S] [--grid G.png]
//               [--z Z.npy] [--truncation T]
//   ganc export FILE.gan --checkpoint PATH --out G.safetensors
//   ganc eval   FILE.gan --checkpoint PATH [-n N] [--seed S] [--json OUT.json]
//   ganc check  FILE.gan
//   ganc emit   --stage=ast|sema|graph|grad|opt|kernels|llvm|asm FILE.gan
//
//===----------------------------------------------------------------------===//
#include "driver/Commands.h"

#include "Checkpoint.h"
#include "ClassScore.h"
#include "Data.h"
#include "Mixture.h"
#include "Profile.h"
#include "Random.h"
#include "Threads.h"
#include "Trainer.h"
#include "ast/Printer.h"
#include "driver/Session.h"
#include "frontend/Formatter.h"
#include "frontend/Parser.h"
#include "io/FileOut.h"
#include "io/IoError.h"
#include "io/Npy.h"
#include "io/Png.h"
#include "io/SafeTensors.h"
#include "ir/Evaluate.h"
#include "ir/OpInfo.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "opt/Simplify.h"
#include "sema/Printer.h"
#include "support/Error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace ganc::driver {
namespace {

const char *const kUsage =
    "usage: ganc <command> FILE.gan [options]\n"
    "\n"
    "commands:\n"
    "  train   FILE.gan [--steps N] [--out DIR] [--seed S] [--threads T] [--batch B] [--profile]\n"
    "          [--profile-all] [--resume]\n"
    "          train the model; prints losses, writes sample grids, metrics.csv, report.html\n"
    "          and a checkpoint\n"
    "          to DIR (default out/<model>); --resume continues from DIR's checkpoint exactly;\n"
    "          Ctrl-C finishes the step, saves and stops; --profile prints time per kernel\n"
    "          (the slowest 25; --profile-all: every kernel)\n"
    "  sample  FILE.gan --checkpoint PATH -n N --out SAMPLES.npy [--seed S] [--grid G.png]\n"
    "          [--z Z.npy] [--labels L.npy] [--truncation T]\n"
    "          write N generated samples as a float32 .npy array of shape [N, size], from\n"
    "          the given latent vectors or from noise drawn with the seed (truncated at T);\n"
    "          a conditional generator draws the classes in L.npy, else every class in turn\n"
    "  export  FILE.gan --checkpoint PATH --out G.safetensors\n"
    "          write the generator's parameters alone\n"
    "  eval    FILE.gan --checkpoint PATH [-n N] [--seed S] [--json OUT.json]\n"
    "          [--classifier CLS.gan [--classifier-checkpoint PATH]]\n"
    "          score a trained generator: on 2-D mixtures, modes covered, high-quality share,\n"
    "          KL; on images, with a classifier trained by ganc, classes covered, confident\n"
    "          share, KL, share of the class asked for, Frechet distance to real samples\n"
    "  check   FILE.gan\n"
    "          report errors and warnings in the model without training it\n"
    "  fmt     FILE.gan [--write | --check]\n"
    "          print the file in canonical layout (comments kept); --write rewrites it in\n"
    "          place, --check only reports (exit 1) when it is not canonical\n"
    "  opt     FILE.gir [--passes=canonicalize,simplify]\n"
    "          parse graph IR text (as emit prints it), run the passes, print the result\n"
    "  emit    --stage=ast|sema|graph|grad|opt|kernels|llvm|asm FILE.gan [--batch B]\n"
    "          print a stage of the compiler: the parsed file as a tree, what sema\n"
    "          concluded, the objectives as graph IR, the step programs with gradients and\n"
    "          updates, after simplification, the fused kernels and memory plan, or the\n"
    "          optimized LLVM IR / assembly of the JIT\n"
    "\n"
    "pass instrumentation (train, check, emit): --print-after=PASS --print-after-all\n"
    "  --verify-each --time-passes; passes: lower canonicalize autodiff simplify\n";

/// Parsed command line: positional arguments and `--key value` / `--key=value` options.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::string error;

  bool flag(const std::string &key) const { return options.count(key) > 0; }
  std::optional<std::string> get(const std::string &key) const {
    auto it = options.find(key);
    if (it == options.end())
      return std::nullopt;
    return it->second;
  }
};

/// Options that take no value.
bool isFlag(const std::string &key) {
  return key == "profile" || key == "profile-all" || key == "resume" || key == "print-after-all" ||
         key == "verify-each" || key == "time-passes" || key == "write" || key == "check";
}

/// A live progress line only makes sense on a terminal.
bool isTerminal(const std::ostream &os) { return &os == &std::cout && ::isatty(STDOUT_FILENO); }

Args parseArgs(const std::vector<std::string> &argv, const std::vector<std::string> &known) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string &s = argv[i];
    if (s.size() < 2 || s[0] != '-') {
      a.positional.push_back(s);
      continue;
    }
    std::string key = s.substr(s[1] == '-' ? 2 : 1), value;
    size_t eq = key.find('=');
    bool inlineValue = eq != std::string::npos;
    if (inlineValue) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      a.error = "unknown option '" + s + "'";
      return a;
    }
    if (!inlineValue && !isFlag(key)) {
      if (i + 1 >= argv.size()) {
        a.error = "option '" + s + "' needs a value";
        return a;
      }
      value = argv[++i];
    }
    a.options[key] = value;
  }
  return a;
}

/// The value of --key as a non-negative integer; nullopt when not given; -1 after
/// reporting a value that is not one (callers return kExitUsage then).
std::optional<int64_t> intOption(const Args &a, const std::string &key, std::ostream &err) {
  auto v = a.get(key);
  if (!v)
    return std::nullopt;
  try {
    size_t used = 0;
    long long n = std::stoll(*v, &used);
    if (used == v->size() && n >= 0)
      return n;
  } catch (const std::exception &) {
  }
  err << "ganc: error: --" << key << " needs a non-negative integer, got '" << *v << "'\n";
  return -1;
}

/// False after reporting a --batch past the limit the train block has too.
bool batchWithinLimit(int64_t batch, std::ostream &err) {
  if (batch <= sema::kMostBatch)
    return true;
  err << "ganc: error: --batch must be at most " << sema::kMostBatch
      << " (as in the train block)\n";
  return false;
}

/// Runs the pipeline up to the step programs codegen takes; prints diagnostics.
bool compileSteps(Session &s, const std::string &file, int64_t batch, std::ostream &err) {
  bool ok = s.analyze(file) && s.buildSteps(batch);
  s.diags().print(err);
  return ok;
}

/// --print-after=PASS, --print-after-all, --verify-each, --time-passes.
bool pipelineOptions(const Args &a, Session &s, std::ostream &err) {
  PipelineOptions o;
  o.printAfterAll = a.flag("print-after-all");
  o.verifyEach = a.flag("verify-each");
  o.timePasses = a.flag("time-passes");
  o.log = &err;
  if (auto p = a.get("print-after")) {
    const auto &names = Session::passNames();
    if (std::find(names.begin(), names.end(), *p) == names.end()) {
      err << "ganc: error: --print-after: no pass named '" << *p << "' (passes:";
      for (const std::string &n : names)
        err << " " << n;
      err << ")\n";
      return false;
    }
    o.printAfter.push_back(*p);
  }
  s.setPipelineOptions(o);
  return true;
}

/// This machine's memory in bytes (0 when unknown).
double physicalMemory() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<double>(pages) * static_cast<double>(size) : 0;
}

std::string gibibytes(double bytes) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << bytes / (1024.0 * 1024 * 1024) << " GiB";
  return os.str();
}

/// Refuses, before compiling, a model whose parameters and their optimizer state do not
/// fit in this machine's memory: the store keeps each twice while a step writes the new
/// values beside the old ones. The error points at the call that declares the largest
/// parameter.
bool fitsInMemory(Session &s, const rt::TrainSpec &spec) {
  auto floats = [](const ir::Shape &shape) {
    double n = 1;
    for (int64_t d : shape)
      n *= static_cast<double>(d);
    return n;
  };
  double total = 0;
  const rt::ParamSpec *largest = nullptr;
  for (const rt::ParamSpec &p : spec.params) {
    total += floats(p.shape);
    if (!largest || floats(p.shape) > floats(largest->shape))
      largest = &p;
  }
  for (const auto &[name, shape] : spec.state)
    total += floats(shape);
  const double need = 2 * 4 * total, have = physicalMemory();
  const lower::ParamInfo *info = largest ? s.model().params.find(largest->name) : nullptr;
  if (!info || have == 0 || need <= have)
    return true;
  s.diags().error(info->calledAt.begin,
                  "training needs " + gibibytes(need) +
                      " for the parameters and the optimizer's state (each kept "
                      "twice while a step updates it), more than this machine's " +
                      gibibytes(have) + "; the largest parameter, '" + largest->name + "' " +
                      ir::formatShape(largest->shape) + ", takes " +
                      gibibytes(4 * floats(largest->shape)),
                  info->calledAt.length);
  s.diags().note(info->loc, "'" + largest->name + "' is declared here",
                 static_cast<uint32_t>(largest->name.size() - largest->name.rfind('.') - 1));
  return false;
}

int reportUserError(Session &s, std::ostream &err) {
  s.diags().print(err);
  return kExitUserError;
}

//===----------------------------------------------------------------------===//

/// The file `path` added to `sm`, or 0 after printing why it cannot be read.
uint32_t addSource(SourceManager &sm, const std::string &path, std::ostream &err) {
  std::string problem;
  uint32_t file = sm.addFile(path, problem);
  if (!file)
    err << "ganc: error: " << problem << "\n";
  return file;
}

/// `ganc fmt`: the canonical layout of one file (frontend/Formatter.h). A file that does
/// not parse gets its syntax errors and is never rewritten.
int cmdFmt(const Args &a, std::ostream &out, std::ostream &err) {
  if (a.positional.size() != 1 || (a.flag("write") && a.flag("check"))) {
    err << "ganc: error: fmt takes one FILE.gan and at most one of --write and --check\n";
    return kExitUsage;
  }
  const std::string &path = a.positional[0];
  SourceManager sm;
  DiagnosticEngine diags(sm);
  uint32_t file = addSource(sm, path, err);
  if (!file)
    return kExitUserError;
  std::optional<std::string> text = frontend::formatModule(sm, file, diags);
  if (!text) {
    diags.print(err);
    return kExitUserError;
  }
  const bool same = *text == sm.text(file);
  if (a.flag("check")) {
    if (same)
      return kExitOk;
    err << path << ": not in canonical layout (ganc fmt --write " << path << " fixes it)\n";
    return kExitUserError;
  }
  if (!a.flag("write")) {
    out << *text;
    return kExitOk;
  }
  if (same)
    return kExitOk;
  // Through a temporary file, so an interrupted write never leaves half a model. A
  // symbolic link stays one: its target is what gets rewritten, and it keeps its
  // permissions.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::canonical(path, ec);
  if (ec) {
    err << "ganc: error: " << path << ": " << ec.message() << "\n";
    return kExitUserError;
  }
  const fs::perms mode = fs::status(target, ec).permissions();
  const std::string tmp = target.string() + ".ganc-fmt.tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << *text;
    if (!f.flush()) {
      std::remove(tmp.c_str());
      err << "ganc: error: " << tmp << ": cannot write\n";
      return kExitUserError;
    }
  }
  if (!ec)
    fs::permissions(tmp, mode, ec);
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    std::remove(tmp.c_str());
    err << "ganc: error: " << path << ": cannot replace it\n";
    return kExitUserError;
  }
  return kExitOk;
}

/// `ganc opt FILE.gir [--passes=canonicalize,simplify]`: graph IR text (as emit prints it)
/// parsed back, verified, run through the named passes in order, and printed: how a pass
/// is tested from a hand-written file.
int cmdOpt(const Args &a, std::ostream &out, std::ostream &err) {
  if (a.positional.size() != 1) {
    err << "ganc: error: opt takes one FILE.gir\n";
    return kExitUsage;
  }
  std::vector<std::string> passes;
  std::istringstream list(a.get("passes").value_or(""));
  for (std::string pass; std::getline(list, pass, ',');)
    if (!pass.empty()) {
      if (pass != "canonicalize" && pass != "simplify") {
        err << "ganc: error: unknown pass '" << pass << "' (opt runs canonicalize and simplify)\n";
        return kExitUsage;
      }
      passes.push_back(pass);
    }
  SourceManager sm;
  DiagnosticEngine diags(sm);
  uint32_t file = addSource(sm, a.positional[0], err);
  if (!file)
    return kExitUserError;
  ir::ParseError bad;
  std::vector<std::unique_ptr<ir::Graph>> graphs = ir::parseGraphs(sm.text(file), bad);
  if (graphs.empty()) {
    if (bad.offset == std::string::npos)
      diags.fileError(file, bad.message);
    else
      diags.error({file, static_cast<uint32_t>(bad.offset)}, bad.message);
    diags.print(err);
    return kExitUserError;
  }
  for (auto &g : graphs) {
    for (const std::string &pass : passes) {
      if (pass == "canonicalize")
        opt::canonicalize(*g);
      else
        opt::simplify(*g);
      if (std::string bad = ir::verifyGraph(*g); !bad.empty()) {
        err << a.positional[0] << ": error: graph " << g->name() << " after " << pass << ": " << bad << "\n";
        return kExitInternal;
      }
    }
    ir::printGraph(out, *g);
  }
  return kExitOk;
}

int cmdCheck(const Args &a, std::ostream &out, std::ostream &err) {
  if (a.positional.size() != 1) {
    err << "ganc: error: check takes one FILE.gan\n";
    return kExitUsage;
  }
  Session s;
  if (!pipelineOptions(a, s, err))
    return kExitUsage;
  bool ok = compileSteps(s, a.positional[0], 0, err);
  if (ok && s.pipelineOptions().timePasses)
    s.printTimes(err);
  if (!ok)
    return kExitUserError;
  out << a.positional[0] << ": ok (" << s.model().params.params.size() << " parameter tensors)\n";
  return kExitOk;
}

/// `emit --stage=kernels`: each step program as the kernels it runs, in order, with the
/// fused expression each computes (%N are graph nodes, as in --stage=grad) and the
/// .gan lines of the nodes fused into it, and the memory plan.
void printKernels(std::ostream &out, const std::vector<rt::StepFunction> &fns) {
  for (const rt::StepFunction &f : fns) {
    std::string name = f.name.substr(0, f.name.find_last_of('.'));
    out << "kernels " << name << " {\n";
    for (const rt::KernelInfo &k : f.kernels) {
      std::string kn = k.name.substr(0, k.name.find_last_of('.'));
      char head[160];
      std::snprintf(head, sizeof head, "  %-26s %-16s x%-7lld ", kn.c_str(), k.loc.c_str(),
                    static_cast<long long>(k.extent));
      out << head << k.body << (k.fused.empty() ? "" : "   # " + k.fused) << "\n";
    }
    out << "  temporaries " << f.tempBytes << " bytes, arena peak " << f.arenaBytes << " bytes\n}\n";
  }
}

int cmdEmit(const Args &a, std::ostream &out, std::ostream &err) {
  std::string stage = a.get("stage").value_or("");
  static const std::vector<std::string> stages = {"ast", "sema", "graph", "grad", "opt", "kernels", "llvm", "asm"};
  if (a.positional.size() != 1 || std::find(stages.begin(), stages.end(), stage) == stages.end()) {
    err << "ganc: error: emit needs --stage=ast|sema|graph|grad|opt|kernels|llvm|asm and one FILE.gan\n";
    return kExitUsage;
  }
  if (stage == "ast") {
    // The parse of this file alone, before imports and names are resolved.
    SourceManager sm;
    DiagnosticEngine diags(sm);
    uint32_t file = addSource(sm, a.positional[0], err);
    if (!file)
      return kExitUserError;
    auto m = frontend::parseModule(sm, file, diags);
    diags.print(err);
    if (!m)
      return kExitUserError;
    ast::printModule(out, *m, sm);
    return kExitOk;
  }
  Session s;
  int64_t batch = 0;
  if (auto b = intOption(a, "batch", err)) {
    if (*b < 0)
      return kExitUsage;
    if (*b == 0) {
      err << "ganc: error: --batch must be at least 1\n";
      return kExitUsage;
    }
    if (!batchWithinLimit(*b, err))
      return kExitUsage;
    batch = *b;
  }
  if (!pipelineOptions(a, s, err))
    return kExitUsage;
  auto printSteps = [&] {
    for (const ir::Graph *g : s.model().steps())
      ir::printGraph(out, *g, &s.sources());
    if (s.pipelineOptions().timePasses)
      s.printTimes(err);
    return kExitOk;
  };
  if (!s.analyze(a.positional[0]))
    return reportUserError(s, err);
  if (stage == "sema") {
    s.diags().print(err);
    sema::printProgram(out, s.program(), s.sources());
    return kExitOk;
  }
  if (!s.lower(batch))
    return reportUserError(s, err);
  s.canonicalize();
  if (stage == "graph") {
    s.diags().print(err);
    return printSteps();
  }
  if (!s.differentiate())
    return reportUserError(s, err);
  s.diags().print(err);
  if (stage == "grad")
    return printSteps();
  s.optimize();
  if (stage == "opt")
    return printSteps();
  if (!s.startJit())
    return reportUserError(s, err);
  codegen::JitOptions opts;
  opts.keepIr = stage == "llvm";
  opts.keepAsm = stage == "asm";
  const std::vector<ir::Graph *> stepGraphs = s.model().steps();
  std::vector<const ir::Graph *> steps(stepGraphs.begin(), stepGraphs.end());
  std::vector<rt::StepFunction> fns = s.compile(steps, opts);
  if (s.pipelineOptions().timePasses)
    s.printTimes(err);
  if (stage == "kernels") {
    printKernels(out, fns);
    return kExitOk;
  }
  out << "; host: " << s.jit().hostDescription() << "\n";
  out << (stage == "llvm" ? s.jit().optimizedIr() : s.jit().assembly());
  return kExitOk;
}

int cmdTrain(const Args &a, std::ostream &out, std::ostream &err) {
  if (a.positional.size() != 1) {
    err << "ganc: error: train takes one FILE.gan\n";
    return kExitUsage;
  }
  auto steps = intOption(a, "steps", err), threads = intOption(a, "threads", err),
       seed = intOption(a, "seed", err), batch = intOption(a, "batch", err);
  for (auto &o : {steps, threads, seed, batch})
    if (o && *o < 0)
      return kExitUsage;
  if ((steps && *steps == 0) || (batch && *batch == 0)) {
    err << "ganc: error: --steps and --batch must be at least 1\n";
    return kExitUsage;
  }
  if (batch && !batchWithinLimit(*batch, err))
    return kExitUsage;
  rt::ThreadLimit limit(threads ? static_cast<int>(*threads) : 0);
  const bool profileAll = a.flag("profile-all");
  bool profile = a.flag("profile") || profileAll, resume = a.flag("resume");

  Session s;
  if (!pipelineOptions(a, s, err))
    return kExitUsage;
  if (!compileSteps(s, a.positional[0], batch.value_or(0), err))
    return kExitUserError;
  const sema::Program &p = s.program();
  std::string outDir = a.get("out").value_or("out/" + p.modelName);
  rt::TrainSpec spec = s.trainSpec(outDir);
  if (steps)
    spec.steps = *steps;
  if (seed)
    spec.seed = static_cast<uint64_t>(*seed);
  if (!fitsInMemory(s, spec))
    return reportUserError(s, err);

  if (resume && !std::filesystem::exists(std::filesystem::path(outDir) / "checkpoint.safetensors")) {
    err << "ganc: error: nothing to resume: " << (std::filesystem::path(outDir) / "checkpoint.safetensors").string()
        << " does not exist\n";
    return kExitUserError;
  }
  // Data first: a missing file should not wait for the compiler.
  std::optional<rt::Dataset> data;
  try {
    data.emplace(rt::Dataset::load(spec.data));
  } catch (const rt::IoError &e) {
    // The setup's hint only where it helps: MNIST's files, which it fetches, missing.
    const bool missingMnist = spec.data.kind == "mnist" && !std::filesystem::exists(e.path());
    s.diags().error(p.data.front().loc,
                    "cannot load data '" + spec.data.name + "': " + e.what() +
                        (missingMnist ? " (scripts/setup.sh fetches MNIST into data/mnist)" : ""),
                    static_cast<uint32_t>(spec.data.name.size()));
    return reportUserError(s, err);
  }

  // A GAN's sample grids: image data in a rows x cols grid, 2-D mixtures as a scatter
  // plot of 1024 points. A classifier's evaluation on the held-out samples, all at once.
  const std::vector<ir::Graph *> stepGraphs = s.model().steps();
  std::vector<const ir::Graph *> graphs(stepGraphs.begin(), stepGraphs.end());
  std::unique_ptr<ir::Graph> grid, classify;
  if (!p.supervised()) {
    const bool mixture = spec.data.kind == "ring" || spec.data.kind == "grid";
    const int64_t gridCount = mixture ? 1024 : spec.sampleRows * spec.sampleCols;
    if (!(grid = s.sampler(gridCount, "@grid")))
      return reportUserError(s, err);
    graphs.push_back(grid.get());
  } else if (data->heldOutSize() > 0) {
    const sema::DataSpec &d = p.data.front();
    if (d.classes == 0) {
      s.diags().error(d.loc, "hold_out keeps samples to measure the classifier's accuracy on, which needs their "
                             "labels: declare them with labels(" + d.name + ", classes = N)",
                      static_cast<uint32_t>(d.name.size()));
      return reportUserError(s, err);
    }
    if (!(classify = s.classifier(data->heldOutSize(), d.name + "@eval")))
      return reportUserError(s, err);
    const ir::Shape want{data->heldOutSize(), d.classes};
    if (classify->outputs().front().second->shape != want) {
      const ast::FuncDecl &C = *p.classifier;
      s.diags().error(C.nameRange.begin, "'" + C.name + "' is scored by its highest output, so it needs one output per class, [" +
                                             std::to_string(d.classes) + "], for the " + std::to_string(d.classes) +
                                             " classes of '" + d.labelsName + "'",
                      C.nameRange.length);
      return reportUserError(s, err);
    }
    graphs.push_back(classify.get());
  }
  if (!s.startJit())
    return reportUserError(s, err);
  std::vector<rt::StepFunction> fns = s.compile(graphs);
  if (s.pipelineOptions().timePasses)
    s.printTimes(err);

  std::error_code ec;
  std::filesystem::create_directories(outDir, ec);
  if (ec) {
    err << "ganc: error: cannot create output folder '" << outDir << "': " << ec.message() << "\n";
    return kExitUserError;
  }
  out << "ganc: training " << p.modelName << " (" << spec.params.size() << " parameter tensors) on "
      << data->size() << " samples, batch " << spec.batch << ", " << rt::activeThreads()
      << " threads, " << s.jit().hostDescription() << "\n";
  spec.interactive = isTerminal(out);
  rt::installStopHandlers();
  try {
    const rt::StepFunction *gStep = p.supervised() ? nullptr : &fns[1];
    rt::Trainer trainer(spec, fns[0], gStep, grid ? &fns[2] : nullptr, *data, classify ? &fns[1] : nullptr);
    if (resume) {
      trainer.restore(trainer.checkpointPath());
      out << "ganc: resuming from step " << trainer.step() << " of " << trainer.checkpointPath() << "\n";
    } else {
      trainer.initialize();
    }
    if (profile)
      rt::startProfile(fns);
    bool stopped = false;
    try {
      stopped = trainer.run(spec.steps, out);
    } catch (const rt::DivergenceError &d) {
      const sema::Objective &o = p.generator && d.player == p.generator->name ? p.gObjective : p.dObjective;
      // Only a checkpoint of this run (resumed from, or written before the failed step):
      // the folder may hold another run's.
      const bool ours = resume || (spec.checkpointEvery > 0 && d.step - 1 >= spec.checkpointEvery);
      std::string kept = ours && std::filesystem::exists(trainer.checkpointPath())
                             ? "; the last checkpoint, " + trainer.checkpointPath() + ", is kept"
                             : "";
      s.diags().error(o.stmt->expr->loc(),
                      "training diverged at step " + std::to_string(d.step) + ": the " +
                          (d.inLoss ? "loss" : "gradient") + " of '" + d.player + "' became " +
                          std::to_string(d.value) +
                          (d.term.empty() ? "" : " (first in the term " + d.term.substr(d.term.find(": ") + 2) + ")") +
                          " and the step was not applied" + kept,
                      o.stmt->expr->range().length);
      // Replay the failed step (its inputs are still in the store: nothing was committed)
      // node by node in the reference evaluator, to point at the first non-finite value.
      const ir::Graph &step = d.player == spec.dPlayer ? *s.model().dStep : *s.model().gStep;
      ir::LeafValues leaves;
      bool complete = true;
      for (const ir::Node *n : step.live())
        if (n->is(ir::OpKind::Input) || n->is(ir::OpKind::Param)) {
          const rt::Tensor *t = trainer.store().find(n->attrs.name);
          complete &= t && t->numel() == n->numel();
          if (complete)
            leaves[n->attrs.name].assign(t->data(), t->data() + t->numel());
        }
      // The reference evaluator is slow on large convolutions: a bounded search.
      bool timedOut = false;
      const ir::Node *bad = complete ? ir::firstNonFinite(step, leaves, 30.0, timedOut) : nullptr;
      if (bad && bad->loc.valid())
        s.diags().note(bad->loc, "the first value that is not a finite number is computed here, by '" +
                                     std::string(ir::opInfo(bad->op).mnemonic) + "' (of shape " +
                                     ir::formatType(bad->shape) + ")");
      else if (timedOut)
        s.diags().note(o.stmt->expr->loc(), "replaying the step to find its first non-finite value took over 30 s; "
                                            "not located");
      return reportUserError(s, err);
    }
    if (profile)
      rt::stopProfile(out, profileAll ? -1 : 25);
    trainer.finish(out);
    if (stopped) {
      out << "ganc: stopped; continue with: ganc train " << a.positional[0];
      for (const auto &[key, value] : a.options)
        if (key != "resume" && key != "out")
          out << " --" << key << (isFlag(key) ? "" : " " + value);
      out << " --out " << outDir << " --resume\n";
    }
  } catch (const rt::IoError &e) {
    err << "ganc: error: " << e.what() << "\n";
    return kExitUserError;
  }
  return kExitOk;
}

/// Generated samples of a trained model: the generator alone, compiled for `n` noise
/// vectors drawn from `seed` (the checkpoint's seed when not given).
struct Generated {
  std::vector<float> samples;
  int64_t perSample = 0;
  rt::TrainSpec spec;
};

/// How to draw the generator's noise: from the seed, optionally truncated (resampling
/// values beyond +-truncation, BigGAN's truncation trick), or given in a .npy file.
struct NoiseChoice {
  std::optional<int64_t> seed;
  std::optional<double> truncation;
  std::optional<std::string> zFile;
  std::optional<std::string> labelsFile; ///< classes for a conditional generator
};

/// The generator's latent input: given in a .npy file, or drawn from the seed, optionally
/// truncated.
void fillLatent(rt::Tensor &zt, const rt::NoiseSpec &z, const NoiseChoice &noise, uint64_t sd) {
  if (noise.zFile) {
    rt::NpyArray given = rt::readNpyF32(*noise.zFile);
    if (given.shape != zt.shape)
      throw rt::IoError(*noise.zFile, "holds an array of shape " + ir::formatShape(given.shape) +
                                          " but the generator takes " + ir::formatShape(zt.shape) + " for -n " +
                                          std::to_string(zt.shape[0]));
    std::copy(given.data.begin(), given.data.end(), zt.data());
    return;
  }
  rt::drawNoise(z, zt.data(), zt.numel(), sd, rt::streamId("sample"));
  // Values farther than T from the centre (T standard deviations for normal noise, T
  // half-widths for uniform noise) are redrawn.
  if (noise.truncation && !rt::redrawBeyond(z, zt.data(), zt.numel(), sd,
                                            rt::streamId("sample.truncation"), *noise.truncation)) {
    // About the option, not about a file: named by the noise it truncates.
    char t[32];
    std::snprintf(t, sizeof t, "%g", *noise.truncation);
    throw rt::IoError("noise '" + z.name + "'",
                      std::string("--truncation ") + t +
                          " keeps too little of its distribution to draw from");
  }
}

/// The classes a conditional generator draws for -n samples: given in a .npy file (class
/// indices [n], or one-hot rows [n, classes]), else every class in turn.
void fillLabels(rt::Tensor &t, const rt::NoiseSpec &c, const std::optional<std::string> &file) {
  const int64_t n = t.shape[0], classes = t.shape[1];
  if (!file) {
    rt::drawGridNoise(c, t.data(), t.numel(), 0, 0);
    return;
  }
  rt::NpyArray given = rt::readNpyF32(*file);
  std::fill(t.data(), t.data() + t.numel(), 0.f);
  if (given.shape == rt::Shape{n, classes}) {
    std::copy(given.data.begin(), given.data.end(), t.data());
    return;
  }
  if (given.shape != rt::Shape{n})
    throw rt::IoError(*file, "holds an array of shape " + ir::formatShape(given.shape) + "; '" + c.name +
                                 "' takes " + std::to_string(n) + " class numbers (shape [" + std::to_string(n) +
                                 "]) or one-hot rows (shape [" + std::to_string(n) + ", " + std::to_string(classes) + "])");
  for (int64_t i = 0; i < n; ++i) {
    float v = given.data[static_cast<size_t>(i)];
    if (!(v >= 0 && v < static_cast<float>(classes)) || v != std::floor(v))
      throw rt::IoError(*file, "entry " + std::to_string(i) + " is " + std::to_string(v) + ", not a class from 0 to " +
                                   std::to_string(classes - 1));
    t.data()[i * classes + static_cast<int64_t>(v)] = 1.f;
  }
}

/// The state sampling reads besides the parameters: batch-norm statistics, power-iteration
/// vectors (state of no optimizer, so without '@'), and the generator's moving averages.
std::vector<std::pair<std::string, rt::Shape>> samplingState(const rt::TrainSpec &spec) {
  const std::string avg = std::string("@") + lower::names::kEmaSlot;
  std::vector<std::pair<std::string, rt::Shape>> out;
  for (const auto &st : spec.state) {
    const std::string &n = st.first;
    size_t at = n.find('@');
    if (at == std::string::npos || n.compare(at, std::string::npos, avg) == 0)
      out.push_back(st);
  }
  return out;
}

std::optional<Generated> generate(Session &s, const std::string &file, const std::string &ckpt,
                                  int64_t n, const NoiseChoice &noise, std::ostream &err) {
  if (!s.analyze(file) || !s.lower()) {
    reportUserError(s, err);
    return std::nullopt;
  }
  const sema::Program &p = s.program();
  if (p.supervised()) {
    err << "ganc: error: " << file << " trains a classifier, which has no generator to sample\n";
    return std::nullopt;
  }
  auto g = s.sampler(n, "");
  if (!g || !s.startJit()) {
    reportUserError(s, err);
    return std::nullopt;
  }
  std::vector<rt::StepFunction> fns = s.compile({g.get()});
  Generated out;
  out.spec = s.trainSpec("");
  rt::Store store;
  rt::CheckpointInfo info = rt::loadCheckpoint(ckpt, out.spec.params, samplingState(out.spec), store);
  if (info.modelName != p.modelName)
    err << "ganc: warning: " << ckpt << " was trained from model '" << info.modelName << "', used with '"
        << p.modelName << "'\n";
  const uint64_t sd = noise.seed ? static_cast<uint64_t>(*noise.seed) : info.seed;
  bool labelsUsed = false;
  for (const std::string &name : p.generatorNoise) {
    const rt::NoiseSpec &c = *std::find_if(out.spec.noise.begin(), out.spec.noise.end(),
                                           [&](const rt::NoiseSpec &x) { return x.name == name; });
    rt::Shape shape{n};
    shape.insert(shape.end(), c.shape.begin(), c.shape.end());
    rt::Tensor &t = store.get(name, shape);
    if (c.dist == "categorical") {
      fillLabels(t, c, noise.labelsFile);
      labelsUsed = true;
    } else if (name == p.noise.front().name) {
      fillLatent(t, c, noise, sd);
    } else {
      rt::drawNoise(c, t.data(), t.numel(), sd, rt::streamId("sample:" + name));
    }
  }
  if (noise.labelsFile && !labelsUsed)
    throw rt::IoError(*noise.labelsFile, "gives class labels, but the generator of " + p.modelName +
                                             " takes none (no categorical noise)");
  rt::Executable exe(fns[0], store);
  exe.run();
  out.perSample = rt::numElements(out.spec.data.shape);
  const float *samples = exe.output("sample");
  out.samples.assign(samples, samples + n * out.perSample);
  return out;
}

int cmdSample(const Args &a, std::ostream &out, std::ostream &err) {
  auto n = intOption(a, "n", err), seed = intOption(a, "seed", err);
  if ((n && *n < 0) || (seed && *seed < 0)) // reported by intOption
    return kExitUsage;
  auto ckpt = a.get("checkpoint"), outPath = a.get("out");
  NoiseChoice noise{seed, std::nullopt, a.get("z"), a.get("labels")};
  if (auto t = a.get("truncation")) {
    char *end = nullptr;
    double v = std::strtod(t->c_str(), &end);
    if (end == t->c_str() || *end || !(v > 0)) {
      err << "ganc: error: --truncation needs a positive number, got '" << *t << "'\n";
      return kExitUsage;
    }
    noise.truncation = v;
  }
  if (noise.zFile && !n) {
    // -n defaults to the number of latent vectors given.
    try {
      n = rt::readNpyF32(*noise.zFile).shape.at(0);
    } catch (const std::exception &e) {
      err << "ganc: error: " << e.what() << "\n";
      return kExitUserError;
    }
  }
  if (a.positional.size() != 1 || !n || *n < 1 || !ckpt || !outPath) {
    err << "ganc: error: sample needs FILE.gan, --checkpoint PATH, -n N (at least 1) and --out SAMPLES.npy\n";
    return kExitUsage;
  }
  Session s;
  try {
    std::optional<Generated> gen = generate(s, a.positional[0], *ckpt, *n, noise, err);
    if (!gen)
      return kExitUserError;
    const float *samples = gen->samples.data();
    int64_t per = gen->perSample;
    rt::writeNpyF32(*outPath, samples, {*n, per});
    out << "wrote " << *n << " samples to " << *outPath << "\n";
    if (auto gridPath = a.get("grid"); gridPath && (gen->spec.data.kind == "ring" || gen->spec.data.kind == "grid")) {
      rt::writeScatterPng(*gridPath, rt::Mixture::fromSpec(gen->spec.data), samples,
                          *n * rt::Mixture::pointsPerSample(gen->spec.data.shape));
      out << "wrote " << *gridPath << "\n";
    } else if (gridPath) {
      int64_t side = 1;
      while ((side + 1) * (side + 1) <= *n && side < 32)
        ++side;
      int64_t h = 1;
      while ((h + 1) * (h + 1) <= per)
        ++h;
      int64_t w = h * h == per ? h : per;
      if (h * h != per)
        h = 1;
      rt::writeGrayGridPng(*gridPath, samples, std::min<int64_t>(*n, side * side), h, w, side, side,
                           static_cast<float>(gen->spec.data.lo), static_cast<float>(gen->spec.data.hi));
      out << "wrote " << *gridPath << "\n";
    }
  } catch (const rt::IoError &e) {
    err << "ganc: error: " << e.what() << "\n";
    return kExitUserError;
  }
  return kExitOk;
}

/// `ganc export`: the generator's parameters alone, for use elsewhere (safetensors, named
/// by their path in the model).
int cmdExport(const Args &a, std::ostream &out, std::ostream &err) {
  auto ckpt = a.get("checkpoint"), outPath = a.get("out");
  if (a.positional.size() != 1 || !ckpt || !outPath) {
    err << "ganc: error: export needs FILE.gan, --checkpoint PATH and --out G.safetensors\n";
    return kExitUsage;
  }
  Session s;
  if (!s.analyze(a.positional[0]) || !s.lower())
    return reportUserError(s, err);
  if (s.program().supervised()) {
    err << "ganc: error: " << a.positional[0] << " trains a classifier; export writes a generator "
        << "(the classifier's checkpoint is already a safetensors file of its parameters)\n";
    return kExitUserError;
  }
  try {
    rt::TrainSpec spec = s.trainSpec("");
    rt::Store store;
    // The generator's parameters (its moving averages, which sampling uses, when the plan
    // keeps them) and the state sampling reads.
    std::vector<std::pair<std::string, rt::Shape>> running;
    for (const auto &st : samplingState(spec))
      if (st.first.rfind(spec.gPlayer + ".", 0) == 0)
        running.push_back(st);
    rt::CheckpointInfo info = rt::loadCheckpoint(*ckpt, spec.params, running, store);
    auto isAverage = [](const std::string &n) { return n.find('@') != std::string::npos; };
    std::vector<rt::NamedTensor> tensors;
    auto add = [&](const std::string &name, const std::string &from) {
      const rt::Tensor &t = store.all().at(from);
      tensors.push_back({name, t.shape, std::vector<float>(t.data(), t.data() + t.numel())});
    };
    for (const rt::ParamSpec &p : spec.params)
      if (p.owner == spec.gPlayer)
        add(p.name, spec.ema > 0 ? lower::names::state(p.name, lower::names::kEmaSlot) : p.name);
    for (const auto &st : running)
      if (!isAverage(st.first))
        add(st.first, st.first);
    rt::writeSafeTensors(*outPath, tensors,
                         {{"format", "ganc-generator-1"}, {"model", info.modelName}, {"player", spec.gPlayer},
                          {"step", std::to_string(info.step)}, {"model_hash", info.modelHash},
                          {"weights", spec.ema > 0 ? "moving average" : "trained"}});
    out << "wrote " << tensors.size() << " tensors of '" << spec.gPlayer << "' to " << *outPath << "\n";
  } catch (const rt::IoError &e) {
    err << "ganc: error: " << e.what() << "\n";
    return kExitUserError;
  }
  return kExitOk;
}

std::string jsonEscape(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else
      out += static_cast<char>(c);
  }
  return out;
}

/// `ganc eval` of an image model: a classifier trained by ganc (a supervised model,
/// --classifier CLS.gan, its checkpoint from --classifier-checkpoint or where `ganc train`
/// puts it) judges n generated samples against its held-out real ones (rt::ClassScore).
int evalImages(const Args &a, const sema::Program &gan, const std::string &ckpt, int64_t n,
               std::optional<int64_t> seed, std::ostream &out, std::ostream &err) {
  const std::string &file = a.positional[0];
  auto clsFile = a.get("classifier");
  Session cs;
  if (!clsFile) {
    const sema::DataSpec &d = gan.data.front();
    err << "ganc: error: " << file << ": '" << d.name << "' is image data: ganc eval scores it with a classifier "
        << "trained by ganc, --classifier CLS.gan (train examples/mnist_classifier.gan first)\n";
    return kExitUsage;
  }
  if (!cs.analyze(*clsFile) || !cs.lower())
    return reportUserError(cs, err);
  const sema::Program &cp = cs.program();
  if (!cp.supervised()) {
    err << "ganc: error: " << *clsFile << " trains a GAN, not a classifier (a `classifier` player)\n";
    return kExitUserError;
  }
  const std::string clsCkpt = a.get("classifier-checkpoint").value_or("out/" + cp.modelName + "/checkpoint.safetensors");
  Session gen;
  std::optional<Generated> g = generate(gen, file, ckpt, n, NoiseChoice{seed, {}, {}, {}}, err);
  if (!g)
    return kExitUserError;
  const sema::DataSpec &cd = cp.data.front();
  const rt::TrainSpec cspec = cs.trainSpec("");
  if (rt::numElements(cd.shape) != g->perSample) {
    err << "ganc: error: " << *clsFile << " classifies samples of " << rt::numElements(cd.shape) << " values, but "
        << file << " generates " << g->perSample << "\n";
    return kExitUserError;
  }
  // Real images: the classifier's held-out samples (never seen in its training).
  rt::Dataset real = rt::Dataset::load(cspec.data);
  const int64_t nReal = std::min<int64_t>(n, real.heldOutSize());
  auto fake = cs.classifier(n, cd.name + "@generated");
  std::unique_ptr<ir::Graph> realGraph = nReal > 1 ? cs.classifier(nReal, cd.name + "@real") : nullptr;
  if (!fake || (nReal > 1 && !realGraph) || !cs.startJit())
    return reportUserError(cs, err);
  // One score per class of the classifier's labels, as its held-out accuracy needs.
  const int64_t classes = cd.classes;
  if (classes == 0 || fake->outputs().front().second->shape != ir::Shape{n, classes}) {
    err << "ganc: error: " << *clsFile << ": '" << cp.classifier->name << "' must give one score per class of "
        << (classes ? "its " + std::to_string(classes) + " labelled classes" : std::string("its labels (it has none)"))
        << " to judge samples\n";
    return kExitUserError;
  }
  std::vector<const ir::Graph *> graphs{fake.get()};
  if (realGraph)
    graphs.push_back(realGraph.get());
  std::vector<rt::StepFunction> fns = cs.compile(graphs);
  rt::Store store;
  rt::CheckpointInfo info = rt::loadCheckpoint(clsCkpt, cspec.params, samplingState(cspec), store);
  if (info.modelHash != cspec.modelHash)
    throw rt::IoError(clsCkpt, "was written by another version of " + cp.modelName + " (hash " + info.modelHash +
                                   ", the model now has " + cspec.modelHash + "); train the classifier again");
  // The classifier's logits and features (the activations its last dense layer reads,
  // when it ends in one) for `count` samples.
  const auto featuresNode = std::find_if(fake->outputs().begin(), fake->outputs().end(),
                                         [](const auto &o) { return o.first == lower::names::kFeatures; });
  const int64_t dims = featuresNode == fake->outputs().end() ? 0 : featuresNode->second->shape[1];
  auto judge = [&](const rt::StepFunction &fn, const std::string &input, int64_t count, std::vector<float> &features,
                   auto fill) {
    rt::Shape shape{count};
    shape.insert(shape.end(), cd.shape.begin(), cd.shape.end());
    fill(store.get(input, shape).data());
    rt::Executable exe(fn, store);
    exe.run();
    if (dims) {
      const float *f = exe.output(lower::names::kFeatures);
      features.assign(f, f + count * dims);
    }
    const float *o = exe.output(lower::names::kOutput);
    return std::vector<float>(o, o + count * classes);
  };
  // The generator's samples, mapped from its data's scale to the classifier's.
  const double gl = g->spec.data.lo, gh = g->spec.data.hi, cl = cd.lo, ch = cd.hi;
  std::vector<float> fakeFeatures, realFeatures;
  std::vector<float> fakeLogits = judge(fns[0], cd.name + "@generated", n, fakeFeatures, [&](float *x) {
    for (size_t i = 0; i < g->samples.size(); ++i)
      x[i] = static_cast<float>(cl + (g->samples[i] - gl) * (ch - cl) / (gh - gl));
  });
  std::vector<float> realLogits;
  if (realGraph)
    realLogits = judge(fns[1], cd.name + "@real", nReal, realFeatures, [&](float *x) {
      for (int64_t i = 0; i < nReal; ++i)
        std::copy(real.heldOutRow(i), real.heldOutRow(i) + real.rowSize(), x + i * real.rowSize());
    });
  const double featureDistance = dims && realGraph ? rt::frechetDistance(fakeFeatures.data(), n, realFeatures.data(),
                                                                         nReal, dims)
                                                   : -1;
  // A conditional generator was asked for every class in turn (sample i: class i mod c).
  std::vector<int32_t> requested;
  for (const rt::NoiseSpec &z : g->spec.noise)
    if (z.dist == "categorical" && std::find(g->spec.generatorNoise.begin(), g->spec.generatorNoise.end(), z.name) !=
                                       g->spec.generatorNoise.end() && static_cast<int64_t>(z.a) == classes)
      for (int64_t i = 0; i < n; ++i)
        requested.push_back(static_cast<int32_t>(i % classes));
  rt::ClassScore sc = rt::scoreClasses(fakeLogits.data(), n, classes, requested.empty() ? nullptr : requested.data(),
                                       realLogits.empty() ? nullptr : realLogits.data(), nReal);
  char line[320];
  std::snprintf(line, sizeof line,
                "%s: %lld samples judged by %s; classes covered %lld/%lld; confident %.1f%%; KL(classes || uniform) %.4f\n",
                file.c_str(), static_cast<long long>(n), cp.modelName.c_str(), static_cast<long long>(sc.covered),
                static_cast<long long>(classes), 100 * sc.confident, sc.klToUniform);
  out << line;
  if (sc.asRequested >= 0) {
    std::snprintf(line, sizeof line, "judged as the class asked for: %.1f%% (sample i asks for class i mod %lld)\n",
                  100 * sc.asRequested, static_cast<long long>(classes));
    out << line;
  }
  if (featureDistance >= 0) {
    std::snprintf(line, sizeof line,
                  "Frechet distance of the classifier's features (the %lld activations its last dense layer reads) to "
                  "%lld held-out real samples: %.3f\n",
                  static_cast<long long>(dims), static_cast<long long>(nReal), featureDistance);
    out << line;
  }
  if (sc.frechet >= 0) {
    std::snprintf(line, sizeof line, "Frechet distance of the classifier's logits to %lld held-out real samples: %.3f\n",
                  static_cast<long long>(nReal), sc.frechet);
    out << line;
  }
  out << "class histogram:";
  for (size_t k = 0; k < sc.histogram.size(); ++k)
    out << (k ? ", " : " ") << sc.histogram[k];
  const std::string protocol =
      "each sample's class is the classifier's highest score; a class is covered with at least 2% of the samples; "
      "confident: top softmax probability above 0.9; KL of the class histogram from uniform (nats); Frechet "
      "distance (FID's formula) between the generated and real held-out samples' classifier features (the "
      "activations its last dense layer reads), and between their logits";
  out << "\nprotocol: " << protocol << "\n";
  if (auto json = a.get("json")) {
    std::ostringstream js; // written whole (rt::writeTextFile) once complete
    js << "{\n  \"model\": \"" << jsonEscape(gan.modelName) << "\",\n  \"checkpoint\": \"" << jsonEscape(ckpt)
       << "\",\n  \"classifier\": \"" << jsonEscape(cp.modelName) << "\",\n  \"classifier_checkpoint\": \""
       << jsonEscape(clsCkpt) << "\",\n  \"protocol\": \"" << jsonEscape(protocol) << "\",\n  \"samples\": " << n
       << ",\n  \"classes\": " << classes << ",\n  \"classes_covered\": " << sc.covered
       << ",\n  \"confident_fraction\": " << sc.confident << ",\n  \"kl_to_uniform\": " << sc.klToUniform;
    if (sc.asRequested >= 0)
      js << ",\n  \"as_requested_fraction\": " << sc.asRequested;
    if (sc.frechet >= 0)
      js << ",\n  \"real_samples\": " << nReal;
    if (featureDistance >= 0)
      js << ",\n  \"feature_dimensions\": " << dims << ",\n  \"frechet_distance\": " << featureDistance;
    if (sc.frechet >= 0)
      js << ",\n  \"frechet_distance_logits\": " << sc.frechet;
    js << ",\n  \"histogram\": [";
    for (size_t k = 0; k < sc.histogram.size(); ++k)
      js << (k ? ", " : "") << sc.histogram[k];
    js << "]\n}\n";
    rt::writeTextFile(*json, js.str());
    out << "wrote " << *json << "\n";
  }
  return kExitOk;
}

int cmdEval(const Args &a, std::ostream &out, std::ostream &err) {
  auto n = intOption(a, "n", err), seed = intOption(a, "seed", err);
  if ((n && *n < 0) || (seed && *seed < 0)) // reported by intOption
    return kExitUsage;
  auto ckpt = a.get("checkpoint");
  if (a.positional.size() != 1 || !ckpt || (n && *n < 1)) {
    err << "ganc: error: eval needs FILE.gan and --checkpoint PATH (and -n N of at least 1)\n";
    return kExitUsage;
  }
  Session s;
  try {
    if (!s.analyze(a.positional[0]))
      return reportUserError(s, err);
    const sema::DataSpec &d = s.program().data.front();
    if (s.program().supervised()) {
      err << "ganc: error: " << a.positional[0] << " trains a classifier; ganc eval scores generators "
          << "(ganc train reports a classifier's held-out accuracy)\n";
      return kExitUserError;
    }
    if (d.kind != "ring" && d.kind != "grid")
      return evalImages(a, s.program(), *ckpt, n.value_or(1000), seed, out, err);
    // N points (2,500 by the protocol): a packed generator gives several per sample.
    const int64_t points = n.value_or(2500), pack = rt::Mixture::pointsPerSample(d.shape);
    Session gen;
    std::optional<Generated> g = generate(gen, a.positional[0], *ckpt, (points + pack - 1) / pack,
                                          NoiseChoice{seed, {}, {}, {}}, err);
    if (!g)
      return kExitUserError;
    rt::Mixture m = rt::Mixture::fromSpec(g->spec.data);
    rt::MixtureScore sc = rt::scoreMixture(m, g->samples.data(), static_cast<int64_t>(g->samples.size() / 2));
    // The KL is over the high-quality samples: with none, there is no histogram (0, the
    // best score, would say the opposite of what happened).
    char kl[64] = "n/a (no high-quality samples)";
    if (sc.highQuality > 0)
      std::snprintf(kl, sizeof kl, "%.4f", sc.klToUniform);
    char line[320];
    std::snprintf(
        line, sizeof line,
        "%s: %lld samples; modes covered %lld/%lld; high quality %.1f%%; KL(modes || uniform) %s\n",
        a.positional[0].c_str(), static_cast<long long>(sc.samples),
        static_cast<long long>(sc.covered), static_cast<long long>(sc.modes),
        100.0 * static_cast<double>(sc.highQuality) / static_cast<double>(sc.samples), kl);
    out << line;
    out << "protocol: each sample goes to its nearest mode; high quality within 3 std (" << m.std
        << ") of it; a mode is covered with at least one high-quality sample (PacGAN, Lin et al. 2018)\n";
    if (auto json = a.get("json")) {
      std::ostringstream js; // written whole (rt::writeTextFile) once complete
      js << "{\n  \"model\": \"" << jsonEscape(s.program().modelName) << "\",\n  \"checkpoint\": \""
         << jsonEscape(*ckpt)
         << "\",\n  \"protocol\": \"nearest mode; high quality within 3 std; covered with >= 1 "
            "high-quality "
            "sample (PacGAN)\",\n  \"samples\": "
         << sc.samples << ",\n  \"modes\": " << sc.modes << ",\n  \"modes_covered\": " << sc.covered
         << ",\n  \"high_quality_fraction\": "
         << static_cast<double>(sc.highQuality) / static_cast<double>(sc.samples)
         << ",\n  \"kl_to_uniform\": ";
      if (sc.highQuality > 0)
        js << sc.klToUniform;
      else
        js << "null";
      js << ",\n  \"per_mode\": [";
      for (size_t k = 0; k < sc.perMode.size(); ++k)
        js << (k ? ", " : "") << sc.perMode[k];
      js << "]\n}\n";
      rt::writeTextFile(*json, js.str());
      out << "wrote " << *json << "\n";
    }
  } catch (const rt::IoError &e) {
    err << "ganc: error: " << e.what() << "\n";
    return kExitUserError;
  }
  return kExitOk;
}

} // namespace

int runCommand(const std::vector<std::string> &argv, std::ostream &out, std::ostream &err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h" || argv[0] == "help") {
    (argv.empty() ? err : out) << kUsage;
    return argv.empty() ? kExitUsage : kExitOk;
  }
  if (argv[0] == "--version") {
    out << "ganc " << GANC_VERSION << "\n";
    return kExitOk;
  }
  const std::string cmd = argv[0];
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  static const std::map<std::string, std::vector<std::string>> known = {
      {"train",
       {"steps", "out", "seed", "threads", "batch", "profile", "profile-all", "resume",
        "print-after", "print-after-all", "verify-each", "time-passes"}},
      {"sample", {"checkpoint", "n", "out", "seed", "grid", "z", "labels", "truncation"}},
      {"export", {"checkpoint", "out"}},
      {"eval", {"checkpoint", "n", "seed", "json", "classifier", "classifier-checkpoint"}},
      {"check", {"print-after", "print-after-all", "verify-each", "time-passes"}},
      {"fmt", {"write", "check"}},
      {"opt", {"passes"}},
      {"emit", {"stage", "batch", "print-after", "print-after-all", "verify-each", "time-passes"}}};
  auto it = known.find(cmd);
  if (it == known.end()) {
    err << "ganc: error: unknown command '" << cmd << "'\n" << kUsage;
    return kExitUsage;
  }
  Args a = parseArgs(rest, it->second);
  if (!a.error.empty()) {
    err << "ganc: error: " << a.error << "\n";
    return kExitUsage;
  }
  if (cmd == "train")
    return cmdTrain(a, out, err);
  if (cmd == "sample")
    return cmdSample(a, out, err);
  if (cmd == "check")
    return cmdCheck(a, out, err);
  if (cmd == "fmt")
    return cmdFmt(a, out, err);
  if (cmd == "opt")
    return cmdOpt(a, out, err);
  if (cmd == "eval")
    return cmdEval(a, out, err);
  if (cmd == "export")
    return cmdExport(a, out, err);
  return cmdEmit(a, out, err);
}

} // namespace ganc::driver
