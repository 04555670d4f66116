//===- OpContractTest.cpp - every op keeps its contract -------------------===//
//
// Loops over the whole op registry. For every op: it has a shape rule; a computing op
// has a lowering; a differentiable op's VJP agrees with central finite differences of the
// op's own forward semantics, to first and second order (the gradient graph is
// differentiated again); and the JIT-compiled op agrees with the double-precision
// reference. A new op gets all of this without a test of its own, but it must appear in
// `instances()` below: the test fails for an op it does not know how to instantiate.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "Tensor.h"
#include "autodiff/Autodiff.h"
#include "codegen/Jit.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"
#include "ir/OpInfo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

/// One way to build a node of the op under test from fresh inputs.
struct Instance {
  std::string label;
  std::vector<Shape> inputs;
  std::function<Node *(Builder &, const std::vector<Node *> &)> build;
  bool positive = false; ///< inputs must be > 0 (log, sqrt)
  /// Checked against finite differences too; false for shapes that only a JIT tiling
  /// needs, large enough that differencing each input would take tens of seconds.
  bool differentiate = true;
};

std::vector<Instance> instances(OpKind op) {
  const OpInfo &info = opInfo(op);
  auto make = [op](Attrs a = {}) {
    return [op, a](Builder &b, const std::vector<Node *> &in) { return b.make(op, in, a); };
  };
  bool positive = op == OpKind::Log || op == OpKind::Sqrt;
  if (info.isElementwise() && info.arity == 1)
    return {{"unary", {{3, 4}}, make(), positive}};
  if (info.isElementwise() && info.arity == 2)
    return {{"same-shape", {{3, 4}, {3, 4}}, make(), op == OpKind::Div},
            {"rank-0-rhs", {{3, 4}, {}}, make(), op == OpKind::Div},
            {"rank-0-lhs", {{}, {2, 5}}, make(), op == OpKind::Div}};
  switch (op) {
  case OpKind::MatMul:
    return {{"nn", {{3, 4}, {4, 5}}, make({{0, 0}, 0, ""})},
            {"tn", {{4, 3}, {4, 5}}, make({{1, 0}, 0, ""})},
            {"nt", {{3, 4}, {5, 4}}, make({{0, 1}, 0, ""})},
            {"tt", {{4, 3}, {5, 4}}, make({{1, 1}, 0, ""})},
            // Big enough for the register tiles, with row, vector and column tails.
            {"tiled-nn", {{13, 9}, {9, 53}}, make({{0, 0}, 0, ""})},
            {"tiled-tn", {{9, 13}, {9, 53}}, make({{1, 0}, 0, ""})},
            // A batch of products (self-attention), tiled and not.
            {"batch-nn", {{2, 7, 9}, {2, 9, 19}}, make({{0, 0}, 0, ""})},
            {"batch-nt", {{3, 4, 5}, {3, 6, 5}}, make({{0, 1}, 0, ""})},
            {"batch-tn", {{2, 5, 4}, {2, 5, 6}}, make({{1, 0}, 0, ""})}};
  // The two products' K differ; the tiled cases take the register tiles' paths (row,
  // vector and column tails; A^T with one column, C as vectors of rows).
  case OpKind::MatMulSum:
    return {{"nn", {{3, 4}, {4, 5}, {3, 2}, {2, 5}}, make({{0, 0}, 0, ""})},
            {"tn", {{4, 3}, {4, 5}, {2, 3}, {2, 5}}, make({{1, 0}, 0, ""})},
            {"nt", {{3, 4}, {5, 4}, {3, 2}, {5, 2}}, make({{0, 1}, 0, ""})},
            {"tt", {{4, 3}, {5, 4}, {2, 3}, {5, 2}}, make({{1, 1}, 0, ""})},
            {"tiled-nn", {{13, 9}, {9, 53}, {13, 5}, {5, 53}}, make({{0, 0}, 0, ""})},
            {"tiled-tn", {{9, 13}, {9, 53}, {6, 13}, {6, 53}}, make({{1, 0}, 0, ""})},
            {"column-tn", {{9, 37}, {9, 1}, {4, 37}, {4, 1}}, make({{1, 0}, 0, ""})}};
  // Convolutions: attrs {stride, padding} (+ output padding h, w; + kernel h, w). The
  // "vector" and "wide" cases have 17 filters, a full vector and a scalar tail in the JIT,
  // and runs longer than a register tile; "samples" has few filters and 17 samples, which
  // the JIT puts in vector lanes; "channels" has enough input channels for a loop over
  // them per kernel tap; "zero-taps" has outputs no tap reaches. A conv2d input (and
  // conv2d_filter_grad's x) with fewer than 4 channels has vectors along output
  // positions instead (the filter gradient's along kernel taps, or, for "wide", output
  // columns, one vector and part of another); the
  // "-channels" cases keep enough channels for the lanes of filters and of samples;
  // "stride-5" packs its input with a gather (short strides use a shuffle), only the
  // stride phases its kernel columns read. The "pairs"
  // cases have three vectors of filters and one more: tiles of two vectors, of one and
  // the scalar tail (the filter gradient's with kernel rows in two bands of two).
  case OpKind::Conv2d:
    return {
        {"s1p0", {{2, 3, 5, 5}, {4, 3, 3, 3}}, make({{1, 0}, 0, ""})},
        {"s1p1", {{2, 3, 5, 5}, {4, 3, 3, 3}}, make({{1, 1}, 0, ""})},
        {"s2p1-uneven", {{2, 3, 6, 5}, {4, 3, 3, 3}}, make({{2, 1}, 0, ""})},
        {"k4s2p1", {{1, 2, 8, 8}, {3, 2, 4, 4}}, make({{2, 1}, 0, ""})},
        {"zero-taps", {{1, 2, 3, 3}, {2, 2, 2, 2}}, make({{1, 2}, 0, ""})},
        {"stride-3", {{1, 2, 7, 7}, {2, 2, 2, 2}}, make({{3, 0}, 0, ""})},
        {"vector", {{1, 2, 9, 7}, {17, 2, 3, 3}}, make({{1, 1}, 0, ""})},
        {"wide", {{1, 1, 3, 30}, {17, 1, 3, 3}}, make({{1, 1}, 0, ""})},
        {"samples", {{17, 2, 4, 4}, {2, 2, 3, 3}}, make({{1, 1}, 0, ""})},
        {"channels", {{1, 4, 3, 3}, {17, 4, 3, 3}}, make({{1, 1}, 0, ""})},
        {"first-layer", {{1, 1, 12, 12}, {17, 1, 4, 4}}, make({{2, 1}, 0, ""})},
        // 20 planes of 36 outputs, starting 0, 4, 8 and 12 floats into a cache line:
        // tiles of the four classes of filters store whole vectors from 0, 12, 8 and
        // 4 outputs into their planes, the positions before and after partially.
        {"first-layer-aligned",
         {{2, 1, 12, 12}, {20, 1, 4, 4}},
         make({{2, 1}, 0, ""}),
         false,
         false},
        // Planes of 4 x 11 = 44: class 1 stores its last 8 positions from a vector that
        // reads its row of taps up to position 52.
        {"first-layer-overrun", {{1, 1, 8, 22}, {4, 1, 4, 4}}, make({{2, 1}, 0, ""}), false, false},
        // 48 filters: tiles of filters 16 apart (with AVX-512), planes 2.3 KB apart.
        {"first-layer-apart", {{1, 1, 12, 12}, {48, 1, 4, 4}}, make({{2, 1}, 0, ""}), false, false},
        {"stride-5", {{1, 1, 12, 13}, {3, 1, 2, 3}}, make({{5, 1}, 0, ""})},
        {"vector-channels", {{1, 4, 9, 7}, {17, 4, 3, 3}}, make({{2, 1}, 0, ""})},
        {"samples-channels", {{17, 4, 4, 4}, {2, 4, 3, 3}}, make({{1, 1}, 0, ""})},
        {"pairs", {{2, 4, 6, 6}, {49, 4, 3, 3}}, make({{1, 1}, 0, ""}), false, false},
        // The DCGAN's 7x7 output: tiles of two 7-wide rows (a border and an interior one,
        // two interior ones, the last border row alone) with AVX-512.
        {"pairs-7x7", {{1, 4, 14, 14}, {32, 4, 4, 4}}, make({{2, 1}, 0, ""}), false, false},
        // Stride 1 with "same" padding of a 7x7 and a 5x5 kernel: tiles that loop over
        // kernel rows (interior rows) and tiles that do not (border rows), by filters
        // (and their scalar tail) and by samples (and theirs).
        {"rows-loop", {{1, 4, 9, 8}, {17, 4, 7, 7}}, make({{1, 3}, 0, ""}), false, false},
        {"rows-loop-samples", {{17, 4, 6, 6}, {2, 4, 5, 5}}, make({{1, 2}, 0, ""}), false, false}};
  case OpKind::ConvTranspose2d:
    return {{"s1p0", {{2, 3, 3, 3}, {3, 4, 3, 3}}, make({{1, 0, 0, 0}, 0, ""})},
            {"s1p1", {{2, 3, 3, 3}, {3, 4, 3, 3}}, make({{1, 1, 0, 0}, 0, ""})},
            {"k4s2p1", {{2, 3, 3, 3}, {3, 2, 4, 4}}, make({{2, 1, 0, 0}, 0, ""})},
            {"output-padding", {{1, 2, 3, 4}, {2, 3, 3, 3}}, make({{2, 1, 1, 0}, 0, ""})},
            {"zero-taps", {{1, 2, 3, 3}, {2, 2, 2, 2}}, make({{3, 0, 0, 0}, 0, ""})},
            {"vector", {{1, 3, 4, 3}, {3, 17, 4, 4}}, make({{2, 1, 0, 0}, 0, ""})},
            {"wide", {{1, 1, 2, 28}, {1, 17, 3, 3}}, make({{1, 1, 0, 0}, 0, ""})},
            {"samples", {{17, 2, 3, 3}, {2, 1, 4, 4}}, make({{2, 1, 0, 0}, 0, ""})},
            {"channels", {{1, 4, 2, 2}, {4, 17, 4, 4}}, make({{2, 1, 0, 0}, 0, ""})},
            {"pairs", {{2, 4, 3, 3}, {4, 49, 4, 4}}, make({{2, 1, 0, 0}, 0, ""}), false, false},
            // The DCGAN's 7x7 -> 14x14: stride phases of 7x7, tiles of two 7-wide rows.
            {"pairs-7x7", {{1, 4, 7, 7}, {4, 32, 4, 4}}, make({{2, 1, 0, 0}, 0, ""}), false, false},
            // 7x7 kernels, whose tiles loop over kernel rows where their rows read the same
            // ones: stride 1, stride 2 with output padding (rows of two kernel rows in each
            // stride phase), by filters and by samples.
            {"rows-loop", {{1, 4, 5, 6}, {4, 17, 7, 7}}, make({{1, 3, 0, 0}, 0, ""}), false, false},
            {"rows-loop-stride",
             {{1, 4, 4, 5}, {4, 3, 7, 7}},
             make({{2, 2, 1, 1}, 0, ""}),
             false,
             false},
            {"rows-loop-samples",
             {{17, 4, 5, 5}, {4, 2, 7, 7}},
             make({{1, 3, 0, 0}, 0, ""}),
             false,
             false}};
  case OpKind::Conv2dFilterGrad:
    return {{"s1p0", {{2, 3, 5, 5}, {2, 4, 3, 3}}, make({{1, 0, 3, 3}, 0, ""})},
            {"s2p1-uneven", {{2, 3, 6, 5}, {2, 4, 3, 3}}, make({{2, 1, 3, 3}, 0, ""})},
            {"k4s2p1", {{1, 2, 8, 8}, {1, 3, 4, 4}}, make({{2, 1, 4, 4}, 0, ""})},
            {"zero-taps", {{1, 2, 3, 3}, {1, 2, 6, 6}}, make({{1, 2, 2, 2}, 0, ""})},
            {"vector", {{1, 2, 5, 5}, {1, 17, 5, 5}}, make({{1, 1, 3, 3}, 0, ""})},
            {"bands", {{1, 2, 7, 7}, {1, 17, 4, 5}}, make({{1, 1, 6, 5}, 0, ""})},
            {"wide", {{1, 1, 3, 20}, {1, 3, 3, 20}}, make({{1, 1, 3, 3}, 0, ""})},
            {"first-layer", {{1, 1, 12, 12}, {1, 17, 6, 6}}, make({{2, 1, 4, 4}, 0, ""})},
            // Three of five stride phases read (4, 0 and 1): only those are packed.
            {"stride-5", {{1, 1, 12, 13}, {1, 3, 3, 3}}, make({{5, 1, 2, 3}, 0, ""})},
            // 29 filters in two tiles of filters 2 apart, 15 and 14 of them (with AVX-512).
            {"first-layer-classes",
             {{2, 1, 12, 12}, {2, 29, 6, 6}},
             make({{2, 1, 4, 4}, 0, ""}),
             false,
             false},
            // A full chunk of samples and a shorter one, each summed into a slot of its own,
            // with vectors along kernel taps, then along columns (tiles of 4, 4 and 4, 3
            // samples).
            {"first-layer-chunks",
             {{15, 1, 6, 6}, {15, 5, 3, 3}},
             make({{2, 1, 4, 4}, 0, ""}),
             false,
             false},
            {"wide-chunks",
             {{15, 1, 3, 20}, {15, 3, 3, 20}},
             make({{1, 1, 3, 3}, 0, ""}),
             false,
             false},
            {"vector-channels", {{1, 4, 5, 5}, {1, 17, 5, 5}}, make({{1, 1, 3, 3}, 0, ""})},
            {"bands-channels", {{1, 4, 7, 7}, {1, 17, 4, 5}}, make({{1, 1, 6, 5}, 0, ""})},
            {"pairs", {{1, 4, 7, 7}, {1, 49, 4, 4}}, make({{1, 0, 4, 4}, 0, ""}), false, false}};
  case OpKind::Broadcast:
    return {{"leading", {{4}}, make({{0, 1, 3, 4}, 0, ""})},
            {"middle", {{2, 4}}, make({{1, 2, 2, 3, 4}, 0, ""})},
            {"trailing", {{2, 3}}, make({{2, 3, 2, 3, 4}, 0, ""})},
            {"all", {{}}, make({{0, 2, 2, 3}, 0, ""})}};
  case OpKind::ReduceSum:
    return {{"leading", {{3, 4}}, make({{0, 1}, 0, ""})},
            {"middle", {{2, 3, 4}}, make({{1, 2}, 0, ""})},
            {"trailing", {{2, 3, 4}}, make({{1, 3}, 0, ""})},
            {"all", {{2, 3}}, make({{0, 2}, 0, ""})},
            // Large enough to be summed in chunks (ops/Shape.cpp, kSumChunk: 16384), with
            // elements left after the last one that do not fill a vector.
            {"all-chunked", {{5, 6563}}, make({{0, 2}, 0, ""}), false, false}};
  case OpKind::ReduceMax:
    return {{"leading", {{3, 4}}, make({{0, 1}, 0, ""})},
            {"middle", {{2, 3, 4}}, make({{1, 2}, 0, ""})},
            {"trailing", {{2, 3, 4}}, make({{1, 3}, 0, ""})},
            {"all", {{2, 3}}, make({{0, 2}, 0, ""})}};
  case OpKind::Reshape:
    return {{"split", {{12}}, make({{3, 4}, 0, ""})}};
  case OpKind::Transpose:
    return {{"2d", {{3, 4}}, make()}, {"batch", {{2, 3, 4}}, make()}};
  case OpKind::Slice:
    return {{"leading", {{5, 3}}, make({{0, 1, 4}, 0, ""})},
            {"middle", {{2, 5, 3}}, make({{1, 0, 2}, 0, ""})},
            {"trailing", {{2, 6}}, make({{1, 3, 6}, 0, ""})}};
  case OpKind::Pad:
    return {{"leading", {{2, 3}}, make({{0, 1, 2}, 0, ""})},
            {"middle", {{2, 2, 3}}, make({{1, 0, 3}, 0, ""})},
            {"trailing", {{2, 3}}, make({{1, 2, 0}, 0, ""})}};
  case OpKind::Upsample:
    return {{"x2", {{2, 3, 2, 3}}, make({{2}, 0, ""})}, {"x3-2d", {{2, 2}}, make({{3}, 0, ""})}};
  case OpKind::AvgPool:
    return {{"k2", {{2, 3, 4, 6}}, make({{2}, 0, ""})}, {"k3-2d", {{3, 6}}, make({{3}, 0, ""})}};
  case OpKind::StopGradient:
    return {{"identity", {{3, 4}}, make()}};
  default:
    return {};
  }
}

