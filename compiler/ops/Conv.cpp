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
// padded copy is made. Vectors run along filters, not along image rows: GAN images are
// small (a 7- or 14-wide row is shorter than a 16-float vector), and with stride 2 a row
// is not contiguous in the input anyway. Filters are far apart in NCHW and OIHW, so a
// first outermost loop packs the vector operand (the filters, or the output gradient for
// conv2d_filter_grad) into scratch memory with the lanes side by side; gathering them
// instead costs four times as much. A register tile of output positions (kernel taps, for
// the filter gradient) then keeps its accumulators in registers through the whole
// reduction. Filters left over after the last full vector go one by one as scalars; a
// layer with fewer filters than lanes puts samples in the lanes instead. The exception is
// an input with few channels (the first layer of a discriminator), for conv2d and its
// weight gradient: there each output sums so few products that a scattered store (or
// packing the whole output gradient) would cost as much. conv2d's vectors run along the
// output positions of a plane, reading a copy of each sample's input with one row per
// kernel tap (ConvPositions); the weight gradient's along its kernel taps, reading a
// copy with one row of taps per output position (FilterGradTaps), or, when output
// columns fill vectors better, along those, reading the input packed by stride phase
// (ColumnPacking).
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"
#include "support/Error.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

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
    err =
        std::string("'") + op + "' needs a stride of at least 1, got " + std::to_string(a.ints[0]);
    return false;
  }
  if (a.ints[1] < 0) {
    err =
        std::string("'") + op + "' needs a padding of at least 0, got " + std::to_string(a.ints[1]);
    return false;
  }
  return true;
}

