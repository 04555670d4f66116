//===- Shape.cpp - broadcast, reductions, reshape, transpose, slice, pad ----===//
//
// Axis ops work on one contiguous range of axes [begin, end), which covers every use the
// lowering and autodiff make of them: a tensor is viewed as [P, R, Q] with R the range.
// broadcast and reduce_sum are each other's derivative, as are slice and pad.
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

namespace ganc::ir {
using namespace ganc::ops;
namespace {

struct Split {
  int64_t p = 1, r = 1, q = 1;
};
Split split(const Shape &s, int64_t begin, int64_t end) {
  Split v;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    (i < begin ? v.p : i < end ? v.r : v.q) *= s[i];
  return v;
}
Shape without(const Shape &s, int64_t begin, int64_t end) {
  Shape out(s.begin(), s.begin() + begin);
  out.insert(out.end(), s.begin() + end, s.end());
  return out;
}
bool validRange(const Attrs &a, size_t rank) {
  return a.ints.size() >= 2 && a.ints[0] >= 0 && a.ints[0] <= a.ints[1] &&
         a.ints[1] <= static_cast<int64_t>(rank);
}

/// Shape rule of the reductions over [begin, end): the axes removed. reduce_max of no
/// axes would have no value to start from, so `nonEmpty` requires one.
ShapeFn reductionShape(const char *mnemonic, bool nonEmpty) {
  return [mnemonic, nonEmpty](const std::vector<const Node *> &in, const Attrs &a,
                              std::string &err) -> std::optional<Shape> {
    if (!validRange(a, in[0]->shape.size()) || a.ints.size() != 2 || (nonEmpty && a.ints[0] == a.ints[1])) {
      err = std::string("'") + mnemonic + "' axes out of range for " + formatType(in[0]->shape);
      return std::nullopt;
    }
    return without(in[0]->shape, a.ints[0], a.ints[1]);
  };
}

/// Copies `rows` indices of one axis from the operand (from index `from`) into the
/// result (at index `to`), both viewed as [P, R, Q] around that axis: slice and pad.
void copyAlongAxis(KernelBuilder &k, const Node &n, int64_t axis, int64_t rows, int64_t from, int64_t to) {
  Split in = split(n.operands[0]->shape, axis, axis + 1), out = split(n.shape, axis, axis + 1);
  k.loop(in.p, [&](Idx p) {
    k.loop(rows, [&](Idx r) {
      Idx dst = k.mul(k.add(k.mul(p, out.r), k.add(r, to)), out.q);
      Idx src = k.mul(k.add(k.mul(p, in.r), k.add(r, from)), in.q);
      k.loop(in.q, [&](Idx q) { k.store(k.add(dst, q), k.load(0, k.add(src, q))); });
    });
  });
}

} // namespace

// broadcast(x, to, [b, e)): out[p, r, q] = x[p, q];  dx = reduce_sum(g, b, e)
const OpInfo &opInfo_Broadcast() {
  static const OpInfo info = withOperandStrides(withRange(OpInfo{
      "broadcast", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        Shape to(a.ints.begin() + std::min<size_t>(2, a.ints.size()), a.ints.end());
        if (!validRange(a, to.size()) || without(to, a.ints[0], a.ints[1]) != in[0]->shape) {
          err = "cannot broadcast " + formatType(in[0]->shape) + " to " + formatType(to);
          return std::nullopt;
        }
        return to;
      },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.reduceSum(g, n.attrs.ints[0], n.attrs.ints[1])};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        Split s = split(n.shape, n.attrs.ints[0], n.attrs.ints[1]);
        auto body = [&](Idx p, Idx r) {
          Idx outBase = k.mul(k.add(k.mul(p, s.r), r), s.q), inBase = k.mul(p, s.q);
          k.loop(s.q, [&](Idx q) { k.store(k.add(outBase, q), k.load(0, k.add(inBase, q))); });
        };
        // Put the longer of P and R outermost, so there is work to split across threads.
        if (s.p == 1)
          k.loop(s.r, [&](Idx r) { body(k.index(0), r); });
        else
          k.loop(s.p, [&](Idx p) { k.loop(s.r, [&](Idx r) { body(p, r); }); });
      },
      0},
      sameRange),
      [](const Node &n) {
        // The broadcast axes read the same element; the others step through x.
        const int64_t b = n.attrs.ints[0], e = n.attrs.ints[1];
        std::vector<int64_t> x = rowMajorStrides(n.operands[0]->shape), st;
        for (int64_t a = 0; a < static_cast<int64_t>(n.shape.size()); ++a)
          st.push_back(a < b ? x[a] : a < e ? 0 : x[a - (e - b)]);
        return st;
      });
  return info;
}