std::vector<double> randomValues(int64_t n, std::mt19937 &rng, bool positive) {
  // Away from 0, where relu/abs/step/sign have their kinks.
  std::uniform_real_distribution<double> mag(0.2, 1.5);
  std::bernoulli_distribution sign(0.5);
  std::vector<double> v(n);
  for (double &x : v)
    x = mag(rng) * (positive || sign(rng) ? 1 : -1);
  return v;
}

/// The scalar test loss: sum(op(inputs) * w) for a fixed random weighting w.
struct Case {
  Graph g{"case"};
  std::vector<Node *> in;
  Node *out = nullptr, *loss = nullptr;
  LeafValues values;
};

void buildCase(Case &c, const Instance &inst, std::mt19937 &rng) {
  Builder b(c.g);
  for (size_t i = 0; i < inst.inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    c.in.push_back(c.g.input(name, inst.inputs[i]));
    c.values[name] = randomValues(numElements(inst.inputs[i]), rng, inst.positive);
  }
  c.out = inst.build(b, c.in);
  Node *w = c.g.input("w", c.out->shape);
  c.values["w"] = randomValues(c.out->numel(), rng, false);
  c.loss = b.sumAll(b.mul(c.out, w));
}

double evalLoss(const Graph &g, Node *loss, const LeafValues &values) {
  Graph &mg = const_cast<Graph &>(g);
  auto saved = mg.outputs();
  mg.outputs() = {{"loss", loss}};
  double v = evaluate(mg, values)[0][0];
  mg.outputs() = saved;
  return v;
}

