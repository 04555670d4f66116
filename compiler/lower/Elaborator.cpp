//===- Elaborator.cpp - AST expressions to graph nodes --------------------===//
#include "lower/Elaborator.h"

#include "autodiff/Autodiff.h"
#include "ir/OpInfo.h"
#include "ir/Range.h"
#include "sema/Builtins.h"
#include "sema/Sema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

namespace ganc::lower {

using namespace ir;
using Kind = Value::Kind;

namespace {
uint32_t len(const std::string &s) { return static_cast<uint32_t>(s.size()); }
std::string join(const std::vector<std::string> &v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i)
    out += (i ? ", " : "") + v[i];
  return out;
}
SourceRange at(SourceLoc l, uint32_t n = 1) { return {l, n}; }
/// A number as a message shows it: 28, -28, 28.5.
std::string formatNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

/// A call of an op by its mnemonic, split into tensor operands and integer attributes.
struct OpCall {
  std::vector<Value> operands;
  std::vector<int64_t> attrs;
};
/// The first `arity` positional arguments are the operands; the op's attributes
/// (OpInfo::attrNames) follow by position or by name, trailing ones defaulting to
/// OpInfo::attrDefaults. On a mistake, returns nullopt with the message and its place.
std::optional<OpCall> splitOpCall(const ast::CallExpr &e, const OpInfo &info,
                                  const std::vector<Value> &args, SourceRange &where,
                                  std::string &why) {
  const std::string &name = e.callee;
  const std::vector<std::string> &names = info.attrNames;
  const size_t arity = static_cast<size_t>(info.arity), total = arity + names.size();
  auto countError = [&] {
    why = names.empty() ? "'" + name + "' takes " + std::to_string(arity) + " argument" +
                              (arity == 1 ? "" : "s") + ", got " + std::to_string(args.size())
                        : "'" + name + "' takes " + std::to_string(arity) + " tensor" +
                              (arity == 1 ? "" : "s") + ", then the attributes " + join(names) +
                              "; got " + std::to_string(args.size()) + " arguments";
    return std::nullopt;
  };
  std::vector<const Value *> bound(total, nullptr);
  std::vector<SourceRange> boundAt(total, where);
  size_t pos = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const ast::Arg *a = i < e.args.size() ? &e.args[i] : nullptr;
    size_t slot = pos;
    if (a && !a->name.empty()) {
      auto it = std::find(names.begin(), names.end(), a->name);
      if (it == names.end()) {
        where = at(a->nameLoc, len(a->name));
        why = "'" + name + "' has no attribute '" + a->name + "'" +
              (names.empty() ? "" : "; its attributes are " + join(names));
        return std::nullopt;
      }
      slot = arity + static_cast<size_t>(it - names.begin());
    } else {
      ++pos;
    }
    if (slot >= total)
      return countError();
    if (bound[slot]) {
      where = a && !a->name.empty() ? at(a->nameLoc, len(a->name)) : a ? a->value->range() : where;
      why = "attribute '" + names[slot - arity] + "' is given twice";
      return std::nullopt;
    }
    bound[slot] = &args[i];
    if (a)
      boundAt[slot] = a->value->range();
  }
  OpCall call;
  for (size_t k = 0; k < arity; ++k) {
    if (!bound[k])
      return countError();
    call.operands.push_back(*bound[k]);
  }
  const size_t firstDefault = names.size() - info.attrDefaults.size();
  for (size_t k = 0; k < names.size(); ++k) {
    const Value *v = bound[arity + k];
    if (!v) {
      if (k < firstDefault) {
        why = "missing attribute '" + names[k] + "' in the call to '" + name + "'";
        return std::nullopt;
      }
      call.attrs.push_back(info.attrDefaults[k - firstDefault]);
      continue;
    }
    if (v->kind != Kind::Number || !v->isInt) {
      where = boundAt[arity + k];
      why = "'" + name + "' expects an integer for '" + names[k] + "', got " +
            (v->kind == Kind::Number   ? formatNumber(v->num)
             : v->kind == Kind::Tensor ? std::string("a tensor")
             : v->kind == Kind::List   ? std::string("a list")
                                       : std::string("a string"));
      return std::nullopt;
    }
    if (std::fabs(v->num) > static_cast<double>(kMaxDimension)) {
      where = boundAt[arity + k];
      why = "'" + name + "' expects '" + names[k] + "' of at most " + std::to_string(kMaxDimension) + ", got " +
            formatNumber(v->num);
      return std::nullopt;
    }
    call.attrs.push_back(static_cast<int64_t>(v->num));
  }
  return call;
}

} // namespace

Elaborator::Elaborator(const sema::Program &p, Graph &g, ParamTable &params, int64_t batch,
                       DiagnosticEngine &diags, bool training, std::string stepPlayer,
                       RunningStats *running)
    : p_(p), g_(g), b_(g), params_(params), batch_(batch), diags_(diags), training_(training),
      stepPlayer_(std::move(stepPlayer)), running_(running) {
  // A batch of each source; one too large for ganc's size limits is an error at it.
  auto source = [&](const std::string &name, const std::vector<int64_t> &sample, SourceLoc loc) {
    Shape s{batch};
    s.insert(s.end(), sample.begin(), sample.end());
    std::string why;
    if (Node *n = g.input(name, s, loc, &why)) {
      game_.vars[name] = Value::tensor(n, true);
    } else {
      diags_.error(loc, "a batch of " + std::to_string(batch) + " of '" + name + "' is too large: " + why,
                   static_cast<uint32_t>(name.size()));
      broken_ = true;
    }
  };
  for (const sema::DataSpec &d : p.data) {
    source(d.name, d.shape, d.loc);
    if (d.classes > 0)
      source(d.labelsName, {d.classes}, d.labelsLoc);
  }
  for (const sema::NoiseSpec &n : p.noise)
    source(n.name, n.shape, n.loc);
}

void Elaborator::error(SourceRange r, const std::string &msg) {
  diags_.error(r.begin, msg, r.length);
  for (auto it = stack_.rbegin(); it != stack_.rend(); ++it)
    diags_.note(it->first.begin, "in the call to '" + it->second + "' here", it->first.length);
}

void Elaborator::warning(SourceRange r, const std::string &msg) {
  diags_.warning(r.begin, msg, r.length);
  for (auto it = stack_.rbegin(); it != stack_.rend(); ++it)
    diags_.note(it->first.begin, "in the call to '" + it->second + "' here", it->first.length);
}

void Elaborator::note(SourceRange r, const std::string &msg) {
  diags_.note(r.begin, msg, r.length);
}

std::optional<Value> Elaborator::evalGame(const ast::Expr &e) {
  if (broken_)
    return std::nullopt;
  return eval(e, game_);
}

std::optional<Value> Elaborator::callPlayer(const ast::FuncDecl &f, std::vector<Value> args, SourceLoc loc) {
  if (broken_)
    return std::nullopt;
  ast::CallExpr call({loc, 1}, f.name, {loc, 1});
  return callUser(call, f, std::move(args), game_);
}

