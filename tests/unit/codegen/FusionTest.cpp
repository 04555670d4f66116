//===- FusionTest.cpp - fused kernels compute what the nodes do -----------===//
//
// Graphs shaped to hit each way codegen fuses nodes, compiled by the JIT and compared
// with the reference evaluator (ir::evaluate, in double precision): epilogues of matmul
// and of each convolution (vector stores along the last axis, along channels and along
// samples, with inputs read as vectors, gathered and broadcast), kernels storing several
// values, broadcasts (also in two steps) and transposes read in place, views, loop nests
// whose inputs broadcast along middle axes, and row sums computed in the loop of their
// operand (masked tails, splats, gathers, rows over two loops), and cheap values computed
// again where they are read instead of stored. Each test also checks
// the plan fused what it should, so a pass that stopped fusing could not pass by
// computing the unfused graph.
//
//===----------------------------------------------------------------------===//
#include "codegen/Fusion.h"
#include "JitUtil.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"
#include "ir/OpInfo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

class Fusion : public ::testing::Test, protected test::RandomGraph {
protected:
  Fusion() : RandomGraph("fused", 5) {}

  Node *bias(Node *n, Node *c, int64_t axis) { // c [C] added along axis of n
    Shape inner(n->shape.begin() + axis, n->shape.end());
    Node *cols = b.broadcast(c, inner, 1, static_cast<int64_t>(inner.size()));
    return b.add(n, b.broadcast(cols, n->shape, 0, axis));
  }

  /// act(conv2d(x, w) + c) with padding 1, c a bias per filter: the convolution's
  /// epilogue reads the bias from c itself (strides 0 but along the filters).
  void convBiasEpilogue(const Shape &xs, const Shape &ws, int64_t stride, OpKind act) {
    Node *c = leaf("c", {ws[0]});
    Node *conv = b.make(OpKind::Conv2d, {leaf("x", xs), leaf("w", ws)}, {{stride, 1}, 0, ""});
    Node *out = b.unary(act, bias(conv, c, 1));
    g.addOutput("out", out);
    codegen::FusionPlan p = plan();
    const codegen::Unit *u = unitOf(p, out);
    EXPECT_EQ(u->anchor, conv);
    ASSERT_EQ(u->inputs.size(), 1u);
    EXPECT_EQ(u->inputs[0].buffer, c);
    EXPECT_EQ(u->inputs[0].strides, (std::vector<int64_t>{0, 1, 0, 0}));
    check();
  }
  /// Compiles and runs the graph (with vectors of at most maxVectorBits, when given), and
  /// compares every output with the evaluator's.
  void check(int maxVectorBits = 0) {
    auto got = test::runGraph(g, test::floatLeaves(values), maxVectorBits);
    std::vector<std::vector<double>> want = evaluate(g, values);
    ASSERT_EQ(got.size(), g.outputs().size());
    for (size_t o = 0; o < g.outputs().size(); ++o) {
      const std::string &name = g.outputs()[o].first;
      ASSERT_EQ(got[name].size(), want[o].size()) << name;
      for (size_t i = 0; i < want[o].size(); ++i)
        ASSERT_NEAR(got[name][i], want[o][i], 1e-4 * std::max(1.0, std::fabs(want[o][i])))
            << name << " element " << i;
    }
  }

  /// A LeakyReLU's backward loop: an output gradient times its masks `down` and `up`,
  /// kept apart from act's own loop by reading act's total; the output "out".
  Node *backwardThroughMasks(Node *act, Node *down, Node *up) {
    const Shape &s = act->shape;
    Node *shifted =
        b.add(leaf("dy", s), b.broadcast(b.sumAll(act), s, 0, static_cast<int64_t>(s.size())));
    Node *out = b.add(b.mul(b.mul(shifted, -0.2), down), b.mul(shifted, up));
    g.addOutput("out", out);
    return out;
  }
  /// Expects the loop `u` to compute each of `values` itself, reading the buffer `from`.
  void expectComputesFrom(const codegen::Unit *u, std::vector<const Node *> values,
                          const Node *from) {
    for (const Node *v : values)
      EXPECT_NE(std::find(u->members.begin(), u->members.end(), v), u->members.end());
    std::vector<const Node *> read;
    for (const codegen::FusedInput &in : u->inputs)
      read.push_back(in.buffer);
    EXPECT_NE(std::find(read.begin(), read.end(), from), read.end());
  }