/// A sum of all of x's elements splits into chunks of this many, summed in parallel into
/// scratch memory and then added in chunk order: a fixed partition, so the result does
/// not depend on the number of threads. Smaller sums run as one loop.
constexpr int64_t kSumChunk = 16384;
/// The chunks of reduce_sum node n when it sums a large x whole, else 0.
int64_t sumChunks(const Node &n) {
  const int64_t r = n.operands[0]->numel();
  return n.numel() == 1 && r >= 2 * kSumChunk ? r / kSumChunk : 0;
}

/// The sum of all of x's elements in chunks (sumChunks(n) of them and the elements left):
/// each chunk as four vector sums, added at the end, into a slot of scratch memory (one
/// outermost loop, split across threads), then the slots in order and the rest (another).
void lowerSumAll(KernelBuilder &k, const Node &n) {
  const int64_t chunks = sumChunks(n), W = k.lanes(),
                rest = n.operands[0]->numel() - chunks * kSumChunk;
  auto sum = [&](Idx first, int64_t count) {
    const int64_t steps = count / (4 * W), vecs = count / W;
    std::vector<Val> acc(4, k.splat(k.constant(0)));
    if (steps)
      acc = k.loopCarry(steps, acc, [&](Idx i, const std::vector<Val> &a) {
        std::vector<Val> next(a);
        for (int64_t v = 0; v < 4; ++v)
          next[v] = k.add(a[v], k.loadVector(0, k.add(first, k.add(k.mul(i, 4 * W), v * W))));
        return next;
      });
    for (int64_t v = steps * 4; v < vecs; ++v)
      acc[0] = k.add(acc[0], k.loadVector(0, k.add(first, v * W)));
    if (count % W)
      acc[1] = k.add(acc[1], k.loadPartial(0, k.add(first, vecs * W), count % W));
    return k.sumLanes(k.add(k.add(acc[0], acc[1]), k.add(acc[2], acc[3])));
  };
  k.loop(chunks, [&](Idx c) { k.storeScratch(c, sum(k.mul(c, kSumChunk), kSumChunk)); });
  k.loop(1, [&](Idx) {
    Val total = k.loopReduce(chunks, k.constant(0),
                             [&](Idx c, Val t) { return k.add(t, k.loadScratch(c)); });
    k.store(k.index(0), rest ? k.add(total, sum(k.index(chunks * kSumChunk), rest)) : total);
  });
}

// reduce_sum(x, [b, e)): out[p, q] = sum_r x[p, r, q];  dx = broadcast(g, x.shape, b, e)
const OpInfo &opInfo_ReduceSum() {
  static const OpInfo info = withRange(OpInfo{
      "reduce_sum", 1, kNone, reductionShape("reduce_sum", false),
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.broadcast(g, n.operands[0]->shape, n.attrs.ints[0], n.attrs.ints[1])};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        if (sumChunks(n)) {
          lowerSumAll(k, n);
          return;
        }
        Split s = split(n.operands[0]->shape, n.attrs.ints[0], n.attrs.ints[1]);
        auto at = [&](Idx p, Idx r, Idx q) {
          return k.load(0, k.add(k.mul(k.add(k.mul(p, s.r), r), s.q), q));
        };
        auto sumOver = [&](Idx p, Idx q) {
          return k.loopReduce(s.r, k.constant(0),
                              [&](Idx r, Val acc) { return k.add(acc, at(p, r, q)); });
        };
        if (s.p == 1) {
          // Columns are independent: split them across threads, lanes() columns per
          // vector. Each lane sums its column in row order, as a scalar loop would.
          const int64_t L = k.lanes(), blocks = s.q / L;
          if (blocks)
            k.loop(blocks, [&](Idx qb) {
              Idx q0 = k.mul(qb, L);
              k.storeVector(q0, k.loopReduce(s.r, k.splat(k.constant(0)), [&](Idx r, Val acc) {
                return k.add(acc, k.loadVector(0, k.add(k.mul(r, s.q), q0)));
              }));
            });
          if (s.q % L)
            k.loop(s.q % L, [&](Idx j) {
              Idx q = k.add(j, blocks * L);
              k.store(q, sumOver(k.index(0), q));
            });
          return;
        }
        k.loop(s.p, [&](Idx p) {
          Idx base = k.mul(p, s.q);
          if (s.q == 1) {
            k.store(p, sumOver(p, k.index(0)));
            return;
          }
          k.loop(s.q, [&](Idx q) { k.store(k.add(base, q), k.constant(0)); });
          k.loop(s.r, [&](Idx r) {
            k.loop(s.q, [&](Idx q) {
              Idx o = k.add(base, q);
              k.store(o, k.add(k.loadResult(o), at(p, r, q)));
            });
          });
        });
      },
      0,
      {},
      {},
      sumChunks}, // a large whole sum's chunk slots
      // A sum of k values, each within the operand's range.
      [](const Node &n, const std::vector<Interval> &in) {
        double k = static_cast<double>(n.operands[0]->numel()) / static_cast<double>(std::max<int64_t>(n.numel(), 1));
        return in[0] * Interval::closed(k, k);
      });
  return info;
}

