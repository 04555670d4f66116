//===- Linalg.cpp - matrix multiplication ---------------------------------===//
//
// matmul(A, B) with optional transposes (attrs.ints = {transA, transB}) on 2-D operands,
// or on 3-D operands as a batch of independent products ([b, m, k] x [b, k, n], the
// per-sample matrices of self-attention); lowering flattens other leading axes of A. With B not
// transposed (the simplifier makes that the common case), C is computed in register tiles of a
// band of rows by a few vectors (registerTile; the rows short of a band make one more band):
// each step of the K loop loads the tile's row of B once and updates every accumulator with a
// fused multiply-add, so the loop runs at the FMA units' pace, not at the speed of loads and
// stores. A B larger than a core's cache is swept in panels of columns, each reused by
// all rows while cached. Columns that do not fill a vector (a matrix-vector product) are dot
// products of A's rows and B's column a vector of K at a time; A^T B with one column (a weight
// gradient into one output) runs along A's contiguous axis, C as vectors of rows. With B
// transposed, each element is a dot product along K.
//
// matmul_sum(A1, B1, A2, B2) is op(A1) op(B1) + op(A2) op(B2), the transposes alike: the
// simplifier makes one of a sum of two products used nowhere else (a weight gradient from
// the real and the fake batch), and each register tile runs the K loops of both products
// into its accumulators, so the first product is never stored and read back.
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

