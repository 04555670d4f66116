//===- Linalg.cpp - matrix multiplication ---------------------------------===//
//
// matmul(A, B) with optional transposes (attrs.ints = {transA, transB}) on 2-D operands;
// the lowering layer flattens leading axes. The loop order keeps the innermost loop on
// contiguous memory in every transpose case, so LLVM vectorizes it for the host ISA.
//
//===----------------------------------------------------------------------===//
#include "ops/Common.h"

namespace ganc::ir {
using namespace ganc::ops;

// C = op(A) op(B), op(X) = X or X^T.
//   dA = g op(B)^T (transposed back when A was), dB = op(A)^T g (likewise)
const OpInfo &opInfo_MatMul() {
  static const OpInfo info{
      "matmul", 2, kNone,
      [](const std::vector<const Node *> &in, const Attrs &a,
         std::string &err) -> std::optional<Shape> {
        const Shape &x = in[0]->shape, &y = in[1]->shape;
        if (a.ints.size() != 2 || x.size() != 2 || y.size() != 2) {
          err = "'matmul' needs 2-D operands, got " + formatType(x) + " and " + formatType(y);
          return std::nullopt;
        }
        bool ta = a.ints.at(0), tb = a.ints.at(1);
        int64_t m = ta ? x[1] : x[0], k1 = ta ? x[0] : x[1];
        int64_t k2 = tb ? y[1] : y[0], n = tb ? y[0] : y[1];
        if (k1 != k2) {
          err = "shape mismatch in 'matmul': lhs " + formatType(x) + " has " +
                std::to_string(k1) + " columns but rhs " + formatType(y) + " has " +
                std::to_string(k2) + " rows";
          return std::nullopt;
        }
        return Shape{m, n};
      },
      [](Builder &b, const Node &n, Node *g) {
        Node *A = n.operands[0], *B = n.operands[1];
        bool ta = n.attrs.ints[0], tb = n.attrs.ints[1];
        if (!ta && !tb)
          return Grads{b.matmul(g, B, false, true), b.matmul(A, g, true, false)};
        if (ta && !tb)
          return Grads{b.matmul(B, g, false, true), b.matmul(A, g, false, false)};
        if (!ta && tb)
          return Grads{b.matmul(g, B, false, false), b.matmul(g, A, true, false)};
        return Grads{b.matmul(B, g, true, true), b.matmul(g, A, true, true)};
      },
      nullptr,
      [](KernelBuilder &k, const Node &n) {
        bool ta = n.attrs.ints[0], tb = n.attrs.ints[1];
        const Shape &x = n.operands[0]->shape;
        int64_t M = n.shape[0], N = n.shape[1], K = ta ? x[0] : x[1];
        auto aAt = [&](Idx i, Idx p) {
          return k.load(0, ta ? k.add(k.mul(p, M), i) : k.add(k.mul(i, K), p));
        };
        auto bAt = [&](Idx p, Idx j) {
          return k.load(1, tb ? k.add(k.mul(j, K), p) : k.add(k.mul(p, N), j));
        };
        k.loop(M, [&](Idx i) {
          Idx row = k.mul(i, N);
          if (tb) {
            // B^T: both operands run along p; a dot product per result element.
            k.loop(N, [&](Idx j) {
              Val acc = k.loopReduce(K, k.constant(0), [&](Idx p, Val s) {
                return k.add(s, k.mul(aAt(i, p), bAt(p, j)));
              });
              k.store(k.add(row, j), acc);
            });
            return;
          }
          // Row i of C accumulates A[i,p] * row p of B: the inner loop is contiguous.
          k.loop(N, [&](Idx j) { k.store(k.add(row, j), k.constant(0)); });
          k.loop(K, [&](Idx p) {
            Val a = aAt(i, p);
            k.loop(N, [&](Idx j) {
              Idx c = k.add(row, j);
              k.store(c, k.add(k.loadResult(c), k.mul(a, bAt(p, j))));
            });
          });
        });
      },
      0};
  return info;
}

} // namespace ganc::ir
