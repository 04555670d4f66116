//===- Common.h - helpers shared by the op records --------------*- C++ -*-===//
#pragma once

#include "ir/Builder.h"
#include "ir/OpInfo.h"
#include "ir/Range.h"

namespace ganc::ops {

using namespace ganc::ir;
using Val = KernelBuilder::Val;
using Idx = KernelBuilder::Idx;
using Vals = std::vector<Val>;
using Grads = std::vector<Node *>;

/// Floats in a 64-byte cache line and in a 4 KB page.
constexpr int64_t kLineFloats = 16, kPageFloats = 1024;

/// Shape rule of elementwise ops: operands share one shape, except rank-0 operands,
/// which broadcast.
ShapeFn elementwiseShape(const char *mnemonic);

/// `info` with its range rule.
inline OpInfo withRange(OpInfo info, RangeFn range) {
  info.range = std::move(range);
  return info;
}
/// `info` with its operandStrides rule.
inline OpInfo withOperandStrides(OpInfo info, std::function<std::vector<int64_t>(const Node &)> f) {
  info.operandStrides = std::move(f);
  return info;
}
/// `info` with its contiguousStoresOf rule.
inline OpInfo withContiguousStoresOf(OpInfo info, std::function<bool(const Node &)> f) {
  info.contiguousStoresOf = std::move(f);
  return info;
}
/// The range rule of ops that move or pick values without changing them.
/// A register tile's multiply-adds of every pair (i < held, j < streamed): the held
/// values loaded first and kept, then each streamed value in turn with its `held`
/// multiply-adds, mac(i, j, held value, streamed value). Which side is held decides how
/// many registers stay live beside the accumulators (LLVM keeps the order).
template <class LoadHeld, class LoadStreamed, class Mac>
void heldThenStreamed(int64_t held, LoadHeld loadHeld, int64_t streamed, LoadStreamed loadStreamed,
                      Mac mac) {
  Vals h;
  for (int64_t i = 0; i < held; ++i)
    h.push_back(loadHeld(i));
  for (int64_t j = 0; j < streamed; ++j) {
    Val s = loadStreamed(j);
    for (int64_t i = 0; i < held; ++i)
      mac(i, j, h[static_cast<size_t>(i)], s);
  }
}

inline Interval sameRange(const Node &, const std::vector<Interval> &in) { return in[0]; }
/// A fixed range, whatever the operands.
inline RangeFn fixedRange(Interval r) {
  return [r](const Node &, const std::vector<Interval> &) { return r; };
}

} // namespace ganc::ops
