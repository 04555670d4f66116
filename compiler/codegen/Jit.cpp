//===- Jit.cpp - graph IR to native code for the host CPU -----------------===//
#include "codegen/Jit.h"

#include "codegen/Emitter.h"
#include "ganc_rt.h"
#include "support/Error.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/IPO/MergeFunctions.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <llvm/Config/llvm-config.h>
#include <llvm/Support/MemoryBuffer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

namespace ganc::codegen {

using rt::KernelInfo;

struct Jit::Impl {
  std::optional<llvm::orc::JITTargetMachineBuilder> jtmb; ///< for one machine per compile thread
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unique_ptr<llvm::TargetMachine> tm;
  std::string ir, assembly;
  int modules = 0;
  int cacheHits = 0;
};

int Jit::cacheHits() const { return impl_->cacheHits; }

std::string Jit::defaultCacheDir() {
  if (const char *d = std::getenv("GANC_CACHE_DIR"))
    return d; // empty: no cache
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/ganc";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/ganc";
  return "";
}

namespace {

/// With GANC_PERF_MAP set (to anything but empty or 0), every function the JIT links is
/// listed in /tmp/perf-<pid>.map, the file `perf report` reads to name samples in code it
/// found no file for: the kernels show up by name (`d_step.0.conv2d.1.0`) instead of as
/// addresses in anonymous memory. Entries are never taken back: a process that drops a
/// JIT and makes another may list two names at one address (profile one at a time).
class PerfMapPlugin : public llvm::orc::ObjectLinkingLayer::Plugin {
public:
  ~PerfMapPlugin() override {
    if (fd_ >= 0)
      ::close(fd_);
  }
  static bool wanted() {
    const char *v = std::getenv("GANC_PERF_MAP");
    return v && *v && std::string(v) != "0";
  }
  void modifyPassConfig(llvm::orc::MaterializationResponsibility &, llvm::jitlink::LinkGraph &,
                        llvm::jitlink::PassConfiguration &config) override {
    config.PostFixupPasses.push_back([this](llvm::jitlink::LinkGraph &g) {
      std::string lines;
      char line[64];
      for (llvm::jitlink::Symbol *sym : g.defined_symbols())
        if (sym->hasName() && sym->isCallable() && sym->getSize()) {
          std::snprintf(line, sizeof line, "%llx %llx ",
                        static_cast<unsigned long long>(sym->getAddress().getValue()),
                        static_cast<unsigned long long>(sym->getSize()));
          lines += line + sym->getName().str() + "\n";
        }
      // One appending write a graph, so that JITs linking at once do not mix their
      // lines; never through a symbolic link planted at the well-known name.
      std::lock_guard<std::mutex> lock(mutex_);
      if (fd_ < 0)
        fd_ = ::open(("/tmp/perf-" + std::to_string(getpid()) + ".map").c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd_ >= 0 && !lines.empty()) {
        const ssize_t written = ::write(fd_, lines.data(), lines.size());
        (void)written; // a profiling aid: a map it cannot write leaves the JIT as it is
      }
      return llvm::Error::success();
    });
  }
  llvm::Error notifyFailed(llvm::orc::MaterializationResponsibility &) override {
    return llvm::Error::success();
  }
  llvm::Error notifyRemovingResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey,
                                   llvm::orc::ResourceKey) override {}

private:
  std::mutex mutex_;
  int fd_ = -1; ///< opened at the first link
};

} // namespace

Jit::Jit() : impl_(std::make_unique<Impl>()) {}
Jit::~Jit() = default;

