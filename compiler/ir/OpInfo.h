//===- OpInfo.h - what the compiler knows about one op ----------*- C++ -*-===//
//
// The record behind every line of Ops.def. An op's shape rule, derivative (VJP) and
// lowering sit together in one OpInfo, defined in compiler/ops/<Family>.cpp; the parser,
// autodiff, evaluator and codegen all read them from here and know no op by name.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "ir/KernelBuilder.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ganc::ir {

class Builder;

enum OpTraits : unsigned {
  kNone = 0,
  kLeaf = 1u << 0,        ///< no operands; provided from outside (or a constant)
  kElementwise = 1u << 1, ///< result[i] = f(operand_k[i]); rank-0 operands broadcast
  /// The result is the operand's elements in the same flat order (reshape,
  /// stop_gradient): codegen hands it the operand's buffer instead of copying.
  kView = 1u << 2,
  /// The lowering keeps KernelBuilder's epilogue contract (each element stored once,
  /// never read back, vectors along one axis), so elementwise users can be fused into
  /// its stores.
  kStoresOnce = 1u << 3,
  /// Its vector stores are contiguous (storeVector), so an epilogue reads other tensors
  /// of the result's shape as plain vectors. Without it (the convolutions store lanes
  /// along channels or samples), each such read is a gather and each extra result a
  /// scatter, and codegen fuses only a chain of single-use nodes reading broadcasts.
  kContiguousStores = 1u << 4,
};

/// Computes the result shape, or returns nullopt and explains in `error` (one phrase
/// naming the op and the shapes, e.g. "lhs f32[128,100] has 100 columns ...").
using ShapeFn = std::function<std::optional<Shape>(const std::vector<const Node *> &operands,
                                                   const Attrs &attrs, std::string &error)>;
/// Given the node and the gradient of the loss with respect to its result, returns one
/// gradient per operand (null for "no gradient flows here"). Written as if shapes match;
/// the autodiff driver undoes broadcasting of rank-0 operands.
using VjpFn = std::function<std::vector<Node *>(Builder &b, const Node &n, Node *grad)>;
/// Scalar semantics of an elementwise op.
using ScalarFn = std::function<KernelBuilder::Val(KernelBuilder &k,
                                                  const std::vector<KernelBuilder::Val> &args)>;
/// Loop-nest semantics of any other computing op.
using LowerFn = std::function<void(KernelBuilder &k, const Node &n)>;

/// The values a tensor may hold: from lo to hi, each end open or closed. An infinite
/// end counts as open. What an op's range rule cannot bound is everything().
struct Interval {
  double lo, hi;
  bool loOpen = false, hiOpen = false;
  static Interval everything();
  static Interval open(double lo, double hi) { return {lo, hi, true, true}; }
  static Interval closed(double lo, double hi) { return {lo, hi, false, false}; }
  /// Every value > 0 (what log needs to stay finite).
  bool positive() const { return lo > 0 || (lo == 0 && loOpen); }
};
/// The interval of an op's result, given those of its operands.
using RangeFn = std::function<Interval(const Node &n, const std::vector<Interval> &operands)>;

struct OpInfo {
  const char *mnemonic;
  int arity;
  unsigned traits;
  ShapeFn inferShape;
  VjpFn vjp;         ///< empty: the op is not differentiable (gradients stop here)
  ScalarFn scalar;   ///< set for elementwise ops
  LowerFn lower;     ///< set for non-elementwise, non-leaf ops
  /// Work per result element, relative to an add: a division or a square root 4, a
  /// polynomial (exp, log, tanh, ...) 8 or more. Fusion recomputes values of cost 1 in
  /// the loops that read them rather than store them.
  double costPerElement = 1;
  /// Names of attrs.ints for calls from .gan, which give them after the operands, by
  /// position or by name (`conv2d(x, w, stride = 2, padding = 1)`); empty when lowering
  /// sets the attributes itself (matmul's transposes, axes, leaf shapes).
  std::vector<std::string> attrNames = {};
  /// Values of the last attrDefaults.size() attributes when a call leaves them out.
  std::vector<int64_t> attrDefaults = {};
  /// Floats of scratch memory the lowering uses while computing the node (see
  /// KernelBuilder::storeScratch); empty: none.
  std::function<int64_t(const Node &)> scratch = {};

  /// How many leading operands may be per-sample values (carry the batch axis) when
  /// .gan code calls the op; the rest are weights. -1: any.
  int batchedOperands = -1;
  /// The least rank a per-sample first operand needs when .gan code calls the op (the
  /// image ops need [h, w] per sample: the batch axis is not an image axis).
  int minSampleRank = 0;
  /// Bounds on the result's values from those of the operands (diagnostics use them:
  /// a log of a value that may be 0 or negative); empty: unbounded.
  RangeFn range = {};
  /// For an op that only picks elements (broadcast, transpose): which operand element
  /// each result element is, as strides over the result's axes (result[i_0, ..., i_n]
  /// = operand[sum_a i_a strides[a]]). Codegen reads the operand through them inside
  /// elementwise users instead of materializing the result. Empty: not such an op.
  std::function<std::vector<int64_t>(const Node &)> operandStrides = {};
  /// For a kStoresOnce op without kContiguousStores: the nodes whose lowering stores
  /// contiguous vectors all the same (a convolution with vectors along output positions).
  /// Empty: none.
  std::function<bool(const Node &)> contiguousStoresOf = {};

  bool isLeaf() const { return traits & kLeaf; }
  bool isElementwise() const { return traits & kElementwise; }
  bool isView() const { return traits & kView; }
  bool storesOnce() const { return traits & kStoresOnce; }
  /// Whether `n`'s vector stores are contiguous (kContiguousStores, or contiguousStoresOf).
  bool contiguousStores(const Node &n) const {
    return (traits & kContiguousStores) || (contiguousStoresOf && contiguousStoresOf(n));
  }
};

/// The record of an op.
const OpInfo &opInfo(OpKind op);
/// The op with this mnemonic, if any.
std::optional<OpKind> opByMnemonic(const std::string &mnemonic);
/// All ops, in Ops.def order.
const std::vector<OpKind> &allOps();

#define GANC_OP(Name, Mnemonic, Arity, Traits) const OpInfo &opInfo_##Name();
#include "ir/Ops.def"

/// Whether `n` is a reduce_sum over trailing axes [b, rank) with b >= 1: a sum per row
/// of contiguous elements, which codegen computes in the loop producing its operand.
bool isRowSum(const Node &n);

/// The generic loop of an elementwise op: one flat loop applying `scalar`.
void lowerElementwise(KernelBuilder &k, const Node &n);

} // namespace ganc::ir
