//===- Optimizers.cpp - parameter updates as graph nodes ------------------===//
//
// The update rules follow PyTorch's definitions (torch.optim), so a ganc run and a
// PyTorch run with the same hyperparameters take the same steps.
//
//===----------------------------------------------------------------------===//
#include "lower/Optimizers.h"

namespace ganc::lower {

using namespace ir;

void addUpdate(Builder &b, const sema::OptimizerSpec &o, const std::string &player,
               Node *p, Node *g, std::vector<std::pair<std::string, Shape>> &state) {
  addRawUpdate(b, o, player, p, g, state);
  if (o.clip <= 0)
    return;
  // WGAN's weight clipping: p' = min(max(p', -c), c), in the same step program.
  Graph &graph = b.graph();
  for (auto &[name, n] : graph.outputs())
    if (name == p->attrs.name)
      n = b.make(OpKind::Minimum, {b.make(OpKind::Maximum, {n, b.scalar(-o.clip)}), b.scalar(o.clip)});
}

void addRawUpdate(Builder &b, const sema::OptimizerSpec &o, const std::string &player,
                  Node *p, Node *g, std::vector<std::pair<std::string, Shape>> &state) {
  Graph &graph = b.graph();
  const std::string &name = p->attrs.name;
  auto stateIn = [&](const char *slot) {
    std::string n = names::state(name, slot);
    state.push_back({n, p->shape});
    return graph.input(n, p->shape, p->loc);
  };
  auto stateOut = [&](const char *slot, Node *v) { graph.addOutput(names::state(name, slot), v); };

  if (o.kind == "sgd") {
    // p' = p - lr g
    graph.addOutput(name, b.sub(p, b.mul(g, o.lr)));
    return;
  }
  if (o.kind == "momentum") {
    // buf' = mu buf + g;  p' = p - lr buf'
    Node *buf = b.add(b.mul(stateIn("momentum"), o.momentum), g);
    stateOut("momentum", buf);
    graph.addOutput(name, b.sub(p, b.mul(buf, o.lr)));
    return;
  }
  if (o.kind == "rmsprop") {
    // v' = alpha v + (1 - alpha) g^2;  p' = p - lr g / (sqrt(v') + eps)
    Node *v = b.add(b.mul(stateIn("rmsprop.v"), o.alpha), b.mul(b.mul(g, g), 1 - o.alpha));
    stateOut("rmsprop.v", v);
    Node *step = b.div(b.mul(g, o.lr), b.add(b.unary(OpKind::Sqrt, v), o.eps));
    graph.addOutput(name, b.sub(p, step));
    return;
  }
  // Adam. m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;
  // p' = p - lr_t m' / (sqrt(v') + eps_t), with lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and
  // eps_t = eps sqrt(1 - b2^t): PyTorch's bias-corrected update, scaled by sqrt(1 - b2^t).
  Node *m = b.add(b.mul(stateIn("adam.m"), o.beta1), b.mul(g, 1 - o.beta1));
  Node *v = b.add(b.mul(stateIn("adam.v"), o.beta2), b.mul(b.mul(g, g), 1 - o.beta2));
  stateOut("adam.m", m);
  stateOut("adam.v", v);
  Node *lrT = graph.input(names::adamLr(player), {}, o.loc);
  Node *epsT = graph.input(names::adamEps(player), {}, o.loc);
  Node *step = b.div(b.mul(m, lrT), b.add(b.unary(OpKind::Sqrt, v), epsT));
  graph.addOutput(name, b.sub(p, step));
}

} // namespace ganc::lower
