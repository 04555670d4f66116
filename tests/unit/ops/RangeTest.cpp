//===- RangeTest.cpp - the value ranges the op records give ---------------===//
#include "ir/Builder.h"
#include "ir/Range.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace ganc::ir;

namespace {
void expectRange(const Node *n, double lo, double hi, bool loOpen, bool hiOpen) {
  Interval r = valueRange(*n);
  EXPECT_EQ(r.lo, lo);
  EXPECT_EQ(r.hi, hi);
  EXPECT_EQ(r.loOpen, loOpen);
  EXPECT_EQ(r.hiOpen, hiOpen);
}
} // namespace

TEST(Range, ProbabilitiesStayPositiveThroughTheLossesForms) {
  Graph g("t");
  Builder b(g);
  const double inf = INFINITY;
  Node *x = g.input("x", {4, 3});
  expectRange(x, -inf, inf, true, true);
  Node *p = b.unary(OpKind::Sigmoid, x);
  expectRange(p, 0, 1, true, true);
  expectRange(b.sub(b.scalar(1), p), 0, 1, true, true);          // 1 - sigmoid: (0, 1)
  expectRange(b.unary(OpKind::Relu, x), 0, inf, false, true);     // relu may be 0
  expectRange(b.add(b.unary(OpKind::Relu, x), 1), 1, inf, false, true);
  expectRange(b.sumAll(p), 0, 12, true, true);                    // 12 values in (0, 1)
  expectRange(b.mul(p, 0.5), 0, 0.5, true, true);
  expectRange(b.div(b.scalar(1), b.add(p, 1)), 0.5, 1, true, true); // 1 / (1, 2)
  expectRange(b.make(OpKind::Maximum, {x, b.scalar(-2)}), -2, inf, false, true);
  expectRange(b.make(OpKind::Minimum, {p, b.scalar(0.25)}), 0, 0.25, true, false);
  expectRange(b.unary(OpKind::Tanh, x), -1, 1, true, true);
  expectRange(b.reshape(p, {12}), 0, 1, true, true);
  EXPECT_TRUE(valueRange(*b.unary(OpKind::Exp, x)).positive());
  EXPECT_FALSE(valueRange(*b.mul(x, x)).positive()); // a square is not known to be one
  // relu can be exactly 0, so its product with a probability can too.
  Node *r = b.unary(OpKind::Relu, x);
  expectRange(b.mul(r, p), 0, inf, false, true);
  EXPECT_FALSE(valueRange(*b.div(r, b.add(b.unary(OpKind::Exp, x), 1))).positive());
  EXPECT_FALSE(valueRange(*b.div(p, x)).positive()); // a divisor of either sign
}