  codegen::FusionPlan plan() const { return codegen::planFusion(g); }
  /// The unit computing `n`.
  const codegen::Unit *unitOf(const codegen::FusionPlan &p, const Node *n) const {
    for (const codegen::Unit &u : p.units)
      if (u.anchor == n || std::find(u.members.begin(), u.members.end(), n) != u.members.end() ||
          std::find(u.sums.begin(), u.sums.end(), n) != u.sums.end())
        return &u;
    return nullptr;
  }
};

TEST_F(Fusion, MatmulEpilogueWithBiasAndTwoResults) {
  // 13 rows: two bands of 6 and one left over; 45 columns: vectors and scalar tails.
  Node *x = leaf("x", {13, 37}), *w = leaf("w", {37, 45}), *c = leaf("c", {45});
  Node *mm = b.matmul(x, w);
  Node *pre = b.add(mm, b.broadcast(c, {13, 45}, 0, 1));
  g.addOutput("act", b.unary(OpKind::Relu, pre));
  g.addOutput("slope", b.unary(OpKind::Step, pre));
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, mm);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->anchor, mm);
  EXPECT_EQ(u->members.size(), 3u); // add, relu, step
  EXPECT_EQ(u->stored.size(), 2u);  // relu and step; neither mm nor pre reach memory
  check();
}

TEST_F(Fusion, ALongChainLeavesTheEpilogueForALoopOfItsOwn) {
  // A register tile repeats its epilogue for every vector it holds: twelve rounds of
  // h = tanh(h) * h (cost 11 each) take in only what stays under the epilogue's budget,
  // and the rest is an elementwise loop reading the product's stored value.
  Node *x = leaf("x", {13, 37}), *w = leaf("w", {37, 45});
  Node *mm = b.matmul(x, w), *h = mm;
  std::vector<Node *> chain;
  for (int i = 0; i < 12; ++i) {
    h = b.mul(b.unary(OpKind::Tanh, h), h);
    chain.push_back(h);
  }
  g.addOutput("h", h);
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, mm), *last = unitOf(p, h);
  ASSERT_TRUE(u && last);
  EXPECT_NE(u, last);
  EXPECT_EQ(last->anchor, nullptr);
  EXPECT_EQ(unitOf(p, chain[0]), u); // the first rounds stay in the product's stores
  double cost = 0;
  for (const Node *m : u->members)
    cost += opInfo(m->op).costPerElement;
  EXPECT_LE(cost, 64);
  EXPECT_GE(cost, 40);
  check();
}

TEST_F(Fusion, AnEpilogueSumsAValueOverAllItsElements) {
  // A weight update and its gradient's squared norm, as an optimizer and the logged norm
  // make them: the squares are summed in the product's stores, never stored themselves.
  // 13 rows (bands and rows left over), 53 columns (vectors, and five columns stored one
  // at a time with AVX-512, four with AVX2 and one with SSE), at every vector width.
  Node *x = leaf("x", {13, 37}), *y = leaf("y", {37, 53}), *w = leaf("w", {13, 53});
  Node *grad = b.matmul(x, y);
  Node *squares = b.mul(grad, grad);
  Node *total = b.sumAll(squares);
  g.addOutput("w", b.sub(w, b.mul(grad, 0.1)));
  g.addOutput("norm", b.unary(OpKind::Sqrt, total));
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, grad);
  ASSERT_TRUE(u);
  EXPECT_EQ(unitOf(p, total), u);
  EXPECT_EQ(u->sums, (std::vector<const Node *>{total}));
  EXPECT_EQ(std::find(u->stored.begin(), u->stored.end(), squares), u->stored.end());
  for (int bits : test::kVectorWidths)
    check(bits);
}

