//===- Conv.cpp - 2-D convolutions ----------------------------------------===//
//
// conv2d and conv_transpose2d with PyTorch's layouts and semantics, and
// conv2d_filter_grad, conv2d's weight gradient. Tensors are NCHW; stride and zero padding
// are the same along both spatial axes. The three ops are closed under differentiation
// (each VJP is built from them), so gradients of gradients through a convolution work.
//
// Lowering. Along each spatial axis the output positions fall into runs that read the
// same kernel taps from input positions moving by a fixed step (AxisRun): the interior,
// and the border positions whose taps padding cuts; a transposed convolution has one
// interior run per phase (output position mod stride). So no loop tests bounds and no
// padded copy is made. Vectors run along output channels (filters, for the filter
// gradient): GAN images are small (a 7x7 or 14x14 row is shorter than a 16-float vector)
// and with stride 2 a row is not contiguous in the input anyway. The channel axis of NCHW
// is strided, so each kernel tap costs one gathered load, shared by a register tile of
// output positions (kernel taps, for the filter gradient) whose accumulators stay in
// registers across the whole reduction. Channels left over after the last full vector run
// the same loops with scalars.
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

#include <algorithm>

namespace ganc::ops {
namespace {

//===----------------------------------------------------------------------===//
// Attributes and shapes
//===----------------------------------------------------------------------===//

std::string dims(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

/// conv2d's output size along one axis, or 0 when the kernel does not fit.
int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p) {
  return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1;
}
/// The input rows conv2d leaves unread past its last window: the output_padding that
/// makes conv_transpose2d (its input gradient) as large as its input again.
int64_t unreadRows(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) % s; }

/// Checks stride >= 1 and padding >= 0 (the first two attributes of every conv op).
bool validStridePadding(const char *op, const Attrs &a, size_t count, std::string &err) {
  if (a.ints.size() != count) {
    err = std::string("'") + op + "' needs " + std::to_string(count) + " integer attributes, got " +
          std::to_string(a.ints.size());
    return false;
  }
  if (a.ints[0] < 1) {
    err = std::string("'") + op + "' needs a stride of at least 1, got " + std::to_string(a.ints[0]);
    return false;
  }
  if (a.ints[1] < 0) {
    err = std::string("'") + op + "' needs a padding of at least 0, got " + std::to_string(a.ints[1]);
    return false;
  }
  return true;
}

bool bothRank4(const char *op, const Shape &x, const Shape &w, const char *what,
               std::string &err) {
  if (x.size() == 4 && w.size() == 4)
    return true;
  err = std::string("'") + op + "' needs 4-D operands " + what + ", got " + formatType(x) +
        " and " + formatType(w);
  return false;
}

Node *conv2d(Builder &b, Node *x, Node *w, int64_t s, int64_t p) {
  return b.make(OpKind::Conv2d, {x, w}, {{s, p}, 0, ""});
}
/// The transposed convolution with output [.., outH, outW] (the size of a conv2d input).
Node *convTranspose2d(Builder &b, Node *x, Node *w, int64_t s, int64_t p, int64_t outH,
                      int64_t outW) {
  const Shape &ws = w->shape;
  return b.make(OpKind::ConvTranspose2d, {x, w},
                {{s, p, unreadRows(outH, ws[2], s, p), unreadRows(outW, ws[3], s, p)}, 0, ""});
}
Node *filterGrad(Builder &b, Node *x, Node *g, int64_t s, int64_t p, int64_t kh, int64_t kw) {
  return b.make(OpKind::Conv2dFilterGrad, {x, g}, {{s, p, kh, kw}, 0, ""});
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

/// Output positions out0 + t * outStep (t < count) along one axis that all read kernel
/// taps k0 + j * kStep (j < taps), tap j from input position in0 + t * inStep + j * inTap.
struct AxisRun {
  int64_t out0, outStep, count;
  int64_t k0, kStep, taps;
  int64_t in0, inStep, inTap;
};

/// The runs covering [0, outSize) along an axis of a convolution (input position
/// o * s - p + k) or of a transposed one (output position i * s - p + k).
std::vector<AxisRun> axisRuns(int64_t outSize, int64_t inSize, int64_t K, int64_t s, int64_t p,
                              bool transposed) {
  std::vector<AxisRun> runs;
  const int64_t step = transposed ? s : 1;
  for (int64_t phase = 0; phase < step; ++phase)
    for (int64_t o = phase; o < outSize; o += step) {
      AxisRun r{o, step, 1, 0, 1, 0, 0, transposed ? 1 : s, transposed ? -1 : 1};
      if (!transposed) {
        // 0 <= o s - p + k < inSize
        int64_t lo = std::max<int64_t>(0, p - o * s), hi = std::min(K, inSize + p - o * s);
        r.k0 = lo;
        r.taps = std::max<int64_t>(0, hi - lo);
        r.in0 = o * s - p + lo;
      } else {
        // k = o + p - i s for an input position 0 <= i < inSize, and 0 <= k < K.
        int64_t lo = std::max((o + p) % s, o + p - s * (inSize - 1)), hi = std::min(K - 1, o + p);
        r.k0 = lo;
        r.kStep = s;
        r.taps = hi >= lo ? (hi - lo) / s + 1 : 0;
        r.in0 = (o + p - lo) / s;
      }
      if (!runs.empty()) {
        AxisRun &last = runs.back();
        bool next = last.out0 + last.count * step == o && last.taps == r.taps &&
                    (r.taps == 0 || (last.k0 == r.k0 && last.in0 + last.count * last.inStep == r.in0));
        if (next) {
          ++last.count;
          continue;
        }
      }
      runs.push_back(r);
    }
  return runs;
}

/// `V` channels at once: a vector of lanes() channels along an axis `stride` floats
/// apart, or one channel as a scalar.
struct Channels {
  KernelBuilder &k;
  int64_t V;
  Val zero() { return V > 1 ? k.splat(k.constant(0)) : k.constant(0); }
  Val spread(Val s) { return V > 1 ? k.splat(s) : s; }
  Val load(unsigned operand, Idx flat, int64_t stride) {
    return V > 1 ? k.loadStrided(operand, flat, stride) : k.load(operand, flat);
  }
  void store(Idx flat, int64_t stride, Val v) {
    if (V > 1)
      k.storeStrided(flat, stride, v);
    else
      k.store(flat, v);
  }
};

/// Accumulators per register tile: with the tap's vector and a broadcast they fill the 32
/// vector registers of AVX-512, or the 16 of AVX2.
int64_t tileBudget(KernelBuilder &k) { return k.lanes() >= 16 ? 24 : 12; }

/// `for i < n1, j < n2: body(i, j)` with the longer loop outermost, so that there is work
/// to split across threads whichever is 1.
void loop2(KernelBuilder &k, int64_t n1, int64_t n2, const std::function<void(Idx, Idx)> &body) {
  if (n1 >= n2)
    k.loop(n1, [&](Idx i) { k.loop(n2, [&](Idx j) { body(i, j); }); });
  else
    k.loop(n2, [&](Idx j) { k.loop(n1, [&](Idx i) { body(i, j); }); });
}

/// Runs `body(first, channels)` over all channels [0, n): blocks of lanes() as vectors,
/// then the rest one by one, each with its index `i < n2` of a second loop.
void overChannels(KernelBuilder &k, int64_t n, int64_t n2,
                  const std::function<void(Idx, Idx, Channels)> &body) {
  const int64_t L = k.lanes(), blocks = n / L, rest = n % L;
  if (blocks)
    loop2(k, blocks, n2, [&](Idx ob, Idx i) { body(k.mul(ob, L), i, Channels{k, L}); });
  if (rest)
    loop2(k, rest, n2, [&](Idx r, Idx i) { body(k.add(r, blocks * L), i, Channels{k, 1}); });
}

/// conv2d(x, w) and conv_transpose2d(x, w), gathering: each output position sums its
/// taps over all input channels.
///   conv2d:           y[b,o,i,j] = sum_{c,kh,kw} x[b,c, i s - p + kh, j s - p + kw] w[o,c,kh,kw]
///   conv_transpose2d: y[b,o,i,j] = sum over i = h s - p + kh, j = v s - p + kw of
///                                  x[b,c,h,v] w[c,o,kh,kw]
void lowerConv(KernelBuilder &k, const Node &n, bool transposed) {
  const Shape &xs = n.operands[0]->shape, &ws = n.operands[1]->shape;
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t O = n.shape[1], Ho = n.shape[2], Wo = n.shape[3], KH = ws[2], KW = ws[3];
  const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1], budget = tileBudget(k);
  const std::vector<AxisRun> rows = axisRuns(Ho, H, KH, s, p, transposed);
  const std::vector<AxisRun> cols = axisRuns(Wo, W, KW, s, p, transposed);
  const int64_t wFilterStride = transposed ? KH * KW : C * KH * KW;
  auto xAt = [&](Idx b, Idx c, Idx h, Idx w) {
    return k.add(k.mul(k.add(k.mul(k.add(k.mul(b, C), c), H), h), W), w);
  };
  auto wAt = [&](Idx o, Idx c, Idx kh, Idx kw) {
    Idx oc = transposed ? k.add(k.mul(c, O), o) : k.add(k.mul(o, C), c);
    return k.add(k.mul(k.add(k.mul(oc, KH), kh), KW), kw);
  };
  auto yAt = [&](Idx b, Idx o, Idx i, Idx j) {
    return k.add(k.mul(k.add(k.mul(k.add(k.mul(b, O), o), Ho), i), Wo), j);
  };

  // Output positions (t0 + r, u0 + q), r < nr, q < nc, of the runs R x Q, for the
  // channels ch.V starting at o0.
  auto tile = [&](Idx b, Idx o0, Channels ch, const AxisRun &R, Idx t0, int64_t nr,
                  const AxisRun &Q, Idx u0, int64_t nc) {
    std::vector<Val> acc(static_cast<size_t>(nr * nc), ch.zero());
    if (R.taps && Q.taps)
      acc = k.loopCarry(C, acc, [&](Idx c, const Vals &perChannel) {
        return k.loopCarry(R.taps, perChannel, [&](Idx ti, const Vals &perRow) {
          return k.loopCarry(Q.taps, perRow, [&](Idx tj, const Vals &a) {
            Val wv = ch.load(1, wAt(o0, c, k.add(k.mul(ti, R.kStep), R.k0), k.add(k.mul(tj, Q.kStep), Q.k0)),
                             wFilterStride);
            Vals next(a);
            for (int64_t r = 0; r < nr; ++r) {
              Idx h = k.add(k.add(k.mul(k.add(t0, r), R.inStep), k.mul(ti, R.inTap)), R.in0);
              for (int64_t q = 0; q < nc; ++q) {
                Idx w = k.add(k.add(k.mul(k.add(u0, q), Q.inStep), k.mul(tj, Q.inTap)), Q.in0);
                Val xv = ch.spread(k.load(0, xAt(b, c, h, w)));
                next[r * nc + q] = k.fma(xv, wv, a[r * nc + q]);
              }
            }
            return next;
          });
        });
      });
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t q = 0; q < nc; ++q) {
        Idx i = k.add(k.mul(k.add(t0, r), R.outStep), R.out0);
        Idx j = k.add(k.mul(k.add(u0, q), Q.outStep), Q.out0);
        ch.store(yAt(b, o0, i, j), Ho * Wo, acc[r * nc + q]);
      }
  };
  // All positions of R x Q in tiles of at most `budget` positions, rows of Q first.
  auto runs = [&](Idx b, Idx o0, Channels ch, const AxisRun &R, const AxisRun &Q) {
    const int64_t nc = std::min(Q.count, budget), nr = std::min(R.count, std::max<int64_t>(1, budget / nc));
    auto rowOfTiles = [&](Idx t0, int64_t rows) {
      if (Q.count / nc)
        k.loop(Q.count / nc, [&](Idx u) { tile(b, o0, ch, R, t0, rows, Q, k.mul(u, nc), nc); });
      if (Q.count % nc)
        tile(b, o0, ch, R, t0, rows, Q, k.index(Q.count / nc * nc), Q.count % nc);
    };
    if (R.count / nr)
      k.loop(R.count / nr, [&](Idx t) { rowOfTiles(k.mul(t, nr), nr); });
    if (R.count % nr)
      rowOfTiles(k.index(R.count / nr * nr), R.count % nr);
  };
  overChannels(k, O, B, [&](Idx o0, Idx b, Channels ch) {
    for (const AxisRun &R : rows)
      for (const AxisRun &Q : cols)
        runs(b, o0, ch, R, Q);
  });
}