Node *Elaborator::asTensor(const Value &v) {
  if (v.kind == Kind::Tensor)
    return v.node;
  return g_.constant(v.num, {}, b_.loc());
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

std::optional<Value> Elaborator::eval(const ast::Expr &e, Frame &f) {
  SourceLoc saved = b_.loc();
  b_.setLoc(e.loc());
  std::optional<Value> r;
  if (auto *n = ast::dynCast<ast::NumberExpr>(&e)) {
    r = Value::number(n->value, n->isInt);
  } else if (auto *s = ast::dynCast<ast::StringExpr>(&e)) {
    Value v;
    v.kind = Kind::String;
    v.str = s->value;
    r = v;
  } else if (auto *n = ast::dynCast<ast::NameExpr>(&e)) {
    r = evalName(*n, f);
  } else if (auto *c = ast::dynCast<ast::CallExpr>(&e)) {
    r = evalCall(*c, f);
  } else if (auto *l = ast::dynCast<ast::ListExpr>(&e)) {
    Value v;
    v.kind = Kind::List;
    for (auto &x : l->elems) {
      auto ev = eval(*x, f);
      if (!ev)
        return std::nullopt;
      v.list.push_back(*ev);
    }
    r = v;
  } else if (auto *u = ast::dynCast<ast::UnaryExpr>(&e)) {
    auto x = eval(*u->operand, f);
    if (!x)
      return std::nullopt;
    if (x->kind == Kind::Number)
      r = Value::number(-x->num, x->isInt);
    else if (x->kind == Kind::Tensor)
      r = Value::tensor(b_.neg(x->node), x->batched);
    else
      error(e.range(), "cannot negate a " + std::string(x->kind == Kind::List ? "list" : "string"));
  } else if (auto *bin = ast::dynCast<ast::BinaryExpr>(&e)) {
    r = evalBinary(*bin, f);
  }
  b_.setLoc(saved);
  return r;
}

std::optional<Value> Elaborator::evalName(const ast::NameExpr &e, Frame &f) {
  if (auto it = f.vars.find(e.name); it != f.vars.end())
    return it->second;
  if (p_.consts.count(e.name)) {
    auto v = sema::evalConstant(*p_.consts.at(e.name)->value, p_);
    if (!v) {
      error(e.range(), "constant '" + e.name + "' is not a number");
      return std::nullopt;
    }
    return Value::number(*v, *v == std::floor(*v));
  }
  if (!f.func) {
    if (auto it = valueCache_.find(e.name); it != valueCache_.end())
      return it->second;
    if (auto it = p_.values.find(e.name); it != p_.values.end()) {
      auto v = eval(*it->second->expr, f);
      if (v)
        valueCache_[e.name] = *v;
      return v;
    }
  }
  error(e.range(), "unknown name '" + e.name + "'");
  return std::nullopt;
}

std::optional<Value> Elaborator::evalBinary(const ast::BinaryExpr &e, Frame &f) {
  auto l = eval(*e.lhs, f);
  auto r = eval(*e.rhs, f);
  if (!l || !r)
    return std::nullopt;
  SourceRange where = e.range();
  if (e.op == "**") {
    if (l->kind == Kind::Number && r->kind == Kind::Number) {
      // As in Python, 2 ** -1 is 0.5, not an integer.
      double v = std::pow(l->num, r->num);
      return Value::number(v, l->isInt && r->isInt && v == std::floor(v));
    }
    if (l->kind != Kind::Tensor || r->kind != Kind::Number || !r->isInt || r->num < 1 || r->num > 8) {
      error(where, "'**' on tensors needs a small positive integer exponent (1 to 8)");
      return std::nullopt;
    }
    Node *acc = l->node;
    for (int i = 1; i < static_cast<int>(r->num); ++i)
      acc = b_.mul(acc, l->node);
    return Value::tensor(acc, l->batched);
  }
  OpKind op = e.op == "+" ? OpKind::Add : e.op == "-" ? OpKind::Sub : e.op == "*" ? OpKind::Mul : OpKind::Div;
  return arith(op, *l, *r, where, e.op.c_str());
}

std::optional<Value> Elaborator::arith(OpKind op, Value a, Value b, SourceRange where,
                                       const char *spelled) {
  for (const Value *v : {&a, &b})
    if (v->kind == Kind::String || v->kind == Kind::List) {
      error(where, std::string("'") + spelled + "' needs numbers or tensors, not a " +
                       (v->kind == Kind::List ? "list" : "string"));
      return std::nullopt;
    }
  if (a.kind == Kind::Number && b.kind == Kind::Number) {
    double x = a.num, y = b.num;
    double r = op == OpKind::Add ? x + y : op == OpKind::Sub ? x - y : op == OpKind::Mul ? x * y : x / y;
    bool isInt = a.isInt && b.isInt && (op != OpKind::Div || std::fmod(x, y) == 0);
    return Value::number(r, isInt);
  }
  Node *x = asTensor(a), *y = asTensor(b);
  bool batched = a.batched || b.batched;
  // A rank-0 operand broadcasts inside the op; otherwise NumPy's rule on the per-sample
  // shapes: aligned on the right, each pair of sizes equal or one of them 1. The batch
  // axis stays first: a per-sample scalar (mean(x, axes = [0])) against per-sample [c]
  // spreads over c, never over the batch.
  if (!x->shape.empty() && !y->shape.empty() && x->shape != y->shape) {
    std::optional<Shape> to = broadcastShape(a.sampleShape(), b.sampleShape());
    if (!to) {
      error(where, std::string("cannot combine ") + formatShape(a.sampleShape()) + " and " +
                       formatShape(b.sampleShape()) + " in '" + spelled + "'" +
                       (batched ? " (per-sample shapes; the batch axis is implicit)" : ""));
      return std::nullopt;
    }
    Shape full = *to;
    if (batched)
      full.insert(full.begin(), batch_);
    auto expand = [&](Node *n, const Value &v) {
      Shape s = v.sampleShape();
      if (v.batched && s.size() < to->size()) {
        Shape padded{n->shape[0]};
        padded.insert(padded.end(), to->size() - s.size(), 1);
        padded.insert(padded.end(), s.begin(), s.end());
        n = b_.reshape(n, padded);
      }
      return n->shape == full ? n : broadcastTo(n, full);
    };
    x = expand(x, a);
    y = expand(y, b);
  }
  return Value::tensor(b_.make(op, {x, y}), batched);
}

std::optional<Shape> Elaborator::broadcastShape(const Shape &a, const Shape &b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[out.size() - 1 - i] = std::max(da, db);
  }
  return out;
}