TEST_F(Fusion, AnEpilogueSumsAValueOverLeadingAxes) {
  // A bias's gradient, the output gradient summed over the batch, in the stores of the
  // product that computes that gradient (13 rows, 53 columns: vectors, partial vectors
  // and single columns). A sum over the two leading axes of a batch of products stays a
  // kernel of its own: only a matrix's kernels keep a row of partial sums per iteration.
  Node *x = leaf("x", {13, 37}), *y = leaf("y", {37, 53}), *mask = leaf("mask", {13, 53});
  Node *grad = b.mul(b.matmul(x, y), mask);
  Node *bias = b.reduceSum(grad, 0, 1);
  Node *p = leaf("p", {3, 7, 5}), *q = leaf("q", {3, 5, 18});
  Node *batched = b.unary(OpKind::Tanh, b.matmul(p, q));
  Node *lead = b.reduceSum(batched, 0, 2);
  g.addOutput("grad", grad);
  g.addOutput("bias", bias);
  g.addOutput("lead", lead);
  codegen::FusionPlan plan = this->plan();
  EXPECT_EQ(unitOf(plan, bias), unitOf(plan, grad));
  EXPECT_NE(unitOf(plan, lead), unitOf(plan, batched));
  for (int bits : test::kVectorWidths)
    check(bits);
}

TEST_F(Fusion, AConvolutionsEpilogueSumsAValueOverAllItsElements) {
  // The same for a filter gradient, whose stores run along filters (lanes apart): its
  // epilogue takes a chain of single-use values, here an L1 norm.
  Node *x = leaf("x", {2, 3, 9, 9}), *dy = leaf("dy", {2, 17, 5, 5});
  Node *grad = b.make(OpKind::Conv2dFilterGrad, {x, dy}, {{2, 1, 3, 3}, 0, ""});
  Node *total = b.sumAll(b.unary(OpKind::Abs, grad));
  g.addOutput("norm", b.mul(total, 0.5));
  codegen::FusionPlan p = plan();
  EXPECT_EQ(unitOf(p, total), unitOf(p, grad));
  for (int bits : test::kVectorWidths)
    check(bits);
}

TEST_F(Fusion, AnEpilogueDoesNotTakeInWhatReadsItsSum) {
  // Clipping by the norm: the update reads the finished sum, so it runs in a loop of its
  // own after the product, which stores the gradient for it.
  Node *x = leaf("x", {13, 37}), *y = leaf("y", {37, 53}), *w = leaf("w", {13, 53});
  Node *grad = b.matmul(x, y);
  Node *total = b.sumAll(b.mul(grad, grad));
  Node *scale = b.broadcast(b.unary(OpKind::Sqrt, total), grad->shape, 0, 2);
  Node *update = b.sub(w, b.div(grad, scale));
  g.addOutput("w", update);
  codegen::FusionPlan p = plan();
  EXPECT_EQ(unitOf(p, total), unitOf(p, grad));
  EXPECT_NE(unitOf(p, update), unitOf(p, grad));
  check();
}

TEST_F(Fusion, TransposedMatmulEpilogueReadsASameShapeInput) {
  Node *x = leaf("x", {9, 20}), *w = leaf("w", {33, 20}), *y = leaf("y", {9, 33});
  Node *mm = b.matmul(x, w, false, true);
  g.addOutput("out", b.mul(b.unary(OpKind::Sigmoid, mm), y));
  EXPECT_EQ(unitOf(plan(), mm)->members.size(), 2u);
  check();
}

TEST_F(Fusion, BatchedMatmulEpilogue) {
  Node *x = leaf("x", {3, 7, 5}), *w = leaf("w", {3, 5, 18}), *y = leaf("y", {3, 7, 18});
  g.addOutput("out", b.sub(b.matmul(x, w), y));
  check();
}

TEST_F(Fusion, MatmulEpilogueGathersATransposeReadInPlace) {
  // transpose(m) is read in place: along the matmul's rows of lanes it steps by 11.
  Node *x = leaf("x", {11, 8}), *w = leaf("w", {8, 40}), *m = leaf("m", {40, 11});
  Node *mm = b.matmul(x, w);
  g.addOutput("out", b.add(mm, b.transpose(m)));
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, mm);
  ASSERT_EQ(u->inputs.size(), 1u);
  EXPECT_EQ(u->inputs[0].buffer, m);
  EXPECT_EQ(u->inputs[0].strides, (std::vector<int64_t>{1, 11}));
  check();
}

