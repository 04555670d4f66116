//===- ReduceTest.cpp - a large whole sum, in chunks --------------------------===//
//
// reduce_sum of all of a large tensor runs in fixed chunks summed in parallel, then
// added in order (ops/Shape.cpp, lowerSumAll). Checked against a plain sum in double,
// at every vector width, and bit for bit the same for 1, 2 and 3 threads.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "Threads.h"
#include "ir/Builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

// 5 x 6563: two chunks of 16,384 and 47 elements left over (not a whole vector at any
// width); 13 x 10007: seven chunks, which the threads share.
const Shape kSmall{5, 6563}, kLarge{13, 10007};

std::vector<float> values(const Shape &s) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0, 1); // one sign: no cancellation to hide a lost chunk
  std::vector<float> v(static_cast<size_t>(numElements(s)));
  for (float &x : v)
    x = u(rng);
  return v;
}

float jitSum(const std::vector<float> &v, const Shape &s, int bits = 0) {
  Graph g("sum");
  Builder b(g);
  g.addOutput("s", b.sumAll(g.input("x", s)));
  return test::runGraph(g, {{"x", v}}, bits).at("s").at(0);
}

TEST(Reduce, LargeWholeSumMatchesAPlainSum) {
  for (const Shape &s : {kSmall, kLarge}) {
    const std::vector<float> v = values(s);
    double want = 0;
    for (float x : v)
      want += x;
    for (int bits : test::kVectorWidths)
      EXPECT_NEAR(jitSum(v, s, bits), want, 1e-5 * want)
          << formatType(s) << ", vectors of at most " << bits << " bits";
  }
  // The last element alone: the elements after the last chunk are added.
  std::vector<float> last(static_cast<size_t>(numElements(kSmall)), 0.f);
  last.back() = 3.f;
  EXPECT_EQ(jitSum(last, kSmall), 3.f);
}

TEST(Reduce, LargeWholeSumIsTheSameForAnyThreadCount) {
  const std::vector<float> v = values(kLarge);
  std::vector<float> sums;
  for (int threads : {1, 2, 3}) {
    rt::ThreadLimit limit(threads);
    sums.push_back(jitSum(v, kLarge));
  }
  EXPECT_EQ(std::memcmp(&sums[0], &sums[1], 4), 0) << sums[0] << " vs " << sums[1];
  EXPECT_EQ(std::memcmp(&sums[0], &sums[2], 4), 0) << sums[0] << " vs " << sums[2];
}

} // namespace
