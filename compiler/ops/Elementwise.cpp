//===- Elementwise.cpp - elementwise math ops -----------------------------===//
//
// Each record gives the op's scalar semantics (used by the JIT and the reference
// evaluator alike) and its derivative, with the identity in a comment above it.
// Numerically sensitive forms (softplus, sigmoid) are primitives on purpose: the
// stable rewrites in opt/ turn log(sigmoid(x)) into -softplus(-x).
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

#include <limits>

namespace ganc::ops {

ShapeFn elementwiseShape(const char *mnemonic) {
  return [mnemonic](const std::vector<const Node *> &in, const Attrs &,
                    std::string &err) -> std::optional<Shape> {
    const Shape *result = nullptr;
    for (const Node *o : in) {
      if (o->shape.empty())
        continue;
      if (result && *result != o->shape) {
        err = std::string("'") + mnemonic + "' needs operands of one shape, got " +
              formatType(*result) + " and " + formatType(o->shape);
        return std::nullopt;
      }
      result = &o->shape;
    }
    return result ? *result : Shape{};
  };
}

} // namespace ganc::ops

namespace ganc::ir {
using namespace ganc::ops;

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

OpInfo unary(const char *m, ScalarFn s, VjpFn vjp, double cost = 1) {
  return OpInfo{m, 1, kElementwise, elementwiseShape(m), std::move(vjp), std::move(s),
                nullptr, cost};
}
OpInfo binary(const char *m, ScalarFn s, VjpFn vjp, double cost = 1) {
  return OpInfo{m, 2, kElementwise, elementwiseShape(m), std::move(vjp), std::move(s),
                nullptr, cost};
}

} // namespace

// |x|;  d/dx = sign(x)
const OpInfo &opInfo_Abs() {
  static const OpInfo info = withRange(
      unary(
      "abs", [](KernelBuilder &k, const Vals &a) { return k.abs(a[0]); },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.mul(g, b.unary(OpKind::Sign, n.operands[0]))};
      }),
      fixedRange(Interval{0, kInfinity, false, true}));
  return info;
}

// e^x;  d/dx = e^x (the result itself)
const OpInfo &opInfo_Exp() {
  static const OpInfo info = withRange(
      unary(
      "exp", [](KernelBuilder &k, const Vals &a) { return k.exp(a[0]); },
      [](Builder &b, const Node &n, Node *g) { return Grads{b.mul(g, const_cast<Node *>(&n))}; },
      8),
      fixedRange(Interval::open(0, kInfinity)));
  return info;
}

// ln x;  d/dx = 1/x
const OpInfo &opInfo_Log() {
  static const OpInfo info = unary(
      "log", [](KernelBuilder &k, const Vals &a) { return k.log(a[0]); },
      [](Builder &b, const Node &n, Node *g) { return Grads{b.div(g, n.operands[0])}; }, 8);
  return info;
}

// -x;  d/dx = -1
const OpInfo &opInfo_Neg() {
  static const OpInfo info = withRange(
      unary(
      "neg", [](KernelBuilder &k, const Vals &a) { return k.neg(a[0]); },
      [](Builder &b, const Node &, Node *g) { return Grads{b.neg(g)}; }),
      [](const Node &, const std::vector<Interval> &in) { return -in[0]; });
  return info;
}

// max(x, 0);  d/dx = step(x)
const OpInfo &opInfo_Relu() {
  static const OpInfo info = withRange(
      unary(
      "relu", [](KernelBuilder &k, const Vals &a) { return k.max(a[0], k.constant(0)); },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.mul(g, b.unary(OpKind::Step, n.operands[0]))};
      }),
      [](const Node &, const std::vector<Interval> &in) { return maximum(in[0], Interval::closed(0, 0)); });
  return info;
}

// 1 / (1 + e^-x);  d/dx = y (1 - y)
const OpInfo &opInfo_Sigmoid() {
  static const OpInfo info = withRange(
      unary(
      "sigmoid",
      [](KernelBuilder &k, const Vals &a) {
        return k.div(k.constant(1), k.add(k.constant(1), k.exp(k.neg(a[0]))));
      },
      [](Builder &b, const Node &n, Node *g) {
        Node *y = const_cast<Node *>(&n);
        return Grads{b.mul(g, b.mul(y, b.sub(b.scalar(1), y)))};
      },
      10),
      fixedRange(Interval::open(0, 1)));
  return info;
}

// sign(x) in {-1, 0, 1};  piecewise constant: no gradient
const OpInfo &opInfo_Sign() {
  static const OpInfo info = withRange(
      unary(
      "sign",
      [](KernelBuilder &k, const Vals &a) {
        Val zero = k.constant(0);
        return k.selectPositive(a[0], k.constant(1),
                                k.selectPositive(k.neg(a[0]), k.constant(-1), zero));
      },
      nullptr),
      fixedRange(Interval::closed(-1, 1)));
  return info;
}

// softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|);  d/dx = sigmoid(x)
const OpInfo &opInfo_Softplus() {
  static const OpInfo info = withRange(
      unary(
      "softplus",
      [](KernelBuilder &k, const Vals &a) {
        Val t = k.log(k.add(k.constant(1), k.exp(k.neg(k.abs(a[0])))));
        return k.add(k.max(a[0], k.constant(0)), t);
      },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.mul(g, b.unary(OpKind::Sigmoid, n.operands[0]))};
      },
      16),
      fixedRange(Interval::open(0, kInfinity)));
  return info;
}