TEST_F(Fusion, ConvEpilogueAlongFilters) {
  // 20 filters: a block of vector lanes (stores lie H*W apart), then filters one by one.
  // The bias, broadcast in two steps, is read from c itself, a vector along the lanes.
  convBiasEpilogue({3, 5, 8, 8}, {20, 5, 3, 3}, 1, OpKind::Tanh);
}

TEST_F(Fusion, ConvEpilogueAlongSamples) {
  // Fewer filters than lanes: samples go in the lanes, stores lie O*H*W apart.
  convBiasEpilogue({19, 4, 6, 6}, {3, 4, 3, 3}, 2, OpKind::Relu);
}

TEST_F(Fusion, ConvEpilogueAlongColumns) {
  // The shape of the DCGAN's first layer: one input channel, so vectors run along output
  // columns; a 14-wide row ends in a partial vector, whose epilogue reads the bias per
  // filter and stores only the row's lanes (the next row belongs to another tile).
  convBiasEpilogue({3, 1, 28, 28}, {20, 1, 4, 4}, 2, OpKind::Relu);
}

TEST_F(Fusion, ConvTransposeEpilogue) {
  Node *x = leaf("x", {4, 18, 5, 5}), *w = leaf("w", {18, 17, 4, 4}), *c = leaf("c", {17});
  Node *up = b.make(OpKind::ConvTranspose2d, {x, w}, {{2, 1, 0, 0}, 0, ""});
  Node *out = b.unary(OpKind::Tanh, bias(up, c, 1));
  g.addOutput("out", out);
  EXPECT_EQ(unitOf(plan(), out)->anchor, up);
  check();
}

TEST_F(Fusion, ConvolutionsKeepEpiloguesWithoutGathers) {
  // A convolution's lanes lie apart, so reading another tensor of its shape (y, v, p)
  // or storing a second result would gather or scatter: such nodes get a loop of their
  // own instead. Here the weight gradient feeds an SGD-with-momentum update.
  Node *x = leaf("x", {3, 4, 7, 7}), *gy = leaf("gy", {3, 21, 7, 7});
  Node *dw = b.make(OpKind::Conv2dFilterGrad, {x, gy}, {{1, 1, 3, 3}, 0, ""});
  Node *v = leaf("v", dw->shape), *p = leaf("p", dw->shape);
  Node *v2 = b.add(b.mul(v, 0.9), dw);
  g.addOutput("v", v2);
  g.addOutput("p", b.sub(p, b.mul(v2, 0.01)));
  Node *conv = b.make(OpKind::Conv2d, {x, leaf("w", {6, 4, 3, 3})}, {{1, 1}, 0, ""});
  Node *y = leaf("y", conv->shape);
  Node *out = b.mul(b.unary(OpKind::Sigmoid, conv), y);
  g.addOutput("out", out);
  codegen::FusionPlan plan = this->plan();
  const codegen::Unit *u = unitOf(plan, v2);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->anchor, nullptr);
  EXPECT_EQ(u->stored.size(), 2u); // the velocity and the weights, one loop
  EXPECT_EQ(unitOf(plan, out)->anchor, nullptr);
  check();
}

TEST_F(Fusion, LoopNestBroadcastsAlongMiddleAxisAndReadsTransposeInPlace) {
  Node *a = leaf("a", {4, 5, 6}), *c = leaf("c", {4, 6}), *m = leaf("m", {6, 4}), *n = leaf("n", {4, 6});
  Node *bc = b.broadcast(c, {4, 5, 6}, 1, 2); // strides {6, 0, 1}
  g.addOutput("out", b.mul(b.unary(OpKind::Exp, a), bc));
  g.addOutput("t", b.sub(b.transpose(m), n));
  codegen::FusionPlan p = plan();
  for (const codegen::Unit &u : p.units) {
    EXPECT_FALSE(u.anchor && u.anchor->is(OpKind::Broadcast)) << "the broadcast is read in place";
    EXPECT_FALSE(u.anchor && u.anchor->is(OpKind::Transpose)) << "the transpose is read in place";
  }
  check();
}

