//===- Ast.h - the .gan abstract syntax tree --------------------*- C++ -*-===//
//
// ganc's own syntax tree, built from the ANTLR parse tree by frontend/AstBuilder and read
// by sema and lowering. Every node carries the SourceLoc of its first token (and the length
// of its text, for underlining). Expressions and statements are small class hierarchies
// with a Kind tag and LLVM-style classof, so `isa`/`dyn_cast`-like tests read naturally.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "support/SourceManager.h"

#include <memory>
#include <string>
#include <vector>

namespace ganc::ast {

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Expr {
public:
  enum class Kind { Number, String, Name, Call, List, Unary, Binary };
  Expr(Kind k, SourceRange r) : kind_(k), range_(r) {}
  virtual ~Expr() = default;
  Kind kind() const { return kind_; }
  SourceLoc loc() const { return range_.begin; }
  SourceRange range() const { return range_; }

private:
  const Kind kind_;
  SourceRange range_;
};
using ExprPtr = std::unique_ptr<Expr>;

/// A numeric literal; `isInt` when written without '.' or exponent.
struct NumberExpr : Expr {
  NumberExpr(SourceRange r, double v, bool isInt) : Expr(Kind::Number, r), value(v), isInt(isInt) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Number; }
  double value;
  bool isInt;
};

struct StringExpr : Expr {
  StringExpr(SourceRange r, std::string v) : Expr(Kind::String, r), value(std::move(v)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::String; }
  std::string value;
};

struct NameExpr : Expr {
  NameExpr(SourceRange r, std::string n) : Expr(Kind::Name, r), name(std::move(n)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Name; }
  std::string name;
};

/// One argument of a call, positional or `name = value`.
struct Arg {
  std::string name; // empty when positional
  SourceLoc nameLoc;
  ExprPtr value;
};

struct CallExpr : Expr {
  CallExpr(SourceRange r, std::string callee, SourceRange calleeRange)
      : Expr(Kind::Call, r), callee(std::move(callee)), calleeRange(calleeRange) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Call; }
  std::string callee;
  SourceRange calleeRange;
  std::vector<Arg> args;
};

struct ListExpr : Expr {
  explicit ListExpr(SourceRange r) : Expr(Kind::List, r) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::List; }
  std::vector<ExprPtr> elems;
};

struct UnaryExpr : Expr {
  UnaryExpr(SourceRange r, char op, ExprPtr x) : Expr(Kind::Unary, r), op(op), operand(std::move(x)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Unary; }
  char op; // '-'
  ExprPtr operand;
};

struct BinaryExpr : Expr {
  BinaryExpr(SourceRange r, std::string op, ExprPtr l, ExprPtr rhs)
      : Expr(Kind::Binary, r), op(std::move(op)), lhs(std::move(l)), rhs(std::move(rhs)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Binary; }
  std::string op; // + - * / **
  SourceLoc opLoc;
  ExprPtr lhs, rhs;
};

template <typename T> const T *dynCast(const Expr *e) {
  return e && T::classof(e) ? static_cast<const T *>(e) : nullptr;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// A declared shape `[n, 128]`: each dimension is an expression (a constant, a size
/// variable bound at the call, or arithmetic on those).
struct ShapeSpec {
  SourceRange range;
  std::vector<ExprPtr> dims;
};

/// A function parameter: a tensor with a per-sample shape, a tensor of any shape
/// (`x: tensor`, for elementwise layers such as leaky_relu), or an `int`/`float` scalar.
struct Param {
  std::string name;
  SourceRange range;
  bool isTensor = true;
  bool anyShape = false;  // `tensor`
  std::string scalarType; // "int" or "float" when !isTensor
  ShapeSpec shape;
};

struct Stmt {
  enum class Kind { Param, Assign, Return };
  Kind kind;
  SourceRange range;
  std::string name;       // Param, Assign
  SourceRange nameRange;
  ShapeSpec shape;        // Param
  ExprPtr value;          // Param: initializer; Assign/Return: the expression
};

enum class FuncKind { Fn, Generator, Discriminator, Classifier };

struct FuncDecl {
  FuncKind kind = FuncKind::Fn;
  std::string keyword; // as written: generator, discriminator, critic, fn
  std::string name;
  SourceRange nameRange;
  std::vector<Param> params;
  bool hasResult = false;
  ShapeSpec result;
  std::vector<Stmt> body;
  uint32_t moduleId = 0; // which parsed module declared it
  bool isPlayer() const { return kind != FuncKind::Fn; }
};

struct ImportDecl {
  std::string path; // dotted, e.g. std.nn
  SourceRange range;
};

struct ConstDecl {
  std::string name;
  SourceRange nameRange;
  ExprPtr value;
};

/// `data x ~ mnist(...)` or `noise z ~ uniform(...)`.
struct SourceDecl {
  bool isNoise = false;
  std::string name;
  SourceRange nameRange;
  ExprPtr source;
};

struct GameStmt {
  bool isValue = false;      // value V = expr
  std::string name;          // value name, or player name for objectives
  SourceRange nameRange;
  bool maximizes = false;    // objectives
  ExprPtr expr;
};

struct TrainStmt {
  enum class Kind { Optimize, Schedule, Cadence, Setting };
  Kind kind;
  SourceRange range;
  std::string key;                      // setting/cadence key, or player for Optimize
  SourceRange keyRange;
  std::string grid;                     // Cadence: "4x4" or empty
  std::vector<std::pair<std::string, SourceRange>> players; // Schedule
  std::vector<ExprPtr> values;          // Schedule counts; one value otherwise
};

/// One parsed .gan file.
struct Module {
  uint32_t fileId = 0;
  std::string path;
  std::vector<ImportDecl> imports;
  std::vector<ConstDecl> consts;
  std::vector<SourceDecl> sources;
  std::vector<std::unique_ptr<FuncDecl>> funcs;
  std::vector<GameStmt> game;
  SourceRange gameRange;
  bool hasGame = false;
  std::vector<TrainStmt> train;
  bool hasTrain = false;
};

} // namespace ganc::ast
