//===- Elaborator.h - AST expressions to graph nodes ------------*- C++ -*-===//
//
// Evaluates .gan expressions into graph IR nodes of one graph. Numbers fold at compile
// time; tensors become nodes; user functions are inlined with their size variables bound
// from the actual argument shapes. Tensors from data and noise carry a leading batch axis
// that signatures leave implicit; parameters do not.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "lower/Model.h"

#include <cmath>
#include <optional>
#include <set>

namespace ganc::lower {

/// A value during elaboration.
struct Value {
  enum class Kind { Tensor, Number, String, List } kind = Kind::Number;
  ir::Node *node = nullptr;
  bool batched = false; ///< node's first axis is the batch axis
  double num = 0;
  bool isInt = false;
  std::string str;
  std::vector<Value> list;

  static Value tensor(ir::Node *n, bool batched) {
    Value v;
    v.kind = Kind::Tensor;
    v.node = n;
    v.batched = batched;
    return v;
  }
  /// A number; an integer only within +-2^53, where doubles hold every integer (so a
  /// cast to int64_t is exact and defined).
  static Value number(double x, bool isInt) {
    Value v;
    v.num = x;
    v.isInt = isInt && std::fabs(x) <= 9007199254740992.0;
    return v;
  }
  /// The shape without the batch axis.
  ir::Shape sampleShape() const {
    if (!node)
      return {};
    return batched ? ir::Shape(node->shape.begin() + 1, node->shape.end()) : node->shape;
  }
};

class Elaborator {
public:
  /// `training`: batch norm normalizes with batch statistics and, for the layers of
  /// `stepPlayer`, updates the running statistics registered in `running`; otherwise it
  /// uses the running statistics.
  Elaborator(const sema::Program &p, ir::Graph &g, ParamTable &params, int64_t batch,
             DiagnosticEngine &diags, bool training = true, std::string stepPlayer = "",
             RunningStats *running = nullptr);
  /// The new values of the running statistics this graph updates, by name.
  const std::map<std::string, ir::Node *> &runningUpdates() const { return runningNow_; }
  /// The dropout masks this graph reads (training only).
  const std::vector<DropoutMask> &masks() const { return masks_; }

  /// Evaluates an expression of the game block (data, noise and values in scope).
  std::optional<Value> evalGame(const ast::Expr &e);
  /// Calls a player on tensors (used for sampling).
  std::optional<Value> callPlayer(const ast::FuncDecl &f, std::vector<Value> args, SourceLoc at);
  /// `a + b` or `a - b` (op Add or Sub) of two values, as the game block computes it.
  std::optional<Value> combine(ir::OpKind op, Value a, Value b, SourceRange where) {
    return arith(op, std::move(a), std::move(b), where, op == ir::OpKind::Add ? "+" : "-");
  }
  /// Reads every parameter from the tensor named `param + suffix` instead (sampling with
  /// the generator's moving averages, names::state(param, "ema")).
  void readParamsWithSuffix(std::string suffix) { paramSuffix_ = std::move(suffix); }

private:
  struct Frame {
    const ast::FuncDecl *func = nullptr; ///< null in the game block
    std::map<std::string, Value> vars;
    std::string prefix; ///< parameter path prefix, e.g. "G.dense_1."
    std::string player;
    std::map<std::string, int> calls; ///< call sites seen so far, per callee
  };