TEST_F(Fusion, ViewsNameTheirOperandsBuffer) {
  Node *a = leaf("a", {6, 10}), *w = leaf("w", {10, 12}), *y = leaf("y", {3, 24});
  Node *mm = b.matmul(a, w);
  Node *r = b.reshape(b.make(OpKind::StopGradient, {mm}), {3, 24});
  g.addOutput("out", b.add(r, y));
  g.addOutput("mm", mm);
  codegen::FusionPlan p = plan();
  EXPECT_EQ(p.viewOf.at(r->id), mm);
  check();
}

TEST_F(Fusion, ScalarsAndConstantsMixWithVectorsInAnEpilogue) {
  Node *x = leaf("x", {8, 16}), *w = leaf("w", {16, 32}), *s = leaf("s", {});
  Node *mm = b.matmul(x, w);
  // A rank-0 input, constants and a select: all become vectors next to the matmul's.
  g.addOutput("out", b.add(b.mul(b.unary(OpKind::Step, mm), s), b.make(OpKind::Maximum, {mm, b.scalar(0.25)})));
  check();
}

TEST_F(Fusion, RowSumsJoinTheLoopOfTheirOperand) {
  // Batch norm's variance: the squares are only summed, so they never reach memory. Rows
  // of 7x7 = 49: three vectors and a masked tail, whose lanes past the row must not
  // count (they would add (0 - mean)^2).
  Node *x = leaf("x", {5, 6, 7, 7}), *mean = leaf("mean", {6});
  Node *centered = b.sub(x, b.broadcast(b.broadcast(mean, {6, 7, 7}, 1, 3), x->shape, 0, 1));
  Node *squares = b.mul(centered, centered);
  Node *rows = b.reduceSum(squares, 2, 4);
  g.addOutput("centered", centered);
  g.addOutput("rows", rows);
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, squares);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->sums, (std::vector<const Node *>{rows}));
  EXPECT_EQ(u->stored, (std::vector<const Node *>{centered, rows})); // not the squares
  check();
}

TEST_F(Fusion, RowSumsOfSeveralValuesReadInputsEveryWay) {
  // Batch norm's backward sums: three sums in one loop, rows of one axis of 37 (two
  // vectors and a tail with AVX-512, four and a tail with AVX2), an input broadcast
  // along the row (a splat), one read through a transpose (a gather along the row).
  Node *g1 = leaf("g", {3, 6, 37}), *xc = leaf("xc", {3, 6, 37}), *gamma = leaf("gamma", {6});
  Node *t = leaf("t", {3, 37, 6});
  Node *dy = b.mul(g1, b.broadcast(b.broadcast(gamma, {6, 37}, 1, 2), g1->shape, 0, 1));
  Node *prod = b.mul(dy, xc);
  Node *shifted = b.add(dy, b.transpose(t)); // steps by 6 along the row
  Node *s1 = b.reduceSum(dy, 2, 3), *s2 = b.reduceSum(prod, 2, 3),
       *s3 = b.reduceSum(b.unary(OpKind::Exp, shifted), 2, 3);
  g.addOutput("s1", s1);
  g.addOutput("s2", s2);
  g.addOutput("s3", s3);
  g.addOutput("dy", dy);
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, dy);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->sums.size(), 3u);
  EXPECT_EQ(u->stored.size(), 4u);
  check();
}