Node *Elaborator::broadcastTo(Node *x, const Shape &to) {
  // Pad on the left with 1s, then expand each run of size-1 axes with one reshape (drop
  // the run) and one broadcast (insert it at full size), left to right.
  Shape cur(to.size() - x->shape.size(), 1);
  cur.insert(cur.end(), x->shape.begin(), x->shape.end());
  for (size_t i = 0; i < to.size();) {
    if (cur[i] == to[i]) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < to.size() && cur[end] != to[end])
      ++end;
    Shape without(cur.begin(), cur.begin() + static_cast<long>(i));
    without.insert(without.end(), cur.begin() + static_cast<long>(end), cur.end());
    if (x->shape != without)
      x = b_.reshape(x, without);
    Shape next = cur;
    std::copy(to.begin() + static_cast<long>(i), to.begin() + static_cast<long>(end), next.begin() + static_cast<long>(i));
    x = b_.broadcast(x, next, static_cast<int64_t>(i), static_cast<int64_t>(end));
    cur = next;
    i = end;
  }
  if (x->shape != to)
    x = b_.reshape(x, to);
  return x;
}

Node *Elaborator::reduceAxes(Node *x, std::vector<int64_t> axes, OpKind op) {
  // Contiguous runs of axes, reduced from the last run to the first so indices hold.
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  for (size_t j = axes.size(); j > 0;) {
    size_t i = j - 1;
    while (i > 0 && axes[i - 1] == axes[i] - 1)
      --i;
    x = b_.make(op, {x}, {{axes[i], axes[j - 1] + 1}, 0, ""});
    j = i;
  }
  return x;
}