bool bothRank4(const char *op, const Shape &x, const Shape &w, const char *what, std::string &err) {
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
        bool next =
            last.out0 + last.count * step == o && last.taps == r.taps &&
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

/// One output position along an axis and its taps: (kernel index, input position).
struct AxisPos {
  int64_t out;
  std::vector<std::pair<int64_t, int64_t>> taps;
};

AxisPos position(const AxisRun &r, int64_t t) {
  AxisPos p{r.out0 + t * r.outStep, {}};
  for (int64_t j = 0; j < r.taps; ++j)
    p.taps.push_back({r.k0 + j * r.kStep, r.in0 + t * r.inStep + j * r.inTap});
  return p;
}

/// Positions along one axis that share a register tile. A looped slice is iteration
/// t < loopCount of a loop along a run, its positions moved by t * outStep and reading
/// t * inStep further on; a static slice (loopCount 0) is computed once, as it is.
struct Slice {
  std::vector<AxisPos> pos;
  int64_t loopCount = 0, outStep = 0, inStep = 0;
};

/// Slices of at most `most` positions covering an axis. In each phase (one, or stride
/// many for a transposed convolution), whole chunks of the longest run make one looped
/// slice; the other positions, borders included, share static slices of balanced size,
/// so a border position does not leave a tile nearly empty.
std::vector<Slice> axisSlices(const std::vector<AxisRun> &runs, int64_t most) {
  std::vector<Slice> slices;
  auto phase = [](const AxisRun &r) { return r.out0 % r.outStep; };
  for (size_t first = 0, last; first < runs.size(); first = last) {
    for (last = first + 1; last < runs.size() && phase(runs[last]) == phase(runs[first]);)
      ++last;
    size_t longest = first;
    for (size_t i = first; i < last; ++i)
      if (runs[i].count > runs[longest].count)
        longest = i;
    const AxisRun &L = runs[longest];
    const int64_t chunks = L.count / most;
    if (chunks) {
      Slice looped{{}, chunks, most * L.outStep, most * L.inStep};
      for (int64_t t = 0; t < most; ++t)
        looped.pos.push_back(position(L, t));
      slices.push_back(looped);
    }
    std::vector<AxisPos> rest;
    for (size_t i = first; i < last; ++i)
      for (int64_t t = i == longest ? chunks * most : 0; t < runs[i].count; ++t)
        rest.push_back(position(runs[i], t));
    const size_t n = rest.size(), parts = (n + most - 1) / most;
    for (size_t j = 0; j < parts; ++j)
      slices.push_back({{rest.begin() + j * n / parts, rest.begin() + (j + 1) * n / parts}});
  }
  return slices;
}

/// body(t) for each iteration of a looped slice, or once with t = 0.
void overSlice(KernelBuilder &k, const Slice &s, const std::function<void(Idx)> &body) {
  if (s.loopCount)
    k.loop(s.loopCount, body);
  else
    body(k.index(0));
}

/// Inputs with fewer channels (grayscale and RGB images) loop over the channels once,
/// around all kernel taps.
constexpr int64_t kFewChannels = 4;

/// Accumulators per register tile: with the tap's vector and a broadcast they fill the 32
/// vector registers of AVX-512, or the 16 of AVX2.
int64_t tileBudget(KernelBuilder &k) { return k.lanes() >= 16 ? 24 : 12; }
/// The vector registers: AVX-512's 32, or AVX2's 16.
int64_t vectorRegisters(KernelBuilder &k) { return k.lanes() >= 16 ? 32 : 16; }
/// Output positions of a tile with two vectors of filters (conv2d, conv_transpose2d): with
/// AVX-512, 28 accumulators, the two filter vectors and two broadcasts of x take 32
/// registers, and 14 positions are two rows of a 7-wide plane (the DCGAN's 7x7 output, and
/// each stride phase of its transposed convolution's 14x14), where the budget's 12 made
/// tiles of one row (14 accumulators). The DCGAN's convT 128->64 went 11.4-12.1 -> 10.3-10.5
/// ms on one thread and 5.3-5.7 -> 5.0-5.1 on two; conv 64->128 about the same (rocketlake,
/// least of 15 runs, three alternated rounds). AVX2's 16 registers keep the budget.
int64_t pairPositions(KernelBuilder &k) { return k.lanes() >= 16 ? 14 : tileBudget(k) / 2; }

/// `for i < n1, j < n2: body(i, j)` with the longer loop outermost, so that there is work
/// to split across threads whichever is 1.
void loop2(KernelBuilder &k, int64_t n1, int64_t n2, const std::function<void(Idx, Idx)> &body) {
  if (n1 >= n2)
    k.loop(n1, [&](Idx i) { k.loop(n2, [&](Idx j) { body(i, j); }); });
  else
    k.loop(n2, [&](Idx j) { k.loop(n1, [&](Idx i) { body(i, j); }); });
}

/// The widest vector a lowering sees (AVX-512's 16 floats): scratch sizes do not depend
/// on the host, so a packing whose rows round up to whole vectors is sized for these.
constexpr int64_t kWidestVector = 16;

/// The input of conv2d or its weight gradient with few channels (a grayscale or RGB
/// first layer), which has so few multiply-adds per output that storing lanes of
/// filters, one scatter per vector, would cost as much as computing them. Each input row
/// is packed as its `stride` phases (columns ph, ph + stride, ...) that kernel columns
/// read (at most KW of them), every phase row with zero columns around it, so that the
/// input of output columns [j0, j0 + lanes) at a kernel column is one vector load,
/// padding included.
struct ColumnPacking {
  int64_t B, C, H, W, s, p, KW, Wo;
  int64_t before;                  // zero columns before a phase row's first
  int64_t rowLen;                  // a phase row, zeros included
  std::vector<int64_t> phases;     // the phases packed, ascending
  /// For conv2d (x, w) -> y, or conv2d_filter_grad (x, g) -> dw: x is operand 0 either way.
  ColumnPacking(const Node &n, int64_t lanes) {
    const Shape &xs = n.operands[0]->shape;
    const bool grad = n.op == OpKind::Conv2dFilterGrad;
    B = xs[0], C = xs[1], H = xs[2], W = xs[3];
    s = n.attrs.ints[0], p = n.attrs.ints[1];
    KW = grad ? n.attrs.ints[3] : n.operands[1]->shape[3];
    Wo = grad ? n.operands[1]->shape[3] : n.shape[3];
    if (lanes > kWidestVector) // scratch is sized for kWidestVector (packedOperand)
      internalError(opInfo(n.op).mnemonic, std::to_string(lanes) + "-lane vectors are wider than the packing allows");
    before = (p + s - 1) / s;
    rowLen = (Wo + lanes - 1) / lanes * lanes + before + std::max<int64_t>(0, floorDiv(KW - 1 - p, s));
    for (int64_t kw = 0; kw < KW; ++kw)
      phases.push_back(phase(kw));
    std::sort(phases.begin(), phases.end());
    phases.erase(std::unique(phases.begin(), phases.end()), phases.end());
  }
  static int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
  int64_t rowsPerInputRow() const { return static_cast<int64_t>(phases.size()); }
  int64_t size() const { return B * C * H * rowsPerInputRow() * rowLen; }
  /// Kernel column kw reads phase (kw - p) mod s, shifted by floor((kw - p) / s) columns.
  int64_t phase(int64_t kw) const { return kw - p - s * floorDiv(kw - p, s); }
  int64_t shift(int64_t kw) const { return floorDiv(kw - p, s) + before; }
  /// Where phase ph of input row ih of sample b, channel c starts in the scratch memory.
  Idx rowStart(KernelBuilder &k, Idx b, Idx c, Idx ih, int64_t ph) const {
    const int64_t slot = std::lower_bound(phases.begin(), phases.end(), ph) - phases.begin();
    return k.mul(k.add(k.mul(k.add(k.mul(k.add(k.mul(b, C), c), H), ih), rowsPerInputRow()), slot),
                 rowLen);
  }
  /// The input vector of output columns [j0, j0 + lanes) at kernel column kw, input row ih.
  Val load(KernelBuilder &k, Idx b, Idx c, Idx ih, int64_t kw, Idx j0) const {
    return k.loadScratchVector(k.add(rowStart(k, b, c, ih, phase(kw)), k.add(j0, shift(kw))));
  }
  /// The first outermost loop: x into the scratch memory, column m s + ph of each row at
  /// its phase row's `before + m`. Vectors of every s-th column where whole vectors fit
  /// in the phase row (the last one's spare lanes are zeros, as the row's end must be).
  void pack(KernelBuilder &k) const {
    const int64_t L = k.lanes();
    k.loop(B * C * H, [&](Idx row) {
      for (size_t slot = 0; slot < phases.size(); ++slot) {
        const int64_t ph = phases[slot];
        Idx start = k.mul(k.add(k.mul(row, rowsPerInputRow()), static_cast<int64_t>(slot)), rowLen);
        const int64_t copied = std::min(ph < W ? (W - ph + s - 1) / s : 0, rowLen - before);
        auto zeros = [&](int64_t from, int64_t count) {
          if (count > 0)
            k.loop(count, [&](Idx m) { k.storeScratch(k.add(k.add(start, from), m), k.constant(0)); });
        };
        auto column = [&](Idx m) { return k.add(k.mul(row, W), k.add(k.mul(m, s), ph)); };
        zeros(0, before);
        int64_t written = before;
        const int64_t vectors = (copied + L - 1) / L;
        if (copied > 0 && before + vectors * L <= rowLen) {
          if (copied / L)
            k.loop(copied / L, [&](Idx v) {
              k.storeScratchVector(k.add(k.add(start, before), k.mul(v, L)), k.loadStrided(0, column(k.mul(v, L)), s, L));
            });
          if (copied % L)
            k.storeScratchVector(k.add(start, before + copied / L * L),
                                 k.loadStrided(0, column(k.index(copied / L * L)), s, copied % L));
          written += vectors * L;
        } else if (copied > 0) {
          k.loop(copied, [&](Idx m) { k.storeScratch(k.add(k.add(start, before), m), k.load(0, column(m))); });
          written += copied;
        }
        zeros(written, rowLen - written);
      }
    });
  }
};

/// conv2d and its weight gradient on an input with few channels: x packed by phase, and
/// vectors along output positions or columns, or along kernel taps.
bool fewChannels(const Node &n) {
  return (n.op == OpKind::Conv2d || n.op == OpKind::Conv2dFilterGrad) && n.operands[0]->shape[1] < kFewChannels;
}

/// n rounded up to a multiple of m.
int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/// body(j0, count, carried) over output columns [0, width) in vectors of `lanes`: a loop
/// over the whole vectors, so that the code does not grow with the width, then one
/// partial vector of `count` < lanes columns.
std::vector<Val>
overColumns(KernelBuilder &k, int64_t width, std::vector<Val> carried,
            const std::function<std::vector<Val>(Idx, int64_t, const std::vector<Val> &)> &body) {
  const int64_t L = k.lanes(), whole = width / L, tail = width % L;
  if (whole)
    carried = k.loopCarry(
        whole, carried, [&](Idx v, const std::vector<Val> &c) { return body(k.mul(v, L), L, c); });
  if (tail)
    carried = body(k.index(whole * L), tail, carried);
  return carried;
}

/// The first layer's kernels split the batch into chunks of a few samples, each an
/// iteration of the parallel loop with scratch memory of its own.
constexpr int64_t kChunkSamples = 8;
int64_t sampleChunks(int64_t B) { return (B + kChunkSamples - 1) / kChunkSamples; }
/// chunk(q, count) for chunk q of `count` samples, from sample q kChunkSamples: whole
/// chunks in one outermost loop, a last shorter one in another.
void overChunks(KernelBuilder &k, int64_t B, const std::function<void(Idx, int64_t)> &chunk) {
  const int64_t full = B / kChunkSamples, rest = B % kChunkSamples;
  if (full)
    k.loop(full, [&](Idx q) { chunk(q, kChunkSamples); });
  if (rest)
    k.loop(1, [&](Idx) { chunk(k.index(full), rest); });
}

/// n things in groups of at most `most`, their sizes as even as can be: `big` groups of
/// size + 1, then groups of size.
struct Groups {
  int64_t size, big, count;
  Groups(int64_t n, int64_t most) {
    count = (n + most - 1) / most;
    size = count ? n / count : 0;
    big = count ? n % count : 0;
  }
};

/// The distance m between the filters of a tile (c, c + m, ...; a multiple of `step`) at
/// which their planes of `plane` floats lie a page apart, unless that leaves fewer than
/// `least` of O filters a tile. The hardware prefetchers follow about one stream a page:
/// a tile's planes side by side, several to a page, waited on memory (for loads, or for
/// the reads before stores).
int64_t pageApart(int64_t plane, int64_t step, int64_t O, int64_t least) {
  const int64_t apart = (kPageFloats + plane - 1) / plane;
  int64_t m = (apart + step - 1) / step * step;
  while (m > step && O / m < least)
    m -= step;
  return m;
}

/// body(o0, F) for each group of at most `most` of the filters c, c + m, c + 2m, ...
/// below O: the group's filters are o0, o0 + m, ... (F of them).
void overFilterClass(KernelBuilder &k, int64_t O, int64_t c, int64_t m, int64_t most,
                     const std::function<void(Idx, int64_t)> &body) {
  const Groups fg((O - c + m - 1) / m, most);
  if (fg.big)
    k.loop(fg.big, [&](Idx g) { body(k.add(k.mul(g, (fg.size + 1) * m), c), fg.size + 1); });
  if (fg.count > fg.big)
    k.loop(fg.count - fg.big, [&](Idx g) {
      body(k.add(k.mul(g, fg.size * m), c + fg.big * (fg.size + 1) * m), fg.size);
    });
}

/// conv2d on an input with few channels, vectors along output positions (the rows of an
/// output plane one after another, as they are stored): 196 lanes busy in 13 vectors of
/// the DCGAN's 14x14 first layer, where vectors along its columns had 14 of 16. Per
/// chunk of samples, each sample's input is first spread into the chunk's scratch as one
/// row per kernel tap (c, kh, kw) holding that tap's input for every output position,
/// read from x packed by stride phase (ColumnPacking); a register tile of F filters by V
/// vectors of positions then loads, per tap, the V vectors of that row and then each
/// filter's broadcast weight in turn with its V multiply-adds (as the matrix products'
/// tiles do), or with too few registers for that the F broadcasts and then each vector:
/// F + V loads for F V multiply-adds, each output summed over its taps in order. (With
/// the F broadcasts loaded first on AVX-512, all of them stayed live beside the tile:
/// 413-427 us against 433-453 on one thread, 223-228 against 235-241 on two, least of
/// short runs of the DCGAN's first layer, alternated.)
struct ConvPositions {
  static constexpr int64_t kVectors = 4; // vectors of positions a tile
  int64_t B, C, KH, KW, Ho, Wo, first;
  explicit ConvPositions(const Node &n) {
    const Shape &xs = n.operands[0]->shape, &ws = n.operands[1]->shape;
    B = xs[0], C = xs[1], KH = ws[2], KW = ws[3], Ho = n.shape[2], Wo = n.shape[3];
    first = ColumnPacking(n, kWidestVector).size();
  }
  int64_t taps() const { return C * KH * KW; }
  /// One tap's row: the output positions and room for a vector started at the last of
  /// them (a class's last vector starts up to 15 positions before the plane's end),
  /// rounded up to whole vectors of any width.
  int64_t row() const { return roundUp(Ho * Wo + kWidestVector - 1, kWidestVector); }
  int64_t chunkSize() const { return taps() * row(); }
  /// Scratch: x packed, then a chunk's rows of taps per chunk.
  int64_t scratch() const { return first + sampleChunks(B) * chunkSize(); }
};

void lowerConvPositions(KernelBuilder &k, const Node &n) {
  const int64_t L = k.lanes();
  const ColumnPacking pk(n, L);
  const ConvPositions d(n);
  const int64_t B = d.B, C = d.C, KH = d.KH, KW = d.KW, Ho = d.Ho, Wo = d.Wo, H = pk.H;
  const int64_t O = n.shape[1], T = d.taps(), P = Ho * Wo, row = d.row();
  pk.pack(k);
  auto tapRow = [&](Idx q, Idx tap) { return k.add(k.mul(k.add(k.mul(q, T), tap), row), d.first); };
  // Sample b's input at every tap and output position into chunk q's rows.
  auto spread = [&](Idx q, Idx b) {
    for (const AxisRun &R : axisRuns(Ho, H, KH, pk.s, pk.p, false))
      k.loop(R.count, [&](Idx t) {
        Idx i = k.add(k.mul(t, R.outStep), R.out0);
        for (int64_t c = 0; c < C; ++c)
          for (int64_t kh = 0; kh < KH; ++kh) {
            const bool inside = kh >= R.k0 && kh < R.k0 + R.taps;
            Idx ih = k.add(k.mul(t, R.inStep), R.in0 + (kh - R.k0) * R.inTap);
            for (int64_t kw = 0; kw < KW; ++kw) {
              Idx to = k.add(tapRow(q, k.index((c * KH + kh) * KW + kw)), k.mul(i, Wo));
              overColumns(k, Wo, {}, [&](Idx j0, int64_t count, const std::vector<Val> &) {
                Val v = inside ? pk.load(k, b, k.index(c), ih, kw, j0) : k.splat(k.constant(0));
                k.storeScratchPartial(k.add(to, j0), count, v);
                return std::vector<Val>{};
              });
            }
          }
      });
  };
  // Filters fall into classes by where their planes start in a cache line (below), and a
  // tile's filters, of one class, lie a page apart (least of short runs of the DCGAN's
  // first layer, one thread: 4 filters apart 510-516 us, 8 apart 472-479, 16 apart
  // 460-467).
  const bool aligned = O * P % kLineFloats == 0;
  const int64_t lineClasses = aligned ? kLineFloats / std::gcd(P, kLineFloats) : 1;
  const int64_t m = pageApart(P, lineClasses, O, (tileBudget(k) / ConvPositions::kVectors + 1) / 2);
  // A register tile: filters o0, o0 + m, ... (F of them) at vectors of positions of
  // sample b, each vector a start and how many lanes it stores.
  using Vec = std::pair<Idx, int64_t>;
  auto tile = [&](Idx q, Idx b, Idx o0, int64_t F, const std::vector<Vec> &vecs) {
    const size_t V = vecs.size();
    std::vector<Val> acc(F * V, k.splat(k.constant(0)));
    // The V vectors first when they fit beside the accumulators and one broadcast
    // (AVX-512's 32 registers), else the F broadcasts (AVX2's 16 hold 3 x 4 accumulators,
    // 3 broadcasts and a vector; vectors first there took 538-552 us against 537-538).
    const int64_t live = F * static_cast<int64_t>(V) + static_cast<int64_t>(V) + 1;
    const bool vectorsFirst = live <= vectorRegisters(k);
    k.rollNextLoop();
    acc = k.loopCarry(T, acc, [&](Idx tap, const std::vector<Val> &a) {
      std::vector<Val> next(a);
      auto weight = [&](int64_t f) {
        return k.splat(k.load(1, k.add(k.mul(k.add(o0, f * m), T), tap)));
      };
      auto row = [&](int64_t v) {
        return k.loadScratchVector(k.add(tapRow(q, tap), vecs[static_cast<size_t>(v)].first));
      };
      auto mac = [&](int64_t f, int64_t v, Val x, Val w) {
        Val &acc = next[static_cast<size_t>(f) * V + static_cast<size_t>(v)];
        acc = k.fma(x, w, acc);
      };
      const int64_t nv = static_cast<int64_t>(V);
      if (vectorsFirst)
        heldThenStreamed(nv, row, F, weight,
                         [&](int64_t v, int64_t f, Val x, Val w) { mac(f, v, x, w); });
      else
        heldThenStreamed(F, weight, nv, row,
                         [&](int64_t f, int64_t v, Val w, Val x) { mac(f, v, x, w); });
      return next;
    });
    for (int64_t f = 0; f < F; ++f)
      for (size_t v = 0; v < V; ++v) {
        Idx at = k.add(k.mul(k.add(k.mul(b, O), k.add(o0, f * m)), P), vecs[v].first);
        if (vecs[v].second < L)
          k.storePartial(at, vecs[v].second, acc[f * V + v]);
        else
          k.storeVector(at, acc[f * V + v]);
      }
  };
  // body(o0, F) for groups of the filters of class c (c, c + m, ...), as many in a
  // group as fit in a tile beside V vectors of positions.
  auto filters = [&](int64_t c, int64_t V, const std::function<void(Idx, int64_t)> &body) {
    overFilterClass(k, O, c, m, std::max<int64_t>(1, tileBudget(k) / V), body);
  };
  // A tile's stores of whole vectors start on cache lines when the planes' offsets allow
  // (every buffer starts on one): the plane of filter o starts o P floats into a sample
  // of O P, so with O P a multiple of a line, filters o and o + m start at the same
  // offset within a line, and the vectors of class c start `head` positions into its
  // planes.
  // (Stores split across two lines cost the DCGAN's first layer a fifth of its time.)
  auto sample = [&](Idx q, Idx b) {
    spread(q, b);
    for (int64_t c = 0; c < std::min(m, O); ++c) {
      const int64_t head =
          aligned ? std::min(P, (kLineFloats - c * P % kLineFloats) % kLineFloats) : 0;
      const int64_t whole = (P - head) / L, tail = (P - head) % L;
      // The partial vectors: the head's and the tail's, a tile per kVectors of them.
      std::vector<std::pair<int64_t, int64_t>> edge;
      for (int64_t at = 0; at < head; at += L)
        edge.push_back({at, std::min(L, head - at)});
      if (tail)
        edge.push_back({P - tail, tail});
      for (size_t e = 0; e < edge.size(); e += ConvPositions::kVectors) {
        const size_t V = std::min<size_t>(ConvPositions::kVectors, edge.size() - e);
        filters(c, V, [&](Idx o0, int64_t F) {
          std::vector<Vec> vecs;
          for (size_t v = e; v < e + V; ++v)
            vecs.push_back({k.index(edge[v].first), edge[v].second});
          tile(q, b, o0, F, vecs);
        });
      }
      // The whole vectors, in groups of at most kVectors.
      const Groups vg(whole, ConvPositions::kVectors);
      auto wholeGroups = [&](int64_t count, int64_t V, int64_t from) {
        if (count)
          k.loop(count, [&](Idx g) {
            filters(c, V, [&](Idx o0, int64_t F) {
              std::vector<Vec> vecs;
              for (int64_t v = 0; v < V; ++v)
                vecs.push_back({k.add(k.mul(g, V * L), from + head + v * L), L});
              tile(q, b, o0, F, vecs);
            });
          });
      };
      wholeGroups(vg.big, vg.size + 1, 0);
      wholeGroups(vg.count - vg.big, vg.size, vg.big * (vg.size + 1) * L);
    }
  };
  overChunks(k, B, [&](Idx q, int64_t count) {
    k.loop(count, [&](Idx t) { sample(q, k.add(k.mul(q, kChunkSamples), t)); });
  });
}

/// Kernels of more taps than this (5x5, 7x7) loop over their kernel rows where a tile's
/// rows allow (rowSteps); smaller ones (the examples' 3x3 and 4x4) keep every tap's
/// loop apart. A stride-1 7x7 layer with "same" padding has a static tile for each of
/// its six border rows and each slice of columns, and with every tap's loop apart its
/// kernels came to 64,000 lines of IR each (17 s to compile a DCGAN with two such layers
/// in D); the loop over kernel rows adds no work.
constexpr int64_t kUnrolledTaps = 16;

/// Kernel rows k0 + j dk (j < count, count >= 2) that every row of a slice reads, row r
/// from input row in_r + j din.
struct RowSteps {
  int64_t k0, dk, count, din;
};

/// The kernel rows all rows of a slice read alike, if they do: then one loop over the
/// kernel rows serves them.
std::optional<RowSteps> rowSteps(const Slice &rows) {
  const auto &first = rows.pos.at(0).taps;
  if (first.size() < 2)
    return std::nullopt;
  const RowSteps steps{first[0].first, first[1].first - first[0].first,
                       static_cast<int64_t>(first.size()), first[1].second - first[0].second};
  for (const AxisPos &p : rows.pos) {
    if (static_cast<int64_t>(p.taps.size()) != steps.count)
      return std::nullopt;
    for (int64_t j = 0; j < steps.count; ++j) {
      const auto &[kh, in] = p.taps[static_cast<size_t>(j)];
      if (kh != steps.k0 + j * steps.dk || in != p.taps[0].second + j * steps.din)
        return std::nullopt;
    }
  }
  return steps;
}

/// conv2d(x, w) and conv_transpose2d(x, w), gathering: each output position sums its
/// taps over all input channels.
///   conv2d:           y[b,o,i,j] = sum_{c,kh,kw} x[b,c, i s - p + kh, j s - p + kw] w[o,c,kh,kw]
///   conv_transpose2d: y[b,o,i,j] = sum over i = h s - p + kh, j = v s - p + kw of
///                                  x[b,c,h,v] w[c,o,kh,kw]
/// The vector lanes of a tile hold lanes() filters of one sample, or, with fewer filters
/// than lanes (an RGB or grayscale output layer), lanes() samples of one filter. Their
/// operand (w, or x) is first packed into scratch memory, the lanes side by side.
void lowerConv(KernelBuilder &k, const Node &n, bool transposed) {
  const Shape &xs = n.operands[0]->shape, &ws = n.operands[1]->shape;
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t O = n.shape[1], Ho = n.shape[2], Wo = n.shape[3], KH = ws[2], KW = ws[3];
  const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1], budget = tileBudget(k);
  const int64_t L = k.lanes(), taps = KH * KW;
  if (fewChannels(n))
    return lowerConvPositions(k, n);
  enum class Lanes { Filters, Samples, One };
  const Lanes wide = O >= L || B < L ? Lanes::Filters : Lanes::Samples;
  const int64_t blocks = wide == Lanes::Filters ? O / L : B / L;

  auto xAt = [&](Idx b, Idx c, Idx hw) { return k.add(k.mul(k.add(k.mul(b, C), c), H * W), hw); };
  auto wAt = [&](Idx o, Idx c, Idx tap) {
    Idx oc = transposed ? k.add(k.mul(c, O), o) : k.add(k.mul(o, C), c);
    return k.add(k.mul(oc, taps), tap);
  };
  auto yAt = [&](Idx b, Idx o, Idx ij) { return k.add(k.mul(k.add(k.mul(b, O), o), Ho * Wo), ij); };
  // Packed: filters [o0, o0 + L) at o0 C taps + (c taps + tap) L + lane, or samples
  // [b0, b0 + L) at b0 C H W + (c H W + hw) L + lane.
  auto packedW = [&](Idx o0, Idx c, Idx tap) {
    return k.add(k.mul(o0, C * taps), k.mul(k.add(k.mul(c, taps), tap), L));
  };
  auto packedX = [&](Idx b0, Idx c, Idx hw) {
    return k.add(k.mul(b0, C * H * W), k.mul(k.add(k.mul(c, H * W), hw), L));
  };
  if (blocks && wide == Lanes::Filters)
    loop2(k, blocks, C, [&](Idx ob, Idx c) {
      k.loop(L, [&](Idx lane) {
        k.loop(taps, [&](Idx tap) {
          Idx o0 = k.mul(ob, L);
          k.storeScratch(k.add(packedW(o0, c, tap), lane), k.load(1, wAt(k.add(o0, lane), c, tap)));
        });
      });
    });
  // Samples are C H W apart: one gather and one vector store per packed vector. Element
  // by element, the DCGAN's output layer (convT 64->1) took 2.25 ms instead of 1.75.
  if (blocks && wide == Lanes::Samples)
    loop2(k, blocks, C, [&](Idx bb, Idx c) {
      k.loop(H * W, [&](Idx hw) {
        Idx b0 = k.mul(bb, L);
        k.storeScratchVector(packedX(b0, c, hw), k.loadStrided(0, xAt(b0, c, hw), C * H * W, L));
      });
    });

  // Row and column slices of at most `positions` output positions a tile (a tile holds an
  // accumulator per position and vector of filters: `budget` positions with one vector,
  // pairPositions with two).
  struct Slices {
    std::vector<Slice> rows, cols;
  };
  auto slicesFor = [&](int64_t positions) {
    Slices sl;
    sl.cols = axisSlices(axisRuns(Wo, W, KW, s, p, transposed), positions);
    int64_t widest = 1;
    for (const Slice &cs : sl.cols)
      widest = std::max<int64_t>(widest, static_cast<int64_t>(cs.pos.size()));
    sl.rows = axisSlices(axisRuns(Ho, H, KH, s, p, transposed), std::max<int64_t>(1, positions / widest));
    return sl;
  };

  // The positions RS x CS (iterations t and u of their loops) of sample b and filter o
  // (the first of the lanes; with lanes of filters, `nb` vectors of them side by side,
  // so that each broadcast element of x feeds nb multiply-adds): one loop over the
  // input channels per kernel tap, one multiply-add per tap, position and vector.
  // (With all taps in one loop body, the loads of an input element for different taps
  // would be merged and kept live, spilling registers.) An image with fewer than
  // kFewChannels channels has one loop with all taps instead: LLVM would unroll the
  // short loops, and compiling the unrolled code takes longer than running it.
  auto tile = [&](Idx b, Idx o, Lanes lanes, int64_t nb, const Slice &RS, Idx t, const Slice &CS,
                  Idx u) {
    auto spread = [&](Val v) { return lanes == Lanes::One ? v : k.splat(v); };
    const size_t nc = CS.pos.size(), npos = RS.pos.size() * nc;
    std::map<int64_t, std::vector<std::pair<size_t, int64_t>>> rowsOf, colsOf; // tap -> (slot, in)
    for (size_t r = 0; r < RS.pos.size(); ++r)
      for (auto [kh, in] : RS.pos[r].taps)
        rowsOf[kh].push_back({r, in});
    for (size_t q = 0; q < nc; ++q)
      for (auto [kw, in] : CS.pos[q].taps)
        colsOf[kw].push_back({q, in});
    std::vector<Val> acc(static_cast<size_t>(nb) * npos, spread(k.constant(0)));
    // Tap (kh, kw) of input channel c added to the accumulators a; rs: each row's slot
    // and input row.
    using Rows = std::vector<std::pair<size_t, Idx>>;
    auto addTap = [&](Idx c, Idx kh, const Rows &rs, int64_t kw,
                      const std::vector<std::pair<size_t, int64_t>> &cs, Vals a) {
      Idx tap = k.add(k.mul(kh, KW), kw);
      Vals wv;
      for (int64_t v = 0; v < nb; ++v)
        wv.push_back(lanes == Lanes::Filters ? k.loadScratchVector(packedW(k.add(o, v * L), c, tap))
                                             : spread(k.load(1, wAt(o, c, tap))));
      for (auto [r, ih] : rs) {
        Idx row = k.mul(k.add(k.mul(t, RS.inStep), ih), W);
        for (auto [q, iw] : cs) {
          Idx hw = k.add(k.add(row, k.mul(u, CS.inStep)), iw);
          Val xv = lanes == Lanes::Samples ? k.loadScratchVector(packedX(b, c, hw))
                                           : spread(k.load(0, xAt(b, c, hw)));
          for (int64_t v = 0; v < nb; ++v) {
            size_t at = static_cast<size_t>(v) * npos + r * nc + q;
            a[at] = k.fma(xv, wv[static_cast<size_t>(v)], a[at]);
          }
        }
      }
      return a;
    };
    auto rowsAt = [&](const std::vector<std::pair<size_t, int64_t>> &rs) {
      Rows out;
      for (auto [r, ih] : rs)
        out.push_back({r, k.index(ih)});
      return out;
    };
    // Every kernel column's loop over the channels, for kernel row kh.
    auto columns = [&](Idx kh, const Rows &rs, Vals a) {
      for (auto &col : colsOf)
        a = k.loopCarry(C, a, [&](Idx c, const Vals &in) {
          return addTap(c, kh, rs, col.first, col.second, in);
        });
      return a;
    };
    const std::optional<RowSteps> steps = rowSteps(RS);
    if (C >= kFewChannels && KH * KW > kUnrolledTaps && steps) {
      // Kernel rows in a loop (din is -1 in a transposed convolution: a subtraction,
      // indices being never negative).
      const int64_t din = steps->din;
      k.rollNextLoop();
      acc = k.loopCarry(steps->count, acc, [&](Idx j, const Vals &a) {
        Rows rs;
        for (size_t r = 0; r < RS.pos.size(); ++r) {
          Idx in0 = k.index(RS.pos[r].taps[0].second);
          rs.push_back({r, din >= 0 ? k.add(in0, k.mul(j, din)) : k.sub(in0, k.mul(j, -din))});
        }
        return columns(k.add(k.mul(j, steps->dk), steps->k0), rs, a);
      });
    } else if (C >= kFewChannels)
      for (auto &row : rowsOf)
        acc = columns(k.index(row.first), rowsAt(row.second), acc);
    else
      acc = k.loopCarry(C, acc, [&](Idx c, const Vals &a) {
        Vals next(a);
        for (auto &[kh, rs] : rowsOf)
          for (auto &[kw, cs] : colsOf)
            next = addTap(c, k.index(kh), rowsAt(rs), kw, cs, next);
        return next;
      });
    const int64_t stride = lanes == Lanes::Filters ? Ho * Wo : O * Ho * Wo;
    for (int64_t v = 0; v < nb; ++v)
      for (size_t r = 0; r < RS.pos.size(); ++r)
        for (size_t q = 0; q < nc; ++q) {
          Idx i = k.add(k.mul(t, RS.outStep), RS.pos[r].out);
          Idx j = k.add(k.mul(u, CS.outStep), CS.pos[q].out);
          Idx at = yAt(b, k.add(o, v * L), k.add(k.mul(i, Wo), j));
          Val sum = acc[static_cast<size_t>(v) * npos + r * nc + q];
          if (lanes == Lanes::One)
            k.store(at, sum);
          else
            k.storeStrided(at, stride, sum);
        }
  };
  auto plane = [&](Idx b, Idx o, Lanes lanes, int64_t nb, const Slices &sl) {
    for (const Slice &RS : sl.rows)
      overSlice(k, RS, [&](Idx t) {
        for (const Slice &CS : sl.cols)
          overSlice(k, CS, [&](Idx u) { tile(b, o, lanes, nb, RS, t, CS, u); });
      });
  };
  const Slices one = slicesFor(budget);
  // Blocks of lanes, then what is left of their axis one by one. Blocks of filters go in
  // pairs: one vector of filters a tile loads a broadcast of x for every multiply-add,
  // more than Intel's two vector loads a cycle keep up with; two share each broadcast.
  if (wide == Lanes::Filters) {
    if (blocks >= 2) {
      const Slices pairs = slicesFor(pairPositions(k));
      loop2(k, blocks / 2, B, [&](Idx ob, Idx b) { plane(b, k.mul(ob, 2 * L), Lanes::Filters, 2, pairs); });
    }
    if (blocks % 2)
      k.loop(B, [&](Idx b) { plane(b, k.index((blocks - 1) * L), Lanes::Filters, 1, one); });
    if (O % L)
      loop2(k, O % L, B, [&](Idx r, Idx b) { plane(b, k.add(r, blocks * L), Lanes::One, 1, one); });
    return;
  }
  loop2(k, blocks, O, [&](Idx bb, Idx o) { plane(k.mul(bb, L), o, Lanes::Samples, 1, one); });
  if (B % L)
    loop2(k, B % L, O, [&](Idx r, Idx o) { plane(k.add(r, blocks * L), o, Lanes::One, 1, one); });
}

