//===- JitUtil.h - run a graph through the JIT in a test --------*- C++ -*-===//
#pragma once

#include "Tensor.h"
#include "codegen/Jit.h"
#include "ir/Builder.h"
#include "ir/Evaluate.h"
#include "ir/Graph.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace ganc::test {

/// A graph under construction whose inputs get random values: uniform in [-1, 1), each
/// one a float, so that the JIT and the double-precision evaluator see the same numbers.
/// A base of test fixtures that build graphs node by node.
struct RandomGraph {
  RandomGraph(const std::string &name, unsigned seed) : g(name), rng(seed) {}
  ir::Graph g;
  ir::Builder b{g};
  ir::LeafValues values;
  std::mt19937 rng;

  /// A graph input `name` of shape `s`, its values drawn into `values`.
  ir::Node *leaf(const std::string &name, const ir::Shape &s) {
    ir::Node *n = g.input(name, s);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<double> &v = values[name];
    for (int64_t i = 0; i < ir::numElements(s); ++i)
      v.push_back(static_cast<float>(u(rng)));
    return n;
  }
  /// The standard library's leaky_relu(x, 0.2) as the front end builds it.
  ir::Node *leakyRelu(ir::Node *x) {
    return b.sub(b.unary(ir::OpKind::Relu, x), b.mul(b.unary(ir::OpKind::Relu, b.neg(x)), 0.2));
  }
};

/// The evaluator's leaf values as runGraph takes them.
inline std::map<std::string, std::vector<float>> floatLeaves(const ir::LeafValues &values) {
  std::map<std::string, std::vector<float>> leaves;
  for (auto &[name, v] : values)
    leaves[name].assign(v.begin(), v.end());
  return leaves;
}

/// The vector widths whose lowerings differ, as Jit::create's maxVectorBits: the host's
/// widest (0), AVX2's 256 bits and SSE's 128, which an AVX-512 machine runs all of.
inline constexpr int kVectorWidths[] = {0, 256, 128};

/// Compiles `g` for the host (with vectors of at most maxVectorBits, when given), runs it
/// once with `leaves` (by name, flat) and returns every output by name. Compile failures
/// fail the test.
inline std::map<std::string, std::vector<float>>
runGraph(const ir::Graph &g, const std::map<std::string, std::vector<float>> &leaves,
         int maxVectorBits = 0) {
  std::string error;
  auto jit = codegen::Jit::create(error, maxVectorBits);
  EXPECT_TRUE(jit) << error;
  std::vector<rt::StepFunction> fns;
  if (!jit || !jit->compile({&g}, {}, fns, error)) {
    ADD_FAILURE() << error;
    return {};
  }
  rt::Store store;
  for (const rt::Slot &s : fns[0].slots)
    if (s.kind == rt::Slot::Kind::Leaf) {
      rt::Tensor &t = store.get(s.name, s.shape);
      const std::vector<float> &v = leaves.at(s.name);
      std::copy(v.begin(), v.end(), t.data());
    }
  rt::Executable exe(fns[0], store);
  exe.fillWritten(std::numeric_limits<float>::quiet_NaN()); // nothing may read them unwritten
  exe.run();
  std::map<std::string, std::vector<float>> out;
  for (const rt::Slot &s : fns[0].slots)
    if (s.kind == rt::Slot::Kind::Output) {
      const float *p = exe.output(s.name);
      out[s.name].assign(p, p + rt::numElements(s.shape));
    }
  return out;
}

} // namespace ganc::test