/// Compares analytic gradients of `loss` w.r.t. the inputs against central differences.
void checkGradient(Case &c, Node *loss, const std::string &what) {
  std::vector<Node *> grads = autodiff::gradients(c.g, loss, c.in);
  c.g.outputs().clear();
  for (size_t i = 0; i < grads.size(); ++i)
    c.g.addOutput("d" + std::to_string(i), grads[i]);
  std::vector<std::vector<double>> analytic = evaluate(c.g, c.values);
  const double h = 1e-5;
  for (size_t i = 0; i < c.in.size(); ++i) {
    std::string name = c.in[i]->attrs.name;
    for (size_t k = 0; k < c.values[name].size(); ++k) {
      LeafValues plus = c.values, minus = c.values;
      plus[name][k] += h;
      minus[name][k] -= h;
      double fd = (evalLoss(c.g, loss, plus) - evalLoss(c.g, loss, minus)) / (2 * h);
      double an = analytic[i].size() == 1 ? analytic[i][0] : analytic[i][k];
      EXPECT_NEAR(an, fd, 1e-5 * std::max(1.0, std::fabs(fd)))
          << what << ": d/d" << name << "[" << k << "]";
    }
  }
}

class OpContract : public ::testing::TestWithParam<OpKind> {};

TEST_P(OpContract, HasRulesForWhatItIs) {
  const OpInfo &info = opInfo(GetParam());
  EXPECT_TRUE(static_cast<bool>(info.inferShape)) << info.mnemonic;
  if (info.isLeaf())
    return;
  if (info.isElementwise())
    EXPECT_TRUE(static_cast<bool>(info.scalar)) << info.mnemonic << " has no scalar semantics";
  else
    EXPECT_TRUE(static_cast<bool>(info.lower)) << info.mnemonic << " has no lowering";
  EXPECT_FALSE(instances(GetParam()).empty())
      << "the contract test does not know how to build '" << info.mnemonic << "'";
}

