//===- Fusion.h - which nodes share a kernel (codegen internal) -*- C++ -*-===//
//
// Before any code is emitted, fusion decides how a graph's live nodes become kernels:
//  - a view (kView: reshape, stop_gradient) gets no kernel: it names its operand's buffer;
//  - an op that only picks elements (OpInfo::operandStrides: broadcast, transpose) whose
//    every user is an elementwise node of its shape gets no kernel either: those users
//    read its operand through the strides;
//  - an elementwise node joins the kernel of an operand of its shape: the loop of other
//    elementwise nodes, or, as its epilogue, the stores of a kStoresOnce op (matmul, the
//    convolutions). One kernel may store several values: an optimizer's new moments and
//    weights come out of one loop, or out of the matmul that computes their gradient;
//  - a reduce_sum over trailing axes of such a loop's member joins the loop: it sums each
//    row as the loop computes it, so a value only summed never reaches memory (batch
//    norm's statistics and their gradients); a reduce_sum over leading axes of an
//    epilogue's member joins that kernel alike (a gradient's squares, summed for its
//    norm; a bias's gradient, summed over the batch);
//  - every other node is a kernel of its own.
// A loop, or the epilogue of a kernel whose stores are contiguous vectors, that reads
// another unit's value which it can compute from what it reads anyway with a few cheap
// ops (a ReLU's mask, from the pre-activation; a sigmoid's derivative, from the sigmoid
// a kernel reads; or two values from one tensor it then reads instead) computes it
// instead: the
// nodes are members of both units, and only their own unit stores them, if anyone still
// reads them. A unit left storing nothing is dropped.
// A node joins a kernel only if the kernels stay acyclic: nothing the node reads from
// outside the kernel may itself need the kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <unordered_map>
#include <vector>

namespace ganc::codegen {

/// A buffer a unit reads, element `sum_a i_a strides[a]` at point i of the unit's
/// iteration space (its members' shape).
struct FusedInput {
  const ir::Node *buffer;       ///< a leaf or a node computed by an earlier unit
  std::vector<int64_t> strides; ///< one per axis of Unit::shape
};

/// Where a member's operand comes from.
struct FusedOperand {
  enum class Kind { Anchor, Member, Input, Const } kind;
  size_t index = 0; ///< into members or inputs
  double value = 0; ///< Kind::Const
};

/// The nodes one kernel computes.
struct Unit {
  /// A node lowered by its op (OpInfo::lower), or null: the unit is one loop over
  /// `shape` computing the members.
  const ir::Node *anchor = nullptr;
  ir::Shape shape;                          ///< every member's shape (the anchor's, if fused into)
  std::vector<const ir::Node *> members;    ///< elementwise nodes, in graph order
  std::vector<std::vector<FusedOperand>> operands; ///< per member
  std::vector<FusedInput> inputs;           ///< what members read from buffers
  /// reduce_sum nodes, in graph order. Without an anchor: over axes [b, rank) of a member
  /// (b >= 1), each stored, row by row, after the loop over its row. With an anchor: over
  /// leading axes [0, e) of a member (all of them, or, with contiguous stores, fewer),
  /// summed by each iteration of the outermost loops into partial sums of its own, added
  /// in order after the last loop.
  std::vector<const ir::Node *> sums;
  /// Anchor, members and sums whose values leave the unit (outputs, or read by other
  /// units or through views), in graph order.
  std::vector<const ir::Node *> stored;
};

struct FusionPlan {
  std::vector<Unit> units; ///< in an order where each runs after the units it reads
  /// View -> the node whose buffer it names (never itself a view).
  std::unordered_map<uint32_t, const ir::Node *> viewOf;
};

FusionPlan planFusion(const ir::Graph &g);

} // namespace ganc::codegen
