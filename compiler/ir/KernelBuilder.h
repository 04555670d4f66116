//===- KernelBuilder.h - the loop-nest vocabulary of op lowerings -*- C++ -*-===//
//
// Each op says once, in its OpInfo record, how to compute its result: as a scalar
// function of its operands' elements (elementwise ops) or as a loop nest over flat
// indices (matmul, reductions, broadcasts). Both are written against this interface.
// codegen implements it by emitting LLVM IR for the host CPU; ir/Evaluate implements it
// by computing in double precision, which is the reference the tests compare against.
//
// Contract: every memory access happens inside a loop. Each outermost loop is one
// parallel kernel: its iterations must be independent (the JIT splits them across
// threads) and every reduction happens inside one iteration, so results never depend on
// the number of threads. Outermost loops run one after another, in order.
//
// Vectors: `lanes()` consecutive floats handled at once (the host's vector width in the
// JIT, 1 in the evaluator). A lowering that uses vector ops must be correct for any
// lane count, so the evaluator checks the same loop structure the JIT runs. Scalar
// values mixed with vectors in arithmetic count as that scalar in every lane.
//
// Epilogues: an op marked kStoresOnce stores each element of its result once, with its
// final value, never reads its result back, and stores a vector only along one axis of
// the result and inside it (storeVector and storePartial: the last axis of more than one
// element; storeStrided: the axis whose elements lie `stride` apart). Codegen then runs the
// elementwise ops that consume the result inside those stores (epilogue fusion).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>

namespace ganc::ir {

class KernelBuilder {
public:
  /// A float value; the JIT uses `ptr` (an llvm::Value*), the evaluator uses `num`.
  struct Val {
    void *ptr = nullptr;
    double num = 0;
  };
  /// An integer index, represented the same way.
  struct Idx {
    void *ptr = nullptr;
    int64_t num = 0;
  };

  virtual ~KernelBuilder() = default;

  // Indices. Every index a kernel computes, intermediate ones included, is >= 0: the JIT
  // marks index arithmetic as not wrapping, so a negative constant or factor is poison.
  virtual Idx index(int64_t c) = 0;
  virtual Idx add(Idx a, Idx b) = 0;
  /// a - b, for a >= b (an index that counts down, such as a transposed convolution's
  /// input row as its kernel row goes up).
  virtual Idx sub(Idx a, Idx b) = 0;
  virtual Idx mul(Idx a, Idx b) = 0;
  Idx mul(Idx a, int64_t c) { return mul(a, index(c)); }
  Idx add(Idx a, int64_t c) { return add(a, index(c)); }

  // Loops.
  /// `for i in [0, extent): body(i)`.
  virtual void loop(int64_t extent, const std::function<void(Idx)> &body) = 0;
  /// Keeps the next loop (of any kind) a loop in the machine code, not unrolled: a loop
  /// over a register tile's kernel rows, so that LLVM does not hoist the loads of every
  /// row out of the loops around the tile and spill them. A hint; the reference ignores it.
  virtual void rollNextLoop() {}
  /// `acc = init; for i in [0, extent): acc = body(i, acc); return acc`.
  virtual Val loopReduce(int64_t extent, Val init,
                         const std::function<Val(Idx, Val)> &body) = 0;
  /// A loop carrying several values: `vals = init; for i: vals = body(i, vals)`.
  virtual std::vector<Val>
  loopCarry(int64_t extent, std::vector<Val> init,
            const std::function<std::vector<Val>(Idx, const std::vector<Val> &)> &body) = 0;

  // Memory: operand k of the node being lowered, and its result.
  virtual Val load(unsigned operand, Idx flat) = 0;
  virtual Val loadResult(Idx flat) = 0;
  virtual void store(Idx flat, Val v) = 0;

  // Scalar float math.
  virtual Val constant(double c) = 0;
  virtual Val add(Val a, Val b) = 0;
  virtual Val sub(Val a, Val b) = 0;
  virtual Val mul(Val a, Val b) = 0;
  virtual Val div(Val a, Val b) = 0;
  virtual Val neg(Val a) = 0;
  virtual Val exp(Val a) = 0;
  virtual Val log(Val a) = 0;
  virtual Val sqrt(Val a) = 0;
  virtual Val abs(Val a) = 0;
  virtual Val max(Val a, Val b) = 0;
  /// `c > 0 ? a : b`.
  virtual Val selectPositive(Val c, Val a, Val b) = 0;

  // Vectors of lanes() floats. Scalar math above also applies lane-wise to vectors.
  virtual int lanes() = 0;
  /// Elements [flat, flat + lanes()) of operand k.
  virtual Val loadVector(unsigned operand, Idx flat) = 0;
  /// Elements [flat, flat + count) of operand k in the first lanes, zeros in the others
  /// (1 <= count <= lanes()): the last vector of a row that vectors do not fill.
  virtual Val loadPartial(unsigned operand, Idx flat, int64_t count) = 0;
  /// Elements flat, flat + step, ... of operand k in the first `count` lanes, zeros in
  /// the others (1 <= count <= lanes()).
  virtual Val loadStrided(unsigned operand, Idx flat, int64_t step, int64_t count) = 0;
  /// The sum of v's lanes (v itself for a scalar), always added in the same order.
  virtual Val sumLanes(Val v) = 0;
  virtual void storeVector(Idx flat, Val v) = 0;
  /// A hint that element `flat` of operand k is read soon: its cache line is fetched into
  /// L1 now (a software prefetch). Changes no value; `flat` may lie past the operand's
  /// end. The reference evaluator has nothing to fetch.
  virtual void prefetch(unsigned operand, Idx flat) {}
  /// Lanes [0, count) of v at [flat, flat + count), 1 <= count <= lanes(): the last
  /// vector of a row whose length is not a multiple of lanes(). Nothing past it is
  /// touched, so the next row may belong to another iteration of a parallel loop.
  virtual void storePartial(Idx flat, int64_t count, Val v) = 0;
  /// Stores lane i of v at flat + i * stride of the result (a scatter: a vector along
  /// an axis that is not the innermost, such as the channels of an NCHW tensor).
  virtual void storeStrided(Idx flat, int64_t stride, Val v) = 0;
  /// A vector with every lane `s`.
  virtual Val splat(Val s) = 0;
  /// a * b + c, fused where the hardware has it.
  virtual Val fma(Val a, Val b, Val c) = 0;

  // Scratch: OpInfo::scratch(node) floats of the node being lowered, say an operand
  // repacked by one outermost loop so that the next ones read it as vectors. Like the
  // result, it starts undefined.
  virtual void storeScratch(Idx flat, Val v) = 0;
  /// A vector at [flat, flat + lanes()) of the scratch memory.
  virtual void storeScratchVector(Idx flat, Val v) = 0;
  /// Lanes [0, count) of v at [flat, flat + count) of the scratch memory,
  /// 1 <= count <= lanes(); nothing past them is touched.
  virtual void storeScratchPartial(Idx flat, int64_t count, Val v) = 0;
  /// Element `flat` of the scratch memory.
  virtual Val loadScratch(Idx flat) = 0;
  /// Elements [flat, flat + lanes()) of the scratch memory.
  virtual Val loadScratchVector(Idx flat) = 0;
};

} // namespace ganc::ir