std::optional<Value> Elaborator::make(OpKind op, std::vector<Value> args, SourceRange where,
                                      const std::string &spelled, Attrs attrs) {
  std::vector<Node *> operands;
  bool batched = false;
  for (const Value &v : args) {
    if (v.kind != Kind::Tensor && v.kind != Kind::Number) {
      error(where, "'" + spelled + "' takes tensors or numbers");
      return std::nullopt;
    }
    operands.push_back(asTensor(v));
    batched |= v.batched;
  }
  std::string why;
  Node *n = g_.make(op, operands, std::move(attrs), b_.loc(), &why);
  if (!n) {
    // Named as the user spelled it (flatten builds a reshape, concat pads).
    const std::string mnemonic = std::string("'") + opInfo(op).mnemonic + "'";
    if (why.rfind(mnemonic, 0) == 0)
      why.replace(0, mnemonic.size(), "'" + spelled + "'");
    error(where, why);
    return std::nullopt;
  }
  return Value::tensor(n, batched);
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

std::optional<Value> Elaborator::evalCall(const ast::CallExpr &e, Frame &f) {
  // Its argument names a player, not a value (sema checked it).
  if (e.callee == "orthogonal_reg")
    return orthogonalReg(e);
  // Initializer names are only meaningful in `param` statements.
  std::vector<Value> args;
  for (const ast::Arg &a : e.args) {
    auto v = eval(*a.value, f);
    if (!v)
      return std::nullopt;
    args.push_back(*v);
  }
  if (auto it = p_.funcs.find(e.callee); it != p_.funcs.end())
    return callUser(e, *it->second, std::move(args), f);
  return callBuiltin(e, std::move(args), f);
}

std::optional<Value> Elaborator::batchNorm(const ast::CallExpr &e, const Value &x, Frame &f) {
  // y = (x - mean) / sqrt(var + eps) per channel (axis 0 of the sample), over the batch and
  // every other axis; in training the statistics of the batch (and the gradient flows
  // through them), in sampling the running statistics.
  const Shape &s = x.node->shape;
  if (!x.batched || s.size() < 2) {
    error(e.range(), "'batch_norm' normalizes batched values with a channel axis, e.g. [c] or [c, h, w] per sample");
    return std::nullopt;
  }
  if (f.player.empty()) {
    error(e.range(), "'batch_norm' keeps running statistics, so it must be called inside a player");
    return std::nullopt;
  }
  const double eps = 1e-5, momentum = 0.1;
  const int64_t channels = s[1];
  const double count = static_cast<double>(x.node->numel()) / static_cast<double>(channels);
  ++sited_;
  std::string prefix = f.prefix + "batch_norm_" + std::to_string(++f.calls["batch_norm"]) + ".";
  std::string meanName = prefix + "running_mean", varName = prefix + "running_var";
  Shape perChannel{channels};
  Shape shaped{channels}; // [c, 1, 1] against [B, c, h, w]
  shaped.insert(shaped.end(), s.size() - 2, 1);
  auto spread = [&](Node *v) { return broadcastTo(shaped.size() > 1 ? b_.reshape(v, shaped) : v, s); };
  // 1 / sqrt(var + eps) once per channel, and a multiply per element: the forward pass
  // and its gradient then divide c times, not once or twice for every element (a
  // division costs some nine multiply-adds' time on AVX-512).
  auto inverseStd = [&](Node *v) { return b_.div(b_.scalar(1), b_.unary(OpKind::Sqrt, b_.add(v, eps))); };
  Node *mean, *var;
  if (training_) {
    std::vector<int64_t> axes{0};
    for (int64_t a = 2; a < static_cast<int64_t>(s.size()); ++a)
      axes.push_back(a);
    mean = b_.mul(reduceAxes(x.node, axes), 1.0 / count);
    Node *centered = b_.sub(x.node, spread(mean));
    var = b_.mul(reduceAxes(b_.mul(centered, centered), axes), 1.0 / count);
    if (running_ && f.player == stepPlayer_) {
      // running = (1 - momentum) running + momentum batch statistic (unbiased variance),
      // chained when the layer runs twice in one step (D on real, then on fake samples).
      auto update = [&](const std::string &name, Node *stat, bool startsAtOne) {
        Node *cur = currentState(name, perChannel, e.loc());
        runningNow_[name] = b_.add(b_.mul(cur, 1 - momentum), b_.mul(stat, momentum));
        running_->add(name, perChannel, startsAtOne);
      };
      update(meanName, mean, false);
      update(varName, b_.mul(var, count > 1 ? count / (count - 1) : 1.0), true);
    }
    return Value::tensor(b_.mul(centered, spread(inverseStd(var))), true);
  }
  mean = g_.input(meanName, perChannel, e.loc());
  var = g_.input(varName, perChannel, e.loc());
  return Value::tensor(b_.mul(b_.sub(x.node, spread(mean)), spread(inverseStd(var))), true);
}

Node *Elaborator::currentState(const std::string &name, const Shape &shape, SourceLoc loc) {
  auto it = runningNow_.find(name);
  return it != runningNow_.end() ? it->second : g_.input(name, shape, loc);
}

std::optional<Value> Elaborator::spectralNorm(const ast::CallExpr &e, const Value &w, Frame &f) {
  // W / sigma(W), sigma estimated by one power iteration per use (Miyato et al., 2018)
  // on W viewed as [rows, everything else]. The left singular vector u is state carried
  // between steps: the owning player's step updates it, other programs read it.
  if (w.batched || w.node->shape.size() < 2) {
    error(e.range(), "'spectral_norm' normalizes a weight matrix or filter bank (a parameter of rank 2 or more), got " +
                         std::string(w.batched ? "a per-sample value" : "a value of shape " + formatShape(w.node->shape)));
    return std::nullopt;
  }
  if (f.player.empty()) {
    error(e.range(), "'spectral_norm' keeps its power-iteration vector as state, so it must be called inside a player");
    return std::nullopt;
  }
  const int64_t rows = w.node->shape[0], cols = w.node->numel() / rows;
  if (cols > ir::kMaxDimension) {
    error(e.range(), "'spectral_norm' views its weight as [rows, the rest]: " + formatShape(w.node->shape) +
                         " makes rows of " + std::to_string(cols) + " values, more than ganc supports (2^30 per axis)");
    return std::nullopt;
  }
  ++sited_;
  const std::string uName = f.prefix + "spectral_norm_" + std::to_string(++f.calls["spectral_norm"]) + ".u";
  if (running_)
    running_->add(uName, {rows}, /*startsAtOne=*/true); // any start but 0 converges
  Node *u = currentState(uName, {rows}, e.loc());
  Node *m = w.node->shape.size() == 2 ? w.node : b_.reshape(w.node, {rows, cols});
  Node *frozen = b_.unary(OpKind::StopGradient, m);
  auto normalized = [&](Node *x) {
    return b_.div(x, b_.add(b_.unary(OpKind::Sqrt, b_.sumAll(b_.mul(x, x))), 1e-12));
  };
  Node *v = normalized(b_.matmul(b_.reshape(u, {1, rows}), frozen));  // [1, cols]
  Node *u2 = normalized(b_.matmul(v, frozen, false, true));            // [1, rows]
  Node *sigma = b_.sumAll(b_.mul(b_.matmul(u2, m), v));                 // u2^T W v
  if (training_ && running_ && f.player == stepPlayer_)
    runningNow_[uName] = b_.reshape(u2, {rows});
  return Value::tensor(b_.div(w.node, sigma), false);
}

std::optional<Value> Elaborator::dropout(const ast::CallExpr &e, const Value &x, double p, Frame &f) {
  // Inverted dropout: in a training step, x times a mask of 0 (probability p) and
  // 1 / (1 - p), so the expectation is x; when sampling, x itself. Every call in every
  // step program has its own mask, which the runtime draws afresh for each update.
  if (!x.batched) {
    error(e.range(), "'dropout' drops values of each sample; this value has no batch axis");
    return std::nullopt;
  }
  ++sited_;
  const std::string site = f.prefix + "dropout_" + std::to_string(++f.calls["dropout"]);
  if (!training_ || p == 0)
    return x;
  std::string name = names::dropoutMask(site, stepPlayer_, static_cast<int>(masks_.size()) + 1);
  masks_.push_back({name, x.sampleShape(), p});
  return Value::tensor(b_.mul(x.node, g_.input(name, x.node->shape, e.loc())), true);
}

std::optional<Value> Elaborator::orthogonalReg(const ast::CallExpr &e) {
  // BigGAN's orthogonal regularization (Brock et al., 2019): for each weight W of the
  // player (a parameter of rank 2 or more, viewed as [first axis, the rest]), the squared
  // off-diagonal entries of its Gram matrix, ||W W^T (1 - I)||^2, on the shorter side,
  // the one that can be orthonormal. Computed as ||Gram||^2 - ||diag(Gram)||^2, where the
  // diagonal holds the squared norms of the rows (columns).
  const std::string &player = ast::dynCast<ast::NameExpr>(e.args.front().value.get())->name;
  Node *total = nullptr;
  for (const ParamInfo &info : params_.params) {
    if (info.owner != player || info.shape.size() < 2)
      continue;
    const int64_t rows = info.shape[0], cols = numElements(info.shape) / rows;
    Node *w = g_.param(info.name, info.shape, info.loc);
    Node *m = info.shape.size() == 2 ? w : b_.reshape(w, {rows, cols});
    const bool wide = rows <= cols;
    Node *gram = wide ? b_.matmul(m, m, false, true) : b_.matmul(m, m, true, false);
    Node *sq = b_.mul(m, m);
    Node *diag = wide ? b_.reduceSum(sq, 1, 2) : b_.reduceSum(sq, 0, 1);
    Node *term = b_.sub(b_.sumAll(b_.mul(gram, gram)), b_.sumAll(b_.mul(diag, diag)));
    total = total ? b_.add(total, term) : term;
  }
  if (!total) {
    error(e.range(), "'" + player + "' has no weights of rank 2 or more here; orthogonal_reg(" + player +
                         ") needs a call of '" + player + "' before it in the game block");
    return std::nullopt;
  }
  return Value::tensor(total, false);
}

std::optional<Value> Elaborator::callBuiltin(const ast::CallExpr &e, std::vector<Value> args, Frame &f) {
  SourceRange where = e.range();
  const std::string &name = e.callee;
  auto want = [&](size_t n) {
    if (args.size() == n)
      return true;
    error(where, "'" + name + "' takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") +
                     ", got " + std::to_string(args.size()));
    return false;
  };
  auto tensorArg = [&](size_t i) -> Node * {
    if (args[i].kind == Kind::Tensor)
      return args[i].node;
    error(e.args[i].value->range(), "'" + name + "' needs a tensor here");
    return nullptr;
  };

  if (name == "mean" || name == "sum" || name == "max") {
    // sum(x): every axis, the batch too, to a scalar. sum(x, axes = [..]): the given
    // per-sample axes (0 is the first axis after the batch, -1 the last), per sample.
    // max likewise.
    const OpKind reduce = name == "max" ? OpKind::ReduceMax : OpKind::ReduceSum;
    const ast::Expr *axesArg = nullptr;
    std::optional<Value> av;
    std::vector<Value> positional;
    for (size_t i = 0; i < args.size(); ++i) {
      if (e.args[i].name == "axes")
        axesArg = e.args[i].value.get(), av = args[i];
      else if (!e.args[i].name.empty()) {
        error(at(e.args[i].nameLoc, len(e.args[i].name)), "'" + name + "' has no argument '" + e.args[i].name + "'");
        return std::nullopt;
      } else
        positional.push_back(args[i]);
    }
    args = positional;
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    if (!axesArg) {
      if (x.node->shape.empty())
        return x;
      Node *s = b_.make(reduce, {x.node}, {{0, static_cast<int64_t>(x.node->shape.size())}, 0, ""});
      if (name == "mean")
        s = b_.mul(s, 1.0 / static_cast<double>(x.node->numel()));
      return Value::tensor(s, false);
    }
    std::vector<int64_t> axes;
    const int64_t rank = static_cast<int64_t>(x.sampleShape().size()), off = x.batched ? 1 : 0;
    bool ok = av && av->kind == Value::Kind::List && !av->list.empty();
    for (size_t i = 0; ok && i < av->list.size(); ++i) {
      const Value &d = av->list[i];
      ok = d.kind == Value::Kind::Number && d.isInt && d.num >= -static_cast<double>(rank) &&
           d.num < static_cast<double>(rank);
      if (ok)
        axes.push_back(static_cast<int64_t>(d.num < 0 ? d.num + static_cast<double>(rank) : d.num) + off);
    }
    if (!ok) {
      error(axesArg->range(), "'axes' must be a list of per-sample axes, each from " + std::to_string(-rank) +
                                  " to " + std::to_string(rank - 1) + " for a value of shape " +
                                  formatShape(x.sampleShape()));
      return std::nullopt;
    }
    Node *s = reduceAxes(x.node, axes, reduce);
    if (name == "mean")
      s = b_.mul(s, static_cast<double>(s->numel()) / static_cast<double>(x.node->numel()));
    return Value::tensor(s, x.batched);
  }
  if (name == "softmax" || name == "log_softmax") {
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    return softmax(e, args[0], name == "log_softmax");
  }
  if (name == "concat")
    return concat(e, args);
  if (name == "slice") {
    // slice(x, axis, begin, end): indices [begin, end) of one per-sample axis.
    if (!want(4) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    auto axis = axisOf(x, args[1], e.args[1].value->range(), name);
    if (!axis)
      return std::nullopt;
    const int64_t size = x.node->shape[*axis];
    for (size_t i = 2; i < 4; ++i)
      if (args[i].kind != Kind::Number || !args[i].isInt) {
        error(e.args[i].value->range(), "'slice' takes integer bounds");
        return std::nullopt;
      }
    const int64_t lo = static_cast<int64_t>(args[2].num), hi = static_cast<int64_t>(args[3].num);
    if (lo < 0 || lo >= hi || hi > size) {
      error(where, "'slice' needs 0 <= begin < end <= " + std::to_string(size) + " (the size of axis " +
                       formatNumber(args[1].num) + " of " + formatShape(x.sampleShape()) + "), got " +
                       std::to_string(lo) + " and " + std::to_string(hi));
      return std::nullopt;
    }
    return Value::tensor(b_.make(OpKind::Slice, {x.node}, {{*axis, lo, hi}, 0, ""}), x.batched);
  }
  if (name == "transpose") {
    // A 2-D matrix, or a 2-D matrix per sample.
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    if (x.sampleShape().size() != 2) {
      error(where, "'transpose' needs a 2-D matrix" + std::string(x.batched ? " per sample" : "") + ", got " +
                       formatShape(x.sampleShape()));
      return std::nullopt;
    }
    return Value::tensor(b_.transpose(x.node), x.batched);
  }
  if (name == "batch_norm") {
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    return batchNorm(e, args[0], f);
  }
  if (name == "dropout") {
    if (!want(2) || !tensorArg(0))
      return std::nullopt;
    if (args[1].kind != Kind::Number || !(args[1].num >= 0 && args[1].num < 1)) {
      error(e.args[1].value->range(), "'dropout' drops a share p of the values: a number with 0 <= p < 1");
      return std::nullopt;
    }
    return dropout(e, args[0], args[1].num, f);
  }
  if (name == "spectral_norm") {
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    return spectralNorm(e, args[0], f);
  }
  if (name == "clip") {
    // clip(x, low, high) = min(max(x, low), high)
    if (!want(3) || !tensorArg(0))
      return std::nullopt;
    for (size_t i = 1; i < 3; ++i)
      if (args[i].kind != Value::Kind::Number) {
        error(e.args[i].value->range(), "'clip' takes numbers for its bounds");
        return std::nullopt;
      }
    if (args[1].num > args[2].num) {
      error(where, "'clip' needs low <= high");
      return std::nullopt;
    }
    Node *lo = b_.make(OpKind::Maximum, {args[0].node, b_.scalar(args[1].num)});
    return Value::tensor(b_.make(OpKind::Minimum, {lo, b_.scalar(args[2].num)}), args[0].batched);
  }
  if (name == "norm") {
    // The L2 norm of each sample (of the whole tensor when not batched).
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    Node *sq = b_.mul(x.node, x.node);
    int64_t first = x.batched ? 1 : 0, rank = static_cast<int64_t>(x.node->shape.size());
    Node *s = first < rank ? b_.reduceSum(sq, first, rank) : sq;
    return Value::tensor(b_.unary(OpKind::Sqrt, s), x.batched);
  }
  if (name == "grad") {
    // grad(y, x): the gradient of y (summed to a scalar first) with respect to x, as graph
    // nodes, so an objective can use it and be differentiated again (WGAN-GP, R1).
    if (!want(2) || !tensorArg(0) || !tensorArg(1))
      return std::nullopt;
    Node *y = args[0].node, *x = args[1].node;
    if (y->id < x->id) {
      error(where, "'grad' needs its first argument computed from its second");
      return std::nullopt;
    }
    Node *total = y->shape.empty() ? y : b_.sumAll(y);
    Node *g = autodiff::gradients(g_, total, {x}).front();
    if (g->is(OpKind::Const)) {
      error(e.args[0].value->range(), "this does not depend on the second argument of 'grad'; its gradient is 0");
      return std::nullopt;
    }
    return Value::tensor(g, args[1].batched);
  }
  if (name == "flatten") {
    if (!want(1) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    Shape to = x.batched ? Shape{x.node->shape[0], numElements(x.sampleShape())}
                         : Shape{x.node->numel()};
    return make(OpKind::Reshape, {x}, where, name, {to, 0, ""}); // an axis may grow too long
  }
  if (name == "reshape") {
    if (!want(2) || !tensorArg(0))
      return std::nullopt;
    const Value &x = args[0];
    const std::string from = formatShape(x.sampleShape());
    if (args[1].kind != Kind::List) {
      error(where, "cannot reshape " + from + " to a non-shape; give the sizes as a list such as [28, 28]");
      return std::nullopt;
    }
    // Checked as numbers first: a negative or fractional size is no shape, even when
    // the sizes multiply to the right count.
    std::string spelled = "[";
    bool sizesOk = true;
    double count = 1;
    for (const Value &d : args[1].list) {
      bool ok = d.kind == Kind::Number && d.num >= 1 && d.num == std::floor(d.num);
      sizesOk &= ok;
      count *= ok ? d.num : 1;
      spelled += (spelled.size() > 1 ? "," : "") +
                 (d.kind == Kind::Number ? formatNumber(d.num) : std::string("?"));
    }
    spelled += "]";
    if (!sizesOk) {
      error(where, "cannot reshape " + from + " to " + spelled + ": sizes must be positive integers");
      return std::nullopt;
    }
    if (count != static_cast<double>(numElements(x.sampleShape()))) {
      error(where, "cannot reshape " + from + " to " + spelled);
      return std::nullopt;
    }
    Shape to;
    if (x.batched)
      to.push_back(x.node->shape[0]);
    for (const Value &d : args[1].list)
      to.push_back(static_cast<int64_t>(d.num));
    return make(OpKind::Reshape, {x}, where, name, {to, 0, ""});
  }
  if (name == "matmul") {
    if (!want(2) || !tensorArg(0) || !tensorArg(1))
      return std::nullopt;
    if (args[0].batched && args[1].batched) {
      // Two per-sample matrices: a product per sample (self-attention's).
      if (args[0].sampleShape().size() != 2 || args[1].sampleShape().size() != 2) {
        error(where, "'matmul' of two per-sample values needs a matrix per sample on each side, got " +
                         formatShape(args[0].sampleShape()) + " and " + formatShape(args[1].sampleShape()));
        return std::nullopt;
      }
      return make(OpKind::MatMul, args, where, name, {{0, 0}, 0, ""});
    }
    // Leading axes of the left operand (the batch among them) fold into rows.
    Node *x = args[0].node;
    Shape lead(x->shape.begin(), x->shape.end() - (x->shape.empty() ? 0 : 1));
    if (x->shape.size() > 2)
      x = b_.reshape(x, {numElements(lead), x->shape.back()});
    auto r = make(OpKind::MatMul, {Value::tensor(x, args[0].batched), args[1]}, where, name,
                  {{0, 0}, 0, ""});
    if (!r)
      return std::nullopt;
    if (args[0].node->shape.size() > 2) {
      lead.push_back(r->node->shape.back());
      r->node = b_.reshape(r->node, lead);
    }
    return r;
  }
  if (sema::isCallableOp(name)) {
    OpKind op = *opByMnemonic(name);
    const OpInfo &info = opInfo(op);
    SourceRange errorAt = where;
    std::string why;
    std::optional<OpCall> call = splitOpCall(e, info, args, errorAt, why);
    if (!call) {
      error(errorAt, why);
      return std::nullopt;
    }
    if (info.isElementwise() && info.arity == 2)
      return arith(op, call->operands[0], call->operands[1], where, name.c_str());
    if (const Value &first = call->operands[0];
        first.batched && static_cast<int>(first.sampleShape().size()) < info.minSampleRank) {
      error(e.args[0].value->range(), "'" + name + "' needs at least " + std::to_string(info.minSampleRank) +
                                          " axes per sample, got " + formatShape(first.sampleShape()) +
                                          "; reshape it first, e.g. reshape(x, [1, 28, 28])");
      return std::nullopt;
    }
    for (size_t i = 0; info.batchedOperands >= 0 && i < call->operands.size(); ++i)
      if (static_cast<int>(i) >= info.batchedOperands && call->operands[i].batched) {
        error(i < e.args.size() ? e.args[i].value->range() : where,
              "'" + name + "' takes " + (info.batchedOperands == 0 ? "a tensor" : "weights") +
                  " without a batch axis here (argument " + std::to_string(i + 1) +
                  "), but this value is per sample");
        return std::nullopt;
      }
    if (op == OpKind::Log && call->operands[0].kind == Kind::Tensor)
      checkLogOfDiscriminator(e, *call->operands[0].node);
    return make(op, call->operands, where, name, {call->attrs, 0, ""});
  }
  error(e.calleeRange, "unknown function '" + name + "'");
  return std::nullopt;
}

void Elaborator::checkLogOfDiscriminator(const ast::CallExpr &e, const Node &x) {
  // The minimax objective takes log(D(x)): D must give probabilities. A D that ends in a
  // logit (dense, no sigmoid) makes log NaN or -inf as soon as it outputs 0 or less.
  const ast::FuncDecl *D = p_.discriminator;
  if (!D || discriminatorOutputs_.empty() || valueRange(x).positive())
    return;
  std::vector<const Node *> stack{&x};
  std::set<const Node *> seen;
  bool fromD = false;
  while (!stack.empty() && !fromD) {
    const Node *n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second)
      continue;
    fromD = discriminatorOutputs_.count(n) > 0;
    for (const Node *o : n->operands)
      stack.push_back(o);
  }
  if (!fromD)
    return;
  Interval r = valueRange(x);
  auto end = [](double v) {
    return std::isinf(v) ? std::string(v < 0 ? "-inf" : "inf") : formatNumber(v);
  };
  std::string range = std::string(r.loOpen ? "(" : "[") + end(r.lo) + ", " + end(r.hi) + (r.hiOpen ? ")" : "]");
  warning(e.range(), "log of a value computed from '" + D->name + "', which can be 0 or negative (it lies in " + range +
                         "): the objective becomes NaN or -inf; end '" + D->name +
                         "' with sigmoid, or keep its logits and take log(sigmoid(...)) or std.losses' bce_logits_*");
  note(D->nameRange, "'" + D->name + "' declared here");
}

std::optional<int64_t> Elaborator::axisOf(const Value &x, const Value &axis, SourceRange where,
                                          const std::string &fn) {
  const int64_t rank = static_cast<int64_t>(x.sampleShape().size());
  if (axis.kind != Kind::Number || !axis.isInt || axis.num < static_cast<double>(-rank) ||
      axis.num >= static_cast<double>(rank)) {
    error(where, "'" + fn + "' needs an axis from " + std::to_string(-rank) + " to " + std::to_string(rank - 1) +
                     " for a value of shape " + formatShape(x.sampleShape()));
    return std::nullopt;
  }
  int64_t a = static_cast<int64_t>(axis.num);
  return (a < 0 ? a + rank : a) + (x.batched ? 1 : 0);
}

std::optional<Value> Elaborator::softmax(const ast::CallExpr &e, const Value &x, bool log) {
  // Over the last axis, shifted by its maximum so exp never overflows; the shift cancels
  // out of the result, so no gradient flows through it.
  const int64_t rank = static_cast<int64_t>(x.node->shape.size());
  if (x.sampleShape().empty()) {
    error(e.range(), "'" + e.callee + "' normalizes over the last axis of a vector, got one value" +
                         (x.batched ? " per sample" : ""));
    return std::nullopt;
  }
  auto spread = [&](Node *v) { return b_.broadcast(v, x.node->shape, rank - 1, rank); };
  Node *top = b_.unary(OpKind::StopGradient, b_.make(OpKind::ReduceMax, {x.node}, {{rank - 1, rank}, 0, ""}));
  Node *shifted = b_.sub(x.node, spread(top));
  Node *ex = b_.unary(OpKind::Exp, shifted);
  Node *total = b_.reduceSum(ex, rank - 1, rank);
  Node *y = log ? b_.sub(shifted, spread(b_.unary(OpKind::Log, total))) : b_.div(ex, spread(total));
  return Value::tensor(y, x.batched);
}

std::optional<Value> Elaborator::concat(const ast::CallExpr &e, const std::vector<Value> &args) {
  // concat([a, b, ...], axis = 0): along one per-sample axis; other axes must agree.
  const Value *list = nullptr, *axisV = nullptr;
  Value zero = Value::number(0, true);
  SourceRange axisAt = e.range();
  for (size_t i = 0; i < args.size(); ++i) {
    if (e.args[i].name == "axis" || (e.args[i].name.empty() && i == 1))
      axisV = &args[i], axisAt = e.args[i].value->range();
    else if (e.args[i].name.empty() && i == 0)
      list = &args[i];
    else {
      error(e.args[i].value->range(), "'concat' takes a list of tensors and an axis");
      return std::nullopt;
    }
  }
  if (!list || list->kind != Kind::List || list->list.empty()) {
    error(e.range(), "'concat' takes a list of tensors, e.g. concat([z, y], axis = 0)");
    return std::nullopt;
  }
  const std::vector<Value> &parts = list->list;
  for (const Value &v : parts)
    if (v.kind != Kind::Tensor || v.batched != parts[0].batched) {
      error(e.args[0].value->range(), v.kind != Kind::Tensor
                                          ? "'concat' joins tensors, not numbers"
                                          : "'concat' joins per-sample values with per-sample values and "
                                            "weights with weights");
      return std::nullopt;
    }
  auto axis = axisOf(parts[0], axisV ? *axisV : zero, axisAt, "concat");
  if (!axis)
    return std::nullopt;
  int64_t total = 0;
  for (const Value &v : parts) {
    Shape a = v.node->shape, b = parts[0].node->shape;
    if (a.size() != b.size()) {
      error(e.args[0].value->range(), "'concat' needs values of one rank, got " + formatShape(parts[0].sampleShape()) +
                                          " and " + formatShape(v.sampleShape()));
      return std::nullopt;
    }
    a[*axis] = b[*axis] = 0;
    if (a != b) {
      error(e.args[0].value->range(), "'concat' along axis " + std::to_string(*axis - (v.batched ? 1 : 0)) +
                                          " needs the other axes to agree, got " +
                                          formatShape(parts[0].sampleShape()) + " and " + formatShape(v.sampleShape()));
      return std::nullopt;
    }
    total += v.node->shape[*axis];
  }
  // Each part padded with zeros to its place, then summed.
  Node *sum = nullptr;
  int64_t before = 0;
  for (const Value &v : parts) {
    int64_t n = v.node->shape[*axis];
    Node *placed = v.node;
    if (parts.size() > 1) { // the joined axis may be longer than ganc supports
      std::optional<Value> p =
          make(OpKind::Pad, {v}, e.range(), "concat", {{*axis, before, total - before - n}, 0, ""});
      if (!p)
        return std::nullopt;
      placed = p->node;
    }
    sum = sum ? b_.add(sum, placed) : placed;
    before += n;
  }
  return Value::tensor(sum, parts[0].batched);
}

std::optional<std::vector<int64_t>> Elaborator::evalShape(const ast::ShapeSpec &s, Frame &f) {
  std::vector<int64_t> dims;
  for (auto &d : s.dims) {
    auto v = eval(*d, f);
    if (!v)
      return std::nullopt;
    if (v->kind != Kind::Number || v->num < 1 || v->num != std::floor(v->num) || v->num > kMaxDimension) {
      error(d->range(), v->kind == Kind::Number && v->num > kMaxDimension
                            ? "a dimension must be at most " + std::to_string(kMaxDimension) + ", got " + formatNumber(v->num)
                            : std::string("a dimension must be a positive integer"));
      return std::nullopt;
    }
    dims.push_back(static_cast<int64_t>(v->num));
  }
  return dims;
}

namespace {
/// Appends a value to a call's key: tensors by node, numbers by their bits.
void appendKey(std::string &out, const Value &v) {
  switch (v.kind) {
  case Kind::Tensor:
    out += "t" + std::to_string(reinterpret_cast<uintptr_t>(v.node)) + (v.batched ? "b" : "");
    break;
  case Kind::Number: {
    uint64_t bits;
    std::memcpy(&bits, &v.num, sizeof bits);
    out += "n" + std::to_string(bits) + (v.isInt ? "i" : "");
    break;
  }
  case Kind::String:
    out += "s" + std::to_string(v.str.size()) + ":" + v.str;
    break;
  case Kind::List:
    out += "l" + std::to_string(v.list.size()) + "[";
    for (const Value &e : v.list)
      appendKey(out, e);
    out += "]";
    break;
  }
  out += ";";
}
} // namespace

std::string Elaborator::callKey(const ast::FuncDecl &callee,
                                const std::map<std::string, Value> &vars) {
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(&callee)) + "(";
  for (const auto &[name, v] : vars) {
    key += name + "=";
    appendKey(key, v);
  }
  return key;
}

