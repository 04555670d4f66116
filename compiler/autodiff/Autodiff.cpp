//===- Autodiff.cpp - reverse-mode differentiation, graph to graph --------===//
#include "autodiff/Autodiff.h"

#include "ir/Builder.h"
#include "ir/OpInfo.h"
#include "support/Error.h"

#include <unordered_map>


namespace ganc::autodiff {

using namespace ir;

std::vector<Node *> gradients(Graph &g, Node *loss, const std::vector<Node *> &wrt) {
  if (!loss->shape.empty())
    internalError("autodiff", "loss must be a scalar, got " + formatType(loss->shape));

  // Nodes the loss depends on, found by walking operands from the loss.
  std::vector<char> needed(loss->id + 1, 0);
  needed[loss->id] = 1;
  const auto &nodes = g.nodes();
  for (int64_t i = loss->id; i >= 0; --i) {
    if (!needed[i])
      continue;
    for (Node *o : nodes[i]->operands)
      needed[o->id] = 1;
  }
  // Of those, the ones a `wrt` leaf reaches through differentiable ops: the path.
  std::vector<char> onPath(loss->id + 1, 0);
  for (Node *w : wrt) {
    if (w->id <= loss->id)
      onPath[w->id] = needed[w->id];
  }
  for (uint32_t i = 0; i <= loss->id; ++i) {
    Node *n = nodes[i].get();
    if (!needed[i] || onPath[i] || !opInfo(n->op).vjp)
      continue;
    for (Node *o : n->operands)
      if (onPath[o->id]) {
        onPath[i] = 1;
        break;
      }
  }

  Builder b(g, loss->loc);
  std::unordered_map<uint32_t, Node *> adjoint;
  adjoint[loss->id] = g.constant(1.0, {}, loss->loc);
  for (int64_t i = loss->id; i >= 0; --i) {
    Node *n = nodes[i].get();
    auto it = adjoint.find(n->id);
    if (!onPath[i] || it == adjoint.end() || opInfo(n->op).isLeaf())
      continue;
    b.setLoc(n->loc);
    std::vector<Node *> grads = opInfo(n->op).vjp(b, *n, it->second);
    for (size_t k = 0; k < n->operands.size(); ++k) {
      Node *o = n->operands[k];
      Node *gk = grads.at(k);
      if (!gk || !onPath[o->id])
        continue;
      // The one place broadcasting is undone: a rank-0 operand of an elementwise op.
      if (o->shape.empty() && !gk->shape.empty())
        gk = b.sumAll(gk);
      if (gk->shape != o->shape)
        internalError("autodiff", std::string("gradient of '") + opInfo(n->op).mnemonic +
                                      "' operand has type " + formatType(gk->shape) +
                                      ", expected " + formatType(o->shape));
      auto [slot, inserted] = adjoint.emplace(o->id, gk);
      if (!inserted)
        slot->second = b.add(slot->second, gk);
    }
  }

  std::vector<Node *> result;
  for (Node *w : wrt) {
    auto it = adjoint.find(w->id);
    result.push_back(it != adjoint.end() ? it->second : g.constant(0.0, w->shape, w->loc));
  }
  return result;
}

} // namespace ganc::autodiff