bool isRowSum(const Node &n) {
  if (!n.is(OpKind::ReduceSum))
    return false;
  const int64_t begin = n.attrs.ints[0], end = n.attrs.ints[1];
  return begin >= 1 && begin < end && end == static_cast<int64_t>(n.operands[0]->shape.size());
}

// reduce_max(x, [b, e)): out[p, q] = max_r x[p, r, q];
//   dx = broadcast(g) where x is the maximum (every tied maximum gets it), else 0
const OpInfo &opInfo_ReduceMax() {
  static const OpInfo info = withRange(OpInfo{
      "reduce_max", 1, kNone, reductionShape("reduce_max", true),
      [](Builder &b, const Node &n, Node *g) {
        Node *x = n.operands[0];
        int64_t lo = n.attrs.ints[0], hi = n.attrs.ints[1];
        Node *top = b.broadcast(const_cast<Node *>(&n), x->shape, lo, hi);
        // top - x is 0 at a maximum and > 0 elsewhere.
        Node *isMax = b.sub(b.scalar(1), b.unary(OpKind::Step, b.sub(top, x)));
        return Grads{b.mul(b.broadcast(g, x->shape, lo, hi), isMax)};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        Split s = split(n.operands[0]->shape, n.attrs.ints[0], n.attrs.ints[1]);
        auto at = [&](Idx p, Idx r, Idx q) {
          return k.load(0, k.add(k.mul(k.add(k.mul(p, s.r), r), s.q), q));
        };
        // Each result element is one loop over its run, in order, inside one iteration.
        auto maxOver = [&](Idx p, Idx q) {
          if (s.r == 1)
            return at(p, k.index(0), q);
          return k.loopReduce(s.r - 1, at(p, k.index(0), q),
                              [&](Idx r, Val acc) { return k.max(acc, at(p, k.add(r, 1), q)); });
        };
        if (s.p == 1)
          k.loop(s.q, [&](Idx q) { k.store(q, maxOver(k.index(0), q)); });
        else
          k.loop(s.p, [&](Idx p) {
            k.loop(s.q, [&](Idx q) { k.store(k.add(k.mul(p, s.q), q), maxOver(p, q)); });
          });
      },
      0},
      sameRange);
  return info;
}

// reshape(x, shape): same elements, new shape;  dx = reshape(g, x.shape)
const OpInfo &opInfo_Reshape() {
  static const OpInfo info = withRange(OpInfo{
      "reshape", 1, kView,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        if (numElements(a.ints) != in[0]->numel()) {
          err = "cannot reshape " + formatType(in[0]->shape) + " (" +
                std::to_string(in[0]->numel()) + " values) to " + formatType(a.ints);
          return std::nullopt;
        }
        return a.ints;
      },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.reshape(g, n.operands[0]->shape)};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        k.loop(n.numel(), [&](Idx i) { k.store(i, k.load(0, i)); });
      },
      0},
      sameRange);
  return info;
}