/// dw[o,c,kh,kw] = sum_{b,i,j} g[b,o,i,j] x[b,c, i s - p + kh, j s - p + kw]: each output
/// is a reduction over the batch and the positions of g; a tile is a band of kernel rows
/// for one input channel and lanes() filters.
void lowerFilterGrad(KernelBuilder &k, const Node &n) {
  const Shape &xs = n.operands[0]->shape, &gs = n.operands[1]->shape;
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3], O = gs[1], Ho = gs[2], Wo = gs[3];
  const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1], KH = n.attrs.ints[2], KW = n.attrs.ints[3];
  const std::vector<AxisRun> rows = axisRuns(Ho, H, KH, s, p, false);
  const std::vector<AxisRun> cols = axisRuns(Wo, W, KW, s, p, false);
  const int64_t bandRows = std::max<int64_t>(1, tileBudget(k) / KW);
  auto xAt = [&](Idx b, Idx c, Idx h, Idx w) {
    return k.add(k.mul(k.add(k.mul(k.add(k.mul(b, C), c), H), h), W), w);
  };
  auto gAt = [&](Idx b, Idx o, Idx i, Idx j) {
    return k.add(k.mul(k.add(k.mul(k.add(k.mul(b, O), o), Ho), i), Wo), j);
  };

  // Kernel rows [kh0, kh0 + nh) of filters ch.V from o0 and input channel c.
  auto band = [&](Idx o0, Idx c, Channels ch, int64_t kh0, int64_t nh) {
    std::vector<Val> acc(static_cast<size_t>(nh * KW), ch.zero());
    acc = k.loopCarry(B, acc, [&](Idx b, const Vals &perSample) {
      Vals sum(perSample);
      for (const AxisRun &R : rows)
        for (const AxisRun &Q : cols) {
          // This run's kernel rows inside the band (conv2d's runs have kStep 1).
          const int64_t lo = std::max(R.k0, kh0), hi = std::min(R.k0 + R.taps, kh0 + nh);
          if (lo >= hi || !Q.taps)
            continue;
          sum = k.loopCarry(R.count, sum, [&](Idx t, const Vals &perRow) {
            return k.loopCarry(Q.count, perRow, [&](Idx u, const Vals &a) {
              Idx i = k.add(k.mul(t, R.outStep), R.out0), j = k.add(k.mul(u, Q.outStep), Q.out0);
              Val gv = ch.load(1, gAt(b, o0, i, j), Ho * Wo);
              Vals next(a);
              for (int64_t kh = lo; kh < hi; ++kh) {
                Idx h = k.add(k.mul(t, R.inStep), R.in0 + (kh - R.k0) * R.inTap);
                for (int64_t tj = 0; tj < Q.taps; ++tj) {
                  Idx w = k.add(k.mul(u, Q.inStep), Q.in0 + tj * Q.inTap);
                  size_t at = static_cast<size_t>((kh - kh0) * KW + Q.k0 + tj * Q.kStep);
                  next[at] = k.fma(gv, ch.spread(k.load(0, xAt(b, c, h, w))), a[at]);
                }
              }
              return next;
            });
          });
        }
      return sum;
    });
    for (int64_t kh = kh0; kh < kh0 + nh; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        Idx at = k.add(k.mul(k.add(k.mul(o0, C), c), KH * KW), kh * KW + kw);
        ch.store(at, C * KH * KW, acc[static_cast<size_t>((kh - kh0) * KW + kw)]);
      }
  };
  overChannels(k, O, C, [&](Idx o0, Idx c, Channels ch) {
    for (int64_t kh0 = 0; kh0 < KH; kh0 += bandRows)
      band(o0, c, ch, kh0, std::min(bandRows, KH - kh0));
  });
}

} // namespace
} // namespace ganc::ops

