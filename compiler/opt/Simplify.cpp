//===- Simplify.cpp - algebraic and numerically stable rewrites -----------===//
#include "opt/Simplify.h"

#include "ir/Builder.h"

#include <functional>
#include <unordered_map>

namespace ganc::opt {

using namespace ir;

namespace {

bool isConst(const Node *n, double v) { return n->is(OpKind::Const) && n->attrs.num == v; }
bool isScalarConst(const Node *n, double v) { return isConst(n, v) && n->shape.empty(); }
Node *arg(const Node *n, unsigned i) { return n->operands[i]; }

/// A rule returns the replacement of `n`, or null when it does not apply.
struct Rule {
  const char *name;
  std::function<Node *(Builder &, Node *)> apply;
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
      // matmul(a, b^T) -> matmul(a, transpose(b)): the register-tiled kernel reads rows
      // of B, so one pass to transpose B buys contiguous loads in every step of K.
      {"matmul-transpose-b", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::MatMul) || n->attrs.ints[1] == 0) return nullptr;
         return b.matmul(arg(n, 0), b.transpose(arg(n, 1)), n->attrs.ints[0] != 0, false);
       }},
      // -(c) -> (-c) for a constant c
      {"neg-const", [](Builder &b, Node *n) -> Node * {
         if (!n->is(OpKind::Neg) || !arg(n, 0)->is(OpKind::Const)) return nullptr;
         return b.graph().constant(-arg(n, 0)->attrs.num, n->shape, n->loc);
       }},
  };
  return table;
}

bool simplifyOnce(Graph &g) {
  bool changed = false;
  std::unordered_map<uint32_t, Node *> memo;
  for (Node *n : g.live()) {
    std::vector<Node *> ops;
    bool rebuilt = false;
    for (Node *o : n->operands) {
      Node *r = memo.at(o->id);
      rebuilt |= r != o;
      ops.push_back(r);
    }
    Node *cur = rebuilt ? g.make(n->op, ops, n->attrs, n->loc) : n;
    Builder b(g, n->loc);
    for (bool fired = true; fired;) {
      fired = false;
      for (const Rule &rule : rules()) {
        if (Node *r = rule.apply(b, cur)) {
          cur = r;
          fired = changed = true;
          break;
        }
      }
    }
    changed |= rebuilt;
    memo[n->id] = cur;
  }
  for (auto &out : g.outputs())
    out.second = memo.at(out.second->id);
  return changed;
}

} // namespace

bool simplify(Graph &g) {
  bool any = false;
  for (int i = 0; i < 16 && simplifyOnce(g); ++i)
    any = true;
  return any;
}

} // namespace ganc::opt
