//===- Simplify.cpp - algebraic and numerically stable rewrites -----------===//
#include "opt/Simplify.h"

#include "ir/Builder.h"
#include "ir/Evaluate.h"
#include "ir/OpInfo.h"

#include <functional>
#include <unordered_map>

namespace ganc::opt {

using namespace ir;

namespace {

bool isConst(const Node *n, double v) { return n->is(OpKind::Const) && n->attrs.num == v; }
bool isScalarConst(const Node *n, double v) { return isConst(n, v) && n->shape.empty(); }
Node *arg(const Node *n, unsigned i) { return n->operands[i]; }

/// The newest node of g that `match` accepts (rewrites make nodes with higher ids, so the
/// newest is the one still in use), or null.
Node *newest(const Graph &g, const std::function<bool(const Node *)> &match) {
  for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it)
    if (match(it->get()))
      return it->get();
  return nullptr;
}

/// The leaky ReLU of x, relu(x) - relu(-x) c with a constant c > 0, if g computes it.
Node *leakyReluOf(const Graph &g, const Node *x) {
  return newest(g, [x](const Node *y) {
    if (!y->is(OpKind::Sub) || !arg(y, 0)->is(OpKind::Relu) || arg(arg(y, 0), 0) != x ||
        !arg(y, 1)->is(OpKind::Mul))
      return false;
    const Node *neg = arg(arg(y, 1), 0), *c = arg(arg(y, 1), 1);
    return neg->is(OpKind::Relu) && arg(neg, 0)->is(OpKind::Neg) && arg(arg(neg, 0), 0) == x &&
           c->is(OpKind::Const) && c->shape.empty() && c->attrs.num > 0;
  });
}

/// A rule returns the replacement of `n`, or null when it does not apply.
/// When a rule runs: canonical rules before differentiation (so gradients are taken of
/// stable forms) and after; the others only in simplify(), after differentiation.
enum class Phase { Canonical, Algebra, Codegen };

struct Rule {
  const char *name;
  std::function<Node *(Builder &, Node *)> apply;
  Phase phase = Phase::Canonical;
};

const std::vector<Rule> &rules() {
  static const std::vector<Rule> table = {
      // log(sigmoid(x)) -> -softplus(-x)
      {"log-sigmoid", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Log) || !arg(n, 0)->is(OpKind::Sigmoid)) return nullptr;
         return b.neg(b.unary(OpKind::Softplus, b.neg(arg(arg(n, 0), 0))));
       }},
      // log(1 - sigmoid(x)) -> -softplus(x)
      {"log-one-minus-sigmoid", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Log) || !arg(n, 0)->is(OpKind::Sub)) return nullptr;
         Node *s = arg(n, 0);
         if (!isScalarConst(arg(s, 0), 1) || !arg(s, 1)->is(OpKind::Sigmoid)) return nullptr;
         return b.neg(b.unary(OpKind::Softplus, arg(arg(s, 1), 0)));
       }},
      // log(exp(y) / b) -> y - log(b): with log-broadcast, log(softmax(x)) becomes
      // log_softmax(x), finite however large the logits
      {"log-exp-div", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Log) || !arg(n, 0)->is(OpKind::Div) || !arg(arg(n, 0), 0)->is(OpKind::Exp))
           return nullptr;
         Node *d = arg(n, 0);
         return b.sub(arg(arg(d, 0), 0), b.unary(OpKind::Log, arg(d, 1)));
       }},
      // log(broadcast(s)) -> broadcast(log(s)): one log per value, not per copy
      {"log-broadcast", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Log) || !arg(n, 0)->is(OpKind::Broadcast)) return nullptr;
         Node *bc = arg(n, 0);
         return b.make(OpKind::Broadcast, {b.unary(OpKind::Log, arg(bc, 0))}, bc->attrs);
       }},
      // -(-x) -> x
      {"neg-neg", [](Builder &, Node *n) -> Node * {
         return n->is(OpKind::Neg) && arg(n, 0)->is(OpKind::Neg) ? arg(arg(n, 0), 0) : nullptr;
       }},
      // x * 1 -> x
      {"mul-one", [](Builder &, Node *n) -> Node * {
         return n->is(OpKind::Mul) && isScalarConst(arg(n, 1), 1) ? arg(n, 0) : nullptr;
       }},
      // 1 * x -> x
      {"one-mul", [](Builder &, Node *n) -> Node * {
         return n->is(OpKind::Mul) && isScalarConst(arg(n, 0), 1) ? arg(n, 1) : nullptr;
       }},
      // x + 0 -> x
      {"add-zero", [](Builder &, Node *n) -> Node * {
         return n->is(OpKind::Add) && isScalarConst(arg(n, 1), 0) ? arg(n, 0) : nullptr;
       }},
      // (-a) * b -> -(a * b), so negations gather and cancel
      {"neg-mul", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Mul) || !arg(n, 0)->is(OpKind::Neg)) return nullptr;
         return b.neg(b.mul(arg(arg(n, 0), 0), arg(n, 1)));
       }},
      // f(c1, ..., cn) -> c for an elementwise f of constants (folded by f's own semantics)
      {"fold", [](Builder &b, Node *n) -> Node * {
         if (!opInfo(n->op).isElementwise()) return nullptr;
         std::vector<double> args;
         for (Node *o : n->operands) {
           if (!o->is(OpKind::Const)) return nullptr;
           args.push_back(o->attrs.num);
         }
         return b.graph().constant(evaluateScalar(n->op, args), n->shape, n->loc);
       }, Phase::Algebra},
      // broadcast(c) -> c at the broadcast shape
      {"broadcast-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Broadcast) || !arg(n, 0)->is(OpKind::Const)) return nullptr;
         return b.graph().constant(arg(n, 0)->attrs.num, n->shape, n->loc);
       }, Phase::Algebra},
      // reduce_sum(c) over R elements -> c R
      {"reduce-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::ReduceSum) || !arg(n, 0)->is(OpKind::Const)) return nullptr;
         double r = static_cast<double>(arg(n, 0)->numel()) / static_cast<double>(n->numel());
         return b.graph().constant(arg(n, 0)->attrs.num * r, n->shape, n->loc);
       }, Phase::Algebra},
      // f(x, c[shape]) -> f(x, c[]) when x alone gives the shape: a scalar needs no buffer
      {"splat-operand", [](Builder &b, Node *n) -> Node * {
         if (!opInfo(n->op).isElementwise() || n->operands.size() != 2) return nullptr;
         for (unsigned k = 0; k < 2; ++k) {
           Node *c = arg(n, k), *other = arg(n, 1 - k);
           if (c->is(OpKind::Const) && !c->shape.empty() && other->shape == n->shape) {
             std::vector<Node *> ops = n->operands;
             ops[k] = b.graph().constant(c->attrs.num, {}, c->loc);
             return b.make(n->op, ops, n->attrs);
           }
         }
         return nullptr;
       }, Phase::Algebra},
      // -(x c) -> x (-c)
      {"neg-mul-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Neg) || !arg(n, 0)->is(OpKind::Mul)) return nullptr;
         Node *m = arg(n, 0);
         if (!isScalarConst(arg(m, 1), arg(m, 1)->attrs.num)) return nullptr;
         return b.mul(arg(m, 0), -arg(m, 1)->attrs.num);
       }, Phase::Algebra},
      // (x c1) c2 -> x (c1 c2)
      {"mul-mul-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Mul) || !arg(n, 0)->is(OpKind::Mul)) return nullptr;
         Node *m = arg(n, 0);
         if (!isScalarConst(arg(n, 1), arg(n, 1)->attrs.num) || !isScalarConst(arg(m, 1), arg(m, 1)->attrs.num))
           return nullptr;
         return b.mul(arg(m, 0), arg(m, 1)->attrs.num * arg(n, 1)->attrs.num);
       }, Phase::Algebra},
      // c x -> x c, so the rules above see constants on the right
      {"const-right", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Mul) || !isScalarConst(arg(n, 0), arg(n, 0)->attrs.num) ||
             arg(n, 1)->is(OpKind::Const))
           return nullptr;
         return b.mul(arg(n, 1), arg(n, 0));
       }, Phase::Algebra},
      // x + (-y) -> x - y
      {"add-neg", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Add) || !arg(n, 1)->is(OpKind::Neg)) return nullptr;
         return b.sub(arg(n, 0), arg(arg(n, 1), 0));
       }, Phase::Algebra},
      // x - (-y) -> x + y
      {"sub-neg", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Sub) || !arg(n, 1)->is(OpKind::Neg)) return nullptr;
         return b.add(arg(n, 0), arg(arg(n, 1), 0));
       }, Phase::Algebra},
      // matmul(a, b^T) -> matmul(a, transpose(b)): the register-tiled kernel reads rows
      // of B, so one pass to transpose B buys contiguous loads in every step of K.
      {"matmul-transpose-b", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::MatMul) || n->attrs.ints[1] == 0) return nullptr;
         return b.matmul(arg(n, 0), b.transpose(arg(n, 1)), n->attrs.ints[0] != 0, false);
       }, Phase::Codegen},
      // reduce_sum(a + b) -> reduce_sum(a) + reduce_sum(b) over trailing axes [lo, rank),
      // lo >= 1, for computed a and b of the sum's operand shape: codegen runs such row
      // sums in the loop computing their operand, so a value only summed is never stored
      // (a batch-norm parameter's gradient from the real and the fake batch is such a sum).
      {"reduce-add", [](Builder &b, Node *n) -> Node * {
         if (!isRowSum(*n) || !arg(n, 0)->is(OpKind::Add)) return nullptr;
         const int64_t lo = n->attrs.ints[0], hi = n->attrs.ints[1];
         Node *a = arg(arg(n, 0), 0), *c = arg(arg(n, 0), 1);
         for (Node *o : {a, c})
           if (o->shape != arg(n, 0)->shape || !opInfo(o->op).isElementwise()) return nullptr;
         return b.add(b.reduceSum(a, lo, hi), b.reduceSum(c, lo, hi));
       }, Phase::Codegen},
      // step(x) -> step(y), step(-x) -> step(-y) where g computes y = relu(x) - relu(-x) c,
      // c > 0 (a leaky ReLU, with x's sign everywhere), else step(x) -> step(relu(x)) where
      // g computes relu(x), for x a kernel's result (a convolution's, say): the backward
      // pass of the activation then reads its output, which the next layer reads anyway,
      // and x need not be stored. An elementwise x (batch norm's output) is left alone:
      // codegen recomputes it from what the backward loop reads. (NaN and 0 give step 0
      // on both sides.)
      {"step-of-activation", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Step)) return nullptr;
         const bool negated = arg(n, 0)->is(OpKind::Neg);
         Node *x = negated ? arg(arg(n, 0), 0) : arg(n, 0);
         if (opInfo(x->op).isElementwise() || opInfo(x->op).isLeaf()) return nullptr;
         if (Node *y = leakyReluOf(b.graph(), x))
           return b.unary(OpKind::Step, negated ? b.neg(y) : y);
         if (negated) return nullptr;
         Node *r = newest(b.graph(),
                          [x](const Node *m) { return m->is(OpKind::Relu) && arg(m, 0) == x; });
         return r ? b.unary(OpKind::Step, r) : nullptr;
       }, Phase::Algebra},
      // -(c) -> (-c) for a constant c
      {"neg-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Neg) || !arg(n, 0)->is(OpKind::Const)) return nullptr;
         return b.graph().constant(-arg(n, 0)->attrs.num, n->shape, n->loc);
       }},
  };
  return table;
}