namespace ganc::ir {
using namespace ganc::ops;

// conv2d(x[B,C,H,W], w[O,C,KH,KW]) {stride, padding} -> y[B,O,Ho,Wo],
// Ho = (H + 2 padding - KH) / stride + 1 (rounded down).
//   dx = conv_transpose2d(g, w) back to H x W;  dw = conv2d_filter_grad(x, g)
const OpInfo &opInfo_Conv2d() {
  static const OpInfo info{
      "conv2d", 2, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &w = in[1]->shape;
        if (!validStridePadding("conv2d", a, 2, err) ||
            !bothRank4("conv2d", x, w, "x [batch, channels, height, width] and w [filters, channels, kh, kw]", err))
          return std::nullopt;
        const int64_t s = a.ints[0], p = a.ints[1];
        if (x[1] != w[1]) {
          err = "'conv2d' expects " + std::to_string(w[1]) + " input channels (w is " + formatType(w) +
                "), got " + std::to_string(x[1]);
          return std::nullopt;
        }
        int64_t ho = convOut(x[2], w[2], s, p), wo = convOut(x[3], w[3], s, p);
        if (!ho || !wo) {
          err = "'conv2d' kernel " + dims(w[2], w[3]) + " does not fit the input " + dims(x[2], x[3]) +
                " with padding " + std::to_string(p);
          return std::nullopt;
        }
        return Shape{x[0], w[0], ho, wo};
      },
      [](Builder &b, const Node &n, Node *g) {
        Node *x = n.operands[0], *w = n.operands[1];
        const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1];
        return Grads{convTranspose2d(b, g, w, s, p, x->shape[2], x->shape[3]),
                     filterGrad(b, x, g, s, p, w->shape[2], w->shape[3])};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) { lowerConv(k, n, false); },
      0,
      {"stride", "padding"}};
  return info;
}