TEST_F(Fusion, RowSumsOverAxesThatDoNotMergeAndOverOneRow) {
  // An input broadcast along W but not H keeps H and W two loops: the partial sums carry
  // through both. A sum over every axis but a leading 1 is one row for the whole loop.
  Node *x = leaf("x", {4, 5, 9, 18}), *h = leaf("h", {9});
  Node *byRow = b.broadcast(b.broadcast(h, {9, 18}, 1, 2), x->shape, 0, 2);
  Node *v = b.mul(x, byRow);
  g.addOutput("rows", b.reduceSum(v, 1, 4));
  Node *y = leaf("y", {1, 300});
  g.addOutput("all", b.reduceSum(b.unary(OpKind::Tanh, y), 1, 2));
  // Rows of one element, whose value is also stored: one lane at a time (a whole
  // vector stored at each element ran past the end of the buffer).
  Node *z = leaf("z", {6, 5, 1, 1}), *relu = b.unary(OpKind::Relu, z);
  g.addOutput("ones", b.reduceSum(relu, 2, 4));
  g.addOutput("relu", relu);
  codegen::FusionPlan p = plan();
  for (const Node *n : {v, g.outputs()[1].second->operands[0], g.outputs()[2].second->operands[0]})
    EXPECT_EQ(unitOf(p, n)->sums.size(), 1u);
  check();
}

TEST_F(Fusion, ALoopTakesInAUnitWithItsSums) {
  // a's loop sums a; n = a + c joins c's loop and takes a's loop in, sum and all. The
  // sum is made after n, as the reduce-add rewrite makes them: a's only other reader is
  // a row sum not yet placed, which follows a into n's loop.
  Node *x = leaf("x", {3, 5, 20}), *y = leaf("y", {3, 5, 20});
  Node *a = b.neg(b.unary(OpKind::Exp, x));
  Node *c = b.mul(x, y);
  Node *n = b.add(c, a);
  g.addOutput("n", n);
  Node *s = b.reduceSum(a, 2, 3);
  g.addOutput("s", s);
  codegen::FusionPlan p = plan();
  const codegen::Unit *u = unitOf(p, n);
  ASSERT_TRUE(u);
  EXPECT_EQ(unitOf(p, a), u);
  EXPECT_EQ(u->sums, (std::vector<const Node *>{s}));
  EXPECT_EQ(u->stored, (std::vector<const Node *>{n, s})); // not a
  check();
}

TEST_F(Fusion, ALoopDoesNotTakeInTheSumsItReads) {
  // x - broadcast(sum(e) / 20) reads e's row sums: e's loop must be done before that
  // loop starts, so it stays a kernel of its own.
  Node *x = leaf("x", {4, 3, 20});
  Node *e = b.unary(OpKind::Exp, x);
  Node *s = b.reduceSum(e, 2, 3);
  Node *out = b.sub(e, b.broadcast(b.mul(s, 0.05), x->shape, 2, 3));
  g.addOutput("out", out);
  codegen::FusionPlan p = plan();
  EXPECT_NE(unitOf(p, e), unitOf(p, out));
  EXPECT_EQ(unitOf(p, e)->sums, (std::vector<const Node *>{s}));
  check();
}

TEST_F(Fusion, AMaskIsRecomputedWhereItIsRead) {
  // A LeakyReLU's forward loop computes the mask step(-pre); a later loop (kept apart by
  // a total it reads, which needs the first loop done) reads pre anyway, so it computes
  // the mask itself: the first loop stores the activation and pre, not the mask.
  Node *x = leaf("x", {4, 40}), *y = leaf("y", {4, 40}), *dy = leaf("dy", {4, 40});
  Node *pre = b.add(x, y);
  Node *act = leakyRelu(pre);
  Node *mask = b.unary(OpKind::Step, b.neg(pre));
  Node *total = b.sumAll(act);
  Node *shifted = b.add(dy, b.broadcast(total, {4, 40}, 0, 2)); // needs the first loop done
  Node *out = b.add(b.mul(shifted, mask), pre);
  g.addOutput("act", act);
  g.addOutput("out", out);
  codegen::FusionPlan p = plan();
  const codegen::Unit *first = unitOf(p, act), *last = unitOf(p, out);
  ASSERT_TRUE(first && last);
  ASSERT_NE(first, last);
  EXPECT_NE(std::find(last->members.begin(), last->members.end(), mask), last->members.end());
  EXPECT_EQ(first->stored, (std::vector<const Node *>{pre, act}));
  for (const codegen::FusedInput &in : last->inputs)
    EXPECT_NE(in.buffer, mask);
  check();
}