// sqrt(x);  d/dx = 1 / (2 sqrt(x)), taken as 0 at x = 0
const OpInfo &opInfo_Sqrt() {
  static const OpInfo info =
      withRange(unary(
                    "sqrt", [](KernelBuilder &k, const Vals &a) { return k.sqrt(a[0]); },
                    [](Builder &b, const Node &n, Node *g) {
                      // 1 / (2 y) where y > 0, and 0 (a subgradient) at y = 0, as PyTorch's norm
                      // takes it: norm(x) = sqrt(sum(x^2)) then has gradient 0, not 0 * inf = NaN,
                      // at x = 0 (a gradient penalty's norm of a gradient that is all zeros).
                      Node *y = const_cast<Node *>(&n), *positive = b.unary(OpKind::Step, y);
                      return Grads{b.div(b.mul(g, positive),
                                         b.add(b.mul(y, 2.0), b.sub(b.scalar(1), positive)))};
                    },
                    4),
                fixedRange(Interval{0, kInfinity, false, true}));
  return info;
}

// step(x) = x > 0 ? 1 : 0 (relu's derivative);  piecewise constant: no gradient
const OpInfo &opInfo_Step() {
  static const OpInfo info = withRange(
      unary(
      "step",
      [](KernelBuilder &k, const Vals &a) {
        return k.selectPositive(a[0], k.constant(1), k.constant(0));
      },
      nullptr),
      fixedRange(Interval::closed(0, 1)));
  return info;
}

// tanh(x) = 1 - 2 / (e^2x + 1);  d/dx = 1 - y^2
const OpInfo &opInfo_Tanh() {
  static const OpInfo info = withRange(
      unary(
      "tanh",
      [](KernelBuilder &k, const Vals &a) {
        Val e = k.exp(k.add(a[0], a[0]));
        return k.sub(k.constant(1), k.div(k.constant(2), k.add(e, k.constant(1))));
      },
      [](Builder &b, const Node &n, Node *g) {
        Node *y = const_cast<Node *>(&n);
        return Grads{b.mul(g, b.sub(b.scalar(1), b.mul(y, y)))};
      },
      10),
      fixedRange(Interval::open(-1, 1)));
  return info;
}

// a + b;  d/da = 1, d/db = 1
const OpInfo &opInfo_Add() {
  static const OpInfo info = withRange(
      binary(
      "add", [](KernelBuilder &k, const Vals &a) { return k.add(a[0], a[1]); },
      [](Builder &, const Node &, Node *g) { return Grads{g, g}; }),
      [](const Node &, const std::vector<Interval> &in) { return in[0] + in[1]; });
  return info;
}

// a / b;  d/da = 1/b, d/db = -a/b^2
const OpInfo &opInfo_Div() {
  static const OpInfo info = withRange(
      binary(
      "div", [](KernelBuilder &k, const Vals &a) { return k.div(a[0], a[1]); },
      [](Builder &b, const Node &n, Node *g) {
        Node *x = n.operands[0], *y = n.operands[1];
        Node *gx = b.div(g, y);
        return Grads{gx, b.neg(b.div(b.mul(gx, x), y))};
      },
      4),
      [](const Node &, const std::vector<Interval> &in) { return in[0] / in[1]; });
  return info;
}

// max(a, b);  d/da = [a > b], d/db = [a <= b] (ties go to b)
const OpInfo &opInfo_Maximum() {
  static const OpInfo info = withRange(
      binary(
      "maximum", [](KernelBuilder &k, const Vals &a) { return k.max(a[0], a[1]); },
      [](Builder &b, const Node &n, Node *g) {
        Node *aWins = b.unary(OpKind::Step, b.sub(n.operands[0], n.operands[1]));
        return Grads{b.mul(g, aWins), b.mul(g, b.sub(b.scalar(1), aWins))};
      }),
      [](const Node &, const std::vector<Interval> &in) { return maximum(in[0], in[1]); });
  return info;
}

// min(a, b) = -max(-a, -b);  d/da = [a < b], d/db = [a >= b] (ties go to b)
const OpInfo &opInfo_Minimum() {
  static const OpInfo info = withRange(
      binary(
      "minimum", [](KernelBuilder &k, const Vals &a) { return k.neg(k.max(k.neg(a[0]), k.neg(a[1]))); },
      [](Builder &b, const Node &n, Node *g) {
        Node *aWins = b.unary(OpKind::Step, b.sub(n.operands[1], n.operands[0]));
        return Grads{b.mul(g, aWins), b.mul(g, b.sub(b.scalar(1), aWins))};
      }),
      [](const Node &, const std::vector<Interval> &in) { return minimum(in[0], in[1]); });
  return info;
}

// a * b;  d/da = b, d/db = a
const OpInfo &opInfo_Mul() {
  static const OpInfo info = withRange(
      binary(
      "mul", [](KernelBuilder &k, const Vals &a) { return k.mul(a[0], a[1]); },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.mul(g, n.operands[1]), b.mul(g, n.operands[0])};
      }),
      [](const Node &, const std::vector<Interval> &in) { return in[0] * in[1]; });
  return info;
}

// a - b;  d/da = 1, d/db = -1
const OpInfo &opInfo_Sub() {
  static const OpInfo info = withRange(
      binary(
      "sub", [](KernelBuilder &k, const Vals &a) { return k.sub(a[0], a[1]); },
      [](Builder &b, const Node &, Node *g) { return Grads{g, b.neg(g)}; }),
      [](const Node &, const std::vector<Interval> &in) { return in[0] + -in[1]; });
  return info;
}

} // namespace ganc::ir
