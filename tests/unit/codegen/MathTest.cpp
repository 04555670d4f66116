//===- MathTest.cpp - the JIT's exp and log against the C library ---------===//
//
// codegen emits exp and log as inline polynomials so that loops using them vectorize.
// These tests hold them to the C library over the whole float range, edge cases
// included: overflow to inf, underflow to 0, subnormals, 0, negatives, inf and NaN.
// Compiled code runs with denormals flushed (runtime/FloatMode.h): a subnormal input
// reads as zero and a subnormal result is zero, so the reference is the C library's
// value under the same rule.
//
//===----------------------------------------------------------------------===//
#include "JitUtil.h"
#include "ir/Builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace ganc;

namespace {

/// Runs op elementwise over `xs` in JIT-compiled code, with vectors of at most `bits`
/// (0: the host's widest; AVX-512's exp scales with vscalefps, the others build 2^n from
/// integers).
std::vector<float> runJit(ir::OpKind op, const std::vector<float> &xs, int bits) {
  ir::Graph g("math");
  ir::Builder b(g);
  ir::Node *x = g.input("x", {static_cast<int64_t>(xs.size())});
  g.addOutput("y", b.unary(op, x));
  return test::runGraph(g, {{"x", xs}}, bits)["y"];
}

/// Distance in units in the last place between two finite floats of one sign.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

void expectClose(const std::vector<float> &xs, const std::vector<float> &got, float (*ref)(float),
                 int64_t maxUlps) {
  auto flush = [](float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.f, v) : v; };
  for (size_t i = 0; i < xs.size(); ++i) {
    float want = flush(ref(flush(xs[i])));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << "x = " << xs[i];
    } else if (std::isinf(want) || want == 0) {
      EXPECT_EQ(got[i], want) << "x = " << xs[i];
    } else {
      EXPECT_LE(ulps(got[i], want), maxUlps) << "x = " << xs[i] << " got " << got[i] << " want " << want;
    }
  }
}

TEST(JitMath, ExpMatchesTheCLibrary) {
  std::vector<float> xs;
  for (float x = -110; x <= 95; x += 0.0371f)
    xs.push_back(x);
  // Around and beyond the ends of the range reduction's clamp, [-104, 89].
  const float inf = std::numeric_limits<float>::infinity(), big = std::numeric_limits<float>::max();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float x : {0.f, -0.f, 1e-30f, -1e-30f, 88.7f, 88.72f, 88.73f, 89.f, 89.01f, 1e30f, big})
    xs.push_back(x);
  for (float x : {-87.3f, -103.9f, -103.98f, -104.f, -104.01f, -1e30f, -big, inf, -inf, nan})
    xs.push_back(x);
  for (int bits : test::kVectorWidths) {
    SCOPED_TRACE(bits ? "vectors of " + std::to_string(bits) + " bits" : "the host's vectors");
    expectClose(
        xs, runJit(ir::OpKind::Exp, xs, bits), [](float x) { return std::exp(x); }, 3);
  }
}

TEST(JitMath, LogMatchesTheCLibrary) {
  std::vector<float> xs;
  for (int e = -149; e < 128; ++e)
    for (float m : {1.0f, 1.19f, 1.4142f, 1.61f, 1.999f})
      xs.push_back(std::ldexp(m, e));
  for (float x = 0.5f; x < 2.f; x += 0.00093f)
    xs.push_back(x);
  for (float x : {0.f, -0.f, -1.f, 1.f, std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
    xs.push_back(x);
  for (int bits : test::kVectorWidths) {
    SCOPED_TRACE(bits ? "vectors of " + std::to_string(bits) + " bits" : "the host's vectors");
    expectClose(
        xs, runJit(ir::OpKind::Log, xs, bits), [](float x) { return std::log(x); }, 3);
  }
}

} // namespace