// conv_transpose2d(x[B,C,H,W], w[C,O,KH,KW]) {stride, padding, output_padding_h,
// output_padding_w} -> y[B,O,Ho,Wo], Ho = (H - 1) stride - 2 padding + KH + output_padding_h:
// x[b,c,h,v] w[c,o,kh,kw] adds to y[b,o, h s - p + kh, v s - p + kw], PyTorch's
// ConvTranspose2d. It is conv2d's gradient with respect to its input; output_padding
// (< stride) gives back the rows conv2d's windows never reached.
//   dx = conv2d(g, w);  dw = conv2d_filter_grad(g, x)
const OpInfo &opInfo_ConvTranspose2d() {
  static const OpInfo info{
      "conv_transpose2d", 2, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &w = in[1]->shape;
        if (!validStridePadding("conv_transpose2d", a, 4, err) ||
            !bothRank4("conv_transpose2d", x, w,
                       "x [batch, channels, height, width] and w [channels, filters, kh, kw]", err))
          return std::nullopt;
        const int64_t s = a.ints[0], p = a.ints[1];
        for (int64_t op : {a.ints[2], a.ints[3]})
          if (op < 0 || op >= s) {
            err = "'conv_transpose2d' needs an output padding in [0, stride " + std::to_string(s) +
                  "), got " + std::to_string(op);
            return std::nullopt;
          }
        if (x[1] != w[0]) {
          err = "'conv_transpose2d' expects " + std::to_string(w[0]) + " input channels (w is " +
                formatType(w) + "), got " + std::to_string(x[1]);
          return std::nullopt;
        }
        int64_t ho = (x[2] - 1) * s - 2 * p + w[2] + a.ints[2];
        int64_t wo = (x[3] - 1) * s - 2 * p + w[3] + a.ints[3];
        if (ho < 1 || wo < 1) {
          err = "'conv_transpose2d' padding " + std::to_string(p) + " leaves no output for the input " +
                dims(x[2], x[3]) + " and kernel " + dims(w[2], w[3]);
          return std::nullopt;
        }
        return Shape{x[0], w[1], ho, wo};
      },
      [](Builder &b, const Node &n, Node *g) {
        Node *x = n.operands[0], *w = n.operands[1];
        const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1];
        return Grads{conv2d(b, g, w, s, p), filterGrad(b, g, x, s, p, w->shape[2], w->shape[3])};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) { lowerConv(k, n, true); },
      0,
      {"stride", "padding", "output_padding_h", "output_padding_w"},
      {0, 0}};
  return info;
}