TEST_F(Fusion, AValueIsNotRecomputedFromTensorsTheLoopDoesNotRead) {
  // The mask of z = x y needs x and y, which the later loop does not read: it reads the
  // mask, as stored.
  Node *x = leaf("x", {4, 40}), *y = leaf("y", {4, 40}), *dy = leaf("dy", {4, 40});
  Node *z = b.mul(x, y);
  Node *mask = b.unary(OpKind::Step, z);
  Node *total = b.sumAll(b.unary(OpKind::Relu, z));
  g.addOutput("out", b.mul(b.add(dy, b.broadcast(total, {4, 40}, 0, 2)), mask));
  codegen::FusionPlan p = plan();
  const codegen::Unit *last = unitOf(p, g.outputs()[0].second);
  ASSERT_TRUE(last);
  EXPECT_EQ(std::find(last->members.begin(), last->members.end(), mask), last->members.end());
  check();
}

TEST_F(Fusion, ALeakyReluJoinsTheFirstLayersConvolutionAndItsMasksAreRecomputed) {
  // One input channel: vectors along output positions, contiguous stores, so the
  // LeakyReLU and its two masks join the convolution's epilogue. A later loop reads both
  // masks; it reads the pre-activation instead (one tensor, not two) and computes them.
  Node *x = leaf("x", {3, 1, 28, 28}), *w = leaf("w", {20, 1, 4, 4});
  Node *pre = b.make(OpKind::Conv2d, {x, w}, {{2, 1}, 0, ""});
  Node *down = b.unary(OpKind::Step, b.neg(pre)), *up = b.unary(OpKind::Step, pre);
  Node *act = leakyRelu(pre);
  g.addOutput("act", act);
  Node *out = backwardThroughMasks(act, down, up);
  codegen::FusionPlan p = plan();
  const codegen::Unit *conv = unitOf(p, pre), *last = unitOf(p, out);
  ASSERT_TRUE(conv && last);
  EXPECT_EQ(conv->anchor, pre);
  EXPECT_EQ(unitOf(p, act), conv);
  // Not the masks; act's total (which keeps the loops apart) is summed in the stores.
  EXPECT_EQ(conv->stored, (std::vector<const Node *>{pre, act, b.sumAll(act)}));
  expectComputesFrom(last, {down, up}, pre);
  check();
}

TEST_F(Fusion, MasksOfAnActivationAKernelReadsAreComputedFromIt) {
  // As simplify() leaves a first layer: the backward loop's masks are of the activation,
  // which the next convolution reads. The loop reads the activation, stored anyway, and
  // computes the masks; it does not compute the activation again from the
  // pre-activation, which would then be stored for it alone.
  Node *x = leaf("x", {3, 1, 28, 28}), *w = leaf("w", {20, 1, 4, 4});
  Node *pre = b.make(OpKind::Conv2d, {x, w}, {{2, 1}, 0, ""});
  Node *act = leakyRelu(pre);
  Node *down = b.unary(OpKind::Step, b.neg(act)), *up = b.unary(OpKind::Step, act);
  g.addOutput("next", b.make(OpKind::Conv2d, {act, leaf("w2", {8, 20, 4, 4})}, {{2, 1}, 0, ""}));
  Node *out = backwardThroughMasks(act, down, up);
  codegen::FusionPlan p = plan();
  const codegen::Unit *conv = unitOf(p, pre), *last = unitOf(p, out);
  ASSERT_TRUE(conv && last);
  EXPECT_EQ(unitOf(p, act), conv);
  // Not pre, not the masks; act's total is summed in the stores.
  EXPECT_EQ(conv->stored, (std::vector<const Node *>{act, b.sumAll(act)}));
  expectComputesFrom(last, {down, up}, act);
  check();
}