std::unique_ptr<Jit> Jit::create(std::string &error, int maxVectorBits) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) {
    error = llvm::toString(jtmb.takeError());
    return nullptr;
  }
  jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  if (maxVectorBits == 0)
    if (const char *v = std::getenv("GANC_MAX_VECTOR_BITS"); v && *v) {
      char *end = nullptr;
      maxVectorBits = static_cast<int>(std::strtol(v, &end, 10));
      if (*end || (maxVectorBits != 128 && maxVectorBits != 256 && maxVectorBits != 512)) {
        error = std::string("GANC_MAX_VECTOR_BITS must be 128, 256 or 512, not '") + v + "'";
        return nullptr;
      }
    }
  // Narrower vectors than the host has, e.g. AVX2's code on an AVX-512 machine (to test
  // or compare it): the widest extension beyond the limit is turned off, and with it every
  // feature that builds on it.
  if (maxVectorBits && maxVectorBits < 512)
    jtmb->getFeatures().AddFeature("avx512f", false);
  if (maxVectorBits && maxVectorBits < 256)
    jtmb->getFeatures().AddFeature("avx", false);
  std::unique_ptr<Jit> j(new Jit());
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  j->impl_->tm = std::move(*tm);
  j->impl_->jtmb = *jtmb;
  auto lljit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!lljit) {
    error = llvm::toString(lljit.takeError());
    return nullptr;
  }
  j->impl_->jit = std::move(*lljit);
  llvm::orc::LLJIT &J = *j->impl_->jit;
  if (PerfMapPlugin::wanted())
    if (auto *layer = llvm::dyn_cast<llvm::orc::ObjectLinkingLayer>(&J.getObjLinkingLayer()))
      layer->addPlugin(std::make_unique<PerfMapPlugin>());
  // The runtime ABI by address; libm (expf, logf, ...) from the process.
  llvm::orc::SymbolMap runtime;
  runtime[J.mangleAndIntern("ganc_rt_parallel_for")] = {
      llvm::orc::ExecutorAddr::fromPtr(&ganc_rt_parallel_for),
      llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  if (auto e = J.getMainJITDylib().define(llvm::orc::absoluteSymbols(runtime))) {
    error = llvm::toString(std::move(e));
    return nullptr;
  }
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      J.getDataLayout().getGlobalPrefix());
  if (!gen) {
    error = llvm::toString(gen.takeError());
    return nullptr;
  }
  J.getMainJITDylib().addGenerator(std::move(*gen));
  return j;
}

int Jit::vectorLanes() const {
  // The features in effect: a limit appends "-avx512f" to the host's "+avx512f".
  const llvm::MCSubtargetInfo &sti = *impl_->tm->getMCSubtargetInfo();
  return sti.checkFeatures("+avx512f") ? 16 : sti.checkFeatures("+avx") ? 8 : 4;
}

std::string Jit::hostDescription() const {
  return impl_->tm->getTargetCPU().str() + " (" + std::to_string(vectorLanes() * 32) +
         "-bit vectors)";
}

const std::string &Jit::optimizedIr() const { return impl_->ir; }
const std::string &Jit::assembly() const { return impl_->assembly; }

namespace {

/// One part's compilation: the step functions and the part's object code.
struct Compiled {
  std::vector<StepFunction> steps;
  std::unique_ptr<llvm::MemoryBuffer> object;
  bool fromCache = false;
  std::string cachePath; ///< where it is kept, if anywhere
};

/// Which of `parts` parts compiles each function defined in `m`, by name: the largest
/// first, each to the part with the fewest instructions so far (thunks, which
/// MergeFunctions left calling a kernel that does the same work, count for little).
/// The module is the same in every part's thread, so every thread makes the same choice.
std::map<std::string, int> assignParts(const llvm::Module &m, int parts) {
  std::vector<std::pair<size_t, std::string>> sizes;
  for (const llvm::Function &f : m)
    if (!f.isDeclaration())
      sizes.push_back({f.getInstructionCount(), f.getName().str()});
  std::stable_sort(sizes.begin(), sizes.end(),
                   [](const auto &a, const auto &b) { return a.first > b.first; });
  std::vector<size_t> load(static_cast<size_t>(parts), 0);
  std::map<std::string, int> part;
  for (const auto &[size, name] : sizes) {
    size_t p = std::min_element(load.begin(), load.end()) - load.begin();
    part[name] = static_cast<int>(p);
    load[p] += size + 1;
  }
  return part;
}

/// Leaves the bodies of part `part` of `parts` in the module, declaring the other
/// functions: their code comes from the other parts' objects when the JIT links them.
struct KeepPart : llvm::PassInfoMixin<KeepPart> {
  int part, parts;
  llvm::PreservedAnalyses run(llvm::Module &m, llvm::ModuleAnalysisManager &) {
    if (parts == 1)
      return llvm::PreservedAnalyses::all();
    const std::map<std::string, int> owner = assignParts(m, parts);
    for (llvm::Function &f : m)
      if (!f.isDeclaration() && owner.at(f.getName().str()) != part)
        f.deleteBody();
    return llvm::PreservedAnalyses::none();
  }
};

} // namespace