// conv2d_filter_grad(x[B,C,H,W], g[B,O,Ho,Wo]) {stride, padding, kh, kw} -> dw[O,C,kh,kw],
// the gradient of conv2d(x, w) with respect to w for the output gradient g:
//   dw[o,c,kh,kw] = sum_{b,i,j} g[b,o,i,j] x[b,c, i s - p + kh, j s - p + kw].
// Bilinear in x and g; for the gradient v of dw:
//   dx = conv_transpose2d(g, v) back to H x W;  dg = conv2d(x, v)
const OpInfo &opInfo_Conv2dFilterGrad() {
  static const OpInfo info{
      "conv2d_filter_grad", 2, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &g = in[1]->shape;
        if (!validStridePadding("conv2d_filter_grad", a, 4, err) ||
            !bothRank4("conv2d_filter_grad", x, g,
                       "x [batch, channels, height, width] and g [batch, filters, height, width]", err))
          return std::nullopt;
        const int64_t s = a.ints[0], p = a.ints[1], kh = a.ints[2], kw = a.ints[3];
        if (kh < 1 || kw < 1) {
          err = "'conv2d_filter_grad' needs a kernel of at least 1x1, got " + dims(kh, kw);
          return std::nullopt;
        }
        int64_t ho = convOut(x[2], kh, s, p), wo = convOut(x[3], kw, s, p);
        if (g[0] != x[0] || g[2] != ho || g[3] != wo || !ho) {
          err = "'conv2d_filter_grad' expects g of shape " + formatType({x[0], g[1], ho, wo}) +
                ", the output of a " + dims(kh, kw) + " conv2d of x " + formatType(x) + ", got " +
                formatType(g);
          return std::nullopt;
        }
        return Shape{g[1], x[1], kh, kw};
      },
      [](Builder &b, const Node &n, Node *v) {
        Node *x = n.operands[0], *g = n.operands[1];
        const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1];
        return Grads{convTranspose2d(b, g, v, s, p, x->shape[2], x->shape[3]), conv2d(b, x, v, s, p)};
      },
      nullptr,
      lowerFilterGrad,
      0,
      {"stride", "padding", "kernel_h", "kernel_w"}};
  return info;
}

} // namespace ganc::ir