/// Scratch of conv2d and conv_transpose2d: their weights or their input, packed (the
/// input by stride phase with column lanes).
int64_t packedOperand(const Node &n) {
  if (fewChannels(n))
    return ConvPositions(n).scratch();
  return std::max(n.operands[0]->numel(), n.operands[1]->numel());
}

/// conv2d_filter_grad on an input with few channels, vectors along output columns: g's
/// rows are read in place (a row's last vector partially) and x packed as for conv2d.
/// Each accumulator holds one weight's sums lane by lane. A tile is F filters times a
/// band of kernel rows times every kernel column, so that each vector of g serves a
/// band's taps and each vector of x F filters.
///
/// The batch is cut into chunks of a few samples, each an iteration of the parallel loop
/// that computes every weight's partial sums over its samples into a slot of its own; a
/// last loop adds the slots up in order, so the sums do not depend on the thread count.
/// A chunk reads its part of g from memory once (a filter group's second band finds it
/// in L1) and keeps its packed x (32 KB in the DCGAN's first layer) in L1 or L2. Over the
/// whole batch per filter group instead, g (6.4 MB there, more than L2 holds) came from
/// memory once per band and the whole packed x from L2.
///
/// Inside a chunk, a tile covers kSamples samples, its accumulators starting from the
/// slot's sums over the samples before (the same additions in the same order as one tile
/// over the whole chunk), so that g is read a few planes at a time of only kSamples
/// samples: a tile over all 8 read three planes of each of 8 samples in turn and waited on
/// memory for much of its time. One sample a tile moves the slot through L2 too often.
/// (DCGAN's first layer, least of short runs, one and two threads: 762 and 424 us with
/// tiles of 8 samples, 688 and 424 with 1, 656 and 392 with 2, 641 and 351 with 4.)
struct FilterGradColumns {
  static constexpr int64_t kSamples = 4; // samples a tile
  /// Scratch: the packed x, then from firstSlot a slot of every weight's vector of
  /// partial sums per chunk.
  static int64_t firstSlot(const Node &n) { return ColumnPacking(n, kWidestVector).size(); }
  static int64_t scratch(const Node &n) {
    return firstSlot(n) + sampleChunks(n.operands[0]->shape[0]) * n.numel() * kWidestVector;
  }
};

