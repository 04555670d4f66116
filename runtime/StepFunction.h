//===- StepFunction.h - a compiled step program, as the runtime sees it -*- C++ -*-===//
//
// The contract between codegen and the runtime: a native entry point and the table of
// buffers it reads and writes. Codegen fills it; Executable binds it to tensors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ganc::rt {

using Shape = std::vector<int64_t>;

/// One pointer the entry function reads from its slot table.
struct Slot {
  enum class Kind { Leaf, Output, Temp };
  std::string name; ///< leaf or output name; empty for temporaries
  Kind kind;
  Shape shape;
  int64_t arenaOffset = -1; ///< temporaries: byte offset in the program's arena
};

/// One kernel of a compiled graph, for profiles.
struct KernelInfo {
  std::string name;     ///< e.g. "d_step.12.matmul"
  std::string loc;      ///< the .gan line it came from, e.g. "nn.gan:13:12"
  std::string body;     ///< what it computes, e.g. "mul(sub(1, %12), %12)"
  std::string fused;    ///< the other .gan lines of nodes fused into it, e.g. "mnist.gan:20:9"
  int64_t extent = 0;   ///< iterations of its outermost loop
  double flops = 0;     ///< floating-point operations per call
  const void *address = nullptr; ///< the native function, as ganc_rt_parallel_for sees it
};

/// A compiled graph: `entry(slots)` runs it; `slots[i]` must point at a buffer of
/// `slots[i].shape` floats (64-byte aligned). Outputs never alias leaves.
struct StepFunction {
  std::string name;
  void (*entry)(float **slots) = nullptr;
  std::vector<Slot> slots;
  std::vector<KernelInfo> kernels;
  int64_t tempBytes = 0;  ///< total size of the temporaries
  int64_t arenaBytes = 0; ///< the arena they share: temporaries whose lifetimes do not
                          ///< overlap share memory
};

} // namespace ganc::rt