namespace ganc::ops {
namespace {

/// Rows and vectors of columns of C per register tile: with AVX2, 6 rows x 2 vectors =
/// 12 accumulators, which with the two vectors of B and one broadcast of A fit its 16
/// vector registers; with AVX-512's 32, 8 rows x 3 vectors (24 accumulators, 28
/// registers in all). 8 rows split a batch of 128 rows into 16 even bands. A third
/// vector made each step of K 11 loads for 24 multiply-adds instead of 10 for 16: the
/// tutorial's iteration 2.00-2.17 -> 1.93-2.08 ms on one thread and 1.16-1.27 ->
/// 1.14-1.22 on two (rocketlake, six rounds); 6 rows x 4 vectors (with the rows of a
/// batch of 128 that are left over done one at a time) and 9 x 3 were slower.
struct RegisterTile {
  int64_t rows, vecs;
};
RegisterTile registerTile(KernelBuilder &k) {
  return k.lanes() >= 16 ? RegisterTile{8, 3} : RegisterTile{6, 2};
}
/// B above this many bytes does not stay in one core's cache (half of a 1 MB L2, the
/// rest being A's rows and C's tiles): it is swept in panels of about kPanelBytes.
constexpr int64_t kCacheBytes = 512 * 1024, kPanelBytes = 256 * 1024;
/// How many steps of K ahead a tile prefetches its B (and A^T): B is often a weight the
/// other core has just updated (Adam's stores split it between the cores), or rows of
/// a 25 KB-wide B the hardware prefetchers do not follow, and reading such a B waited
/// on each line. On the sapphirerapids machine the tutorial's iteration on two threads
/// went 1.35-1.40 -> 1.25-1.28 ms and the DCGAN's 100->6272 layer 1.04-1.06 -> 0.99-1.00
/// ms on one thread (8 to 16 steps did about as well, 32 and 64 worse); on the
/// rocketlake machine the iteration without it was 12-15% slower on two threads (least
/// of 15 runs, alternated; docs/performance.md).
constexpr int64_t kPrefetchSteps = 16;

/// One product of a sum: A and B are the node's operands `a` and `b` (for a batch of
/// products, starting at flat offsets a0 and b0), with K steps of the reduction.
struct Term {
  unsigned a, b;
  Idx a0, b0;
  int64_t K;
};

/// The terms of `n` (matmul: one; matmul_sum: two), with A and B at offsets a0 and b0.
std::vector<Term> termsOf(const Node &n, Idx a0, Idx b0) {
  std::vector<Term> terms;
  const size_t r = n.operands[0]->shape.size() - 2;
  for (unsigned t = 0; t + 1 < n.operands.size(); t += 2) {
    const Shape &x = n.operands[t]->shape;
    terms.push_back({t, t + 1, a0, b0, n.attrs.ints[0] ? x[r] : x[r + 1]});
  }
  return terms;
}

/// C[i, j] for rows [i0, i0 + rows) and one column j of C = A B (A not transposed): a
/// dot product of A's row, contiguous along K, and B's column, one vector of K at a time
/// shared by the rows; its lanes are added at the end. The columns that do not fill a
/// vector, a matrix-vector product's only one.
void dotRows(KernelBuilder &k, const Node &n, const std::vector<Term> &terms, Idx c0, Idx i0,
             int64_t rows, Idx j) {
  const int64_t W = k.lanes(), N = n.shape[n.shape.size() - 1];
  std::vector<Val> acc(static_cast<size_t>(rows), k.splat(k.constant(0)));
  for (const Term &t : terms) {
    const int64_t K = t.K, full = K / W, tail = K % W;
    auto step = [&](Idx p, const std::vector<Val> &acc, int64_t count) {
      Idx bAt = k.add(t.b0, k.add(k.mul(p, N), j));
      Val b = N == 1 && count == W ? k.loadVector(t.b, bAt) : k.loadStrided(t.b, bAt, N, count);
      std::vector<Val> next(acc);
      for (int64_t r = 0; r < rows; ++r) {
        Idx aAt = k.add(t.a0, k.add(k.mul(k.add(i0, r), K), p));
        next[static_cast<size_t>(r)] =
            k.fma(count == W ? k.loadVector(t.a, aAt) : k.loadPartial(t.a, aAt, count), b,
                  acc[static_cast<size_t>(r)]);
      }
      return next;
    };
    if (full)
      acc = k.loopCarry(full, acc,
                        [&](Idx q, const std::vector<Val> &a) { return step(k.mul(q, W), a, W); });
    if (tail)
      acc = step(k.index(full * W), acc, tail);
  }
  for (int64_t r = 0; r < rows; ++r)
    k.store(k.add(c0, k.add(k.mul(k.add(i0, r), N), j)), k.sumLanes(acc[static_cast<size_t>(r)]));
}

/// C = A^T B with one column (a weight gradient into one output): C as vectors of rows,
/// since A^T's rows run along A's contiguous axis (and C's stores stay contiguous, as
/// kContiguousStores promises); groups of kGroup vectors per iteration of the parallel
/// loop, each step of K loading kGroup vectors of A for one element of B, then the
/// vectors left, the last one partial when vectors do not fill M.
void lowerColumnVector(KernelBuilder &k, const Node &n, const std::vector<Term> &terms, Idx c0) {
  constexpr int64_t kGroup = 8;
  const int64_t W = k.lanes(), M = n.shape[n.shape.size() - 2];
  const int64_t vecs = (M + W - 1) / W, groups = M / W / kGroup;
  // Vectors [0, count) of rows from i0, the last one of `last` lanes.
  auto columns = [&](Idx i0, int64_t count, int64_t last) {
    auto lanes = [&](int64_t v) { return v == count - 1 ? last : W; };
    std::vector<Val> acc(static_cast<size_t>(count), k.splat(k.constant(0)));
    for (const Term &t : terms)
      acc = k.loopCarry(t.K, acc, [&](Idx p, const std::vector<Val> &a) {
        Val b = k.splat(k.load(t.b, k.add(t.b0, p)));
        std::vector<Val> next(a);
        for (int64_t v = 0; v < count; ++v) {
          Idx at = k.add(t.a0, k.add(k.mul(p, M), k.add(i0, v * W)));
          next[static_cast<size_t>(v)] =
              k.fma(k.loadPartial(t.a, at, lanes(v)), b, a[static_cast<size_t>(v)]);
        }
        return next;
      });
    for (int64_t v = 0; v < count; ++v)
      k.storePartial(k.add(c0, k.add(i0, v * W)), lanes(v), acc[static_cast<size_t>(v)]);
  };
  if (groups)
    k.loop(groups, [&](Idx g) { columns(k.mul(g, kGroup * W), kGroup, W); });
  if (vecs > groups * kGroup)
    k.loop(1, [&](Idx) {
      columns(k.index(groups * kGroup * W), vecs - groups * kGroup, M % W ? M % W : W);
    });
}

/// One product of the batch (or sum of products), C starting at flat offset c0.
void lowerProduct(KernelBuilder &k, const Node &n, const std::vector<Term> &terms, Idx c0) {
  const bool ta = n.attrs.ints[0], tb = n.attrs.ints[1];
  const size_t r = n.shape.size() - 2; // the batch axis, if any, comes first
  const int64_t M = n.shape[r], N = n.shape[r + 1];
  int64_t K = 0; // of all terms
  for (const Term &t : terms)
    K += t.K;
  auto aAt = [&](const Term &t, Idx i, Idx p) {
    return k.load(t.a, k.add(t.a0, ta ? k.add(k.mul(p, M), i) : k.add(k.mul(i, t.K), p)));
  };
  auto bAt = [&](const Term &t, Idx p, Idx j) {
    return k.load(t.b, k.add(t.b0, tb ? k.add(k.mul(j, t.K), p) : k.add(k.mul(p, N), j)));
  };
  auto dot = [&](Idx i, Idx j) {
    Val s = k.constant(0);
    for (const Term &t : terms)
      s = k.loopReduce(t.K, s,
                       [&](Idx p, Val s) { return k.add(s, k.mul(aAt(t, i, p), bAt(t, p, j))); });
    return s;
  };
  if (tb) {
    // B^T: both operands run along p; a dot product per element.
    k.loop(M, [&](Idx i) {
      k.loop(N, [&](Idx j) { k.store(k.add(c0, k.add(k.mul(i, N), j)), dot(i, j)); });
    });
    return;
  }

  const int64_t W = k.lanes();
  if (ta && N == 1) {
    lowerColumnVector(k, n, terms, c0);
    return;
  }
  // Rows [i0, i0 + rows) by `vecs` vectors of columns starting at j0, through the K
  // loop of each term. Each step of K prefetches the tile's B (and A^T's line)
  // kPrefetchSteps steps ahead.
  auto tile = [&](Idx i0, int64_t rows, Idx j0, int64_t vecs) {
    std::vector<Val> acc(static_cast<size_t>(rows * vecs), k.splat(k.constant(0)));
    for (const Term &t : terms)
      acc = k.loopCarry(t.K, acc, [&](Idx p, const std::vector<Val> &a) {
        Idx bRow = k.add(t.b0, k.add(k.mul(p, N), j0));
        // One prefetch per cache line of the tile's row of B.
        for (int64_t v = 0; v < vecs; v += std::max<int64_t>(1, kLineFloats / W))
          k.prefetch(t.b, k.add(bRow, kPrefetchSteps * N + v * W));
        if (ta)
          k.prefetch(t.a, k.add(t.a0, k.add(k.mul(k.add(p, kPrefetchSteps), M), i0)));
        std::vector<Val> next(a);
        heldThenStreamed(
            vecs, [&](int64_t v) { return k.loadVector(t.b, k.add(bRow, v * W)); }, rows,
            [&](int64_t r) { return k.splat(aAt(t, k.add(i0, r), p)); },
            [&](int64_t v, int64_t r, Val b, Val ar) {
              next[r * vecs + v] = k.fma(ar, b, next[r * vecs + v]);
            });
        return next;
      });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vecs; ++v)
        k.storeVector(k.add(c0, k.add(k.add(k.mul(k.add(i0, r), N), j0), v * W)), acc[r * vecs + v]);
  };
  // Columns: groups of V vectors, then the whole vectors left (fewer than V), then the
  // columns that do not fill a vector.
  const RegisterTile shape = registerTile(k);
  const int64_t V = shape.vecs, groups = N / (V * W), vecsLeft = (N % (V * W)) / W, rest = N % W;
  const int64_t kTileRows = shape.rows, bands = M / kTileRows, leftover = M % kTileRows;
  // Groups of vectors of columns [firstGroup, firstGroup + count) for every band of rows.
  auto panel = [&](Idx firstGroup, int64_t count) {
    auto rowsOf = [&](Idx i0, int64_t rows) {
      k.loop(count, [&](Idx jb) { tile(i0, rows, k.mul(k.add(firstGroup, jb), V * W), V); });
    };
    if (bands)
      k.loop(bands, [&](Idx ib) { rowsOf(k.mul(ib, kTileRows), kTileRows); });
    if (leftover)
      rowsOf(k.index(bands * kTileRows), leftover);
  };
  // A B too large for a core's cache is swept in panels of columns, each used by every
  // band of rows while it is cached; the panels are the outermost loop.
  int64_t panelled = 0;
  if (K * N * 4 > kCacheBytes && groups > 1) {
    const int64_t panels =
        std::min(groups, (K * groups * V * W * 4 + kPanelBytes - 1) / kPanelBytes);
    const int64_t perPanel = groups / panels;
    panelled = panels * perPanel;
    k.loop(panels, [&](Idx pb) { panel(k.mul(pb, perPanel), perPanel); });
  }
  // A band of rows: the groups of vectors not in panels, then the vectors left, then
  // single columns. One vector left after groups of three goes with the last group as
  // two tiles of two vectors: a tile of one vector loads a broadcast of A for each
  // multiply-add and waits on each accumulator's latency. Each part is a loop, so that
  // the band of rows short of a band can be outermost: its loops split across threads
  // by columns (a batch smaller than a band has no other band to split).
  const bool pairUp = V == 3 && vecsLeft == 1 && groups > panelled;
  auto band = [&](Idx i0, int64_t rows) {
    if (groups > panelled + pairUp)
      k.loop(groups - panelled - pairUp,
             [&](Idx jb) { tile(i0, rows, k.mul(k.add(jb, panelled), V * W), V); });
    if (pairUp)
      k.loop(2, [&](Idx jt) { tile(i0, rows, k.add(k.mul(jt, 2 * W), (groups - 1) * V * W), 2); });
    else if (vecsLeft)
      k.loop(1, [&](Idx) { tile(i0, rows, k.index(groups * V * W), vecsLeft); });
    if (rest && ta)
      k.loop(rest, [&](Idx jr) {
        Idx j = k.add(jr, (groups * V + vecsLeft) * W);
        for (int64_t r = 0; r < rows; ++r)
          k.store(k.add(c0, k.add(k.mul(k.add(i0, r), N), j)), dot(k.add(i0, r), j));
      });
    else if (rest)
      k.loop(rest, [&](Idx jr) {
        dotRows(k, n, terms, c0, i0, rows, k.add(jr, (groups * V + vecsLeft) * W));
      });
  };
  if (groups == panelled && !vecsLeft && !rest)
    return;
  if (bands)
    k.loop(bands, [&](Idx ib) { band(k.mul(ib, kTileRows), kTileRows); });
  if (leftover) // the rows short of a band, as one
    band(k.index(bands * kTileRows), leftover);
}

void lowerMatMul(KernelBuilder &k, const Node &n) {
  const Shape &x = n.operands[0]->shape, &y = n.operands[1]->shape;
  if (x.size() == 2) {
    lowerProduct(k, n, termsOf(n, k.index(0), k.index(0)), k.index(0));
    return;
  }
  // A batch: one outermost loop over the products, which split across threads.
  const int64_t sa = x[1] * x[2], sb = y[1] * y[2], sc = n.shape[1] * n.shape[2];
  k.loop(n.shape[0],
         [&](Idx i) { lowerProduct(k, n, termsOf(n, k.mul(i, sa), k.mul(i, sb)), k.mul(i, sc)); });
}

} // namespace
} // namespace ganc::ops