void lowerFilterGradColumns(KernelBuilder &k, const Node &n) {
  const int64_t L = k.lanes();
  const ColumnPacking pk(n, L);
  const Shape &gs = n.operands[1]->shape;
  const int64_t B = pk.B, C = pk.C, H = pk.H, s = pk.s, KW = pk.KW, Wo = pk.Wo;
  const int64_t O = gs[1], Ho = gs[2], KH = n.attrs.ints[2];
  pk.pack(k);
  const std::vector<AxisRun> rows = axisRuns(Ho, H, KH, s, pk.p, false);
  const int64_t firstSlot = FilterGradColumns::firstSlot(n);
  // The partial sums of weight `w` (its flat index in dw) over chunk q.
  auto slot = [&](Idx q, Idx w) {
    return k.add(k.mul(k.add(k.mul(q, n.numel()), w), kWidestVector), firstSlot);
  };
  auto weight = [&](Idx o, Idx c, int64_t kh, int64_t kw) {
    return k.add(k.mul(k.add(k.mul(o, C), c), KH * KW), kh * KW + kw);
  };
  // F filters' band kh0 .. kh0 + nh - 1 of sample b added to `acc`.
  auto band = [&](Idx o0, int64_t F, Idx c, int64_t kh0, int64_t nh, Idx b, std::vector<Val> acc) {
    for (const AxisRun &R : rows) {
      const int64_t lo = std::max(R.k0, kh0), hi = std::min(R.k0 + R.taps, kh0 + nh);
      if (lo >= hi)
        continue;
      acc = k.loopCarry(R.count, acc, [&](Idx t, const std::vector<Val> &a) {
        Idx i = k.add(k.mul(t, R.outStep), R.out0);
        return overColumns(k, Wo, a, [&](Idx j0, int64_t count, const std::vector<Val> &c0) {
          std::vector<Val> next(c0), gv;
          for (int64_t f = 0; f < F; ++f) {
            Idx at = k.add(k.mul(k.add(k.mul(k.add(k.mul(b, O), k.add(o0, f)), Ho), i), Wo), j0);
            gv.push_back(count < L ? k.loadPartial(1, at, count) : k.loadVector(1, at));
          }
          for (int64_t kh = lo; kh < hi; ++kh) {
            Idx ih = k.add(k.mul(t, R.inStep), R.in0 + (kh - R.k0) * R.inTap);
            for (int64_t kw = 0; kw < KW; ++kw) {
              Val xv = pk.load(k, b, c, ih, kw, j0);
              for (int64_t f = 0; f < F; ++f) {
                const size_t at = static_cast<size_t>((f * nh + kh - kh0) * KW + kw);
                next[at] = k.fma(gv[f], xv, next[at]);
              }
            }
          }
          return next;
        });
      });
    }
    return acc;
  };
  // Bands of equal height with room for at least two filters, then groups of as many
  // filters as fill the tile, some one smaller so that the groups share O evenly (64 as
  // 20 x 3 + 2 x 2: measured on the DCGAN's first layer, full tiles of 3 beat 2s that
  // divide 64 by a sixth).
  const int64_t budget = tileBudget(k);
  const int64_t most = std::max<int64_t>(1, budget / (2 * KW)), bands = (KH + most - 1) / most;
  const int64_t nh = (KH + bands - 1) / bands;
  const int64_t F = std::max<int64_t>(1, std::min(O, budget / (nh * KW)));
  // A tile: samples b .. b + count - 1 added to the sums of the chunk's samples before
  // them (none if `first`), kept in chunk q's slot.
  auto group = [&](Idx q, Idx b, int64_t count, bool first, Idx o0, int64_t filters, Idx c) {
    for (int64_t kh0 = 0; kh0 < KH; kh0 += nh) {
      const int64_t h = std::min(nh, KH - kh0);
      std::vector<Idx> at; // the tile's slots, in its accumulators' order
      for (int64_t f = 0; f < filters; ++f)
        for (int64_t kh = kh0; kh < kh0 + h; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw)
            at.push_back(slot(q, weight(k.add(o0, f), c, kh, kw)));
      std::vector<Val> acc;
      for (Idx a : at)
        acc.push_back(first ? k.splat(k.constant(0)) : k.loadScratchVector(a));
      acc = k.loopCarry(count, acc, [&](Idx t, const std::vector<Val> &a) {
        return band(o0, filters, c, kh0, h, k.add(b, t), a);
      });
      for (size_t i = 0; i < at.size(); ++i)
        k.storeScratchVector(at[i], acc[i]);
    }
  };
  auto samples = [&](Idx q, Idx b, int64_t count, bool first) {
    k.loop(C, [&](Idx c) {
      overFilterClass(k, O, 0, 1, F,
                      [&](Idx o0, int64_t filters) { group(q, b, count, first, o0, filters, c); });
    });
  };
  // A chunk of `count` samples: tiles of kSamples, the first starting from zero.
  auto chunk = [&](Idx q, int64_t count) {
    const int64_t T = FilterGradColumns::kSamples, first = std::min(T, count);
    const int64_t tiles = (count - first) / T, rest = (count - first) % T;
    Idx b0 = k.mul(q, kChunkSamples);
    samples(q, b0, first, true);
    if (tiles)
      k.loop(tiles, [&](Idx t) { samples(q, k.add(k.mul(t, T), k.add(b0, first)), T, false); });
    if (rest)
      samples(q, k.add(b0, first + tiles * T), rest, false);
  };
  overChunks(k, B, chunk);
  // Every weight: its chunks' partial sums in order, then their lanes.
  k.loop(n.numel(), [&](Idx w) {
    Val sum = k.loadScratchVector(slot(k.index(0), w));
    for (int64_t q = 1; q < sampleChunks(B); ++q)
      sum = k.add(sum, k.loadScratchVector(slot(k.index(q), w)));
    k.store(w, k.sumLanes(sum));
  });
}

