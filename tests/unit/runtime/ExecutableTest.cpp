//===- ExecutableTest.cpp - committing a step's outputs to the store -------===//
//
// commit() trades each updated tensor's buffer with the output's instead of copying:
// afterwards the store holds the new values, every program bound to the store reads
// them, the next run writes its output into the old buffer, and a run that is not
// committed changes nothing in the store.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "Tensor.h"
#include "ir/Builder.h"

#include <gtest/gtest.h>

using namespace ganc;

namespace {

TEST(Executable, CommitHandsTheOutputsToTheStore) {
  // step: p <- p + x (p is a parameter-like tensor the program reads and updates).
  ir::Graph step("step");
  ir::Builder b(step);
  ir::Node *p = step.input("p", {5}), *x = step.input("x", {5});
  step.addOutput("p", b.add(p, x));
  step.addOutput("sum", b.sumAll(p));
  // read: another program on the same store, reading p.
  ir::Graph read("read");
  ir::Builder rb(read);
  read.addOutput("twice", rb.mul(read.input("p", {5}), 2.0));

  std::string error;
  auto jit = codegen::Jit::create(error);
  ASSERT_TRUE(jit) << error;
  std::vector<rt::StepFunction> fns;
  ASSERT_TRUE(jit->compile({&step, &read}, {}, fns, error)) << error;
  rt::Store store;
  float *p0 = store.get("p", {5}).data();
  float *x0 = store.get("x", {5}).data();
  for (int i = 0; i < 5; ++i)
    p0[i] = static_cast<float>(i), x0[i] = 1;
  rt::Executable s(fns[0], store), r(fns[1], store);

  s.run(); // not committed: the store keeps p
  EXPECT_EQ(store.find("p")->data()[4], 4.f);
  EXPECT_EQ(s.output("p")[4], 5.f);
  s.commit();
  EXPECT_EQ(store.find("p")->data()[4], 5.f);
  EXPECT_EQ(s.output("p")[4], 5.f); // where the committed value now is

  s.run(); // reads the committed p, writes into the old buffer
  EXPECT_EQ(s.output("sum")[0], 1.f + 2 + 3 + 4 + 5);
  EXPECT_EQ(s.output("p")[4], 6.f);
  EXPECT_EQ(store.find("p")->data()[4], 5.f);
  s.commit();
  r.run(); // the other program follows the store
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(r.output("twice")[i], 2.f * static_cast<float>(i + 2));
}

} // namespace