TEST_P(OpContract, GradientsMatchFiniteDifferences) {
  const OpInfo &info = opInfo(GetParam());
  if (info.isLeaf() || !info.vjp)
    GTEST_SKIP() << info.mnemonic << " is not differentiable";
  std::mt19937 rng(7);
  for (const Instance &inst : instances(GetParam())) {
    if (!inst.differentiate)
      continue;
    Case c;
    buildCase(c, inst, rng);
    checkGradient(c, c.loss, std::string(info.mnemonic) + "/" + inst.label + " first order");

    // Second order: differentiate sum(grad * v) again.
    Case c2;
    buildCase(c2, inst, rng);
    std::vector<Node *> g1 = autodiff::gradients(c2.g, c2.loss, c2.in);
    Builder b(c2.g);
    Node *second = nullptr;
    for (size_t i = 0; i < g1.size(); ++i) {
      Node *v = c2.g.input("v" + std::to_string(i), g1[i]->shape);
      c2.values["v" + std::to_string(i)] = randomValues(g1[i]->numel(), rng, false);
      Node *t = b.sumAll(b.mul(g1[i], v));
      second = second ? b.add(second, t) : t;
    }
    checkGradient(c2, second, std::string(info.mnemonic) + "/" + inst.label + " second order");
  }
}

