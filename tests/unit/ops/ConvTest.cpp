//===- ConvTest.cpp - the convolutions mean what PyTorch means ------------===//
//
// OpContractTest checks each convolution's derivative against its own forward semantics
// and the JIT against the reference evaluator; neither would notice, say, a kernel
// flipped the wrong way round in every op alike. This test holds the reference
// semantics to the definitions of PyTorch's conv2d and conv_transpose2d (and of conv2d's
// weight gradient), written as plain loops over every index.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/Evaluate.h"

#include <gtest/gtest.h>

#include <random>

using namespace ganc;
using namespace ganc::ir;

namespace {

struct Dims {
  int64_t b, c, h, w;
  int64_t at(int64_t i, int64_t j, int64_t k, int64_t l) const {
    return ((i * c + j) * h + k) * w + l;
  }
  int64_t size() const { return b * c * h * w; }
  Shape shape() const { return {b, c, h, w}; }
};

std::vector<double> randomValues(int64_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(static_cast<size_t>(n));
  for (double &x : v)
    x = u(rng);
  return v;
}

/// The op applied to x and w (or g) by the reference evaluator.
std::vector<double> evaluateOp(OpKind op, const Dims &a, const std::vector<double> &av,
                               const Dims &b, const std::vector<double> &bv,
                               const std::vector<int64_t> &attrs) {
  Graph g("conv");
  Builder builder(g);
  Node *n = builder.make(op, {g.input("a", a.shape()), g.input("b", b.shape())}, {attrs, 0, ""});
  g.addOutput("out", n);
  return evaluate(g, {{"a", av}, {"b", bv}})[0];
}

struct Case {
  Dims x;
  int64_t o, kh, kw, stride, padding;
};

const Case kCases[] = {
    {{2, 3, 5, 5}, 4, 3, 3, 1, 0},
    {{2, 3, 5, 5}, 4, 3, 3, 1, 1},
    {{1, 2, 8, 8}, 3, 4, 4, 2, 1},
    {{1, 2, 7, 6}, 2, 3, 2, 2, 1},
    {{2, 1, 6, 5}, 3, 2, 3, 3, 2},
    // A grayscale first layer over more samples than the weight gradient's chunk of 8:
    // chunks of 8 and 7, the weight gradient's vectors along its 16 kernel taps.
    {{15, 1, 6, 6}, 3, 4, 4, 2, 1},
    // The same with a 3x3 kernel over wide rows: the weight gradient's vectors along
    // output columns (tiles of 4, 4 and 4, 3 samples).
    {{15, 1, 3, 20}, 3, 3, 3, 1, 1},
    // Planes of 36 outputs, 20 filters: conv2d's tiles by where planes start in a cache line.
    {{2, 1, 12, 12}, 20, 4, 4, 2, 1},
    // Channels enough for the lowerings that vectorize along filters (with lanes() = 1
    // here): the weight gradient packs x channel by channel.
    {{3, 5, 6, 5}, 3, 3, 3, 2, 1},
};

TEST(Conv, Conv2dIsCrossCorrelationWithZeroPadding) {
  std::mt19937 rng(1);
  for (const Case &k : kCases) {
    const Dims &x = k.x;
    Dims w{k.o, x.c, k.kh, k.kw};
    Dims y{x.b, k.o, (x.h + 2 * k.padding - k.kh) / k.stride + 1,
           (x.w + 2 * k.padding - k.kw) / k.stride + 1};
    std::vector<double> xv = randomValues(x.size(), rng), wv = randomValues(w.size(), rng);
    std::vector<double> got = evaluateOp(OpKind::Conv2d, x, xv, w, wv, {k.stride, k.padding});
    ASSERT_EQ(got.size(), static_cast<size_t>(y.size()));
    for (int64_t b = 0; b < y.b; ++b)
      for (int64_t o = 0; o < y.c; ++o)
        for (int64_t i = 0; i < y.h; ++i)
          for (int64_t j = 0; j < y.w; ++j) {
            double want = 0;
            for (int64_t c = 0; c < x.c; ++c)
              for (int64_t kh = 0; kh < k.kh; ++kh)
                for (int64_t kw = 0; kw < k.kw; ++kw) {
                  int64_t h = i * k.stride - k.padding + kh, v = j * k.stride - k.padding + kw;
                  if (h >= 0 && h < x.h && v >= 0 && v < x.w)
                    want += xv[x.at(b, c, h, v)] * wv[w.at(o, c, kh, kw)];
                }
            EXPECT_NEAR(got[y.at(b, o, i, j)], want, 1e-12)
                << "y[" << b << "," << o << "," << i << "," << j << "]";
          }
  }
}

TEST(Conv, ConvTranspose2dScattersEachInputThroughTheKernel) {
  std::mt19937 rng(2);
  for (const Case &k : kCases)
    for (int64_t outPad = 0; outPad < k.stride; ++outPad) {
      const Dims &x = k.x;
      Dims w{x.c, k.o, k.kh, k.kw};
      Dims y{x.b, k.o, (x.h - 1) * k.stride - 2 * k.padding + k.kh + outPad,
             (x.w - 1) * k.stride - 2 * k.padding + k.kw};
      if (y.h < 1 || y.w < 1)
        continue;
      std::vector<double> xv = randomValues(x.size(), rng), wv = randomValues(w.size(), rng);
      std::vector<double> got =
          evaluateOp(OpKind::ConvTranspose2d, x, xv, w, wv, {k.stride, k.padding, outPad, 0});
      std::vector<double> want(static_cast<size_t>(y.size()), 0.0);
      for (int64_t b = 0; b < x.b; ++b)
        for (int64_t c = 0; c < x.c; ++c)
          for (int64_t h = 0; h < x.h; ++h)
            for (int64_t v = 0; v < x.w; ++v)
              for (int64_t o = 0; o < k.o; ++o)
                for (int64_t kh = 0; kh < k.kh; ++kh)
                  for (int64_t kw = 0; kw < k.kw; ++kw) {
                    int64_t i = h * k.stride - k.padding + kh, j = v * k.stride - k.padding + kw;
                    if (i >= 0 && i < y.h && j >= 0 && j < y.w)
                      want[y.at(b, o, i, j)] += xv[x.at(b, c, h, v)] * wv[w.at(c, o, kh, kw)];
                  }
      ASSERT_EQ(got.size(), want.size());
      for (size_t e = 0; e < want.size(); ++e)
        EXPECT_NEAR(got[e], want[e], 1e-12) << "output padding " << outPad << ", element " << e;
    }
}

TEST(Conv, FilterGradSumsOutputGradientTimesInputWindow) {
  std::mt19937 rng(3);
  for (const Case &k : kCases) {
    const Dims &x = k.x;
    Dims g{x.b, k.o, (x.h + 2 * k.padding - k.kh) / k.stride + 1,
           (x.w + 2 * k.padding - k.kw) / k.stride + 1};
    Dims dw{k.o, x.c, k.kh, k.kw};
    std::vector<double> xv = randomValues(x.size(), rng), gv = randomValues(g.size(), rng);
    std::vector<double> got =
        evaluateOp(OpKind::Conv2dFilterGrad, x, xv, g, gv, {k.stride, k.padding, k.kh, k.kw});
    ASSERT_EQ(got.size(), static_cast<size_t>(dw.size()));
    for (int64_t o = 0; o < k.o; ++o)
      for (int64_t c = 0; c < x.c; ++c)
        for (int64_t kh = 0; kh < k.kh; ++kh)
          for (int64_t kw = 0; kw < k.kw; ++kw) {
            double want = 0;
            for (int64_t b = 0; b < x.b; ++b)
              for (int64_t i = 0; i < g.h; ++i)
                for (int64_t j = 0; j < g.w; ++j) {
                  int64_t h = i * k.stride - k.padding + kh, v = j * k.stride - k.padding + kw;
                  if (h >= 0 && h < x.h && v >= 0 && v < x.w)
                    want += gv[g.at(b, o, i, j)] * xv[x.at(b, c, h, v)];
                }
            EXPECT_NEAR(got[dw.at(o, c, kh, kw)], want, 1e-12);
          }
  }
}

} // namespace
