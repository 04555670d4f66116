//===- CacheTest.cpp - the compiled-object cache --------------------------===//
#include "TestUtil.h"
#include "Tensor.h"
#include "driver/Session.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace ganc;

namespace {

/// Compiles the tutorial model's step programs with the cache in `dir`, runs the D step
/// on fixed inputs and returns its loss and Adam moment of one weight.
std::vector<float> compileAndRun(const std::string &dir, int &hits) {
  driver::Session s;
  EXPECT_TRUE(s.analyze(test::sourcePath("examples/mnist.gan")));
  EXPECT_TRUE(s.buildSteps(16));
  EXPECT_TRUE(s.startJit());
  codegen::JitOptions opts;
  opts.cacheDir = dir;
  std::vector<rt::StepFunction> fns = s.compile({s.model().dStep.get(), s.model().gStep.get()}, opts);
  hits = s.jit().cacheHits();
  rt::Store store;
  for (const rt::Slot &slot : fns[0].slots)
    if (slot.kind == rt::Slot::Kind::Leaf) {
      rt::Tensor &t = store.get(slot.name, slot.shape);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data()[i] = 0.01f * static_cast<float>((i * 7919 + slot.name.size()) % 200 - 100);
    }
  rt::Executable exe(fns[0], store);
  exe.run();
  std::vector<float> out{exe.output("loss")[0]};
  const float *m = exe.output("D.dense_1.W@adam.m");
  out.insert(out.end(), m, m + 784 * 128);
  return out;
}

TEST(ObjectCache, SecondCompilationComesFromTheCacheAndComputesTheSame) {
  std::string dir = test::freshDir("cache");
  int hits = -1;
  std::vector<float> first = compileAndRun(dir, hits);
  EXPECT_EQ(hits, 0);
  // One object per part of the module: its functions compile on separate threads when
  // the machine has several.
  auto entries = std::distance(std::filesystem::directory_iterator(dir), {});
  EXPECT_EQ(entries, codegen::Jit::compileParts());
  std::vector<float> second = compileAndRun(dir, hits);
  EXPECT_EQ(hits, 1);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), entries); // nothing new
  EXPECT_EQ(first, second);
}

TEST(ObjectCache, ADamagedEntryIsReplaced) {
  std::string dir = test::freshDir("cache-bad");
  int hits = -1;
  std::vector<float> first = compileAndRun(dir, hits);
  for (auto &e : std::filesystem::directory_iterator(dir))
    std::ofstream(e.path(), std::ios::trunc) << "not an object file";
  std::vector<float> second = compileAndRun(dir, hits);
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(first, second);
  for (auto &e : std::filesystem::directory_iterator(dir))
    EXPECT_GT(std::filesystem::file_size(e.path()), 1000u);
}

} // namespace
