//===- Printer.cpp - the AST as an indented tree --------------------------===//
#include "ast/Printer.h"

#include <sstream>

namespace ganc::ast {
namespace {

class Printer {
public:
  Printer(std::ostream &os, const SourceManager &sm) : os_(os), sm_(sm) {}

  void module(const Module &m) {
    line(0, "Module \"" + m.path + "\"", {});
    for (const ImportDecl &i : m.imports)
      line(1, "Import " + i.path, i.range.begin);
    for (const ConstDecl &c : m.consts) {
      line(1, "Const " + c.name, c.nameRange.begin);
      expr(2, *c.value);
    }
    for (const SourceDecl &s : m.sources) {
      line(1, std::string(s.isNoise ? "Noise " : "Data ") + s.name, s.nameRange.begin);
      expr(2, *s.source);
    }
    for (const auto &f : m.funcs)
      func(1, *f);
    if (m.hasGame) {
      line(1, "Game", m.gameRange.begin);
      for (const GameStmt &g : m.game) {
        line(2, g.isValue ? "Value " + g.name : "Objective " + g.name + (g.maximizes ? " maximizes" : " minimizes"),
             g.nameRange.begin);
        expr(3, *g.expr);
      }
    }
    if (m.hasTrain) {
      line(1, "Train", m.train.empty() ? SourceLoc{} : m.train.front().range.begin);
      for (const TrainStmt &t : m.train)
        trainStmt(2, t);
    }
  }

private:
  void line(int depth, const std::string &text, SourceLoc loc) {
    os_ << std::string(static_cast<size_t>(depth) * 2, ' ') << text;
    if (loc.valid()) {
      LineCol lc = sm_.lineCol(loc);
      os_ << " <" << lc.line << ":" << lc.col << ">";
    }
    os_ << "\n";
  }

  void shape(int depth, const char *what, const ShapeSpec &s) {
    line(depth, std::string(what) + " (" + std::to_string(s.dims.size()) + " dims)", s.range.begin);
    for (const ExprPtr &d : s.dims)
      expr(depth + 1, *d);
  }

  void func(int depth, const FuncDecl &f) {
    line(depth, "Func " + f.keyword + " " + f.name, f.nameRange.begin);
    for (const Param &p : f.params) {
      if (!p.isTensor) {
        line(depth + 1, "Param " + p.name + ": " + p.scalarType, p.range.begin);
      } else if (p.anyShape) {
        line(depth + 1, "Param " + p.name + ": tensor", p.range.begin);
      } else {
        line(depth + 1, "Param " + p.name, p.range.begin);
        shape(depth + 2, "Shape", p.shape);
      }
    }
    if (f.hasResult)
      shape(depth + 1, "Result", f.result);
    for (const Stmt &s : f.body) {
      switch (s.kind) {
      case Stmt::Kind::Param:
        line(depth + 1, "ParamStmt " + s.name, s.nameRange.begin);
        shape(depth + 2, "Shape", s.shape);
        line(depth + 2, "Init", s.value->loc());
        expr(depth + 3, *s.value);
        break;
      case Stmt::Kind::Assign:
        line(depth + 1, "Assign " + s.name, s.nameRange.begin);
        expr(depth + 2, *s.value);
        break;
      case Stmt::Kind::Return:
        line(depth + 1, "Return", s.range.begin);
        expr(depth + 2, *s.value);
        break;
      }
    }
  }

  void trainStmt(int depth, const TrainStmt &t) {
    switch (t.kind) {
    case TrainStmt::Kind::Optimize:
      line(depth, "Optimize " + t.key, t.range.begin);
      break;
    case TrainStmt::Kind::Schedule: {
      std::string who;
      for (const auto &[name, range] : t.players)
        who += " " + name;
      line(depth, "Schedule" + who, t.range.begin);
      break;
    }
    case TrainStmt::Kind::Cadence:
      line(depth, "Cadence " + t.key + (t.grid.empty() ? "" : " " + t.grid), t.range.begin);
      break;
    case TrainStmt::Kind::Setting:
      line(depth, "Setting " + t.key, t.range.begin);
      break;
    }
    for (const ExprPtr &v : t.values)
      expr(depth + 1, *v);
  }

  void expr(int depth, const Expr &e) {
    if (auto *n = dynCast<NumberExpr>(&e)) {
      std::ostringstream v;
      v.precision(17);
      v << n->value;
      line(depth, std::string(n->isInt ? "Int " : "Float ") + v.str(), e.loc());
    } else if (auto *s = dynCast<StringExpr>(&e)) {
      line(depth, "String \"" + s->value + "\"", e.loc());
    } else if (auto *nm = dynCast<NameExpr>(&e)) {
      line(depth, "Name " + nm->name, e.loc());
    } else if (auto *c = dynCast<CallExpr>(&e)) {
      line(depth, "Call " + c->callee, e.loc());
      for (const Arg &a : c->args) {
        if (a.name.empty()) {
          expr(depth + 1, *a.value);
        } else {
          line(depth + 1, "Arg " + a.name, a.nameLoc);
          expr(depth + 2, *a.value);
        }
      }
    } else if (auto *l = dynCast<ListExpr>(&e)) {
      line(depth, "List", e.loc());
      for (const ExprPtr &x : l->elems)
        expr(depth + 1, *x);
    } else if (auto *u = dynCast<UnaryExpr>(&e)) {
      line(depth, std::string("Unary ") + u->op, e.loc());
      expr(depth + 1, *u->operand);
    } else if (auto *b = dynCast<BinaryExpr>(&e)) {
      line(depth, "Binary " + b->op, e.loc());
      expr(depth + 1, *b->lhs);
      expr(depth + 1, *b->rhs);
    }
  }

  std::ostream &os_;
  const SourceManager &sm_;
};

} // namespace

void printModule(std::ostream &os, const Module &m, const SourceManager &sm) { Printer(os, sm).module(m); }

} // namespace ganc::ast