/// conv2d_filter_grad on an input with few channels whose taps fill vectors at least as
/// well as its output columns do (the DCGAN's first layer: 16 taps of a 4x4 kernel, 14
/// columns): vectors along the taps, so that an accumulator holds lanes() weights of one
/// filter and needs no sum of lanes at the end. Each sample's input is first copied
/// into its chunk's scratch as one row of all taps (c, kh, kw) per output position (an
/// im2col of 12.5 KB in that layer, which stays in L1); then for each group of filters
/// a loop over the positions loads that row's vectors and multiplies them by one
/// broadcast element of g per filter.
///
/// Chunks of samples with a slot of partial sums each, added in order at the end, as in
/// FilterGradColumns: the sums do not depend on the thread count.
struct FilterGradTaps {
  int64_t B, C, KH, KW, O, Ho, Wo;
  explicit FilterGradTaps(const Node &n) {
    const Shape &xs = n.operands[0]->shape, &gs = n.operands[1]->shape;
    B = xs[0], C = xs[1], KH = n.attrs.ints[2], KW = n.attrs.ints[3];
    O = gs[1], Ho = gs[2], Wo = gs[3];
  }
  int64_t taps() const { return C * KH * KW; }
  /// The layout: rows of whole vectors of the widest kind, so that any narrower lanes fit.
  int64_t row() const { return roundUp(taps(), kWidestVector); }
  /// A chunk's scratch: the im2col of one sample, then the chunk's partial sums.
  int64_t chunkSize() const { return (Ho * Wo + O) * row(); }
  int64_t scratch() const { return sampleChunks(B) * chunkSize(); }
  /// Vectors along taps when they fill lanes at least as well as output columns.
  static bool suits(const Node &n) {
    if (n.op != OpKind::Conv2dFilterGrad || !fewChannels(n))
      return false;
    const FilterGradTaps t(n);
    return t.taps() * roundUp(t.Wo, kWidestVector) >= t.Wo * t.row();
  }
};

