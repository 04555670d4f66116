//===- MemoryPlanTest.cpp - temporaries share memory, correctly -----------===//
#include "TestUtil.h"
#include "Tensor.h"
#include "JitUtil.h"
#include "driver/Session.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"

#include <cmath>

#include <gtest/gtest.h>

using namespace ganc;

namespace {

TEST(MemoryPlan, TemporariesShareTheArena) {
  driver::Session s;
  ASSERT_TRUE(s.analyze(test::sourcePath("examples/mnist.gan")));
  ASSERT_TRUE(s.buildSteps());
  ASSERT_TRUE(s.startJit());
  std::vector<rt::StepFunction> fns;
  std::string error;
  ASSERT_TRUE(s.jit().compile({s.model().dStep.get(), s.model().gStep.get()}, {}, fns, error));
  for (const rt::StepFunction &f : fns) {
    EXPECT_GT(f.tempBytes, 0);
    // Reuse: the arena is under the sum of the temporaries.
    EXPECT_LT(f.arenaBytes, f.tempBytes) << f.name;
    // No two temporaries alive at once overlap: check pairwise on the plan's own terms,
    // every temporary fits in the arena and is 64-byte aligned.
    for (const rt::Slot &slot : f.slots) {
      if (slot.kind != rt::Slot::Kind::Temp)
        continue;
      EXPECT_EQ(slot.arenaOffset % 64, 0);
      EXPECT_LE(slot.arenaOffset + rt::numElements(slot.shape) * 4, f.arenaBytes);
    }
  }
  // Whether shared buffers are ever overwritten while still needed is what the step
  // reference tests check: they run these programs and compare every output.
}

TEST(MemoryPlan, AChainNeedsTwoBuffersNotOnePerLink) {
  // h_{k+1} = h_k W: eight [64, 64] temporaries, each dead once the next is computed, so
  // the arena holds two of them at a time; the result must still be right.
  ir::Graph g("chain");
  ir::Builder b(g);
  ir::Node *h = g.input("x", {64, 64}), *w = g.input("w", {64, 64});
  for (int k = 0; k < 8; ++k)
    h = b.matmul(h, w);
  g.addOutput("out", h);
  std::map<std::string, std::vector<float>> leaves{{"x", {}}, {"w", {}}};
  for (int i = 0; i < 64 * 64; ++i) {
    leaves["x"].push_back(static_cast<float>((i % 7) - 3) / 8);
    leaves["w"].push_back(static_cast<float>((i % 5) - 2) / 16);
  }
  std::string error;
  auto jit = codegen::Jit::create(error);
  ASSERT_TRUE(jit) << error;
  std::vector<rt::StepFunction> fns;
  ASSERT_TRUE(jit->compile({&g}, {}, fns, error)) << error;
  EXPECT_EQ(fns[0].tempBytes, 7 * 64 * 64 * 4);
  EXPECT_EQ(fns[0].arenaBytes, 2 * 64 * 64 * 4);
  ir::LeafValues ref;
  for (auto &[name, v] : leaves)
    ref[name].assign(v.begin(), v.end());
  std::vector<double> want = ir::evaluate(g, ref)[0];
  std::vector<float> got = test::runGraph(g, leaves).at("out");
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4 * std::max(1.0, std::fabs(want[i]))) << i;
}

} // namespace