std::optional<Value> Elaborator::callUser(const ast::CallExpr &e, const ast::FuncDecl &callee,
                                          std::vector<Value> args, Frame &f) {
  SourceRange where = e.range();
  for (const auto &[site, name] : stack_)
    if (name == callee.name) {
      error(e.calleeRange, "'" + callee.name + "' calls itself; functions are inlined, so recursion is not allowed");
      note(callee.nameRange, "'" + callee.name + "' declared here");
      return std::nullopt;
    }
  Frame inner;
  inner.func = &callee;
  if (callee.isPlayer()) {
    inner.prefix = callee.name + ".";
    inner.player = callee.name;
  } else {
    int site = ++f.calls[callee.name];
    inner.prefix = f.prefix + callee.name + "_" + std::to_string(site) + ".";
    inner.player = f.player;
  }
  auto declared = [&] { note(callee.nameRange, "'" + callee.name + "' declared here"); };

  // Match arguments to parameters, positional first, then by name.
  std::vector<const Value *> bound(callee.params.size(), nullptr);
  std::vector<SourceRange> argRange(callee.params.size(), where);
  size_t pos = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const ast::Arg *a = i < e.args.size() ? &e.args[i] : nullptr;
    size_t k = pos;
    if (a && !a->name.empty()) {
      k = callee.params.size();
      for (size_t j = 0; j < callee.params.size(); ++j)
        if (callee.params[j].name == a->name)
          k = j;
      if (k == callee.params.size()) {
        error(at(a->nameLoc, len(a->name)), "'" + callee.name + "' has no parameter '" + a->name + "'");
        declared();
        return std::nullopt;
      }
    } else {
      ++pos;
    }
    if (k >= callee.params.size()) {
      error(where, "'" + callee.name + "' takes " + std::to_string(callee.params.size()) +
                       " argument" + (callee.params.size() == 1 ? "" : "s") + ", got " +
                       std::to_string(args.size()));
      declared();
      return std::nullopt;
    }
    if (bound[k]) {
      SourceRange again = !a ? where : a->name.empty() ? a->value->range() : at(a->nameLoc, len(a->name));
      error(again, "'" + callee.params[k].name + "' is given twice");
      declared();
      return std::nullopt;
    }
    bound[k] = &args[i];
    if (a)
      argRange[k] = a->value->range();
  }

  // Size variables bound so far, with the parameter whose shape bound each.
  std::map<std::string, const ast::Param *> sizeFrom;
  for (size_t k = 0; k < callee.params.size(); ++k) {
    const ast::Param &prm = callee.params[k];
    if (!bound[k]) {
      error(where, "missing argument '" + prm.name + "' in the call to '" + callee.name + "'");
      declared();
      return std::nullopt;
    }
    const Value &v = *bound[k];
    if (!prm.isTensor) {
      if (v.kind != Kind::Number || (prm.scalarType == "int" && !v.isInt)) {
        error(argRange[k], "'" + callee.name + "' expects " +
                               (prm.scalarType == "int" ? "an integer" : "a number") +
                               " for '" + prm.name + "'");
        declared();
        return std::nullopt;
      }
      // `fn f(x: [units], units: int)`: the shape of x already says what units is.
      if (auto it = sizeFrom.find(prm.name); it != sizeFrom.end()) {
        double size = inner.vars.at(prm.name).num;
        if (v.num != size) {
          error(argRange[k], "'" + prm.name + "' is " + formatNumber(v.num) + " here, but the shape of '" +
                                 it->second->name + "' makes it " + formatNumber(size));
          declared();
          return std::nullopt;
        }
      }
      inner.vars[prm.name] = v;
      continue;
    }
    if (v.kind != Kind::Tensor) {
      error(argRange[k], "'" + callee.name + "' expects a tensor for '" + prm.name + "'");
      declared();
      return std::nullopt;
    }
    if (prm.anyShape) {
      inner.vars[prm.name] = v;
      continue;
    }
    // Per-sample shape against the declaration; bare names bind size variables.
    Shape actual = v.sampleShape();
    bool ok = actual.size() == prm.shape.dims.size();
    for (size_t d = 0; ok && d < actual.size(); ++d) {
      const ast::Expr &de = *prm.shape.dims[d];
      auto *nm = ast::dynCast<ast::NameExpr>(&de);
      if (nm && !p_.consts.count(nm->name) && !inner.vars.count(nm->name)) {
        inner.vars[nm->name] = Value::number(static_cast<double>(actual[d]), true);
        sizeFrom[nm->name] = &prm;
        continue;
      }
      auto want = eval(de, inner);
      if (!want)
        return std::nullopt;
      ok = want->kind == Kind::Number && want->num == static_cast<double>(actual[d]);
    }
    if (!ok) {
      // The declared shape as far as it is known: bound sizes as numbers, others by name.
      std::vector<std::string> dims;
      for (auto &d : prm.shape.dims) {
        auto *nm = ast::dynCast<ast::NameExpr>(d.get());
        std::optional<Value> dv;
        if (!nm || inner.vars.count(nm->name) || p_.consts.count(nm->name))
          dv = eval(*d, inner);
        dims.push_back(dv && dv->kind == Kind::Number ? formatNumber(dv->num)
                       : nm                           ? nm->name
                                                      : "?");
      }
      std::string expected = dims.size() == 1 && std::isdigit(static_cast<unsigned char>(dims[0][0]))
                                 ? dims[0] + " values"
                                 : "shape [" + join(dims) + "]";
      std::string got = actual.size() == 1 && dims.size() == 1 ? std::to_string(actual[0])
                                                                 : formatShape(actual);
      error(argRange[k], "'" + callee.name + "' expects an input of " + expected + ", got " + got);
      declared();
      return std::nullopt;
    }
    inner.vars[prm.name] = v;
  }

  // A call that named nothing after its site (no parameter, state or dropout mask)
  // computed a function of its arguments alone, and the same arguments give the same
  // nodes: such calls are elaborated once (a function calling another twice, 20 deep,
  // would otherwise be inlined a million times).
  std::string key = callKey(callee, inner.vars);
  if (auto it = pureCalls_.find(key); it != pureCalls_.end())
    return it->second;
  const int64_t sitedBefore = sited_;
  const unsigned errorsBefore = diags_.errorCount();
  stack_.push_back({where, callee.name});
  auto result = runBody(callee, inner, where.begin);
  stack_.pop_back();
  if (result && sited_ == sitedBefore && diags_.errorCount() == errorsBefore)
    pureCalls_.emplace(std::move(key), *result);
  if (result && result->kind == Kind::Tensor && &callee == p_.discriminator)
    discriminatorOutputs_.insert(result->node);
  return result;
}