/// Rebuilds g's live nodes in order, each on its operands' replacements, and replaces
/// each by replace(node as it was, node rebuilt); returns whether anything changed.
bool rebuild(Graph &g, const std::function<Node *(Node *was, Node *cur)> &replace) {
  bool changed = false;
  std::unordered_map<uint32_t, Node *> memo;
  for (Node *n : g.live()) {
    std::vector<Node *> ops;
    for (Node *o : n->operands)
      ops.push_back(memo.at(o->id));
    Node *cur = ops == n->operands ? n : g.make(n->op, ops, n->attrs, n->loc);
    cur = replace(n, cur);
    changed |= cur != n;
    memo[n->id] = cur;
  }
  for (auto &out : g.outputs())
    out.second = memo.at(out.second->id);
  return changed;
}

bool simplifyOnce(Graph &g, bool allRules) {
  return rebuild(g, [&](Node *n, Node *cur) {
    Builder b(g, n->loc);
    for (bool fired = true; fired;) {
      fired = false;
      for (const Rule &rule : rules()) {
        if (rule.phase != Phase::Canonical && !allRules)
          continue;
        if (Node *r = rule.apply(b, cur)) {
          cur = r;
          fired = true;
          break;
        }
      }
    }
    return cur;
  });
}

bool rewrite(Graph &g, bool allRules) {
  bool any = false;
  for (int i = 0; i < 16 && simplifyOnce(g, allRules); ++i)
    any = true;
  return any;
}

