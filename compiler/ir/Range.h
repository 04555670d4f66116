//===- Range.h - value ranges of graph nodes --------------------*- C++ -*-===//
//
// Interval analysis over the graph IR: each op's OpInfo::range says how the bounds of
// its operands bound its result (sigmoid lies in (0, 1), 1 - that too, a sum of
// positives is positive); leaves are unbounded except constants. Lowering uses it to
// warn about a discriminator output that reaches log without a probability's range.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpInfo.h"

namespace ganc::ir {

/// The values node `n` may hold, as far as the op rules can tell.
Interval valueRange(const Node &n);

/// Interval arithmetic for the op rules: sums, products, quotients, negation, and the
/// smallest interval holding both.
Interval operator+(const Interval &a, const Interval &b);
Interval operator-(const Interval &a);
Interval operator*(const Interval &a, const Interval &b);
Interval operator/(const Interval &a, const Interval &b);
Interval hull(const Interval &a, const Interval &b);
/// The ranges of elementwise max(a, b) and min(a, b).
Interval maximum(const Interval &a, const Interval &b);
Interval minimum(const Interval &a, const Interval &b);

} // namespace ganc::ir
