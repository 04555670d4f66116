//===- GradientPenaltyTest.cpp - second-order objectives, checked numerically -===//
//
// WGAN-GP and R1 put grad(D(.), .) inside the critic's objective, so the D step
// differentiates a graph that already holds gradients. These tests lower such objectives
// from .gan source, differentiate them with respect to the critic's parameters, and
// compare every partial derivative with central finite differences of the objective,
// all in double precision through the reference evaluator.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"
#include "autodiff/Autodiff.h"
#include "driver/Session.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

const char *const kModel = R"(import std.nn
data  x ~ idx("none", shape = [4])
noise z ~ normal(0, 1, [3])
noise e ~ uniform(0, 1, [1])
generator G(z: [3]) -> [4] {
    return tanh(dense(z, 4))
}
critic D(x: [4]) -> [1] {
    h = leaky_relu(dense(x, 5), 0.2)
    return dense(tanh(dense(h, 3)), 1)
}
game {
    value fake = G(z)
    value xhat = e * x + (1 - e) * fake
    value gp = mean((norm(grad(D(xhat), xhat)) - 1) ** 2)
    value r1 = mean(norm(grad(D(x), x)) ** 2)
    D maximizes OBJECTIVE
    G maximizes mean(D(G(z)))
}
)";

void checkObjective(const std::string &objective, std::string text = kModel) {
  text.replace(text.find("OBJECTIVE"), 9, objective);
  std::string dir = test::freshDir("gp");
  driver::Session s;
  ASSERT_TRUE(s.analyze(test::writeFile(dir + "/m.gan", text)));
  ASSERT_TRUE(s.lower(3)) << [&] {
    std::ostringstream os;
    s.diags().print(os);
    return os.str();
  }();
  s.canonicalize();
  Graph &g = *s.model().dStep;
  Node *loss = g.outputs().front().second;

  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-0.9, 0.9);
  LeafValues values;
  std::vector<Node *> params;
  for (const std::unique_ptr<Node> &n : g.nodes()) {
    if (!n->is(OpKind::Input) && !n->is(OpKind::Param))
      continue;
    std::vector<double> v(n->numel());
    for (double &d : v)
      d = n->attrs.name == "e" ? (u(rng) + 1) / 2 : u(rng);
    values[n->attrs.name] = v;
    if (n->is(OpKind::Param) && n->attrs.name.rfind("D.", 0) == 0)
      params.push_back(n.get());
  }
  ASSERT_FALSE(params.empty());

  std::vector<Node *> grads = autodiff::gradients(g, loss, params);
  auto saved = g.outputs();
  g.outputs().clear();
  for (size_t i = 0; i < grads.size(); ++i)
    g.addOutput("d" + std::to_string(i), grads[i]);
  std::vector<std::vector<double>> analytic = evaluate(g, values);
  g.outputs() = {{"loss", loss}};
  const double h = 1e-6;
  int checked = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string &name = params[i]->attrs.name;
    for (size_t k = 0; k < values[name].size(); ++k) {
      LeafValues plus = values, minus = values;
      plus[name][k] += h;
      minus[name][k] -= h;
      double fd = (evaluate(g, plus)[0][0] - evaluate(g, minus)[0][0]) / (2 * h);
      double an = analytic[i].size() == 1 ? analytic[i][0] : analytic[i][k];
      EXPECT_NEAR(an, fd, 1e-5 * std::max(1.0, std::fabs(fd))) << name << "[" << k << "]";
      ++checked;
    }
  }
  g.outputs() = saved;
  EXPECT_GT(checked, 40);
}

TEST(GradientPenalty, WganGpObjectiveGradientsMatchFiniteDifferences) {
  checkObjective("mean(D(x)) - mean(D(fake)) - 10 * gp");
}

TEST(GradientPenalty, R1ObjectiveGradientsMatchFiniteDifferences) {
  checkObjective("mean(log(sigmoid(D(x)))) + mean(log(1 - sigmoid(D(fake)))) - 5 * r1");
}

// A gradient penalty's norm of a gradient that is all zeros: sqrt's derivative at 0 is
// taken as 0, as PyTorch's norm does, so the norm's gradient there is 0, not 0 * inf.
TEST(GradientPenalty, TheNormOfZeroHasGradientZero) {
  Graph g("norm");
  Builder b(g);
  Node *x = g.param("x", {2, 3});
  Node *norm = b.unary(OpKind::Sqrt, b.reduceSum(b.mul(x, x), 1, 2));
  Node *loss = b.sumAll(norm);
  Node *dx = autodiff::gradients(g, loss, {x}).at(0);
  g.addOutput("dx", dx);
  const std::vector<double> got = evaluate(g, {{"x", {0, 0, 0, 1, 2, 2}}}).at(0),
                            want = {0,       0,       0,
                                    1.0 / 3, 2.0 / 3, 2.0 / 3}; // x / norm(x) on the second row
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

// Batch norm in training mode: the gradient flows through the batch's mean and variance.
TEST(GradientPenalty, BatchNormGradientsMatchFiniteDifferences) {
  std::string text = kModel;
  text.replace(text.find("h = leaky_relu(dense(x, 5), 0.2)"), 32, "h = leaky_relu(bn(dense(x, 5)), 0.2)");
  checkObjective("mean(log(sigmoid(D(x)))) + mean(log(1 - sigmoid(D(fake))))", text);
}

// Running statistics: one D step moves them 10% of the way to the batch's statistics.
TEST(GradientPenalty, BatchNormRunningStatisticsFollowTheBatch) {
  std::string text = kModel;
  text.replace(text.find("h = leaky_relu(dense(x, 5), 0.2)"), 32, "h = leaky_relu(bn(dense(x, 5)), 0.2)");
  text.replace(text.find("OBJECTIVE"), 9, "mean(log(sigmoid(D(x))))");
  std::string dir = test::freshDir("bn");
  driver::Session s;
  ASSERT_TRUE(s.analyze(test::writeFile(dir + "/m.gan", text)));
  ASSERT_TRUE(s.lower(3));
  Graph &g = *s.model().dStep;
  LeafValues values;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const std::unique_ptr<Node> &n : g.nodes())
    if (n->is(OpKind::Input) || n->is(OpKind::Param)) {
      std::vector<double> v(n->numel());
      for (double &d : v)
        d = n->attrs.name.find("running_var") != std::string::npos ? 1.0 : u(rng);
      values[n->attrs.name] = v;
    }
  // The dense layer's output for the batch, and its per-feature mean, by hand.
  const auto &x = values["x"], &W = values["D.dense_1.W"], &b = values["D.dense_1.b"];
  const auto &m0 = values["D.bn_1.batch_norm_1.running_mean"];
  std::vector<double> mean(5, 0.0);
  for (int r = 0; r < 3; ++r)
    for (int o = 0; o < 5; ++o) {
      double y = b[o];
      for (int i = 0; i < 4; ++i)
        y += x[r * 4 + i] * W[i * 5 + o];
      mean[o] += y / 3;
    }
  std::vector<std::vector<double>> out = evaluate(g, values);
  size_t k = 0;
  for (; k < g.outputs().size(); ++k)
    if (g.outputs()[k].first == "D.bn_1.batch_norm_1.running_mean")
      break;
  ASSERT_LT(k, g.outputs().size());
  for (int o = 0; o < 5; ++o)
    EXPECT_NEAR(out[k][o], 0.9 * m0[o] + 0.1 * mean[o], 1e-12) << o;
}

} // namespace
