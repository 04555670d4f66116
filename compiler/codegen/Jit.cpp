//===- Jit.cpp - graph IR to native code for the host CPU -----------------===//
#include "codegen/Jit.h"

#include "codegen/Emitter.h"
#include "ganc_rt.h"
#include "support/Error.h"

#include <llvm/Analysis/TargetLibraryInfo.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <llvm/Config/llvm-config.h>
#include <llvm/Support/MemoryBuffer.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unistd.h>

namespace ganc::codegen {

using rt::KernelInfo;

struct Jit::Impl {
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

Jit::Jit() : impl_(std::make_unique<Impl>()) {}
Jit::~Jit() = default;


std::unique_ptr<Jit> Jit::create(std::string &error) {
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
  std::unique_ptr<Jit> j(new Jit());
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  j->impl_->tm = std::move(*tm);
  auto lljit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!lljit) {
    error = llvm::toString(lljit.takeError());
    return nullptr;
  }
  j->impl_->jit = std::move(*lljit);
  llvm::orc::LLJIT &J = *j->impl_->jit;
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
  llvm::StringRef features = impl_->tm->getTargetFeatureString();
  return features.contains("+avx512f") ? 16 : features.contains("+avx") ? 8 : 4;
}

std::string Jit::hostDescription() const {
  return impl_->tm->getTargetCPU().str() + " (" + std::to_string(vectorLanes() * 32) +
         "-bit vectors)";
}

const std::string &Jit::optimizedIr() const { return impl_->ir; }
const std::string &Jit::assembly() const { return impl_->assembly; }

bool Jit::compile(const std::vector<const ir::Graph *> &graphs, const JitOptions &opts,
                  std::vector<StepFunction> &out, std::string &error) {
  llvm::TargetMachine &tm = *impl_->tm;
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto m = std::make_unique<llvm::Module>("ganc." + std::to_string(impl_->modules++), *ctx);
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  std::vector<StepFunction> steps = emitGraphs(*m, graphs, opts.sources, vectorLanes());
  // Names are unique per module, so one JIT can hold several compilations. Kernel names
  // may already end in a number (`pad.1` is a node's second kernel), so they are renamed
  // last to first: `pad` becomes `pad.1` only after the kernel called that has moved on
  // (renaming onto a taken name would make LLVM pick another).
  const std::string suffix = "." + std::to_string(impl_->modules - 1);
  for (auto s = steps.rbegin(); s != steps.rend(); ++s) {
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
  }
  std::string verifyMsg;
  llvm::raw_string_ostream vos(verifyMsg);
  if (llvm::verifyModule(*m, &vos))
    internalError("codegen", "invalid LLVM IR: " + vos.str());

  // The object cache: keyed by the module before optimization, the CPU and its
  // features, and the LLVM version, so a hit skips O3 and code generation entirely.
  const bool cacheable = !opts.cacheDir.empty() && !opts.keepIr && !opts.keepAsm;
  std::string cachePath;
  if (cacheable) {
    std::string text;
    llvm::raw_string_ostream os(text);
    m->print(os, nullptr);
    os << tm.getTargetCPU() << '\n' << tm.getTargetFeatureString() << '\n' << LLVM_VERSION_STRING;
    uint64_t h = 0xCBF29CE484222325ull; // FNV-1a
    for (unsigned char c : os.str())
      h = (h ^ c) * 0x100000001B3ull;
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.o", static_cast<unsigned long long>(h));
    cachePath = opts.cacheDir + "/" + name;
    if (auto buf = llvm::MemoryBuffer::getFile(cachePath)) {
      if (link(std::move(*buf), steps, out, error)) {
        impl_->cacheHits++;
        return true;
      }
      // A damaged entry: drop it and compile afresh.
      std::error_code ec;
      std::filesystem::remove(cachePath, ec);
      error.clear();
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
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(*m, mam);

  if (opts.keepIr) {
    impl_->ir.clear();
    llvm::raw_string_ostream os(impl_->ir);
    m->print(os, nullptr);
  }
  if (opts.keepAsm) {
    impl_->assembly.clear();
    auto clone = llvm::CloneModule(*m);
    llvm::SmallString<0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
      error = "this target cannot print assembly";
      return false;
    }
    pm.run(*clone);
    impl_->assembly = std::string(buf.str());
  }

  if (cacheable) {
    // Compile to an object file ourselves, keep it, and link that.
    llvm::SmallVector<char, 0> obj;
    llvm::raw_svector_ostream os(obj);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      error = "this target cannot emit object files";
      return false;
    }
    pm.run(*m);
    storeInCache(cachePath, obj);
    return link(llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(obj.data(), obj.size()), cachePath),
                std::move(steps), out, error);
  }

  llvm::orc::LLJIT &J = *impl_->jit;
  if (auto e = J.addIRModule(llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx)))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  return lookupAll(std::move(steps), out, error);
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

bool Jit::link(std::unique_ptr<llvm::MemoryBuffer> object, std::vector<StepFunction> steps,
               std::vector<StepFunction> &out, std::string &error) {
  if (auto e = impl_->jit->addObjectFile(std::move(object))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  return lookupAll(std::move(steps), out, error);
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
