//===- Jit.h - graph IR to native code for the host CPU ---------*- C++ -*-===//
//
// Compiles step graphs into one LLVM module (one kernel function per computing node, each
// a loop nest from its op's lowering, and one entry function per graph calling them
// through the TBB runtime), optimizes it at O3 for the CPU this process runs on (its
// vector ISA detected, never assumed), and JIT-links it with ORC LLJIT. No LLVM type
// appears in this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "StepFunction.h"
#include "ir/Graph.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
template <typename T> class SmallVectorImpl;
} // namespace llvm

namespace ganc::codegen {

using rt::Slot;
using rt::StepFunction;

struct JitOptions {
  bool keepIr = false;  ///< keep the optimized LLVM IR text (`emit --stage=llvm`)
  bool keepAsm = false; ///< keep the assembly text (`emit --stage=asm`)
  const SourceManager *sources = nullptr; ///< names .gan lines in kernel attributes
  /// Where compiled objects are kept between runs (empty: no cache). Safe to share
  /// between processes.
  std::string cacheDir;
};

class Jit {
public:
  /// A JIT for the host CPU. Returns null and sets `error` when LLVM cannot target it.
  /// maxVectorBits 256 or 128 keeps to narrower vectors than the host's (AVX2's or SSE's
  /// code on an AVX-512 machine); 0 takes $GANC_MAX_VECTOR_BITS, else the host's widest.
  static std::unique_ptr<Jit> create(std::string &error, int maxVectorBits = 0);
  ~Jit();

  /// Compiles `graphs` (one module, its functions in compileParts() parts on as many
  /// threads); appends one StepFunction per graph to `out`, in order.
  bool compile(const std::vector<const ir::Graph *> &graphs, const JitOptions &opts,
               std::vector<StepFunction> &out, std::string &error);

  const std::string &optimizedIr() const;
  const std::string &assembly() const;
  /// e.g. "skylake-avx512 (512-bit vectors)".
  std::string hostDescription() const;
  /// Floats per vector register of the host: 16 with AVX-512, 8 with AVX, else 4.
  int vectorLanes() const;
  /// Parts a compilation's functions are split into, each compiled on a thread and
  /// cached as an object of its own: the machine's threads, at most 4.
  static int compileParts();
  /// Compilations served from the object cache so far.
  int cacheHits() const;
  /// $GANC_CACHE_DIR (empty turns the cache off), else $XDG_CACHE_HOME/ganc, else
  /// ~/.cache/ganc.
  static std::string defaultCacheDir();
  /// Writes an object into the cache: to a temporary file, then renamed into place.
  static void storeInCache(const std::string &path, const llvm::SmallVectorImpl<char> &obj);

private:
  Jit();
  bool lookupAll(std::vector<StepFunction> steps, std::vector<StepFunction> &out, std::string &error);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace ganc::codegen