/// Emits `graphs` as module number `n` and compiles part `part` of `parts` of it to an
/// object for `tm`: from the cache when it has the object, else MergeFunctions, the
/// part's functions, O3 and code generation (kept in the cache). Every part emits the
/// whole module, so that the parts choose their functions alike and functions that do
/// the same work merge across steps. `ir` and `asmText`, when given, receive the
/// optimized module and its assembly (one part). Uses only its own LLVMContext and `tm`,
/// so parts compile on separate threads.
static Compiled compileModule(const std::vector<const ir::Graph *> &graphs, const JitOptions &opts,
                              int n, int part, int parts, llvm::TargetMachine &tm, int lanes,
                              std::string *ir, std::string *asmText) {
  Compiled c;
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto m = std::make_unique<llvm::Module>("ganc." + std::to_string(n), *ctx);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  c.steps = emitGraphs(*m, graphs, opts.sources, lanes);
  // Names are unique per module, so one JIT can hold several compilations. Kernel names
  // may already end in a number (`pad.1` is a node's second kernel), so they are renamed
  // last to first: `pad` becomes `pad.1` only after the kernel called that has moved on
  // (renaming onto a taken name would make LLVM pick another).
  const std::string suffix = "." + std::to_string(n);
  for (auto s = c.steps.rbegin(); s != c.steps.rend(); ++s) {
    for (auto k = s->kernels.rbegin(); k != s->kernels.rend(); ++k) {
      m->getFunction(k->name)->setName(k->name + suffix);
      k->name += suffix;
    }
    m->getFunction(s->name)->setName(s->name + suffix);
    s->name += suffix;
  }
  for (llvm::Function &f : *m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
    // The runtime flushes denormals while compiled code runs (runtime/FloatMode.h).
    f.addFnAttr("denormal-fp-math", "preserve-sign,preserve-sign");
  }
  std::string verifyMsg;
  llvm::raw_string_ostream vos(verifyMsg);
  if (llvm::verifyModule(*m, &vos))
    internalError("codegen", "invalid LLVM IR: " + vos.str());

  // The object cache: keyed by the module before optimization, the part, the CPU and its
  // features, and the LLVM version, so a hit skips O3 and code generation entirely.
  const bool cacheable = !opts.cacheDir.empty() && !ir && !asmText;
  std::string cachePath;
  if (cacheable) {
    // The module as bitcode: printing it as text took most of a cache hit's time.
    llvm::SmallVector<char, 0> key;
    llvm::raw_svector_ostream os(key);
    llvm::WriteBitcodeToFile(*m, os);
    os << "part " << part << " of " << parts << '\n';
    os << tm.getTargetCPU() << '\n' << tm.getTargetFeatureString() << '\n' << LLVM_VERSION_STRING;
    uint64_t h = 0xCBF29CE484222325ull; // FNV-1a
    for (char ch : key)
      h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001B3ull;
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.o", static_cast<unsigned long long>(h));
    cachePath = opts.cacheDir + "/" + name;
    c.cachePath = cachePath;
    if (auto buf = llvm::MemoryBuffer::getFile(cachePath)) {
      c.object = std::move(*buf);
      c.fromCache = true;
      return c;
    }
  }

  // O3 for the host: the loop vectorizer sees the real vector width through the TTI.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // Kernels that do the same work at several sites (D's layers on the real and on the
  // fake batch, in both steps) are emitted alike (each reads its buffers from its call's
  // table): merged first, each is optimized and compiled once, the others becoming calls
  // to it.
  llvm::ModulePassManager mpm;
  mpm.addPass(llvm::MergeFunctionsPass());
  mpm.addPass(KeepPart{{}, part, parts});
  mpm.addPass(pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3));
  mpm.run(*m, mam);

  if (ir) {
    ir->clear();
    llvm::raw_string_ostream os(*ir);
    m->print(os, nullptr);
  }
  if (asmText) {
    asmText->clear();
    auto clone = llvm::CloneModule(*m);
    llvm::SmallString<0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
      internalError("codegen", "this target cannot print assembly");
    pm.run(*clone);
    *asmText = std::string(buf.str());
  }

  llvm::SmallVector<char, 0> obj;
  llvm::raw_svector_ostream os(obj);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    internalError("codegen", "this target cannot emit object files");
  pm.run(*m);
  if (cacheable)
    Jit::storeInCache(cachePath, obj);
  c.object = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(obj.data(), obj.size()),
      cacheable ? cachePath : "ganc." + std::to_string(n) + "." + std::to_string(part));
  return c;
}