void lowerFilterGradTaps(KernelBuilder &k, const Node &n) {
  const FilterGradTaps d(n);
  const Shape &xs = n.operands[0]->shape;
  const int64_t L = k.lanes(), H = xs[2], W = xs[3], s = n.attrs.ints[0], p = n.attrs.ints[1];
  const int64_t B = d.B, C = d.C, KH = d.KH, KW = d.KW, O = d.O, Ho = d.Ho, Wo = d.Wo;
  const int64_t T = d.taps(), vectors = (T + L - 1) / L, row = d.row(), P = Ho * Wo;
  auto chunkAt = [&](Idx q) { return k.mul(q, d.chunkSize()); };
  auto slotAt = [&](Idx q, Idx o) { return k.add(chunkAt(q), k.mul(k.add(o, P), row)); };
  // `count` elements from `from` (an operand-0 index, or none for zeros) to scratch `to`,
  // in vectors of at most lanes().
  auto copy = [&](Idx to, std::optional<Idx> from, int64_t count) {
    for (int64_t at = 0; at < count; at += L) {
      const int64_t lanes = std::min(L, count - at);
      Val v = from ? k.loadPartial(0, k.add(*from, at), lanes) : k.splat(k.constant(0));
      k.storeScratchPartial(k.add(to, at), lanes, v);
    }
  };
  const std::vector<AxisRun> rows = axisRuns(Ho, H, KH, s, p, false),
                             cols = axisRuns(Wo, W, KW, s, p, false);
  // Sample b's taps into chunk q's rows: for each output position, kernel row kh of channel
  // c is KW input elements side by side, zeros where padding cuts them.
  auto im2col = [&](Idx q, Idx b) {
    for (const AxisRun &R : rows)
      k.loop(R.count, [&](Idx t) {
        Idx i = k.add(k.mul(t, R.outStep), R.out0);
        for (int64_t c = 0; c < C; ++c)
          for (int64_t kh = 0; kh < KH; ++kh) {
            const bool inside = kh >= R.k0 && kh < R.k0 + R.taps;
            Idx ih = k.add(k.mul(t, R.inStep), R.in0 + (kh - R.k0) * R.inTap);
            for (const AxisRun &U : cols)
              k.loop(U.count, [&](Idx u) {
                Idx j = k.add(k.mul(u, U.outStep), U.out0);
                Idx to = k.add(k.add(chunkAt(q), k.mul(k.add(k.mul(i, Wo), j), row)),
                               (c * KH + kh) * KW);
                if (!inside || U.taps < KW)
                  copy(to, std::nullopt, KW);
                if (inside && U.taps > 0) {
                  Idx from = k.add(k.mul(k.add(k.mul(k.add(k.mul(b, C), c), H), ih), W),
                                   k.add(k.mul(u, U.inStep), U.in0));
                  copy(k.add(to, U.k0), from, U.taps);
                }
              });
          }
      });
  };
  // A tile's filters are m apart, so that their planes of g lie about a page apart (with
  // them side by side, the DCGAN's 21 planes of 784 bytes in 4 pages, the loads waited
  // on memory; least of short runs of that layer, one thread: filters 1 apart 425-436
  // us, 3 apart 396-399, 5 or 6 apart 382-391, 8 apart 410).
  const int64_t most = std::max<int64_t>(1, std::min(O, tileBudget(k) / vectors));
  const int64_t m = pageApart(P, 1, O, (most + 1) / 2);
  // Filters o0, o0 + m, ... (F of them) over sample b, added to the slot's sums (from zero
  // if `first`). Lanes past the taps (a 3x3 kernel's 9 of 16) load whatever the scratch
  // holds and sum it into lanes that are never stored.
  auto tile = [&](Idx q, Idx b, bool first, Idx o0, int64_t F) {
    std::vector<Val> acc;
    for (int64_t f = 0; f < F; ++f)
      for (int64_t v = 0; v < vectors; ++v)
        acc.push_back(first ? k.splat(k.constant(0))
                            : k.loadScratchVector(k.add(slotAt(q, k.add(o0, f * m)), v * L)));
    acc = k.loopCarry(P, acc, [&](Idx pos, const std::vector<Val> &a) {
      std::vector<Val> next(a), xv;
      for (int64_t v = 0; v < vectors; ++v)
        xv.push_back(k.loadScratchVector(k.add(k.add(chunkAt(q), k.mul(pos, row)), v * L)));
      for (int64_t f = 0; f < F; ++f) {
        Val gv = k.splat(k.load(1, k.add(k.mul(k.add(k.mul(b, O), k.add(o0, f * m)), P), pos)));
        for (int64_t v = 0; v < vectors; ++v)
          next[f * vectors + v] = k.fma(xv[v], gv, next[f * vectors + v]);
      }
      return next;
    });
    for (int64_t f = 0; f < F; ++f)
      for (int64_t v = 0; v < vectors; ++v)
        k.storeScratchVector(k.add(slotAt(q, k.add(o0, f * m)), v * L), acc[f * vectors + v]);
  };
  auto sample = [&](Idx q, Idx b, bool first) {
    im2col(q, b);
    for (int64_t c = 0; c < m; ++c)
      overFilterClass(k, O, c, m, most, [&](Idx o0, int64_t F) { tile(q, b, first, o0, F); });
  };
  auto chunk = [&](Idx q, int64_t count) {
    Idx b0 = k.mul(q, kChunkSamples);
    sample(q, b0, true);
    if (count > 1)
      k.loop(count - 1, [&](Idx t) { sample(q, k.add(b0, k.add(t, 1)), false); });
  };
  overChunks(k, B, chunk);
  // Every filter: its chunks' partial sums in order.
  k.loop(O, [&](Idx o) {
    for (int64_t v = 0; v < vectors; ++v) {
      Val sum = k.loadScratchVector(k.add(slotAt(k.index(0), o), v * L));
      for (int64_t q = 1; q < sampleChunks(B); ++q)
        sum = k.add(sum, k.loadScratchVector(k.add(slotAt(k.index(q), o), v * L)));
      k.storePartial(k.add(k.mul(o, T), v * L), std::min(L, T - v * L), sum);
    }
  });
}

