//===- Verifier.cpp - graph IR invariants ---------------------------------===//
#include "ir/Verifier.h"

#include "ir/OpInfo.h"

namespace ganc::ir {

std::string verifyGraph(const Graph &g) {
  const auto &nodes = g.nodes();
  auto owned = [&](const Node *n) { return n && n->id < nodes.size() && nodes[n->id].get() == n; };
  for (const Node *n : g.live()) {
    const OpInfo &info = opInfo(n->op);
    std::string where = "%" + std::to_string(n->id) + " = " + info.mnemonic;
    if (static_cast<int>(n->operands.size()) != info.arity)
      return where + ": " + std::to_string(n->operands.size()) + " operands, the op takes " +
             std::to_string(info.arity);
    std::vector<const Node *> in;
    for (const Node *o : n->operands) {
      if (!owned(o))
        return where + ": an operand is not a node of this graph";
      if (o->id >= n->id)
        return where + ": operand %" + std::to_string(o->id) + " does not come before its user";
      in.push_back(o);
    }
    std::string why;
    std::optional<Shape> shape = info.inferShape(in, n->attrs, why);
    if (!shape)
      return where + ": ill-typed: " + why;
    if (*shape != n->shape)
      return where + ": has type " + formatType(n->shape) + " but its operands give " + formatType(*shape);
  }
  for (const auto &[name, n] : g.outputs())
    if (!owned(n))
      return "output \"" + name + "\" is not a node of this graph";
  return "";
}

} // namespace ganc::ir