TEST_P(OpContract, NonDifferentiableOpsStopGradients) {
  const OpInfo &info = opInfo(GetParam());
  if (info.isLeaf() || info.vjp)
    GTEST_SKIP();
  std::mt19937 rng(3);
  for (const Instance &inst : instances(GetParam())) {
    Case c;
    buildCase(c, inst, rng);
    for (Node *gr : autodiff::gradients(c.g, c.loss, c.in))
      EXPECT_TRUE(gr->is(OpKind::Const) && gr->attrs.num == 0) << info.mnemonic;
  }
}

/// Runs every instance of `op` compiled by `jit` against the double-precision reference.
void checkJitMatchesReference(codegen::Jit &jit, OpKind op) {
  const OpInfo &info = opInfo(op);
  const std::string width = std::to_string(jit.vectorLanes() * 32) + "-bit vectors: ";
  std::string error;
  std::mt19937 rng(11);
  for (const Instance &inst : instances(op)) {
    Case c;
    buildCase(c, inst, rng);
    c.g.addOutput("out", c.out);
    std::vector<double> ref = evaluate(c.g, c.values)[0];

    std::vector<rt::StepFunction> fns;
    ASSERT_TRUE(jit.compile({&c.g}, {}, fns, error)) << width << error;
    rt::Store store;
    for (Node *n : c.in) {
      rt::Tensor &t = store.get(n->attrs.name, n->shape);
      const std::vector<double> &v = c.values[n->attrs.name];
      for (size_t k = 0; k < v.size(); ++k)
        t.data()[k] = static_cast<float>(v[k]);
    }
    rt::Executable exe(fns[0], store);
    exe.fillWritten(std::numeric_limits<float>::quiet_NaN()); // no kernel may read them unwritten
    exe.run();
    const float *got = exe.output("out");
    for (size_t k = 0; k < ref.size(); ++k)
      EXPECT_NEAR(got[k], ref[k], 1e-5 * std::max(1.0, std::fabs(ref[k])))
          << width << info.mnemonic << "/" << inst.label << " element " << k;
  }
}

// For the host's vectors, and for narrower ones (AVX2's and SSE's code on an AVX-512
// machine: 8 and 4 lanes, tiles of 6 rows), whose lowerings differ.
TEST_P(OpContract, JitMatchesReference) {
  if (opInfo(GetParam()).isLeaf())
    GTEST_SKIP();
  for (int bits : test::kVectorWidths) {
    std::string error;
    auto jit = codegen::Jit::create(error, bits);
    ASSERT_TRUE(jit) << error;
    checkJitMatchesReference(*jit, GetParam());
  }
}

std::string opName(const ::testing::TestParamInfo<OpKind> &p) {
  std::string s = opInfo(p.param).mnemonic;
  for (char &ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)))
      ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpContract, ::testing::ValuesIn(allOps()), opName);

} // namespace