/// Scratch of conv2d_filter_grad with vectors along filters: g packed by blocks of
/// filters (at most g's size), then x's planes by channel, each rounded up to whole
/// vectors so that the packing stores whole vectors.
struct FilterGradPacking {
  int64_t start, plane, planes;
  explicit FilterGradPacking(const Node &n) {
    const Shape &xs = n.operands[0]->shape;
    start = n.operands[1]->numel();
    plane = (xs[2] * xs[3] + kWidestVector - 1) / kWidestVector * kWidestVector;
    planes = xs[0] * xs[1];
  }
  int64_t size() const { return start + planes * plane; }
};

/// dw[o,c,kh,kw] = sum_{b,i,j} g[b,o,i,j] x[b,c, i s - p + kh, j s - p + kw]: each output
/// is a reduction over the batch and the positions of g. A tile is a band of kernel rows
/// of one input channel for lanes() filters, whose g is first packed into scratch memory,
/// the lanes side by side; filters left over after the last block go one by one. x is
/// packed too, channel by channel.
void lowerFilterGrad(KernelBuilder &k, const Node &n) {
  if (FilterGradTaps::suits(n))
    return lowerFilterGradTaps(k, n);
  if (fewChannels(n))
    return lowerFilterGradColumns(k, n);
  const Shape &xs = n.operands[0]->shape, &gs = n.operands[1]->shape;
  const int64_t B = xs[0], C = xs[1], H = xs[2], W = xs[3], O = gs[1], Ho = gs[2], Wo = gs[3];
  const int64_t s = n.attrs.ints[0], p = n.attrs.ints[1], KH = n.attrs.ints[2],
                KW = n.attrs.ints[3];
  const std::vector<AxisRun> rows = axisRuns(Ho, H, KH, s, p, false);
  const std::vector<AxisRun> cols = axisRuns(Wo, W, KW, s, p, false);
  auto xAt = [&](Idx b, Idx c, Idx h, Idx w) {
    return k.add(k.mul(k.add(k.mul(k.add(k.mul(b, C), c), H), h), W), w);
  };
  auto gAt = [&](Idx b, Idx o, Idx pos) {
    return k.add(k.mul(k.add(k.mul(b, O), o), Ho * Wo), pos);
  };
  // g's filters [o0, o0 + L) of a block packed as vectors, packed[(b blocks L + o0) Ho Wo
  // + pos L + lane]: in g, they are Ho Wo floats apart.
  const int64_t L = k.lanes(), blocks = O / L;
  auto packedAt = [&](Idx b, Idx o0, Idx pos) {
    return k.add(k.mul(k.add(k.mul(b, blocks * L), o0), Ho * Wo), k.mul(pos, L));
  };
  if (blocks)
    loop2(k, B, blocks, [&](Idx b, Idx ob) {
      k.loop(L, [&](Idx lane) {
        k.loop(Ho * Wo, [&](Idx pos) {
          Idx o0 = k.mul(ob, L);
          k.storeScratch(k.add(packedAt(b, o0, pos), lane),
                         k.load(1, gAt(b, k.add(o0, lane), pos)));
        });
      });
    });
  // x's planes channel by channel, plane (c, b) at g.numel() + (c B + b) plane, where
  // the channel loop of a tile reads them: one channel's planes are then one run of
  // memory (100 KB in the DCGAN) instead of 784-byte pieces 50 KB apart, which the
  // hardware prefetchers did not follow (the DCGAN's 64->128 weight gradient took 11.9
  // ms on one thread instead of 10.5, and 7.96 on two instead of 6.79).
  const FilterGradPacking xp(n);
  auto xPackedAt = [&](Idx b, Idx c, Idx h, Idx w) {
    return k.add(k.add(k.mul(k.add(k.mul(c, B), b), xp.plane), k.add(k.mul(h, W), w)), xp.start);
  };
  loop2(k, C, B, [&](Idx c, Idx b) {
    for (int64_t v = 0; v < H * W; v += L) {
      Idx from = xAt(b, c, k.index(0), k.index(v));
      Val x = H * W - v < L ? k.loadPartial(0, from, H * W - v) : k.loadVector(0, from);
      k.storeScratchVector(xPackedAt(b, c, k.index(0), k.index(v)), x);
    }
  });

  // Kernel rows [kh0, kh0 + nh) of input channel c, for `nb` blocks of filters from o0
  // (side by side: each value of x serves nb vectors of filters) or, nb = 0, for filter
  // o0 alone.
  auto band = [&](Idx o0, Idx c, int64_t nb, int64_t kh0, int64_t nh) {
    const bool block = nb > 0;
    const int64_t vecs = std::max<int64_t>(nb, 1);
    auto spread = [&](Val v) { return block ? k.splat(v) : v; };
    auto slot = [&](int64_t v, int64_t kh, int64_t kw) {
      return static_cast<size_t>((v * nh + kh - kh0) * KW + kw);
    };
    std::vector<Val> acc(static_cast<size_t>(vecs * nh * KW), spread(k.constant(0)));
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
              Idx pos = k.add(k.mul(i, Wo), j);
              Vals gv;
              for (int64_t v = 0; v < vecs; ++v)
                gv.push_back(block ? k.loadScratchVector(packedAt(b, k.add(o0, v * L), pos))
                                   : k.load(1, gAt(b, o0, pos)));
              Vals next(a);
              for (int64_t kh = lo; kh < hi; ++kh) {
                Idx h = k.add(k.mul(t, R.inStep), R.in0 + (kh - R.k0) * R.inTap);
                for (int64_t tj = 0; tj < Q.taps; ++tj) {
                  Idx w = k.add(k.mul(u, Q.inStep), Q.in0 + tj * Q.inTap);
                  Val xv = spread(k.loadScratch(xPackedAt(b, c, h, w)));
                  for (int64_t v = 0; v < vecs; ++v) {
                    size_t at = slot(v, kh, Q.k0 + tj * Q.kStep);
                    next[at] = k.fma(gv[static_cast<size_t>(v)], xv, a[at]);
                  }
                }
              }
              return next;
            });
          });
        }
      return sum;
    });
    for (int64_t v = 0; v < vecs; ++v)
      for (int64_t kh = kh0; kh < kh0 + nh; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          Idx at = k.add(k.mul(k.add(k.mul(k.add(o0, v * L), C), c), KH * KW), kh * KW + kw);
          Val val = acc[slot(v, kh, kw)];
          if (block)
            k.storeStrided(at, C * KH * KW, val);
          else
            k.store(at, val);
        }
  };
  // Kernel rows in bands of at most budget / (nb KW) rows, as even as they come (4 rows
  // in budget for 3 make two bands of 2, not 3 and 1).
  auto bands = [&](Idx o0, Idx c, int64_t nb) {
    const int64_t most = std::max<int64_t>(1, tileBudget(k) / (std::max<int64_t>(nb, 1) * KW));
    const int64_t count = (KH + most - 1) / most, nh = (KH + count - 1) / count;
    for (int64_t kh0 = 0; kh0 < KH; kh0 += nh)
      band(o0, c, nb, kh0, std::min(nh, KH - kh0));
  };
  // Two blocks of filters a tile: a broadcast value of x feeds two multiply-adds, so a
  // step of the tile loads 2 vectors of g and 8 of x for 16 multiply-adds (one block: 1
  // and 16), which Intel's two vector loads a cycle keep up with. The loop over input
  // channels runs inside the loop over pairs, so a pair's packed g (800 KB in the DCGAN)
  // stays in L2 across the channels; the parallel loop is then the pairs' (4 there).
  if (blocks >= 2)
    k.loop(blocks / 2, [&](Idx ob) { k.loop(C, [&](Idx c) { bands(k.mul(ob, 2 * L), c, 2); }); });
  if (blocks % 2)
    k.loop(C, [&](Idx c) { bands(k.index((blocks - 1) * L), c, 1); });
  if (O % L)
    loop2(k, O % L, C, [&](Idx r, Idx c) { bands(k.add(r, blocks * L), c, 0); });
}

} // namespace
} // namespace ganc::ops

