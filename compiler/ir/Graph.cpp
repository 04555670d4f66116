//===- Graph.cpp - the graph IR: immutable, hash-consed dataflow ----------===//
#include "ir/Graph.h"

#include "ir/OpInfo.h"
#include "support/Error.h"

#include <sstream>

namespace ganc::ir {

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::vector<int64_t> rowMajorStrides(const Shape &s) {
  std::vector<int64_t> st(s.size());
  int64_t step = 1;
  for (size_t a = s.size(); a-- > 0;) {
    st[a] = step;
    step *= s[a];
  }
  return st;
}

std::string formatType(const Shape &s) { return "f32" + formatShape(s); }

std::string formatShape(const Shape &s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i)
    os << (i ? "," : "") << s[i];
  os << ']';
  return os.str();
}

Node *Graph::make(OpKind op, std::vector<Node *> operands, Attrs attrs, SourceLoc loc,
                  std::string *error) {
  const OpInfo &info = opInfo(op);
  if (static_cast<int>(operands.size()) != info.arity)
    internalError("graph", std::string("'") + info.mnemonic + "' takes " +
                               std::to_string(info.arity) + " operands, got " +
                               std::to_string(operands.size()));
  std::vector<uint32_t> ids;
  for (Node *o : operands)
    ids.push_back(o->id);
  Key key{op, ids, attrs};
  if (auto it = table_.find(key); it != table_.end())
    return it->second;

  std::string why;
  std::vector<const Node *> in(operands.begin(), operands.end());
  std::optional<Shape> shape = info.inferShape(in, attrs, why);
  if (shape) {
    int64_t count = 1;
    for (int64_t d : *shape) {
      if (d > kMaxDimension || (d > 0 && count > kMaxElements / d)) {
        why = std::string("'") + info.mnemonic + "' would make a tensor of shape " + formatType(*shape) +
              ", larger than ganc supports (2^30 per axis, 2^40 values)";
        shape.reset();
        break;
      }
      count *= d;
    }
  }
  if (!shape) {
    if (error) {
      *error = why;
      return nullptr;
    }
    internalError("graph", "ill-typed '" + std::string(info.mnemonic) + "': " + why);
  }
  auto n = std::make_unique<Node>();
  n->op = op;
  n->shape = std::move(*shape);
  n->operands = std::move(operands);
  n->attrs = std::move(attrs);
  n->loc = loc;
  n->id = static_cast<uint32_t>(nodes_.size());
  Node *raw = n.get();
  nodes_.push_back(std::move(n));
  table_.emplace(std::move(key), raw);
  return raw;
}

Node *Graph::input(const std::string &name, const Shape &shape, SourceLoc loc, std::string *error) {
  return make(OpKind::Input, {}, {shape, 0, name}, loc, error);
}
Node *Graph::param(const std::string &name, const Shape &shape, SourceLoc loc, std::string *error) {
  return make(OpKind::Param, {}, {shape, 0, name}, loc, error);
}
Node *Graph::constant(double value, const Shape &shape, SourceLoc loc) {
  return make(OpKind::Const, {}, {shape, value, ""}, loc);
}

std::vector<Node *> Graph::live() const {
  std::vector<char> mark(nodes_.size(), 0);
  std::vector<Node *> stack;
  for (auto &[name, n] : outputs_)
    stack.push_back(n);
  while (!stack.empty()) {
    Node *n = stack.back();
    stack.pop_back();
    if (mark[n->id])
      continue;
    mark[n->id] = 1;
    for (Node *o : n->operands)
      stack.push_back(o);
  }
  std::vector<Node *> out;
  for (auto &n : nodes_)
    if (mark[n->id])
      out.push_back(n.get());
  return out;
}

} // namespace ganc::ir