bool Elaborator::declareParam(const ast::Stmt &s, Frame &f) {
  auto shape = evalShape(s.shape, f);
  if (!shape)
    return false;
  ++sited_;
  std::string path = f.prefix + s.name;
  if (f.player.empty()) {
    error(s.nameRange, "parameter '" + s.name + "' is declared outside a player; call this function from a generator or discriminator");
    return false;
  }
  Initializer init;
  const ast::Expr &ie = *s.value;
  std::string kind;
  std::vector<double> nums;
  if (auto *n = ast::dynCast<ast::NameExpr>(&ie)) {
    kind = n->name;
  } else if (auto *c = ast::dynCast<ast::CallExpr>(&ie)) {
    kind = c->callee;
    for (const ast::Arg &a : c->args) {
      auto v = eval(*a.value, f);
      if (!v || v->kind != Kind::Number) {
        error(a.value->range(), "initializer arguments must be numbers");
        return false;
      }
      nums.push_back(v->num);
    }
  }
  // The numbers each initializer takes: at least, at most.
  static const std::map<std::string, std::pair<size_t, size_t>> arity = {
      {"glorot_uniform", {0, 0}}, {"he_normal", {0, 0}}, {"orthogonal", {0, 1}}, {"zeros", {0, 0}},
      {"ones", {0, 0}},           {"normal", {1, 1}},    {"uniform", {2, 2}},    {"constant", {1, 1}}};
  auto it = arity.find(kind);
  if (it == arity.end() || nums.size() < it->second.first || nums.size() > it->second.second) {
    error(ie.range(), "expected an initializer: glorot_uniform, he_normal, orthogonal[(gain)], zeros, ones, "
                      "normal(std), uniform(low, high) or constant(v)");
    return false;
  }
  if (kind == "orthogonal" && nums.empty())
    nums.push_back(1); // the gain
  init.kind = kind;
  init.a = nums.size() > 0 ? nums[0] : 0;
  init.b = nums.size() > 1 ? nums[1] : 0;

  if (const ParamInfo *existing = params_.find(path)) {
    if (existing->shape != *shape) {
      error(s.nameRange, "parameter '" + path + "' is used with shape " + formatShape(*shape) +
                             " here but " + formatShape(existing->shape) + " elsewhere");
      return false;
    }
  } else {
    params_.index[path] = params_.params.size();
    SourceRange calledAt = stack_.empty() ? s.nameRange : stack_.back().first;
    params_.params.push_back({path, *shape, f.player, init, s.nameRange.begin, calledAt});
  }
  std::string why;
  Node *node = g_.param(path + paramSuffix_, *shape, s.nameRange.begin, &why);
  if (!node) {
    error(s.nameRange, why);
    return false;
  }
  f.vars[s.name] = Value::tensor(node, false);
  return true;
}

std::optional<Value> Elaborator::runBody(const ast::FuncDecl &fn, Frame &inner, SourceLoc) {
  for (const ast::Stmt &s : fn.body) {
    if (s.kind == ast::Stmt::Kind::Param) {
      if (!declareParam(s, inner))
        return std::nullopt;
      continue;
    }
    auto v = eval(*s.value, inner);
    if (!v)
      return std::nullopt;
    if (s.kind == ast::Stmt::Kind::Assign) {
      inner.vars[s.name] = *v;
      continue;
    }
    // return
    if (fn.hasResult) {
      auto want = evalShape(fn.result, inner);
      if (!want)
        return std::nullopt;
      if (v->kind != Kind::Tensor || v->sampleShape() != *want) {
        error(s.value->range(), "'" + fn.name + "' is declared to return " + formatShape(*want) +
                                    " but returns " +
                                    (v->kind == Kind::Tensor ? formatShape(v->sampleShape()) : "a number"));
        note(fn.result.range, "return shape declared here");
        return std::nullopt;
      }
    }
    return v;
  }
  error(fn.nameRange, "'" + fn.name + "' ends without 'return'");
  return std::nullopt;
}

} // namespace ganc::lower