TEST_F(Fusion, AnEpilogueComputesADerivativeFromAnActivationAKernelReads) {
  // The tutorial's G output layer: y = sigmoid(h W), which the next product reads, and
  // the gradient at its input, (g W3) * y (1 - y). The gradient product's epilogue reads
  // y, stored anyway, and computes y (1 - y): y's kernel stores nothing else.
  Node *pre = b.matmul(leaf("h", {8, 16}), leaf("w", {16, 40}));
  Node *y = b.unary(OpKind::Sigmoid, pre);
  Node *dy = b.mul(y, b.sub(b.scalar(1), y));
  g.addOutput("next", b.matmul(y, leaf("w2", {40, 6})));
  Node *grad = b.matmul(leaf("g", {8, 12}), leaf("w3", {12, 40}));
  Node *out = b.mul(grad, dy);
  g.addOutput("out", out);
  codegen::FusionPlan p = plan();
  const codegen::Unit *forward = unitOf(p, pre), *backward = unitOf(p, out);
  ASSERT_TRUE(forward && backward);
  ASSERT_NE(forward, backward);
  EXPECT_EQ(backward->anchor, grad);
  EXPECT_EQ(forward->stored, (std::vector<const Node *>{y}));
  expectComputesFrom(backward, {dy}, y);
  check();
}

TEST_F(Fusion, ACenteredValueIsComputedAgainFromATensorAKernelReads) {
  // Batch norm's shape: x - mean, summed squared in one loop, normalized in a later one
  // (which needs the sum). x is stored anyway (a kernel sums its columns for the mean),
  // so the later loop reads x instead of the centered value and computes it: the same
  // reads, and the summing loop stores nothing but its sum.
  Node *x = leaf("x", {8, 40});
  Node *mean = b.mul(b.reduceSum(x, 0, 1), 0.125);
  Node *centered = b.sub(x, b.broadcast(mean, {8, 40}, 0, 1));
  Node *var = b.reduceSum(b.mul(centered, centered), 1, 2);
  Node *out = b.mul(centered, b.broadcast(var, {8, 40}, 1, 2));
  g.addOutput("out", out);
  codegen::FusionPlan p = plan();
  const codegen::Unit *sums = nullptr, *last = unitOf(p, out);
  for (const codegen::Unit &u : p.units)
    if (u.sums == std::vector<const Node *>{var})
      sums = &u;
  ASSERT_TRUE(sums && last);
  ASSERT_NE(sums, last);
  EXPECT_EQ(sums->stored, (std::vector<const Node *>{var}));
  expectComputesFrom(last, {centered}, x);
  check();
}

TEST_F(Fusion, SummedValuesStayOutOfAContiguousEpilogue) {
  // Two values of a product's result, each only summed by rows: in the product's
  // epilogue each would be stored for a kernel to sum; in loops of their own the sums
  // run as they are computed, and only the product is stored.
  Node *x = leaf("x", {8, 40}), *w = leaf("w", {40, 24}), *c = leaf("c", {8, 24}),
       *d = leaf("d", {8, 24});
  Node *y = b.matmul(x, w);
  Node *a = b.mul(y, c), *e = b.mul(y, d);
  Node *sa = b.reduceSum(a, 1, 2), *se = b.reduceSum(e, 1, 2);
  g.addOutput("sa", sa);
  g.addOutput("se", se);
  codegen::FusionPlan p = plan();
  for (auto [v, sum] : {std::pair{a, sa}, std::pair{e, se}}) {
    const codegen::Unit *u = unitOf(p, v);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->anchor, nullptr);
    EXPECT_EQ(u->sums, (std::vector<const Node *>{sum}));
  }
  EXPECT_EQ(unitOf(p, y)->stored, (std::vector<const Node *>{y}));
  check();
}

TEST_F(Fusion, SumsOverLeadingAxesAndOfSumsStayKernelsOfTheirOwn) {
  // A sum over the batch axis (columns, not rows) and a sum of a sum are not fused:
  // the one would split the rows between threads, the other reads a finished row sum.
  Node *x = leaf("x", {6, 10, 8});
  Node *sq = b.mul(x, x);
  Node *rows = b.reduceSum(sq, 2, 3);
  g.addOutput("cols", b.reduceSum(sq, 0, 1));
  g.addOutput("total", b.reduceSum(rows, 1, 2));
  codegen::FusionPlan p = plan();
  EXPECT_EQ(unitOf(p, sq)->sums, (std::vector<const Node *>{rows}));
  check();
}

} // namespace
