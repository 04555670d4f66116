//===- MatmulTest.cpp - matmul on B too large for one core's cache ---------===//
//
// A B of more than 512 KB is swept in panels of columns (ops/Linalg.cpp); the columns
// after the last full panel, the single vector and the scalar tail go through the band
// loops. Compared with the reference evaluator, with and without an epilogue.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

void checkProduct(int64_t m, int64_t k, int64_t n, bool epilogue) {
  Graph g("panels");
  Builder b(g);
  Node *a = g.input("a", {m, k}), *w = g.input("w", {k, n}), *c = g.input("c", {n});
  Node *mm = b.matmul(a, w);
  g.addOutput("out", epilogue ? b.unary(OpKind::Relu, b.add(mm, b.broadcast(c, {m, n}, 0, 1))) : mm);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1, 1);
  std::map<std::string, std::vector<float>> leaves;
  LeafValues ref;
  for (auto [name, size] : {std::pair{"a", m * k}, {"w", k * n}, {"c", n}})
    for (int64_t i = 0; i < size; ++i) {
      leaves[name].push_back(u(rng));
      ref[name].push_back(leaves[name].back());
    }
  std::vector<double> want = evaluate(g, ref)[0];
  std::vector<float> got = test::runGraph(g, leaves).at("out");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4 * std::max(1.0, std::fabs(want[i])))
        << m << "x" << k << "x" << n << " element " << i;
}

TEST(Matmul, PanelsOfALargeBWithTails) {
  checkProduct(13, 150, 1000, false); // 600 KB of B: panels, then pairs, and a tail of 8
  checkProduct(7, 130, 1040, true);   // 541 KB, a single vector after the pairs, relu in the stores
}

TEST(Matmul, TheDcganDenseLayer) { checkProduct(128, 100, 6272, true); }

} // namespace
