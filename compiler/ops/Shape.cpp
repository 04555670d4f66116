//===- Shape.cpp - broadcast, reduce_sum, reshape, transpose --------------===//
//
// Axis ops work on one contiguous range of axes [begin, end), which covers every use the
// lowering and autodiff make of them: a tensor is viewed as [P, R, Q] with R the range.
// broadcast and reduce_sum are each other's derivative.
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

} // namespace

// broadcast(x, to, [b, e)): out[p, r, q] = x[p, q];  dx = reduce_sum(g, b, e)
const OpInfo &opInfo_Broadcast() {
  static const OpInfo info{
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
      0};
  return info;
}

// reduce_sum(x, [b, e)): out[p, q] = sum_r x[p, r, q];  dx = broadcast(g, x.shape, b, e)
const OpInfo &opInfo_ReduceSum() {
  static const OpInfo info{
      "reduce_sum", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        if (!validRange(a, in[0]->shape.size()) || a.ints.size() != 2) {
          err = "'reduce_sum' axes out of range for " + formatType(in[0]->shape);
          return std::nullopt;
        }
        return without(in[0]->shape, a.ints[0], a.ints[1]);
      },
      [](Builder &b, const Node &n, Node *g) {
        return Grads{b.broadcast(g, n.operands[0]->shape, n.attrs.ints[0], n.attrs.ints[1])};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        Split s = split(n.operands[0]->shape, n.attrs.ints[0], n.attrs.ints[1]);
        auto at = [&](Idx p, Idx r, Idx q) {
          return k.load(0, k.add(k.mul(k.add(k.mul(p, s.r), r), s.q), q));
        };
        auto sumOver = [&](Idx p, Idx q) {
          return k.loopReduce(s.r, k.constant(0),
                              [&](Idx r, Val acc) { return k.add(acc, at(p, r, q)); });
        };
        if (s.p == 1) {
          // Columns are independent: split them across threads.
          k.loop(s.q, [&](Idx q) { k.store(q, sumOver(k.index(0), q)); });
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
      0};
  return info;
}

// reshape(x, shape): same elements, new shape;  dx = reshape(g, x.shape)
const OpInfo &opInfo_Reshape() {
  static const OpInfo info{
      "reshape", 1, kNone,
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
      0};
  return info;
}

// transpose(x)[j, i] = x[i, j] for 2-D x;  dx = transpose(g)
const OpInfo &opInfo_Transpose() {
  static const OpInfo info{
      "transpose", 1, kNone,
      [](const std::vector<const Node *> &in, const Attrs &,
         std::string &err) -> std::optional<Shape> {
        const Shape &s = in[0]->shape;
        if (s.size() != 2) {
          err = "'transpose' needs a 2-D operand, got " + formatType(s);
          return std::nullopt;
        }
        return Shape{s[1], s[0]};
      },
      [](Builder &b, const Node &, Node *g) { return Grads{b.transpose(g)}; },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        const int64_t rows = n.shape[0], cols = n.shape[1]; // of the result
        k.loop(rows, [&](Idx i) {
          k.loop(cols, [&](Idx j) { k.store(k.add(k.mul(i, cols), j), k.load(0, k.add(k.mul(j, rows), i))); });
        });
      },
      0, {}, {}, nullptr,
      /*batchedOperands=*/0}; // a 2-D matrix, not a batch
  return info;
}

} // namespace ganc::ir
