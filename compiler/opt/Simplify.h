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

/// The rules that make the graph numerically stable and canonical (log(sigmoid) forms,
/// double negations, multiplications by one), applied before differentiation so that
/// gradients are taken of the stable forms. Returns whether anything changed.
bool canonicalize(ir::Graph &g);

/// canonicalize's rules and the ones that prepare for codegen (matmul with a transposed
/// right operand becomes a transpose and a plain matmul), then a sum of two products that
/// nothing else uses becomes one matmul_sum. Returns whether anything changed.
bool simplify(ir::Graph &g);

} // namespace ganc::opt