// transpose(x)[j, i] = x[i, j] for 2-D x, or for each matrix of a 3-D batch;
// dx = transpose(g)
const OpInfo &opInfo_Transpose() {
  static const OpInfo info = withOperandStrides(withRange(OpInfo{
      "transpose", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &,
         std::string &err) -> std::optional<Shape> {
        Shape s = in[0]->shape;
        if (s.size() != 2 && s.size() != 3) {
          err = "'transpose' needs a 2-D operand (or a batch of them), got " + formatType(s);
          return std::nullopt;
        }
        std::swap(s[s.size() - 2], s[s.size() - 1]);
        return s;
      },
      [](Builder &b, const Node &, Node *g) { return Grads{b.transpose(g)}; },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        // Tiles of L result rows by L columns (L = lanes()): each result vector is one
        // strided load down a column of x, and the L rows of a tile read the same L
        // cache lines of x, so every line is fetched once. (A scalar loop nest left to
        // LLVM's vectorizer gathered whole columns of x, 50 KB for a 784-row one: 140 us
        // against 25 for D's 784x128 weight on one thread.)
        const size_t r = n.shape.size() - 2;
        const int64_t rows = n.shape[r], cols = n.shape[r + 1]; // of the result
        const int64_t L = k.lanes(), fullCols = cols / L * L;
        // Result rows [first, first + count) of the matrix at `base`.
        auto tile = [&](Idx base, Idx first, int64_t count) {
          auto row = [&](Idx col, int64_t width) {
            k.loop(count, [&](Idx di) {
              Idx i = k.add(first, di);
              Val v = k.loadStrided(0, k.add(base, k.add(k.mul(col, rows), i)), rows, width);
              Idx at = k.add(base, k.add(k.mul(i, cols), col));
              if (width == L)
                k.storeVector(at, v);
              else
                k.storePartial(at, width, v);
            });
          };
          if (fullCols > 0)
            k.loop(fullCols / L, [&](Idx jv) { row(k.mul(jv, L), L); });
          if (cols > fullCols)
            row(k.index(fullCols), cols - fullCols);
        };
        auto matrix = [&](Idx base) {
          if (rows >= L)
            k.loop(rows / L, [&](Idx blk) { tile(base, k.mul(blk, L), L); });
          if (rows % L != 0)
            tile(base, k.index(rows / L * L), rows % L);
        };
        // A matrix: whole tiles are the parallel loop, the last rows kernels of their own.
        if (r == 0)
          matrix(k.index(0));
        else
          k.loop(n.shape[0], [&](Idx b) { matrix(k.mul(b, rows * cols)); });
      },
      0, {}, {}, nullptr,
      /*batchedOperands=*/0}, // a 2-D matrix, not a batch
      sameRange),
      [](const Node &n) {
        // result[.., i, j] = x[.., j, i], x being [.., cols, rows] of the result.
        const size_t r = n.shape.size() - 2;
        std::vector<int64_t> st = rowMajorStrides(n.operands[0]->shape);
        std::swap(st[r], st[r + 1]);
        return st;
      });
  return info;
}

// slice(x, axis, begin, end): the indices [begin, end) of one axis;
//   dx = pad(g, axis, begin, size - end)
const OpInfo &opInfo_Slice() {
  static const OpInfo info = withRange(OpInfo{
      "slice", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        Shape s = in[0]->shape;
        const int64_t rank = static_cast<int64_t>(s.size());
        if (a.ints.size() != 3 || a.ints[0] < 0 || a.ints[0] >= rank || a.ints[1] < 0 ||
            a.ints[1] >= a.ints[2] || a.ints[2] > s[a.ints[0]]) {
          err = "'slice' needs an axis of " + formatType(s) + " and 0 <= begin < end <= its size";
          return std::nullopt;
        }
        s[a.ints[0]] = a.ints[2] - a.ints[1];
        return s;
      },
      [](Builder &b, const Node &n, Node *g) {
        const int64_t axis = n.attrs.ints[0], size = n.operands[0]->shape[axis];
        return Grads{b.make(OpKind::Pad, {g}, {{axis, n.attrs.ints[1], size - n.attrs.ints[2]}, 0, ""})};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        const int64_t axis = n.attrs.ints[0];
        copyAlongAxis(k, n, axis, n.shape[axis], /*from=*/n.attrs.ints[1], /*to=*/0);
      },
      0},
      sameRange);
  return info;
}

// pad(x, axis, before, after): `before` zeros, x, then `after` zeros along one axis;
//   dx = slice(g, axis, before, before + size)
const OpInfo &opInfo_Pad() {
  static const OpInfo info = withRange(OpInfo{
      "pad", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        Shape s = in[0]->shape;
        if (a.ints.size() != 3 || a.ints[0] < 0 || a.ints[0] >= static_cast<int64_t>(s.size()) ||
            a.ints[1] < 0 || a.ints[2] < 0) {
          err = "'pad' needs an axis of " + formatType(s) + " and sizes >= 0";
          return std::nullopt;
        }
        s[a.ints[0]] += a.ints[1] + a.ints[2];
        return s;
      },
      [](Builder &b, const Node &n, Node *g) {
        const int64_t axis = n.attrs.ints[0], before = n.attrs.ints[1];
        const int64_t size = n.operands[0]->shape[axis];
        return Grads{b.make(OpKind::Slice, {g}, {{axis, before, before + size}, 0, ""})};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        const int64_t axis = n.attrs.ints[0];
        // Zeros everywhere, then the operand in place (outermost loops run in order).
        k.loop(n.numel(), [&](Idx i) { k.store(i, k.constant(0)); });
        copyAlongAxis(k, n, axis, n.operands[0]->shape[axis], /*from=*/0, /*to=*/n.attrs.ints[1]);
      },
      0},
      [](const Node &, const std::vector<Interval> &in) { return hull(in[0], Interval::closed(0, 0)); });
  return info;
}

} // namespace ganc::ir
