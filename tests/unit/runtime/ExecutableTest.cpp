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
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

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

TEST(Executable, ProgramsThatRunInTurnShareOneArena) {
  // Two programs with a temporary (the first product of x w w), bound to one arena and
  // run in turn: each run writes its temporaries afresh, so neither is disturbed by
  // what the other left there.
  auto product = [](const std::string &name, int64_t n) {
    auto g = std::make_unique<ir::Graph>(name);
    ir::Builder b(*g);
    ir::Node *x = g->input(name + ".x", {n, n}), *w = g->input(name + ".w", {n, n});
    g->addOutput(name + ".out", b.matmul(b.matmul(x, w), w));
    return g;
  };
  const int64_t n1 = 24, n2 = 40;
  auto one = product("one", n1), two = product("two", n2);
  std::string error;
  auto jit = codegen::Jit::create(error);
  ASSERT_TRUE(jit) << error;
  std::vector<rt::StepFunction> fns;
  ASSERT_TRUE(jit->compile({one.get(), two.get()}, {}, fns, error)) << error;
  ASSERT_GT(fns[0].arenaBytes, 0);
  ASSERT_GT(fns[1].arenaBytes, fns[0].arenaBytes);

  rt::Store store;
  auto fill = [&](const std::string &name, int64_t n, float scale) {
    float *x = store.get(name + ".x", {n, n}).data(), *w = store.get(name + ".w", {n, n}).data();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k) {
        x[i * n + k] = scale * static_cast<float>((i == k) + i % 5);
        w[i * n + k] = static_cast<float>(k - i);
      }
  };
  // out = x w w, each element checked against sums in double.
  auto check = [&](const rt::Executable &e, const std::string &name, int64_t n) {
    const float *x = store.find(name + ".x")->data(), *w = store.find(name + ".w")->data();
    const float *y = e.output(name + ".out");
    std::vector<double> xw(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k)
        for (int64_t j = 0; j < n; ++j)
          xw[i * n + j] += static_cast<double>(x[i * n + k]) * w[k * n + j];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double want = 0;
        for (int64_t k = 0; k < n; ++k)
          want += xw[i * n + k] * w[k * n + j];
        ASSERT_NEAR(y[i * n + j], want, 1e-4 * (1 + std::fabs(want)))
            << name << " " << i << " " << j;
      }
  };
  fill("one", n1, 1);
  fill("two", n2, 1);
  rt::Buffer tooSmall(fns[0].arenaBytes / 4);
  EXPECT_THROW(rt::Executable(fns[1], store, &tooSmall), std::invalid_argument);
  rt::Buffer arena(fns[1].arenaBytes / 4);
  rt::Executable a(fns[0], store, &arena), c(fns[1], store, &arena);
  a.run(); // its temporary lands in the given arena
  EXPECT_TRUE(
      std::any_of(arena.data(), arena.data() + arena.size(), [](float v) { return v != 0; }));
  for (float scale : {1.f, -2.f, 0.5f}) {
    fill("one", n1, scale);
    a.run();
    c.run(); // overwrites the arena the first program used
    check(a, "one", n1);
    check(c, "two", n2);
    fill("two", n2, scale);
    c.run();
    a.run();
    check(c, "two", n2);
    check(a, "one", n1);
  }
}

TEST(Executable, CompiledCodeFlushesDenormalsAndLeavesTheCallerIeee) {
  // TBB's workers take the floating-point mode of the thread that starts the scheduler,
  // here in IEEE mode (in ganc, the noise generation's parallel loop).
  tbb::parallel_for(0, 2, [](int) {});
  // A small kernel runs inline on the calling thread; a large one in parallel chunks,
  // some on TBB's workers.
  for (int64_t n : {int64_t{4}, int64_t{1} << 20}) {
    ir::Graph g("scale");
    ir::Builder b(g);
    ir::Node *x = g.input("x", {n}), *y = g.input("y", {n});
    g.addOutput("tiny", b.mul(x, 1e-30));  // a normal input, a denormal result: flushed
    g.addOutput("large", b.mul(y, 1e30)); // a denormal input reads as zero
    std::vector<float> xs(n, 1e-10f), ys(n, 1e-40f);
    ASSERT_NE(std::fpclassify(ys[0]), FP_ZERO);
    auto out = test::runGraph(g, {{"x", xs}, {"y", ys}});
    ASSERT_EQ(out["tiny"].size(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i += 4099) {
      EXPECT_EQ(out["tiny"][i], 0.f) << n << " " << i;
      EXPECT_EQ(out["large"][i], 0.f) << n << " " << i;
    }
  }
  // The calling thread is back in IEEE mode: the same products keep their denormals.
  volatile float a = 1e-10f, c = 1e-30f, d = 1e-40f;
  EXPECT_GT(a * c, 0.f);
  EXPECT_GT(d * 1e30f, 1e-11f);
}

} // namespace
