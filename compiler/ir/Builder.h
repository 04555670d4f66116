//===- Builder.h - convenient graph construction ----------------*- C++ -*-===//
//
// A thin layer over Graph::make that stamps every new node with the current source
// location. VJP rules, autodiff, lowering and the optimizer updates build graphs with it,
// so every node (gradients included) points back at the .gan line it came from.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

namespace ganc::ir {

class Builder {
public:
  explicit Builder(Graph &g, SourceLoc loc = {}) : g_(g), loc_(loc) {}

  Graph &graph() { return g_; }
  SourceLoc loc() const { return loc_; }
  void setLoc(SourceLoc loc) { loc_ = loc; }

  Node *make(OpKind op, std::vector<Node *> operands, Attrs attrs = {}) {
    return g_.make(op, std::move(operands), std::move(attrs), loc_);
  }
  Node *unary(OpKind op, Node *x) { return make(op, {x}); }

  Node *add(Node *a, Node *b) { return make(OpKind::Add, {a, b}); }
  Node *sub(Node *a, Node *b) { return make(OpKind::Sub, {a, b}); }
  Node *mul(Node *a, Node *b) { return make(OpKind::Mul, {a, b}); }
  Node *div(Node *a, Node *b) { return make(OpKind::Div, {a, b}); }
  Node *neg(Node *a) { return make(OpKind::Neg, {a}); }
  /// A rank-0 constant, which elementwise ops broadcast.
  Node *scalar(double v) { return g_.constant(v, {}, loc_); }
  Node *mul(Node *a, double c) { return mul(a, scalar(c)); }
  Node *add(Node *a, double c) { return add(a, scalar(c)); }

  /// `a @ b` with optional transposes of either side (2-D operands).
  Node *matmul(Node *a, Node *b, bool transA = false, bool transB = false) {
    return make(OpKind::MatMul, {a, b}, {{transA, transB}, 0, ""});
  }
  /// Sums over the contiguous axes [begin, end), removing them.
  Node *reduceSum(Node *x, int64_t begin, int64_t end) {
    return make(OpKind::ReduceSum, {x}, {{begin, end}, 0, ""});
  }
  Node *sumAll(Node *x) { return reduceSum(x, 0, static_cast<int64_t>(x->shape.size())); }
  /// Inserts the axes [begin, end) of `to` into x (x's shape is `to` without them).
  Node *broadcast(Node *x, const Shape &to, int64_t begin, int64_t end) {
    Attrs a{{begin, end}, 0, ""};
    a.ints.insert(a.ints.end(), to.begin(), to.end());
    return make(OpKind::Broadcast, {x}, a);
  }
  Node *reshape(Node *x, const Shape &to) { return make(OpKind::Reshape, {x}, {to, 0, ""}); }
  Node *transpose(Node *x) { return make(OpKind::Transpose, {x}); }

private:
  Graph &g_;
  SourceLoc loc_;
};

} // namespace ganc::ir
