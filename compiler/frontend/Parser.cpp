//===- Parser.cpp - .gan text to AST --------------------------------------===//
//
// Runs the ANTLR-generated GanLexer/GanParser and converts the parse tree into ganc's AST.
// Syntax errors are collected by a listener that replaces ANTLR's console output, so they
// come out in the same clang format as every other diagnostic.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include "GanLexer.h"
#include "GanParser.h"
#include "antlr4-runtime.h"

#include <cstdio>
#include <cstdlib>

namespace ganc::frontend {
namespace {

using G = grammar::GanParser;

/// ANTLR counts characters (code points); SourceLoc counts bytes. Maps one to the other.
class Utf8Offsets {
public:
  explicit Utf8Offsets(const std::string &text) {
    for (uint32_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
        byteOf_.push_back(i);
    byteOf_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byteOf(size_t codePoint) const {
    return byteOf_[std::min(codePoint, byteOf_.size() - 1)];
  }
  /// Bytes of the characters [first, last].
  uint32_t length(size_t first, size_t last) const {
    return last >= first ? byteOf(last + 1) - byteOf(first) : 1;
  }

private:
  std::vector<uint32_t> byteOf_;
};

/// Forwards lexer and parser errors to the DiagnosticEngine.
class ErrorForwarder : public antlr4::BaseErrorListener {
public:
  ErrorForwarder(DiagnosticEngine &diags, uint32_t fileId, const std::string &text,
                 const Utf8Offsets &utf8)
      : diags_(diags), fileId_(fileId), text_(text), utf8_(utf8) {}

  void syntaxError(antlr4::Recognizer *, antlr4::Token *tok, size_t line,
                   size_t col, const std::string &msg, std::exception_ptr) override {
    SourceLoc loc{fileId_, offsetOf(line, col)};
    uint32_t len = 1;
    if (tok && tok->getType() != antlr4::Token::EOF) {
      loc.offset = utf8_.byteOf(tok->getStartIndex());
      len = utf8_.length(tok->getStartIndex(), tok->getStopIndex());
    }
    diags_.error(loc, "syntax error: " + tidy(msg), len);
  }

private:
  /// Byte offset of (line, column in characters), for errors without a token.
  uint32_t offsetOf(size_t line, size_t col) const {
    size_t l = 1, i = 0;
    while (i < text_.size() && l < line)
      if (text_[i++] == '\n')
        ++l;
    for (size_t c = 0; i < text_.size() && c < col; ++c)
      for (++i; i < text_.size() && (static_cast<unsigned char>(text_[i]) & 0xC0) == 0x80;)
        ++i;
    return static_cast<uint32_t>(std::min(i, text_.size()));
  }
  /// ANTLR spells the end of input '<EOF>' in the offending token and <EOF> in the
  /// expected-token sets; both read better as "end of file".
  static std::string tidy(std::string msg) {
    for (const std::string eof : {"'<EOF>'", "<EOF>"})
      for (size_t p; (p = msg.find(eof)) != std::string::npos;)
        msg.replace(p, eof.size(), "end of file");
    return msg;
  }
  DiagnosticEngine &diags_;
  uint32_t fileId_;
  const std::string &text_;
  const Utf8Offsets &utf8_;
};

/// Converts parse-tree contexts into AST nodes.
class AstBuilder {
public:
  AstBuilder(uint32_t fileId, DiagnosticEngine &diags, const Utf8Offsets &utf8)
      : fileId_(fileId), diags_(diags), utf8_(utf8) {}

  std::unique_ptr<ast::Module> build(G::ModuleContext *ctx) {
    auto m = std::make_unique<ast::Module>();
    m->fileId = fileId_;
    for (G::ItemContext *item : ctx->item()) {
      if (auto *d = item->importDecl()) {
        m->imports.push_back({d->dottedName()->getText(), range(d->dottedName())});
      } else if (auto *d = item->constDecl()) {
        m->consts.push_back({d->ID()->getText(), range(d->ID()), expr(d->expr())});
      } else if (auto *d = item->dataDecl()) {
        m->sources.push_back({false, d->ID()->getText(), range(d->ID()), expr(d->expr())});
      } else if (auto *d = item->noiseDecl()) {
        m->sources.push_back({true, d->ID()->getText(), range(d->ID()), expr(d->expr())});
      } else if (auto *d = item->funcDecl()) {
        m->funcs.push_back(func(d));
        m->funcs.back()->moduleId = fileId_;
      } else if (auto *d = item->gameDecl()) {
        if (m->hasGame)
          diags_.error(loc(d), "a model has one 'game' block; this is a second one", 4);
        m->hasGame = true;
        m->gameRange = range(d);
        for (auto *s : d->gameStmt())
          m->game.push_back(gameStmt(s));
      } else if (auto *d = item->trainDecl()) {
        if (m->hasTrain)
          diags_.error(loc(d), "a model has one 'train' block; this is a second one", 5);
        m->hasTrain = true;
        for (auto *s : d->trainStmt())
          m->train.push_back(trainStmt(s));
      }
    }
    return m;
  }

private:
  SourceLoc loc(antlr4::ParserRuleContext *c) const { return loc(c->getStart()); }
  SourceLoc loc(antlr4::Token *t) const { return {fileId_, utf8_.byteOf(t->getStartIndex())}; }
  SourceRange range(antlr4::ParserRuleContext *c) const {
    size_t b = c->getStart()->getStartIndex();
    size_t e = c->getStop() ? c->getStop()->getStopIndex() : b;
    return {loc(c->getStart()), utf8_.length(b, e)};
  }
  SourceRange range(antlr4::tree::TerminalNode *t) const { return range(t->getSymbol()); }
  SourceRange range(antlr4::Token *t) const {
    return {loc(t), utf8_.length(t->getStartIndex(), t->getStopIndex())};
  }

  ast::ShapeSpec shape(G::ShapeContext *c) {
    ast::ShapeSpec s;
    s.range = range(c);
    for (auto *e : c->expr())
      s.dims.push_back(expr(e));
    return s;
  }

  std::unique_ptr<ast::FuncDecl> func(G::FuncDeclContext *c) {
    auto f = std::make_unique<ast::FuncDecl>();
    f->keyword = c->kind->getText();
    f->kind = f->keyword == "generator"    ? ast::FuncKind::Generator
              : f->keyword == "fn"         ? ast::FuncKind::Fn
              : f->keyword == "classifier" ? ast::FuncKind::Classifier
                                           : ast::FuncKind::Discriminator;
    f->name = c->ID()->getText();
    f->nameRange = range(c->ID());
    for (auto *p : c->param()) {
      ast::Param param;
      param.name = p->ID()->getText();
      param.range = range(p);
      if (auto *st = dynamic_cast<G::ShapeTypeContext *>(p->typeSpec())) {
        param.shape = shape(st->shape());
      } else {
        auto *sc = static_cast<G::ScalarTypeContext *>(p->typeSpec());
        std::string type = sc->ID()->getText();
        if (type == "tensor") {
          param.anyShape = true;
        } else {
          param.isTensor = false;
          param.scalarType = type;
          if (type != "int" && type != "float")
            diags_.error(loc(sc), "unknown parameter type '" + type +
                                      "'; expected a shape like [784], 'tensor', 'int' or 'float'",
                         static_cast<uint32_t>(type.size()));
        }
      }
      f->params.push_back(std::move(param));
    }
    if (c->shape()) {
      f->hasResult = true;
      f->result = shape(c->shape());
    }
    for (auto *s : c->block()->stmt())
      f->body.push_back(stmt(s));
    return f;
  }

  ast::Stmt stmt(G::StmtContext *c) {
    ast::Stmt s;
    s.range = range(c);
    if (auto *p = dynamic_cast<G::ParamStmtContext *>(c)) {
      s.kind = ast::Stmt::Kind::Param;
      s.name = p->ID()->getText();
      s.nameRange = range(p->ID());
      s.shape = shape(p->shape());
      s.value = expr(p->expr());
    } else if (auto *a = dynamic_cast<G::AssignStmtContext *>(c)) {
      s.kind = ast::Stmt::Kind::Assign;
      s.name = a->ID()->getText();
      s.nameRange = range(a->ID());
      s.value = expr(a->expr());
    } else {
      s.kind = ast::Stmt::Kind::Return;
      s.value = expr(static_cast<G::ReturnStmtContext *>(c)->expr());
    }
    return s;
  }

  ast::GameStmt gameStmt(G::GameStmtContext *c) {
    ast::GameStmt g;
    if (auto *v = dynamic_cast<G::ValueStmtContext *>(c)) {
      g.isValue = true;
      g.name = v->ID()->getText();
      g.nameRange = range(v->ID());
      g.expr = expr(v->expr());
      return g;
    }
    auto *o = static_cast<G::ObjectiveStmtContext *>(c);
    g.name = o->ID()->getText();
    g.nameRange = range(o->ID());
    g.maximizes = o->dir->getText() == "maximizes";
    g.expr = expr(o->expr());
    return g;
  }

  ast::TrainStmt trainStmt(G::TrainStmtContext *c) {
    ast::TrainStmt t;
    t.range = range(c);
    if (auto *o = dynamic_cast<G::OptimizeStmtContext *>(c)) {
      t.kind = ast::TrainStmt::Kind::Optimize;
      t.key = o->ID()->getText();
      t.keyRange = range(o->ID());
      t.values.push_back(expr(o->expr()));
    } else if (auto *s = dynamic_cast<G::ScheduleStmtContext *>(c)) {
      t.kind = ast::TrainStmt::Kind::Schedule;
      t.key = "schedule";
      t.keyRange = {loc(s), 8};
      for (size_t i = 0; i < s->ID().size(); ++i) {
        t.players.push_back({s->ID(i)->getText(), range(s->ID(i))});
        t.values.push_back(expr(s->expr(i)));
      }
    } else if (auto *k = dynamic_cast<G::CadenceStmtContext *>(c)) {
      t.kind = ast::TrainStmt::Kind::Cadence;
      t.key = k->key->getText();
      t.keyRange = range(k->key);
      if (k->GRID())
        t.grid = k->GRID()->getText();
      t.values.push_back(expr(k->expr()));
      // `steps` is not a keyword (it is also a setting), so the grammar takes any word
      // after the count on its line; only the unit itself means something there.
      if (k->unit && k->unit->getText() != "steps")
        diags_.error(loc(k->unit), "expected 'steps' or the end of the line after the interval of '" +
                                       t.key + "', got '" + k->unit->getText() + "'",
                     utf8_.length(k->unit->getStartIndex(), k->unit->getStopIndex()));
    } else {
      auto *s = static_cast<G::SettingStmtContext *>(c);
      t.kind = ast::TrainStmt::Kind::Setting;
      t.key = s->ID()->getText();
      t.keyRange = range(s->ID());
      t.values.push_back(expr(s->expr()));
    }
    return t;
  }

  ast::ExprPtr expr(G::ExprContext *c) {
    SourceRange r = range(c);
    if (auto *p = dynamic_cast<G::ParenExprContext *>(c))
      return expr(p->expr());
    if (auto *n = dynamic_cast<G::NumberExprContext *>(c)) {
      std::string t = n->getText();
      bool isInt = t.find_first_of(".eE") == std::string::npos;
      return std::make_unique<ast::NumberExpr>(r, std::strtod(t.c_str(), nullptr), isInt);
    }
    if (auto *s = dynamic_cast<G::StringExprContext *>(c))
      return std::make_unique<ast::StringExpr>(r, unquote(s->getText()));
    if (auto *n = dynamic_cast<G::NameExprContext *>(c))
      return std::make_unique<ast::NameExpr>(r, n->getText());
    if (auto *call = dynamic_cast<G::CallExprContext *>(c)) {
      auto e = std::make_unique<ast::CallExpr>(r, call->callee->getText(), range(call->callee));
      for (auto *a : call->arg()) {
        ast::Arg arg;
        if (a->ID()) {
          arg.name = a->ID()->getText();
          arg.nameLoc = range(a->ID()).begin;
        }
        arg.value = expr(a->expr());
        e->args.push_back(std::move(arg));
      }
      return e;
    }
    if (auto *l = dynamic_cast<G::ListExprContext *>(c)) {
      auto e = std::make_unique<ast::ListExpr>(r);
      for (auto *x : l->expr())
        e->elems.push_back(expr(x));
      return e;
    }
    if (auto *n = dynamic_cast<G::NegExprContext *>(c))
      return std::make_unique<ast::UnaryExpr>(r, '-', expr(n->expr()));
    if (auto *p = dynamic_cast<G::PowExprContext *>(c))
      return binary(r, "**", p->expr(0), p->expr(1), p->expr(0));
    if (auto *m = dynamic_cast<G::MulExprContext *>(c))
      return binary(r, m->op->getText(), m->expr(0), m->expr(1), m->op);
    auto *a = static_cast<G::AddExprContext *>(c);
    return binary(r, a->op->getText(), a->expr(0), a->expr(1), a->op);
  }

  ast::ExprPtr binary(SourceRange r, std::string op, G::ExprContext *l,
                      G::ExprContext *rhs, antlr4::Token *opTok) {
    auto e = std::make_unique<ast::BinaryExpr>(r, std::move(op), expr(l), expr(rhs));
    e->opLoc = loc(opTok);
    return e;
  }
  ast::ExprPtr binary(SourceRange r, std::string op, G::ExprContext *l,
                      G::ExprContext *rhs, G::ExprContext *) {
    auto e = std::make_unique<ast::BinaryExpr>(r, std::move(op), expr(l), expr(rhs));
    e->opLoc = r.begin;
    return e;
  }

  static std::string unquote(const std::string &s) {
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      if (s[i] == '\\' && i + 2 < s.size()) {
        char c = s[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  uint32_t fileId_;
  DiagnosticEngine &diags_;
  const Utf8Offsets &utf8_;
};

/// The byte offset of the first byte that is not part of well-formed UTF-8 (overlong
/// forms, surrogates and code points past U+10FFFF included), or npos.
size_t firstInvalidUtf8(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned c = b(i);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return i;
    unsigned cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      if ((b(i + k) & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    static const unsigned minOf[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minOf[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += n;
  }
  return std::string::npos;
}

/// How deeply a file may nest brackets, and how deep its parse tree may be: the parser,
/// the AST builder and the elaborator recurse on nesting, and a machine's stack ran out
/// at some 2,400 levels of `z + z + ...` in the sanitizer build (11,000 nested calls,
/// 28,000 parentheses in the release build). Written models nest a few dozen.
constexpr size_t kMaxBrackets = 256, kMaxTreeDepth = 1000;

/// The first token more than kMaxBrackets brackets deep, or null.
antlr4::Token *tooDeepBracket(antlr4::CommonTokenStream &tokens) {
  tokens.fill();
  size_t depth = 0;
  for (antlr4::Token *t : tokens.getTokens()) {
    const std::string text = t->getType() == antlr4::Token::EOF ? "" : t->getText();
    if (text == "(" || text == "[" || text == "{") {
      if (++depth > kMaxBrackets)
        return t;
    } else if ((text == ")" || text == "]" || text == "}") && depth > 0) {
      --depth;
    }
  }
  return nullptr;
}

/// The first node of the parse tree deeper than kMaxTreeDepth (long chains of binary
/// operators nest without brackets), found without recursion, or null.
antlr4::ParserRuleContext *tooDeepNode(antlr4::ParserRuleContext *root) {
  std::vector<std::pair<antlr4::tree::ParseTree *, size_t>> stack{{root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > kMaxTreeDepth)
      if (auto *c = dynamic_cast<antlr4::ParserRuleContext *>(node))
        return c;
    for (antlr4::tree::ParseTree *child : node->children)
      stack.push_back({child, depth + 1});
  }
  return nullptr;
}

} // namespace

std::unique_ptr<ast::Module> parseModule(const SourceManager &sm, uint32_t fileId,
                                         DiagnosticEngine &diags) {
  const std::string &text = sm.text(fileId);
  // The lexer reads UTF-8 (and throws on anything else): say where the file is not.
  if (size_t bad = firstInvalidUtf8(text); bad != std::string::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    diags.error({fileId, static_cast<uint32_t>(bad)},
                std::string("this file is not UTF-8 text: byte ") + hex + " here starts no valid character");
    return nullptr;
  }
  antlr4::ANTLRInputStream input(text);
  grammar::GanLexer lexer(&input);
  antlr4::CommonTokenStream tokens(&lexer);
  grammar::GanParser parser(&tokens);
  Utf8Offsets utf8(text);
  ErrorForwarder forwarder(diags, fileId, text, utf8);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&forwarder);
  parser.removeErrorListeners();
  parser.addErrorListener(&forwarder);

  unsigned before = diags.errorCount();
  G::ModuleContext *tree = nullptr;
  try {
    if (antlr4::Token *t = tooDeepBracket(tokens)) {
      diags.error({fileId, utf8.byteOf(t->getStartIndex())},
                  "brackets nested more than " + std::to_string(kMaxBrackets) + " deep", 1);
      return nullptr;
    }
    tree = parser.module();
  } catch (const std::exception &e) {
    diags.error({fileId, 0}, std::string("parser failure: ") + e.what());
    return nullptr;
  }
  if (diags.errorCount() != before)
    return nullptr;
  if (antlr4::ParserRuleContext *deep = tooDeepNode(tree)) {
    // Reported at the start of the chain of operators it is in (brackets are limited
    // above, so only such a chain nests this deep), not somewhere inside it.
    while (auto *up = dynamic_cast<G::ExprContext *>(deep->parent))
      deep = up;
    diags.error({fileId, utf8.byteOf(deep->getStart()->getStartIndex())},
                "this expression nests too deeply (more than " + std::to_string(kMaxTreeDepth) +
                    " levels of syntax; split it with intermediate names)",
                1);
    return nullptr;
  }
  auto m = AstBuilder(fileId, diags, utf8).build(tree);
  m->path = sm.path(fileId);
  if (diags.errorCount() != before)
    return nullptr;
  return m;
}

} // namespace ganc::frontend
