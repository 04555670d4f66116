//===- StableLossTest.cpp - saturated discriminators give finite losses ---===//
//
// The tutorial's losses take log(D) and log(1 - D) of a sigmoid output. Computed as
// written, a saturated discriminator (logits of +-100) gives log(0) = -inf and a NaN
// gradient. After canonicalize's rewrites (log(sigmoid(t)) = -softplus(-t),
// log(1 - sigmoid(t)) = -softplus(t)) the JIT-compiled loss and gradient are finite
// and exact.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "autodiff/Autodiff.h"
#include "ir/Builder.h"
#include "opt/Simplify.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace ganc;
using namespace ganc::ir;

namespace {

TEST(StableLoss, SaturatedLogitsGiveFiniteLossesAndGradients) {
  Graph g("loss");
  Builder b(g);
  Node *t = g.input("t", {4});
  Node *d = b.unary(OpKind::Sigmoid, t);
  // mean(log(D)) + mean(log(1 - D)) over logits t.
  Node *loss = b.add(b.sumAll(b.unary(OpKind::Log, d)), b.sumAll(b.unary(OpKind::Log, b.sub(b.scalar(1), d))));
  g.addOutput("loss", loss);
  ASSERT_TRUE(opt::canonicalize(g));
  loss = g.outputs()[0].second;
  Node *grad = autodiff::gradients(g, loss, {t}).front();
  g.addOutput("grad", grad);
  opt::simplify(g);

  const std::vector<float> logits = {100.f, -100.f, 30.f, -30.f};
  auto out = test::runGraph(g, {{"t", logits}});
  ASSERT_EQ(out.size(), 2u);

  // log(sigmoid(t)) + log(1 - sigmoid(t)) = -softplus(-t) - softplus(t) = -|t| - 2 log(1 + e^-|t|).
  double want = 0;
  for (float v : logits)
    want += -std::fabs(v) - 2 * std::log1p(std::exp(-std::fabs(v)));
  EXPECT_TRUE(std::isfinite(out["loss"][0]));
  EXPECT_NEAR(out["loss"][0], want, 1e-4 * std::fabs(want));
  // d/dt = sigmoid(-t) - sigmoid(t): -1 at +100, +1 at -100.
  const float *gr = out["grad"].data();
  for (int i = 0; i < 4; ++i) {
    double s = 1 / (1 + std::exp(-double(logits[i])));
    EXPECT_TRUE(std::isfinite(gr[i])) << i;
    EXPECT_NEAR(gr[i], (1 - s) - s, 1e-6) << i;
  }
}

} // namespace