  std::optional<Value> eval(const ast::Expr &e, Frame &f);
  std::optional<Value> evalName(const ast::NameExpr &e, Frame &f);
  std::optional<Value> evalCall(const ast::CallExpr &e, Frame &f);
  std::optional<Value> evalBinary(const ast::BinaryExpr &e, Frame &f);
  std::optional<Value> callUser(const ast::CallExpr &e, const ast::FuncDecl &callee,
                                std::vector<Value> args, Frame &f);
  std::optional<Value> runBody(const ast::FuncDecl &fn, Frame &callee, SourceLoc callLoc);
  /// A call's identity for pureCalls_: the callee and its bound parameters and sizes.
  static std::string callKey(const ast::FuncDecl &callee, const std::map<std::string, Value> &vars);
  std::optional<Value> callBuiltin(const ast::CallExpr &e, std::vector<Value> args, Frame &f);
  std::optional<Value> batchNorm(const ast::CallExpr &e, const Value &x, Frame &f);
  std::optional<Value> spectralNorm(const ast::CallExpr &e, const Value &w, Frame &f);
  std::optional<Value> orthogonalReg(const ast::CallExpr &e);
  std::optional<Value> dropout(const ast::CallExpr &e, const Value &x, double p, Frame &f);
  /// The value of state tensor `name` so far in this program: its last update, or the
  /// stored tensor (a graph input) before any.
  ir::Node *currentState(const std::string &name, const ir::Shape &shape, SourceLoc loc);
  bool declareParam(const ast::Stmt &s, Frame &f);

  /// `a op b` with numbers folded, rank-0 broadcast by the op, and a shape that is a
  /// suffix of the other's broadcast explicitly.
  std::optional<Value> arith(ir::OpKind op, Value a, Value b, SourceRange where,
                             const char *spelled);
  std::optional<Value> make(ir::OpKind op, std::vector<Value> args, SourceRange where,
                            const std::string &spelled, ir::Attrs attrs = {});
  ir::Node *asTensor(const Value &v);
  /// NumPy's broadcast of two shapes, or nullopt when they do not broadcast.
  static std::optional<ir::Shape> broadcastShape(const ir::Shape &a, const ir::Shape &b);
  /// `x` broadcast to `to` (a shape broadcastShape accepted) with reshapes and broadcasts.
  ir::Node *broadcastTo(ir::Node *x, const ir::Shape &to);
  /// Sums (or takes the maximum, with `op` ReduceMax) over a set of axes, as contiguous
  /// reductions.
  ir::Node *reduceAxes(ir::Node *x, std::vector<int64_t> axes, ir::OpKind op = ir::OpKind::ReduceSum);
  /// softmax or log_softmax over the last axis.
  std::optional<Value> softmax(const ast::CallExpr &e, const Value &x, bool log);
  /// concat([a, b, ...], axis = k).
  std::optional<Value> concat(const ast::CallExpr &e, const std::vector<Value> &args);
  /// A per-sample axis argument (negative counts from the end) as an axis of x's node,
  /// or nullopt after an error at `where`.
  std::optional<int64_t> axisOf(const Value &x, const Value &axis, SourceRange where, const std::string &fn);
  std::optional<std::vector<int64_t>> evalShape(const ast::ShapeSpec &s, Frame &f);

  void error(SourceRange r, const std::string &msg);
  /// A warning, with notes down the calls that reached it (as error).
  void warning(SourceRange r, const std::string &msg);
  /// Warns when log's operand comes from the discriminator and may be 0 or negative.
  void checkLogOfDiscriminator(const ast::CallExpr &e, const ir::Node &x);
  void note(SourceRange r, const std::string &msg);

  const sema::Program &p_;
  ir::Graph &g_;
  ir::Builder b_;
  ParamTable &params_;
  int64_t batch_;
  DiagnosticEngine &diags_;
  Frame game_;
  /// Call sites of the functions being inlined, innermost last, for notes.
  std::vector<std::pair<SourceRange, std::string>> stack_;
  std::map<std::string, Value> valueCache_;
  bool training_;
  std::string stepPlayer_;
  RunningStats *running_;
  std::map<std::string, ir::Node *> runningNow_;
  std::string paramSuffix_;
  std::vector<DropoutMask> masks_;
  /// The results of the discriminator's calls so far.
  std::set<const ir::Node *> discriminatorOutputs_;
  bool broken_ = false; ///< a source did not fit the size limits (reported)
  /// Names made from a call site so far (parameters, running statistics, spectral
  /// norm's state, dropout masks): a call during which this did not grow depends on its
  /// arguments alone.
  int64_t sited_ = 0;
  /// Results of such calls, by callKey.
  std::map<std::string, Value> pureCalls_;
};

} // namespace ganc::lower
