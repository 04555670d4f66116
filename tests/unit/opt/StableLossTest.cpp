//===- StableLossTest.cpp - saturated discriminators give finite losses ---===//
//
// The tutorial's losses take log(D) and log(1 - D) of a sigmoid output. Computed as
// written, a saturated discriminator (logits of +-100) gives log(0) = -inf and a NaN
// gradient. After canonicalize's rewrites (log(sigmoid(t)) = -softplus(-t),
// log(1 - sigmoid(t)) = -softplus(t)) the JIT-compiled loss and gradient are finite
// and exact.
//
//===----------------------------------------------------------------------===//
#include "Tensor.h"
#include "autodiff/Autodiff.h"
#include "codegen/Jit.h"
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

  std::string error;
  auto jit = codegen::Jit::create(error);
  ASSERT_TRUE(jit) << error;
  std::vector<rt::StepFunction> fns;
  ASSERT_TRUE(jit->compile({&g}, {}, fns, error)) << error;
  rt::Store store;
  const float logits[4] = {100.f, -100.f, 30.f, -30.f};
  std::copy(logits, logits + 4, store.get("t", {4}).data());
  rt::Executable exe(fns[0], store);
  exe.run();

  // log(sigmoid(t)) + log(1 - sigmoid(t)) = -softplus(-t) - softplus(t) = -|t| - 2 log(1 + e^-|t|).
  double want = 0;
  for (float v : logits)
    want += -std::fabs(v) - 2 * std::log1p(std::exp(-std::fabs(v)));
  EXPECT_TRUE(std::isfinite(exe.output("loss")[0]));
  EXPECT_NEAR(exe.output("loss")[0], want, 1e-4 * std::fabs(want));
  // d/dt = sigmoid(-t) - sigmoid(t): -1 at +100, +1 at -100.
  const float *gr = exe.output("grad");
  for (int i = 0; i < 4; ++i) {
    double s = 1 / (1 + std::exp(-double(logits[i])));
    EXPECT_TRUE(std::isfinite(gr[i])) << i;
    EXPECT_NEAR(gr[i], (1 - s) - s, 1e-6) << i;
  }
}

} // namespace
