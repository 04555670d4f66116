//===- MatmulTest.cpp - matmul, transpose and column sums at sizes with every edge ===//
//
// A B of more than 512 KB is swept in panels of columns (ops/Linalg.cpp); the columns
// after the last full panel, the vectors left after the tiles' groups of vectors and the
// narrow tail go through the band loops; A^T B with one column has loops of its own.
// Column sums (a bias gradient) run lanes() columns per vector and the rest one by one.
// Compared with the reference evaluator or exact expectations.
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

/// C = op(A) W (+ c, relu), op(A) = A^T when `ta`.
void checkProduct(int64_t m, int64_t k, int64_t n, bool epilogue, bool ta = false) {
  Graph g("panels");
  Builder b(g);
  Node *a = g.input("a", ta ? Shape{k, m} : Shape{m, k}), *w = g.input("w", {k, n}),
       *c = g.input("c", {n});
  Node *mm = b.matmul(a, w, ta);
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
        << m << "x" << k << "x" << n << (ta ? " (A transposed)" : "") << " element " << i;
}

// With AVX-512 a tile is 3 vectors (48 columns) wide, with AVX2 2 vectors (16 columns).
TEST(Matmul, PanelsOfALargeBWithTails) {
  // 600 KB of B: panels, then groups, 2 vectors and a tail of 8 (AVX2: 1 vector).
  checkProduct(13, 150, 1000, false);
  // 541 KB, 2 vectors after the groups (AVX2: none), relu in the stores.
  checkProduct(7, 130, 1040, true);
  // 675 KB: 23 groups, 21 of them in panels, then one vector left, which goes with the
  // last group as two tiles of two (AVX2: 70 groups, none left), a tail of 5, and a
  // band of 8 rows and one row left.
  checkProduct(9, 150, 1125, true);
}

// The tutorial's G output layer: 16 groups of 3 vectors and one vector left, computed as
// 15 groups and two tiles of two vectors (AVX2: 49 groups of 2), a band of 8 rows and a
// band of the 5 rows left; and with A transposed (its weight gradient's shape).
TEST(Matmul, OneVectorLeftAfterTheGroups) {
  checkProduct(13, 128, 784, true);
  checkProduct(13, 128, 784, false, /*ta=*/true);
}

TEST(Matmul, TheDcganDenseLayer) { checkProduct(128, 100, 6272, true); }

// Columns that do not fill a vector: dot products along K, A's row and B's column a vector
// at a time (K = 150: 9 whole vectors of AVX-512 and a partial one; 13 rows: a band of 8
// and one of the 5 rows left).
TEST(Matmul, MatrixVectorProducts) {
  checkProduct(13, 150, 1, true);
  checkProduct(13, 150, 3, false); // B's columns 3 apart
  checkProduct(21, 7, 35, true);   // two vectors, then 3 columns; K shorter than a vector
}

// A^T B with one column (a weight gradient into one output): C as vectors of rows, in
// groups of 8 vectors, then the vectors left, the last one partial. Other narrow columns
// of A^T B are dot products.
TEST(Matmul, NarrowColumnsOfATransposedProduct) {
  checkProduct(16 * 8 * 2 + 16 * 3 + 5, 20, 1, false, true);
  checkProduct(16 * 8 + 5, 9, 1, true, true);
  checkProduct(16 * 8 + 5, 9, 3, true, true);
  checkProduct(7, 9, 35, false, true); // pairs of vectors and a tail of 3
  // A 1x1 result (a 1 -> 1 dense layer's weight gradient): a vector store of one lane,
  // its epilogue's operands one value each.
  checkProduct(1, 64, 1, true, true);
  checkProduct(1, 9, 1, false, true);
}

TEST(ReduceSum, ColumnsInVectorsAndTheRestOneByOne) {
  for (const Shape &s : {Shape{128, 784}, Shape{37, 50}, Shape{9, 3}}) {
    Graph g("columns");
    Builder b(g);
    g.addOutput("out", b.reduceSum(g.input("x", s), 0, 1));
    std::vector<float> x;
    for (int64_t i = 0; i < numElements(s); ++i)
      x.push_back(static_cast<float>((i * 37) % 101) / 8); // sums exact in float
    std::vector<float> got = test::runGraph(g, {{"x", x}}).at("out");
    ASSERT_EQ(static_cast<int64_t>(got.size()), s[1]);
    for (int64_t q = 0; q < s[1]; ++q) {
      double want = 0;
      for (int64_t r = 0; r < s[0]; ++r)
        want += x[static_cast<size_t>(r * s[1] + q)];
      ASSERT_EQ(got[static_cast<size_t>(q)], want) << formatShape(s) << " column " << q;
    }
  }
}

TEST(Transpose, MatricesAndBatches) {
  // Whole tiles of lanes x lanes and the rows and columns left over, at every vector width.
  for (int bits : test::kVectorWidths)
    for (const Shape &s :
         {Shape{784, 128}, Shape{37, 50}, Shape{3, 40, 19}, Shape{5, 7}, Shape{2, 32, 48}}) {
      Graph g("transpose");
      Builder b(g);
      g.addOutput("out", b.transpose(g.input("x", s)));
      std::vector<float> x;
      for (int64_t i = 0; i < numElements(s); ++i)
        x.push_back(static_cast<float>(i));
      std::vector<float> got = test::runGraph(g, {{"x", x}}, bits).at("out");
      const size_t r = s.size() - 2;
      const int64_t rows = s[r], cols = s[r + 1], batch = r ? s[0] : 1;
      ASSERT_EQ(static_cast<int64_t>(got.size()), numElements(s));
      for (int64_t m = 0; m < batch; ++m)
        for (int64_t i = 0; i < cols; ++i)
          for (int64_t j = 0; j < rows; ++j)
            ASSERT_EQ(got[static_cast<size_t>((m * cols + i) * rows + j)],
                      x[static_cast<size_t>((m * rows + j) * cols + i)])
                << formatShape(s) << " at " << m << "," << i << "," << j << " (vectors of at most " << bits << " bits; 0: the host's)";
    }
}

} // namespace
