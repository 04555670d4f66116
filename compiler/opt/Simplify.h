//===- Simplify.h - algebraic and numerically stable rewrites ---*- C++ -*-===//
//
// A rule table applied to every live node until nothing changes. Each rule is one line
// with its identity in a comment above it. The stable rewrites matter for training:
// a discriminator that ends in sigmoid and a loss that takes log would give -inf once D
// saturates; log(sigmoid(x)) = -softplus(-x) stays finite for any x.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

namespace ganc::opt {

/// Rewrites `g`'s outputs with the simplification rules; returns whether anything changed.
bool simplify(ir::Graph &g);

} // namespace ganc::opt
