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
inline Interval sameRange(const Node &, const std::vector<Interval> &in) { return in[0]; }
/// A fixed range, whatever the operands.
inline RangeFn fixedRange(Interval r) {
  return [r](const Node &, const std::vector<Interval> &) { return r; };
}

} // namespace ganc::ops