/// add(matmul(a1, b1), matmul(a2, b2)) -> matmul_sum(a1, b1, a2, b2) for 2-D products of
/// one shape and the same transposes that nothing else uses: the kernel runs both K loops
/// into its accumulators instead of storing one product and reading it back (the
/// discriminator's weight gradient sums a product over the real and one over the fake
/// batch). Needs the use counts of the whole graph, so it runs as a pass of its own.
bool sumProducts(Graph &g) {
  std::unordered_map<uint32_t, int> uses;
  for (Node *n : g.live())
    for (Node *o : n->operands)
      ++uses[o->id];
  for (auto &out : g.outputs())
    ++uses[out.second->id];
  auto alone = [&](const Node *m) {
    return m->is(OpKind::MatMul) && m->shape.size() == 2 && uses[m->id] == 1;
  };
  return rebuild(g, [&](Node *n, Node *cur) {
    if (!n->is(OpKind::Add) || arg(n, 0) == arg(n, 1) || !alone(arg(n, 0)) || !alone(arg(n, 1)) ||
        arg(n, 0)->shape != arg(n, 1)->shape || arg(n, 0)->attrs.ints != arg(n, 1)->attrs.ints)
      return cur;
    const Node *m1 = arg(cur, 0), *m2 = arg(cur, 1); // the products, rebuilt
    return g.make(OpKind::MatMulSum, {arg(m1, 0), arg(m1, 1), arg(m2, 0), arg(m2, 1)}, m1->attrs,
                  m1->loc);
  });
}

} // namespace

bool canonicalize(Graph &g) { return rewrite(g, false); }
bool simplify(Graph &g) {
  const bool rewritten = rewrite(g, true);
  return sumProducts(g) || rewritten;
}

} // namespace ganc::opt
