//===- Model.cpp - a .gan model lowered to graph IR -----------------------===//
#include "lower/Model.h"

#include "autodiff/Autodiff.h"
#include "lower/Elaborator.h"
#include "lower/Optimizers.h"
#include "ir/OpInfo.h"

#include <algorithm>

namespace ganc::lower {

using namespace ir;

namespace {

/// The top-level terms of a sum: `a + b - c` gives a, b and c, the last subtracted.
void additiveTerms(const ast::Expr &e, bool subtracted, std::vector<std::pair<const ast::Expr *, bool>> &out) {
  if (auto *b = ast::dynCast<ast::BinaryExpr>(&e); b && (b->op == "+" || b->op == "-")) {
    additiveTerms(*b->lhs, subtracted, out);
    additiveTerms(*b->rhs, b->op == "-" ? !subtracted : subtracted, out);
    return;
  }
  out.push_back({&e, subtracted});
}

/// Lowers one player's objective into `g` as output "loss" (negated when maximized). An
/// objective of several scalar terms also outputs each, "term.1", ... (metrics.csv).
bool lowerObjective(const sema::Program &p, const sema::Objective &obj, Graph &g, Model &m, int64_t batch,
                    DiagnosticEngine &diags) {
  Elaborator el(p, g, m.params, batch, diags, true, obj.player->name, &m.running);
  const ast::Expr &e = *obj.stmt->expr;
  // Term by term, combined as the whole expression would be (each is elaborated once).
  std::vector<std::pair<const ast::Expr *, bool>> terms;
  additiveTerms(e, false, terms);
  std::vector<Value> values;
  for (const auto &[term, subtracted] : terms) {
    auto tv = el.evalGame(*term);
    if (!tv)
      return false;
    values.push_back(*tv);
  }
  std::optional<Value> v = values.front();
  for (size_t i = 1; v && i < values.size(); ++i)
    v = el.combine(terms[i].second ? OpKind::Sub : OpKind::Add, *v, values[i], e.range());
  if (!v)
    return false;
  if (v->kind != Value::Kind::Tensor || !v->node->shape.empty()) {
    // Shapes in messages leave the batch axis implicit, as in the signatures.
    std::string what = "a constant";
    if (v->kind == Value::Kind::Tensor && !v->batched)
      what = "a tensor of shape " + formatShape(v->node->shape);
    else if (v->kind == Value::Kind::Tensor)
      what = v->sampleShape().empty() ? "one value per sample"
                                      : "a tensor of shape " + formatShape(v->sampleShape()) + " per sample";
    diags.error(e.loc(), "the objective of '" + obj.player->name + "' must be a scalar that depends on the model, but this is " +
                             what + (v->kind == Value::Kind::Tensor ? "; reduce it with mean(...) or sum(...)" : ""),
                e.range().length);
    return false;
  }
  Builder b(g, e.loc());
  g.addOutput(names::kLoss, obj.stmt->maximizes ? b.neg(v->node) : v->node);
  bool scalars = terms.size() > 1;
  for (const Value &t : values)
    scalars &= t.kind == Value::Kind::Tensor && t.node->shape.empty();
  std::vector<ObjectiveTerm> &record = obj.player == p.generator ? m.gTerms : m.dTerms;
  for (size_t i = 0; scalars && i < values.size(); ++i) {
    g.addOutput(names::term(i + 1), values[i].node);
    record.push_back({terms[i].first->range(), terms[i].second});
  }
  for (const auto &[name, node] : el.runningUpdates())
    g.addOutput(name, node);
  m.masks.insert(m.masks.end(), el.masks().begin(), el.masks().end());
  return true;
}

/// The generator's moving average (`ema 0.999` in the plan): avg' = avg + w (p' - avg), with
/// p' the updated parameter and w = 1 - decay_t a per-step input the runtime fills.
void addMovingAverage(Builder &b, const std::string &player, Node *p) {
  Graph &g = b.graph();
  const std::string &name = p->attrs.name;
  Node *updated = nullptr;
  for (auto &[out, n] : g.outputs())
    if (out == name)
      updated = n;
  std::string avgName = names::state(name, names::kEmaSlot);
  Node *avg = g.input(avgName, p->shape, p->loc);
  Node *w = g.input(names::emaWeight(player), {}, p->loc);
  g.addOutput(avgName, b.add(avg, b.mul(b.sub(updated, avg), w)));
}
} // namespace

std::unique_ptr<Model> lowerObjectives(const sema::Program &p, int64_t batch,
                                       DiagnosticEngine &diags) {
  auto m = std::make_unique<Model>();
  m->dStep = std::make_unique<Graph>("d_step");
  m->gStep = std::make_unique<Graph>("g_step");
  bool ok = lowerObjective(p, p.dObjective, *m->dStep, *m, batch, diags);
  if (p.supervised())
    m->gStep.reset(); // one player, one step program
  else
    ok &= lowerObjective(p, p.gObjective, *m->gStep, *m, batch, diags);
  if (!ok)
    return nullptr;
  return m;
}

bool addTraining(Model &m, const sema::Program &p, DiagnosticEngine &diags) {
  struct Player {
    const sema::Objective &obj;
    Graph &g;
    const sema::OptimizerSpec &opt;
  };
  bool ok = true;
  std::vector<Player> players{{p.dObjective, *m.dStep, p.plan.optD}};
  if (m.gStep)
    players.push_back({p.gObjective, *m.gStep, p.plan.optG});
  for (Player pl : players) {
    const std::string &who = pl.obj.player->name;
    Node *loss = pl.g.outputs().front().second;
    std::vector<Node *> wrt;
    for (const ParamInfo &info : m.params.params)
      if (info.owner == who)
        wrt.push_back(pl.g.param(info.name, info.shape, info.loc));
    std::vector<Node *> grads = autodiff::gradients(pl.g, loss, wrt);
    bool reached = false;
    for (Node *gr : grads)
      reached |= !gr->is(OpKind::Const);
    if (!reached) {
      const ast::GameStmt &s = *pl.obj.stmt;
      diags.error(s.expr->loc(), "the objective of '" + who + "' does not depend on any parameter of '" + who + "'",
                  s.expr->range().length);
      ok = false;
      continue;
    }
    // The norm of the player's whole gradient, for metrics and the divergence guard.
    Builder nb(pl.g, pl.obj.stmt->expr->loc());
    Node *sq = nullptr;
    for (Node *gr : grads) {
      if (gr->is(OpKind::Const))
        continue;
      Node *t = nb.sumAll(nb.mul(gr, gr));
      sq = sq ? nb.add(sq, t) : t;
    }
    pl.g.addOutput(names::kGradNorm, nb.unary(OpKind::Sqrt, sq));
    for (size_t i = 0; i < wrt.size(); ++i) {
      Builder b(pl.g, wrt[i]->loc);
      addUpdate(b, pl.opt, who, wrt[i], grads[i], m.state);
      if (&pl.obj == &p.gObjective && p.plan.ema > 0)
        addMovingAverage(b, who, wrt[i]);
    }
  }
  return ok;
}

std::vector<std::pair<std::string, Shape>> movingAverages(const Model &m, const sema::Program &p) {
  std::vector<std::pair<std::string, Shape>> out;
  if (p.plan.ema > 0)
    for (const ParamInfo &info : m.params.params)
      if (p.generator && info.owner == p.generator->name)
        out.push_back({names::state(info.name, names::kEmaSlot), info.shape});
  return out;
}

/// The per-sample activations the last dense layer before `out` reads: back from `out`
/// through elementwise ops (the bias add) and reshapes to the first matmul, whose left
/// operand they are when it is [count, d]. Null when `out` does not end in one.
static Node *lastDenseInput(Node *out, int64_t count) {
  std::vector<Node *> queue{out};
  for (size_t i = 0; i < queue.size(); ++i) {
    Node *n = queue[i];
    if (n->is(OpKind::MatMul)) {
      Node *x = n->operands[0];
      return x->shape.size() == 2 && x->shape[0] == count && !n->attrs.ints[0] ? x : nullptr;
    }
    const OpInfo &info = opInfo(n->op);
    if (info.isElementwise() || info.isView())
      for (Node *o : n->operands)
        if (!opInfo(o->op).isLeaf())
          queue.push_back(o);
  }
  return nullptr;
}

std::unique_ptr<Graph> lowerClassifier(const sema::Program &p, int64_t count, const std::string &inputName,
                                       DiagnosticEngine &diags) {
  auto g = std::make_unique<Graph>("classify");
  ParamTable params;
  const ast::FuncDecl &C = *p.classifier;
  const sema::DataSpec &d = p.data.front();
  Elaborator el(p, *g, params, count, diags, /*training=*/false);
  Shape s{count};
  s.insert(s.end(), d.shape.begin(), d.shape.end());
  std::string why;
  Node *in = g->input(inputName, s, d.loc, &why);
  if (!in) {
    diags.error(d.loc, std::to_string(count) + " samples of '" + d.name + "' are too many at once: " + why,
                static_cast<uint32_t>(d.name.size()));
    return nullptr;
  }
  auto v = el.callPlayer(C, {Value::tensor(in, true)}, C.nameRange.begin);
  if (!v)
    return nullptr;
  g->addOutput(names::kOutput, v->node);
  if (Node *f = lastDenseInput(v->node, count))
    g->addOutput(names::kFeatures, f);
  return g;
}

std::unique_ptr<Graph> lowerSampler(const sema::Program &p, int64_t count,
                                    const std::string &inputSuffix, DiagnosticEngine &diags) {
  auto g = std::make_unique<Graph>("sample");
  ParamTable params;
  if (!p.generator) {
    diags.error({}, "the model has no generator to sample (it trains a classifier)");
    return nullptr;
  }
  const ast::FuncDecl &G = *p.generator;
  if (p.generatorNoise.size() != G.params.size() || G.params.empty()) {
    diags.error(G.nameRange.begin, "sampling needs noise for every input of the generator", G.nameRange.length);
    return nullptr;
  }
  Elaborator el(p, *g, params, count, diags, /*training=*/false);
  if (p.plan.ema > 0)
    el.readParamsWithSuffix("@" + std::string(names::kEmaSlot));
  std::vector<Value> args;
  for (const std::string &name : p.generatorNoise) {
    const sema::NoiseSpec &z = *std::find_if(p.noise.begin(), p.noise.end(),
                                             [&](const sema::NoiseSpec &n) { return n.name == name; });
    Shape s{count};
    s.insert(s.end(), z.shape.begin(), z.shape.end());
    std::string why;
    Node *in = g->input(name + inputSuffix, s, z.loc, &why);
    if (!in) {
      diags.error(z.loc, std::to_string(count) + " samples of '" + name + "' are too many at once: " + why,
                  static_cast<uint32_t>(name.size()));
      return nullptr;
    }
    args.push_back(Value::tensor(in, true));
  }
  auto v = el.callPlayer(G, std::move(args), G.nameRange.begin);
  if (!v)
    return nullptr;
  g->addOutput(names::kSample, v->node);
  return g;
}

} // namespace ganc::lower
