//===- Graph.h - the graph IR: immutable, hash-consed dataflow ----*- C++ -*-===//
//
// A Graph is a pure dataflow program over f32 tensors with static shapes. Nodes are
// immutable and hash-consed (Graph::make returns the existing node for an identical
// op/operands/attrs), so common subexpressions are one node by construction. Node ids
// follow creation order, which is a topological order, so printing and scheduling by id
// are stable. State is explicit: parameters, optimizer moments and data are leaves
// (`param`, `input`), and a step program's results are the graph's named outputs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace ganc::ir {

enum class OpKind : uint8_t {
#define GANC_OP(Name, Mnemonic, Arity, Traits) Name,
#include "ir/Ops.def"
};

using Shape = std::vector<int64_t>;

/// The largest size of one axis and of a whole tensor that ganc compiles: far beyond any
/// model that fits in memory, and small enough that products of sizes never overflow.
constexpr int64_t kMaxDimension = int64_t(1) << 30;
constexpr int64_t kMaxElements = int64_t(1) << 40;

int64_t numElements(const Shape &s);
/// Row-major strides: element [i_0, ..., i_n] of a tensor of shape `s` is at flat index
/// sum_a i_a strides[a].
std::vector<int64_t> rowMajorStrides(const Shape &s);
/// `f32[128,784]`.
std::string formatType(const Shape &s);
/// `[128, 784]` (per-sample shapes in user messages).
std::string formatShape(const Shape &s);

/// Op attributes: a few integers (axes, transposes, leaf shapes), a number (constants)
/// and a name (leaves). Which fields mean what is documented on each op's record.
struct Attrs {
  std::vector<int64_t> ints;
  double num = 0;
  std::string name;
  bool operator<(const Attrs &o) const {
    return std::tie(ints, num, name) < std::tie(o.ints, o.num, o.name);
  }
};

struct Node {
  OpKind op;
  Shape shape;
  std::vector<Node *> operands;
  Attrs attrs;
  SourceLoc loc;
  uint32_t id;
  int64_t numel() const { return numElements(shape); }
  bool is(OpKind k) const { return op == k; }
};

class Graph {
public:
  explicit Graph(std::string name = "") : name_(std::move(name)) {}
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  /// Creates (or finds) a node; its shape comes from the op's shape rule. On a shape error
  /// returns null and sets `error` when given, else reports an internal compiler error.
  Node *make(OpKind op, std::vector<Node *> operands, Attrs attrs, SourceLoc loc,
             std::string *error = nullptr);

  /// Leaves. With `error`, a shape beyond the size limits returns null and says why
  /// (as make does); without, it is an internal error.
  Node *input(const std::string &name, const Shape &shape, SourceLoc loc = {}, std::string *error = nullptr);
  Node *param(const std::string &name, const Shape &shape, SourceLoc loc = {}, std::string *error = nullptr);
  Node *constant(double value, const Shape &shape, SourceLoc loc = {});

  /// Named results of the program, in declaration order.
  void addOutput(std::string name, Node *n) { outputs_.push_back({std::move(name), n}); }
  std::vector<std::pair<std::string, Node *>> &outputs() { return outputs_; }
  const std::vector<std::pair<std::string, Node *>> &outputs() const { return outputs_; }

  /// All nodes ever created, in id (topological) order.
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }
  /// The nodes the outputs depend on, in id order.
  std::vector<Node *> live() const;

private:
  using Key = std::tuple<OpKind, std::vector<uint32_t>, Attrs>;
  std::string name_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<Key, Node *> table_;
  std::vector<std::pair<std::string, Node *>> outputs_;
};

} // namespace ganc::ir