int Jit::compileParts() {
  // Every part's thread emits and merges the whole module: past a few parts, that
  // repeated work outweighs what another thread takes off the others.
  constexpr unsigned kMostParts = 4;
  return static_cast<int>(std::min(kMostParts, std::max(1u, std::thread::hardware_concurrency())));
}

bool Jit::compile(const std::vector<const ir::Graph *> &graphs, const JitOptions &opts,
                  std::vector<StepFunction> &out, std::string &error) {
  // The module's functions compile in parts on separate threads (LLVM works on one
  // module at a time), balanced by their sizes; printing IR or assembly wants one part.
  const int parts = (opts.keepIr || opts.keepAsm) ? 1 : compileParts();
  const int lanes = vectorLanes(); // read here: the main thread's machine compiles too
  const int n = impl_->modules++;
  std::vector<Compiled> done(static_cast<size_t>(parts));
  std::vector<std::string> failures(done.size());
  auto run = [&](int p, llvm::TargetMachine &tm) {
    try {
      done[static_cast<size_t>(p)] =
          compileModule(graphs, opts, n, p, parts, tm, lanes, opts.keepIr ? &impl_->ir : nullptr,
                        opts.keepAsm ? &impl_->assembly : nullptr);
    } catch (const std::exception &e) {
      failures[static_cast<size_t>(p)] = e.what(); // rethrown on the calling thread below
    }
  };
  std::vector<std::unique_ptr<llvm::TargetMachine>> machines;
  std::vector<std::thread> workers;
  for (int p = 1; p < parts; ++p) {
    auto tm = impl_->jtmb->createTargetMachine();
    if (!tm) {
      error = llvm::toString(tm.takeError());
      for (std::thread &t : workers)
        t.join();
      return false;
    }
    machines.push_back(std::move(*tm));
    workers.emplace_back(run, p, std::ref(*machines.back()));
  }
  run(0, *impl_->tm);
  for (std::thread &t : workers)
    t.join();
  for (const std::string &f : failures)
    if (!f.empty())
      internalError("codegen", f);

  // Every part's object before any lookup: a part's step functions call kernels that
  // another part compiled.
  bool allCached = true;
  for (int p = 0; p < parts; ++p) {
    Compiled &c = done[static_cast<size_t>(p)];
    if (auto e = impl_->jit->addObjectFile(std::move(c.object))) {
      if (!c.fromCache) {
        error = llvm::toString(std::move(e));
        return false;
      }
      // A damaged cache entry: drop it and compile afresh (into the cache again).
      llvm::consumeError(std::move(e));
      std::error_code ec;
      std::filesystem::remove(c.cachePath, ec);
      c = compileModule(graphs, opts, n, p, parts, *impl_->tm, lanes, nullptr, nullptr);
      if (auto again = impl_->jit->addObjectFile(std::move(c.object))) {
        error = llvm::toString(std::move(again));
        return false;
      }
    }
    allCached = allCached && c.fromCache;
  }
  if (allCached)
    impl_->cacheHits++;
  return lookupAll(std::move(done[0].steps), out, error);
}

void Jit::storeInCache(const std::string &path, const llvm::SmallVectorImpl<char> &obj) {
  // Written to a private temporary and renamed into place, so processes sharing the cache
  // never see a partial file. A cache that cannot be written only costs speed.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(obj.data(), static_cast<std::streamsize>(obj.size()));
    if (!f)
      return;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    std::filesystem::remove(tmp, ec);
}

bool Jit::lookupAll(std::vector<StepFunction> steps, std::vector<StepFunction> &out, std::string &error) {
  llvm::orc::LLJIT &J = *impl_->jit;
  for (StepFunction &s : steps) {
    auto addr = J.lookup(s.name);
    if (!addr) {
      error = llvm::toString(addr.takeError());
      return false;
    }
    s.entry = addr->toPtr<void (*)(float **)>();
    for (KernelInfo &k : s.kernels) {
      auto ka = J.lookup(k.name);
      if (!ka) {
        error = llvm::toString(ka.takeError());
        return false;
      }
      k.address = ka->toPtr<const void *>();
    }
    out.push_back(std::move(s));
  }
  return true;
}

} // namespace ganc::codegen