namespace ganc::ir {
using namespace ganc::ops;

// conv2d(x[B,C,H,W], w[O,C,KH,KW]) {stride, padding} -> y[B,O,Ho,Wo],
// Ho = (H + 2 padding - KH) / stride + 1 (rounded down).
//   dx = conv_transpose2d(g, w) back to H x W;  dw = conv2d_filter_grad(x, g)
const OpInfo &opInfo_Conv2d() {
  // With vectors along output positions (an input with few channels), the stores are
  // contiguous: an epilogue may read and store other tensors of the result's shape.
  static const OpInfo info = withContiguousStoresOf(OpInfo{
      "conv2d",
      2,
      kStoresOnce,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &w = in[1]->shape;
        if (!validStridePadding("conv2d", a, 2, err) ||
            !bothRank4("conv2d", x, w,
                       "x [batch, channels, height, width] and w [filters, channels, kh, kw]", err))
          return std::nullopt;
        const int64_t s = a.ints[0], p = a.ints[1];
        if (x[1] != w[1]) {
          err = "'conv2d' expects " + std::to_string(w[1]) + " input channels (w is " +
                formatType(w) + "), got " + std::to_string(x[1]);
          return std::nullopt;
        }
        int64_t ho = convOut(x[2], w[2], s, p), wo = convOut(x[3], w[3], s, p);
        if (!ho || !wo) {
          err = "'conv2d' kernel " + dims(w[2], w[3]) + " does not fit the input " +
                dims(x[2], x[3]) + " with padding " + std::to_string(p);
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
      {"stride", "padding"},
      {},
      packedOperand,
      /*batchedOperands=*/1}, fewChannels);
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
      "conv_transpose2d",
      2,
      kStoresOnce,
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
          err = "'conv_transpose2d' padding " + std::to_string(p) +
                " leaves no output for the input " + dims(x[2], x[3]) + " and kernel " +
                dims(w[2], w[3]);
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
      {0, 0},
      packedOperand,
      /*batchedOperands=*/1};
  return info;
}

// conv2d_filter_grad(x[B,C,H,W], g[B,O,Ho,Wo]) {stride, padding, kh, kw} -> dw[O,C,kh,kw],
// the gradient of conv2d(x, w) with respect to w for the output gradient g:
//   dw[o,c,kh,kw] = sum_{b,i,j} g[b,o,i,j] x[b,c, i s - p + kh, j s - p + kw].
// Bilinear in x and g; for the gradient v of dw:
//   dx = conv_transpose2d(g, v) back to H x W;  dg = conv2d(x, v)
const OpInfo &opInfo_Conv2dFilterGrad() {
  static const OpInfo info{
      "conv2d_filter_grad",
      2,
      kStoresOnce,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &g = in[1]->shape;
        if (!validStridePadding("conv2d_filter_grad", a, 4, err) ||
            !bothRank4("conv2d_filter_grad", x, g,
                       "x [batch, channels, height, width] and g [batch, filters, height, width]",
                       err))
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
        return Grads{convTranspose2d(b, g, v, s, p, x->shape[2], x->shape[3]),
                     conv2d(b, x, v, s, p)};
      },
      nullptr,
      lowerFilterGrad,
      0,
      {"stride", "padding", "kernel_h", "kernel_w"},
      {},
      [](const Node &n) { // per chunk an im2col and partial sums; x packed and the chunks'
                          // partial sums; or g and x packed
        if (FilterGradTaps::suits(n))
          return FilterGradTaps(n).scratch();
        return fewChannels(n) ? FilterGradColumns::scratch(n) : FilterGradPacking(n).size();
      }};
  return info;
}

} // namespace ganc::ir
