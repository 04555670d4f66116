//===- ActivationMaskTest.cpp - backward masks read the activation --------===//
//
// The gradient of relu(x) and of a leaky ReLU, relu(x) - relu(-x) c, multiplies by
// step(x) and step(-x). simplify() rewrites those masks of a kernel's result x (a
// convolution's) to masks of the activation, which has x's sign and which the next
// layer reads anyway, so that x need not be stored; masks of an elementwise x stay, as
// codegen recomputes x where it is read. The gradients are the same to the bit.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "autodiff/Autodiff.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"
#include "opt/Simplify.h"

#include <gtest/gtest.h>

#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

class ActivationMask : public ::testing::Test, protected test::RandomGraph {
protected:
  ActivationMask() : RandomGraph("masks", 7) {}

  /// Outputs the activation and the gradient of sum(act r) with respect to `wrt`, for r
  /// a random weighting; returns the gradient's values before simplify().
  std::vector<double> differentiate(Node *act, Node *wrt) {
    Node *loss = b.sumAll(b.mul(act, leaf("r", act->shape)));
    g.addOutput("act", act);
    g.addOutput("grad", autodiff::gradients(g, loss, {wrt}).front());
    return evaluate(g, values)[1];
  }
  /// The operands of the live step nodes.
  std::vector<const Node *> masked() const {
    std::vector<const Node *> out;
    for (const Node *n : g.live())
      if (n->is(OpKind::Step))
        out.push_back(n->operands[0]);
    return out;
  }
  /// After simplify(): the gradient is what it was, and the JIT computes it too.
  void expectSameGradient(const std::vector<double> &before) {
    std::vector<double> after = evaluate(g, values)[1];
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i)
      EXPECT_EQ(after[i], before[i]) << "element " << i;
    std::vector<float> jit = test::runGraph(g, test::floatLeaves(values))["grad"];
    ASSERT_EQ(jit.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i)
      EXPECT_NEAR(jit[i], before[i], 1e-4 * std::max(1.0, std::fabs(before[i]))) << "element " << i;
  }
};

TEST_F(ActivationMask, ALeakyReluOfAConvolutionMasksByItsOutput) {
  Node *w = leaf("w", {6, 1, 4, 4});
  Node *pre = b.make(OpKind::Conv2d, {leaf("x", {2, 1, 8, 8}), w}, {{2, 1}, 0, ""});
  Node *act = leakyRelu(pre);
  std::vector<double> before = differentiate(act, w);
  opt::simplify(g);
  act = g.outputs()[0].second;
  std::vector<const Node *> m = masked();
  ASSERT_EQ(m.size(), 2u);
  for (const Node *x : m) {
    const Node *y = x->is(OpKind::Neg) ? x->operands[0] : x;
    EXPECT_EQ(y, act) << "a mask of node %" << x->id << ", not of the activation";
  }
  expectSameGradient(before);
}

TEST_F(ActivationMask, AReluOfAConvolutionMasksByItsOutput) {
  Node *w = leaf("w", {6, 1, 3, 3});
  Node *pre = b.make(OpKind::Conv2d, {leaf("x", {2, 1, 6, 6}), w}, {{1, 1}, 0, ""});
  std::vector<double> before = differentiate(b.unary(OpKind::Relu, pre), w);
  opt::simplify(g);
  EXPECT_EQ(masked(), (std::vector<const Node *>{g.outputs()[0].second}));
  expectSameGradient(before);
}

TEST_F(ActivationMask, AnElementwiseInputKeepsItsMasks) {
  Node *x = leaf("x", {4, 24});
  Node *pre = b.mul(x, leaf("s", {4, 24}));
  std::vector<double> before = differentiate(leakyRelu(pre), x);
  opt::simplify(g);
  std::vector<const Node *> m = masked();
  ASSERT_EQ(m.size(), 2u);
  for (const Node *v : m)
    EXPECT_EQ(v->is(OpKind::Neg) ? v->operands[0] : v, pre);
  expectSameGradient(before);
}

} // namespace