namespace ganc::ir {
using namespace ganc::ops;

namespace {

/// The shape of op(A) op(B) (a batch of them for 3-D operands), or nullopt with `err`.
std::optional<Shape> productShape(const char *op, const Shape &x, const Shape &y, const Attrs &a,
                                  std::string &err) {
  const std::string name = std::string("'") + op + "'";
  const bool batched = x.size() == 3 && y.size() == 3;
  if (a.ints.size() != 2 || x.size() != y.size() || (x.size() != 2 && !batched)) {
    err = name + " needs 2-D operands (or two batches of them), got " + formatType(x) + " and " +
          formatType(y);
    return std::nullopt;
  }
  if (batched && x[0] != y[0]) {
    err = name + " of batches needs batches of one size, got " + formatType(x) + " and " +
          formatType(y);
    return std::nullopt;
  }
  const size_t r = batched ? 1 : 0;
  bool ta = a.ints.at(0), tb = a.ints.at(1);
  int64_t m = ta ? x[r + 1] : x[r], k1 = ta ? x[r] : x[r + 1];
  int64_t k2 = tb ? y[r + 1] : y[r], n = tb ? y[r] : y[r + 1];
  if (k1 != k2) {
    err = "shape mismatch in " + name + ": lhs " + formatType(x) + " has " + std::to_string(k1) +
          " columns but rhs " + formatType(y) + " has " + std::to_string(k2) + " rows";
    return std::nullopt;
  }
  return batched ? Shape{x[0], m, n} : Shape{m, n};
}

/// The gradients of A and B in C = op(A) op(B), given C's gradient g:
///   dA = g op(B)^T (transposed back when A was), dB = op(A)^T g (likewise).
Grads productGrads(Builder &b, Node *A, Node *B, bool ta, bool tb, Node *g) {
  if (!ta && !tb)
    return Grads{b.matmul(g, B, false, true), b.matmul(A, g, true, false)};
  if (ta && !tb)
    return Grads{b.matmul(B, g, false, true), b.matmul(A, g, false, false)};
  if (!ta && tb)
    return Grads{b.matmul(g, B, false, false), b.matmul(g, A, true, false)};
  return Grads{b.matmul(B, g, true, true), b.matmul(g, A, true, true)};
}

} // namespace

// C = op(A) op(B), op(X) = X or X^T; attrs.ints = {transA, transB}.
const OpInfo &opInfo_MatMul() {
  static const OpInfo info{
      "matmul",
      2,
      kStoresOnce | kContiguousStores,
      [](const std::vector<const Node *> &in, const Attrs &a, std::string &err) {
        return productShape("matmul", in[0]->shape, in[1]->shape, a, err);
      },
      [](Builder &b, const Node &n, Node *g) {
        return productGrads(b, n.operands[0], n.operands[1], n.attrs.ints[0], n.attrs.ints[1], g);
      },
      nullptr,
      lowerMatMul,
      0};
  return info;
}

// C = op(A1) op(B1) + op(A2) op(B2), 2-D operands, the transposes (attrs.ints) alike.
// Made by the simplifier only; each pair's gradients are matmul's.
const OpInfo &opInfo_MatMulSum() {
  static const OpInfo info{
      "matmul_sum",
      4,
      kStoresOnce | kContiguousStores,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        for (const Node *o : in)
          if (o->shape.size() != 2) {
            err = "'matmul_sum' needs 2-D operands, got " + formatType(o->shape);
            return std::nullopt;
          }
        auto first = productShape("matmul_sum", in[0]->shape, in[1]->shape, a, err);
        auto second =
            first ? productShape("matmul_sum", in[2]->shape, in[3]->shape, a, err) : first;
        if (first && second && *first != *second) {
          err = "'matmul_sum' needs products of one shape, got " + formatType(*first) + " and " +
                formatType(*second);
          return std::nullopt;
        }
        return second;
      },
      [](Builder &b, const Node &n, Node *g) {
        const bool ta = n.attrs.ints[0], tb = n.attrs.ints[1];
        Grads grads = productGrads(b, n.operands[0], n.operands[1], ta, tb, g);
        for (Node *d : productGrads(b, n.operands[2], n.operands[3], ta, tb, g))
          grads.push_back(d);
        return grads;
      },
      nullptr,
      lowerMatMul,
      0};
  return info;
}

} // namespace ganc::ir
