//===- Sema.cpp - names, imports, players, game and plan checks -----------===//
#include "sema/Sema.h"

#include "frontend/Parser.h"
#include "ir/Graph.h"
#include "sema/Builtins.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace ganc::sema {
namespace {

uint32_t len(const std::string &s) { return static_cast<uint32_t>(s.size()); }

/// A number as a message shows it: 1, -0.5, 1e-08.
std::string formatNumber(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string stemOf(const std::string &path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  return base.substr(0, base.find('.'));
}

/// Names of constants an expression refers to, in order.
void constRefs(const ast::Expr &e, std::vector<const ast::NameExpr *> &out) {
  if (auto *n = ast::dynCast<ast::NameExpr>(&e))
    out.push_back(n);
  else if (auto *u = ast::dynCast<ast::UnaryExpr>(&e))
    constRefs(*u->operand, out);
  else if (auto *b = ast::dynCast<ast::BinaryExpr>(&e))
    constRefs(*b->lhs, out), constRefs(*b->rhs, out);
}

class Sema {
public:
  Sema(SourceManager &sm, DiagnosticEngine &diags, const SemaOptions &opts)
      : sm_(sm), diags_(diags), opts_(opts), p_(std::make_unique<Program>()) {}

  std::unique_ptr<Program> run(const std::string &path) {
    std::string err;
    uint32_t file = sm_.addFile(path, err);
    if (!file) {
      diags_.error({}, err);
      return nullptr;
    }
    std::vector<std::string> stack;
    if (!load(file, stack))
      return nullptr;
    p_->main = p_->modules.front().get();
    p_->modelName = stemOf(path);
    collect();
    checkConstants();
    checkFunctions();
    checkSources();
    pickGeneratorNoise();
    checkGame();
    checkPlan();
    if (diags_.hasErrors())
      return nullptr;
    return std::move(p_);
  }

private:
  //===--- Modules ------------------------------------------------------===//

  bool load(uint32_t file, std::vector<std::string> &stack) {
    std::unique_ptr<ast::Module> m = frontend::parseModule(sm_, file, diags_);
    if (!m)
      return false;
    const std::string self = sm_.path(file);
    loaded_.insert(self);
    stack.push_back(self);
    const ast::Module *raw = m.get();
    p_->modules.push_back(std::move(m));
    bool ok = true;
    for (const ast::ImportDecl &imp : raw->imports) {
      std::string target = resolveImport(imp.path, self);
      if (std::find(stack.begin(), stack.end(), target) != stack.end()) {
        diags_.error(imp.range.begin, "import cycle: '" + imp.path + "' imports itself through " +
                                          self, imp.range.length);
        ok = false;
        continue;
      }
      if (loaded_.count(target))
        continue;
      std::string err;
      uint32_t f = sm_.addFile(target, err);
      if (!f) {
        std::error_code ec;
        diags_.error(imp.range.begin,
                     std::filesystem::exists(target, ec)
                         ? "module '" + imp.path + "': " + err
                         : "cannot find module '" + imp.path + "' (looked for " + target + ")",
                     imp.range.length);
        ok = false;
        continue;
      }
      ok &= load(f, stack);
    }
    stack.pop_back();
    return ok;
  }

  std::string resolveImport(const std::string &dotted, const std::string &from) const {
    std::string rel = dotted;
    for (char &c : rel)
      if (c == '.')
        c = '/';
    if (rel.rfind("std/", 0) == 0)
      return opts_.stdlibDir + "/" + rel.substr(4) + ".gan";
    return dirOf(from) + "/" + rel + ".gan";
  }

  //===--- Declarations -------------------------------------------------===//

  void collect() {
    for (auto &m : p_->modules) {
      bool isMain = m.get() == p_->main;
      for (const ast::ConstDecl &c : m->consts)
        if (declare(c.name, c.nameRange))
          p_->consts[c.name] = &c;
      for (auto &f : m->funcs) {
        if (!declare(f->name, f->nameRange))
          continue;
        p_->funcs[f->name] = f.get();
        if (!f->isPlayer())
          continue;
        if (!isMain) {
          diags_.error(f->nameRange.begin, "players are declared in the model file, not in an imported module",
                       f->nameRange.length);
          continue;
        }
        const ast::FuncDecl *&slot = f->kind == ast::FuncKind::Generator    ? p_->generator
                                     : f->kind == ast::FuncKind::Classifier ? p_->classifier
                                                                            : p_->discriminator;
        if (slot) {
          diags_.error(f->nameRange.begin, "a model has one " + f->keyword + "; '" + f->name +
                                               "' is a second one", f->nameRange.length);
          diags_.note(slot->nameRange.begin, "'" + slot->name + "' declared here", slot->nameRange.length);
          continue;
        }
        slot = f.get();
      }
      if (!isMain)
        continue;
      for (const ast::SourceDecl &s : m->sources)
        declare(s.name, s.nameRange);
      for (const ast::GameStmt &g : m->game)
        if (g.isValue && declare(g.name, g.nameRange))
          p_->values[g.name] = &g;
    }
    const uint32_t top = p_->main->fileId;
    if (const ast::FuncDecl *c = p_->classifier) {
      // A supervised model: one player, no game between two. Evaluation feeds it the
      // held-out samples alone.
      if (c->params.size() != 1)
        diags_.error(c->nameRange.begin, "a classifier takes one input, a sample of the data; '" + c->name +
                                             "' takes " + std::to_string(c->params.size()),
                     c->nameRange.length);
      for (const ast::FuncDecl *other : {p_->generator, p_->discriminator})
        if (other) {
          diags_.error(other->nameRange.begin, "a model trains a GAN (a generator and a discriminator) or a classifier, "
                                               "not both; '" + other->name + "' and '" + c->name + "' are in one model",
                       other->nameRange.length);
          diags_.note(c->nameRange.begin, "'" + c->name + "' declared here", c->nameRange.length);
        }
      return;
    }
    if (!p_->generator)
      diags_.fileError(top, "the model declares no generator (`generator G(z: [100]) -> [784] { ... }`)");
    // Sampling calls the generator on noise alone (pickGeneratorNoise matches each input).
    if (const ast::FuncDecl *g = p_->generator; g && g->params.empty())
      diags_.error(g->nameRange.begin, "a generator takes its noise as arguments; '" + g->name + "' takes none",
                   g->nameRange.length);
    if (!p_->discriminator)
      diags_.fileError(top, "the model declares no discriminator (`discriminator D(x: [784]) -> [1] { ... }`)");
  }

  /// Records `key` at `where` in `seen`; a key seen before is the error `message` at
  /// `where`, with the note `first` at the first one. False for a repeat.
  bool firstOf(std::map<std::string, SourceRange> &seen, const std::string &key, SourceRange where,
               const std::string &message, const std::string &first) {
    auto [it, fresh] = seen.emplace(key, where);
    if (!fresh) {
      diags_.error(where.begin, message, where.length);
      diags_.note(it->second.begin, first, it->second.length);
    }
    return fresh;
  }

  bool declare(const std::string &name, SourceRange where) {
    if (isBuiltin(name)) {
      diags_.error(where.begin, "'" + name + "' is a builtin and cannot be redefined", where.length);
      return false;
    }
    auto [it, inserted] = declared_.emplace(name, where);
    if (inserted)
      return true;
    // A clash between the model file and a module it imports is fixed in the model file
    // (the modules load after it): point there.
    const SourceRange first = it->second;
    if (first.begin.file == p_->main->fileId && where.begin.file != p_->main->fileId) {
      diags_.error(first.begin,
                   "'" + name +
                       "' is also defined by an imported module; give this one another name",
                   first.length);
      diags_.note(where.begin, "the module's '" + name + "' is here", where.length);
      return false;
    }
    diags_.error(where.begin, "redefinition of '" + name + "'", where.length);
    diags_.note(it->second.begin, "previous definition is here", it->second.length);
    return false;
  }

  //===--- Constants ----------------------------------------------------===//

  /// Every constant must be a number known before training, and not defined in terms of
  /// itself. Constants that fail are dropped, so later stages never evaluate them.
  void checkConstants() {
    std::vector<std::string> bad;
    const ConstantCycles cycles = constantCycles();
    const std::set<std::string> &cyclic = cycles.reaching;
    const std::map<std::string, const ast::NameExpr *> &steps = cycles.steps;
    for (auto &m : p_->modules)
      for (const ast::ConstDecl &c : m->consts) {
        if (!p_->consts.count(c.name) || p_->consts.at(c.name) != &c)
          continue;
        if (cyclic.count(c.name)) {
          // In a cycle: reported here. Only using one: never evaluated, and reported as
          // the constants of the cycle are.
          if (auto it = steps.find(c.name); it != steps.end())
            diags_.error(
                it->second->loc(),
                "constant '" + c.name + "' is defined in terms of itself" +
                    (it->second->name != c.name ? " (through '" + it->second->name + "')" : ""),
                len(it->second->name));
          bad.push_back(c.name);
          continue;
        }
        checkExpr(*c.value, {}, false);
        if (!diags_.hasErrors() && !evalConstant(*c.value, *p_)) {
          diags_.error(c.value->loc(), "constant '" + c.name + "' must be a number known before training",
                       c.value->range().length);
          bad.push_back(c.name);
        }
      }
    for (const std::string &n : bad) {
      p_->consts.erase(n);
      badConsts_.insert(n); // already reported: uses of it are not errors again
    }
  }

  /// What checkConstants needs to know about constants defined in terms of each other.
  struct ConstantCycles {
    /// The constants whose definitions lead, through other constants, into a cycle
    /// (their own or another's).
    std::set<std::string> reaching;
    /// For each constant on a cycle, the first reference in its definition that leads
    /// back to it (one into its own strongly connected component).
    std::map<std::string, const ast::NameExpr *> steps;
  };
  /// Tarjan's algorithm without recursion (a chain or cycle of constants may be many
  /// thousands long), each constant visited once. Components complete after every
  /// component they use, so whether one reaches a cycle is known when it completes.
  ConstantCycles constantCycles() {
    struct Visit {
      std::string name;
      std::vector<const ast::NameExpr *> refs;
      size_t next = 0;
    };
    std::map<std::string, int> index, low, component;
    std::vector<std::string> open; // Tarjan's stack
    std::set<std::string> isOpen;
    std::vector<Visit> stack;
    int counter = 0, components = 0;
    ConstantCycles out;
    auto refsOf = [&](const std::string &name) {
      std::vector<const ast::NameExpr *> refs;
      constRefs(*p_->consts.at(name)->value, refs);
      refs.erase(std::remove_if(refs.begin(), refs.end(),
                                [&](const ast::NameExpr *r) { return !p_->consts.count(r->name); }),
                 refs.end());
      return refs;
    };
    auto enter = [&](const std::string &name) {
      index[name] = low[name] = counter++;
      open.push_back(name);
      isOpen.insert(name);
      stack.push_back(Visit{name, refsOf(name)});
    };
    // Pops the component rooted at `root` off Tarjan's stack.
    auto complete = [&](const std::string &root) {
      std::vector<std::string> members;
      do {
        members.push_back(open.back());
        open.pop_back();
        isOpen.erase(members.back());
        component[members.back()] = components;
      } while (members.back() != root);
      bool reaches = false;
      for (const std::string &m : members)
        for (const ast::NameExpr *r : refsOf(m)) {
          if (component.at(r->name) == components)
            out.steps.emplace(m, r); // the first only
          reaches = reaches || component.at(r->name) == components || out.reaching.count(r->name);
        }
      if (reaches)
        out.reaching.insert(members.begin(), members.end());
      ++components;
    };
    for (const auto &[root, decl] : p_->consts) {
      if (index.count(root))
        continue;
      enter(root);
      while (!stack.empty()) {
        Visit &v = stack.back();
        if (v.next < v.refs.size()) {
          const std::string &r = v.refs[v.next++]->name;
          if (!index.count(r))
            enter(r); // v is not used after this: the stack may have moved
          else if (isOpen.count(r))
            low[v.name] = std::min(low[v.name], index[r]);
          continue;
        }
        const std::string name = v.name;
        stack.pop_back();
        if (low[name] == index[name])
          complete(name);
        if (!stack.empty())
          low[stack.back().name] = std::min(low[stack.back().name], low[name]);
      }
    }
    return out;
  }

  //===--- Names in expressions -----------------------------------------===//

  using Scope = std::set<std::string>;

  void checkExpr(const ast::Expr &e, const Scope &scope, bool inGame) {
    if (auto *n = ast::dynCast<ast::NameExpr>(&e)) {
      if (scope.count(n->name) || p_->consts.count(n->name) || badConsts_.count(n->name))
        return;
      if (p_->funcs.count(n->name)) {
        diags_.error(n->loc(), "'" + n->name + "' is a function; call it with arguments",
                     len(n->name));
        return;
      }
      diags_.error(n->loc(), "unknown name '" + n->name + "'", len(n->name));
      return;
    }
    if (auto *c = ast::dynCast<ast::CallExpr>(&e)) {
      if (c->callee == "orthogonal_reg")
        return checkPlayerArgument(*c, inGame);
      if (!p_->funcs.count(c->callee) && !isBuiltin(c->callee))
        diags_.error(c->calleeRange.begin, "unknown function '" + c->callee + "'",
                     c->calleeRange.length);
      for (const ast::Arg &a : c->args)
        checkExpr(*a.value, scope, inGame);
      return;
    }
    if (auto *l = ast::dynCast<ast::ListExpr>(&e)) {
      for (auto &x : l->elems)
        checkExpr(*x, scope, inGame);
      return;
    }
    if (auto *u = ast::dynCast<ast::UnaryExpr>(&e))
      return checkExpr(*u->operand, scope, inGame);
    if (auto *b = ast::dynCast<ast::BinaryExpr>(&e)) {
      checkExpr(*b->lhs, scope, inGame);
      checkExpr(*b->rhs, scope, inGame);
    }
  }

  /// `orthogonal_reg(G)`: one argument, a player's name, in the game block (a function
  /// cannot be handed a player).
  void checkPlayerArgument(const ast::CallExpr &c, bool inGame) {
    if (!inGame) {
      diags_.error(c.calleeRange.begin, "'" + c.callee + "' takes a player and belongs in the game block",
                   c.calleeRange.length);
      return;
    }
    auto *n = c.args.size() == 1 && c.args[0].name.empty() ? ast::dynCast<ast::NameExpr>(c.args[0].value.get())
                                                            : nullptr;
    auto it = n ? p_->funcs.find(n->name) : p_->funcs.end();
    if (it == p_->funcs.end() || !it->second->isPlayer())
      diags_.error(c.loc(), "'" + c.callee + "' takes one argument, the name of a player, such as " + c.callee + "(G)",
                   c.range().length);
  }

  void checkFunctions() {
    for (auto &m : p_->modules)
      for (auto &f : m->funcs)
        if (p_->funcs.count(f->name) && p_->funcs.at(f->name) == f.get())
          checkFunction(*f);
  }

  void checkFunction(const ast::FuncDecl &fn) {
    const ast::FuncDecl *f = &fn;
    {
      Scope scope;
      std::map<std::string, SourceRange> inputs, params; // the first of each name
      for (const ast::Param &prm : f->params) {
        firstOf(inputs, prm.name, prm.range,
                "'" + f->name + "' has two inputs named '" + prm.name + "'", "the first is here");
        scope.insert(prm.name);
        if (prm.anyShape && f->isPlayer())
          diags_.error(prm.range.begin, "the inputs of '" + f->name + "' need a per-sample shape such as [784], not 'tensor'",
                       prm.range.length);
        // Bare names in a parameter's shape are size variables bound by the call.
        for (auto &d : prm.shape.dims)
          if (auto *n = ast::dynCast<ast::NameExpr>(d.get()))
            if (!p_->consts.count(n->name))
              scope.insert(n->name);
      }
      bool returned = false;
      for (const ast::Stmt &s : f->body) {
        if (returned) {
          diags_.warning(s.range.begin, "code after 'return' is never run", s.range.length);
          break;
        }
        if (s.kind == ast::Stmt::Kind::Param) {
          // A second `param` of a name would name the same parameter (its path is the
          // call's prefix and the name), silently one tensor with the first initializer.
          firstOf(params, s.name, s.nameRange,
                  "parameter '" + s.name + "' is declared twice in '" + f->name + "'",
                  "the first declaration is here");
          for (auto &d : s.shape.dims)
            checkExpr(*d, scope, false);
          // The initializer (glorot_uniform, normal(0.02), ...) is checked by lowering;
          // only the arguments of a call are expressions.
          if (auto *c = ast::dynCast<ast::CallExpr>(s.value.get()))
            for (const ast::Arg &a : c->args)
              checkExpr(*a.value, scope, false);
        } else {
          checkExpr(*s.value, scope, false);
        }
        if (s.kind == ast::Stmt::Kind::Return)
          returned = true;
        else
          scope.insert(s.name);
      }
      if (!returned)
        diags_.error(f->nameRange.begin, "'" + f->name + "' has no 'return'", f->nameRange.length);
      else
        warnUnused(*f);
    }
  }

  /// Names an expression reads.
  static void namesIn(const ast::Expr &e, std::set<std::string> &out) {
    if (auto *n = ast::dynCast<ast::NameExpr>(&e))
      out.insert(n->name);
    else if (auto *c = ast::dynCast<ast::CallExpr>(&e))
      for (const ast::Arg &a : c->args)
        namesIn(*a.value, out);
    else if (auto *l = ast::dynCast<ast::ListExpr>(&e))
      for (auto &x : l->elems)
        namesIn(*x, out);
    else if (auto *u = ast::dynCast<ast::UnaryExpr>(&e))
      namesIn(*u->operand, out);
    else if (auto *b = ast::dynCast<ast::BinaryExpr>(&e)) {
      namesIn(*b->lhs, out);
      namesIn(*b->rhs, out);
    }
  }

  /// Warns about a value computed and then never read (the tutorial's generator computes
  /// a hidden layer and returns a layer of its input instead) and about a parameter no
  /// expression reads, which no player can train. A value counts as read when a later
  /// statement reads it before the name is assigned again.
  void warnUnused(const ast::FuncDecl &f) {
    const std::vector<ast::Stmt> &body = f.body;
    for (size_t i = 0; i < body.size(); ++i) {
      const ast::Stmt &s = body[i];
      if (s.kind == ast::Stmt::Kind::Return)
        break;
      bool read = false;
      for (size_t j = i + 1; j < body.size() && !read; ++j) {
        std::set<std::string> names;
        namesIn(*body[j].value, names);
        for (auto &d : body[j].shape.dims)
          namesIn(*d, names);
        read = names.count(s.name) > 0;
        if (!read && body[j].kind != ast::Stmt::Kind::Return && body[j].name == s.name)
          break; // overwritten unread
        if (body[j].kind == ast::Stmt::Kind::Return)
          break;
      }
      if (read)
        continue;
      if (s.kind == ast::Stmt::Kind::Param)
        diags_.warning(s.nameRange.begin, "parameter '" + s.name + "' is never used, so no player trains it",
                       s.nameRange.length);
      else
        diags_.warning(s.nameRange.begin, "value '" + s.name + "' is computed but never used",
                       s.nameRange.length);
      diags_.note(f.nameRange.begin, "in '" + f.name + "'", f.nameRange.length);
    }
  }

  //===--- Data and noise -----------------------------------------------===//

  std::optional<double> number(const ast::Expr *e, const char *what) {
    if (!e)
      return std::nullopt;
    auto v = evalConstant(*e, *p_);
    if (!v)
      diags_.error(e->loc(), std::string(what) + " must be a number known before training",
                   e->range().length);
    return v;
  }

  /// number(), and a whole number in [lo, hi]; else `message` at it.
  std::optional<int64_t> wholeNumber(const ast::Expr *e, const char *what, double lo, double hi,
                                     const std::string &message) {
    auto v = number(e, what);
    if (!v)
      return std::nullopt;
    if (*v < lo || *v != std::floor(*v) || *v > hi) {
      diags_.error(e->loc(), message, e->range().length);
      return std::nullopt;
    }
    return static_cast<int64_t>(*v);
  }

  std::optional<std::vector<int64_t>> shapeOf(const ast::Expr *e) {
    auto *l = ast::dynCast<ast::ListExpr>(e);
    if (!l) {
      if (e)
        diags_.error(e->loc(), "expected a shape such as [100]", e->range().length);
      return std::nullopt;
    }
    std::vector<int64_t> s;
    for (auto &d : l->elems) {
      auto v = number(d.get(), "a dimension");
      if (!v)
        return std::nullopt;
      if (*v < 1 || *v != std::floor(*v) || *v > static_cast<double>(ir::kMaxDimension)) {
        diags_.error(d->loc(),
                     *v > 1 ? "a dimension must be at most " + std::to_string(ir::kMaxDimension) + ", got " + formatNumber(*v)
                            : std::string("a dimension must be a positive integer"),
                     d->range().length);
        return std::nullopt;
      }
      s.push_back(static_cast<int64_t>(*v));
    }
    return s;
  }

  /// Positional-or-named argument lookup for builtin source calls.
  static const ast::Expr *argument(const ast::CallExpr &c, size_t pos, const char *name) {
    for (const ast::Arg &a : c.args)
      if (a.name == name)
        return a.value.get();
    size_t i = 0;
    for (const ast::Arg &a : c.args)
      if (a.name.empty() && i++ == pos)
        return a.value.get();
    return nullptr;
  }

  /// Reports the arguments of a source call that match none of `params` (named, or by
  /// position in that order), and those given twice. Returns whether there were none.
  bool checkArguments(const ast::CallExpr &c, const std::vector<std::string> &params) {
    std::string expected = " (expected ";
    for (size_t i = 0; i < params.size(); ++i)
      expected += (i ? ", " : "") + params[i];
    expected += ")";
    bool ok = true;
    size_t pos = 0;
    std::set<std::string> given;
    for (const ast::Arg &a : c.args) {
      SourceLoc where = a.name.empty() ? a.value->loc() : a.nameLoc;
      uint32_t length = a.name.empty() ? a.value->range().length : len(a.name);
      std::string key = a.name.empty() ? (pos < params.size() ? params[pos++] : "") : a.name;
      if (key.empty())
        diags_.error(where, "too many arguments to " + c.callee + expected, length);
      else if (std::find(params.begin(), params.end(), key) == params.end())
        diags_.error(where, c.callee + " has no parameter '" + key + "'" + expected, length);
      else if (!given.insert(key).second)
        diags_.error(where, "'" + key + "' is given twice", length);
      else
        continue;
      ok = false;
    }
    return ok;
  }

  /// `mnist("dir", scale = [lo, hi], shape = [784])`: the MNIST training images in a
  /// folder; `idx("file", scale = [lo, hi], shape = [n])`: one IDX image file;
  /// `npy("file.npy", shape = [n])`: one NumPy array, samples along its first axis.
  std::optional<DataSpec> dataSource(const ast::CallExpr &c, const ast::SourceDecl &s,
                                     const std::string &dir) {
    if (c.callee == "ring" || c.callee == "grid")
      return mixtureSource(c, s);
    if (c.callee != "mnist" && c.callee != "idx" && c.callee != "npy") {
      diags_.error(c.calleeRange.begin, "unknown data source '" + c.callee +
                                            "'; expected mnist(\"folder\"), idx(\"file\", shape = [n]), "
                                            "npy(\"file.npy\", shape = [n]), ring(modes, radius, std) or "
                                            "grid(n, spacing, std)",
                   c.calleeRange.length);
      return std::nullopt;
    }
    bool isMnist = c.callee == "mnist";
    if (!checkArguments(c, {"path", "scale", "shape", "hold_out"}))
      return std::nullopt;
    DataSpec d;
    d.name = s.name;
    d.loc = s.nameRange.begin;
    d.kind = c.callee;
    d.shape = {784};
    auto *path = ast::dynCast<ast::StringExpr>(argument(c, 0, "path"));
    if (!path) {
      diags_.error(c.loc(), c.callee + "(...) needs " +
                                (isMnist ? "the folder of the MNIST IDX files"
                                         : c.callee == "idx" ? "the IDX file" : "the .npy file") +
                                " as a string", c.range().length);
      return std::nullopt;
    }
    d.path = path->value.empty() || path->value[0] == '/' ? path->value : dir + "/" + path->value;
    if (auto *scale = argument(c, 1, "scale")) {
      auto *l = ast::dynCast<ast::ListExpr>(scale);
      auto lo = l && l->elems.size() == 2 ? number(l->elems[0].get(), "scale") : std::nullopt;
      auto hi = l && l->elems.size() == 2 ? number(l->elems[1].get(), "scale") : std::nullopt;
      if (!lo || !hi || *lo >= *hi) {
        diags_.error(scale->loc(), "scale must be [low, high] with low < high", scale->range().length);
        return std::nullopt;
      }
      d.lo = *lo, d.hi = *hi;
      d.scaled = true;
    }
    const ast::Expr *shape = argument(c, 2, "shape");
    if (!shape && !isMnist) {
      diags_.error(c.loc(), c.callee + "(...) needs the per-sample shape, e.g. shape = [784]", c.range().length);
      return std::nullopt;
    }
    if (shape) {
      auto sh = shapeOf(shape);
      if (!sh)
        return std::nullopt;
      d.shape = *sh;
    }
    if (const ast::Expr *h = argument(c, 3, "hold_out")) {
      auto n = wholeNumber(h, "hold_out", 1, 1e9, "hold_out is a number of samples: a positive integer");
      if (!n)
        return std::nullopt;
      d.holdOut = *n;
    }
    return d;
  }

  /// `ring(modes, radius, std)`: Gaussians on a circle; `grid(n, spacing, std)`: an n x n
  /// grid of Gaussians centred on 0. Samples are 2-D points; with `pack = m`, m
  /// independent points, [m, 2] (PacGAN's packing: D judges m samples together).
  std::optional<DataSpec> mixtureSource(const ast::CallExpr &c, const ast::SourceDecl &s) {
    bool ring = c.callee == "ring";
    std::vector<std::string> names = ring ? std::vector<std::string>{"modes", "radius", "std"}
                                          : std::vector<std::string>{"n", "spacing", "std"};
    names.push_back("pack");
    if (!checkArguments(c, names))
      return std::nullopt;
    names.pop_back();
    DataSpec d;
    d.name = s.name;
    d.loc = s.nameRange.begin;
    d.kind = c.callee;
    d.shape = {2};
    for (size_t i = 0; i < names.size(); ++i) {
      const ast::Expr *e = argument(c, i, names[i].c_str());
      if (!e) {
        diags_.error(c.loc(), c.callee + "(...) needs " + names[0] + ", " + names[1] + " and " + names[2],
                     c.range().length);
        return std::nullopt;
      }
      auto v = number(e, names[i].c_str());
      if (!v)
        return std::nullopt;
      bool count = i == 0;
      if (*v <= 0 || (count && (*v != std::floor(*v) || *v > 1000))) {
        diags_.error(e->loc(), "'" + names[i] + "' must be " +
                                   (count ? "a positive integer (at most 1000)" : "greater than 0"),
                     e->range().length);
        return std::nullopt;
      }
      d.params.push_back(*v);
    }
    if (const ast::Expr *e = argument(c, 3, "pack")) {
      auto m = wholeNumber(e, "pack", 1, 64, "'pack' must be a whole number of points from 1 to 64");
      if (!m)
        return std::nullopt;
      if (*m > 1)
        d.shape = {*m, 2};
    }
    return d;
  }

  /// Sampling feeds each input of the generator a noise source: the one of the same name
  /// if its shape fits, else the first unused one whose per-sample shape is the input's
  /// (a conditional generator G(z, c) takes latent noise and a categorical class). The
  /// first input's source goes first in Program::noise.
  void pickGeneratorNoise() {
    const ast::FuncDecl *g = p_->generator;
    if (!g || p_->noise.empty())
      return;
    auto fits = [&](const NoiseSpec &n, const ast::Param &prm) {
      const std::vector<int64_t> &have = n.shape;
      bool match = have.size() == prm.shape.dims.size();
      for (size_t d = 0; match && d < have.size(); ++d) {
        auto v = evalConstant(*prm.shape.dims[d], *p_);
        match = !v || *v == static_cast<double>(have[d]); // a size variable matches any size
      }
      return match;
    };
    std::vector<std::string> chosen;
    for (const ast::Param &prm : g->params) {
      if (!prm.isTensor || prm.anyShape)
        return; // reported elsewhere
      const NoiseSpec *pick = nullptr;
      for (const NoiseSpec &n : p_->noise)
        if (n.name == prm.name && fits(n, prm))
          pick = &n;
      for (const NoiseSpec &n : p_->noise)
        if (!pick && fits(n, prm) && std::find(chosen.begin(), chosen.end(), n.name) == chosen.end())
          pick = &n;
      if (!pick) {
        diags_.error(prm.range.begin, "no noise source has the shape '" + g->name + "' takes for '" + prm.name +
                                          "'; declare one, e.g. `noise " + prm.name + " ~ normal(0, 1, [...])`",
                     prm.range.length);
        return;
      }
      chosen.push_back(pick->name);
    }
    p_->generatorNoise = chosen;
    if (chosen.empty())
      return;
    auto first = std::find_if(p_->noise.begin(), p_->noise.end(), [&](const NoiseSpec &n) { return n.name == chosen[0]; });
    std::rotate(p_->noise.begin(), first, first + 1);
  }

  void checkSources() {
    const std::string dir = dirOf(p_->main->path);
    const ast::SourceDecl *firstData = nullptr, *firstNoise = nullptr;
    for (const ast::SourceDecl &s : p_->main->sources) {
      // The trainer feeds one data source (noise sources may be many: the first is the
      // generator's input when sampling); a second one would be silently unused.
      const ast::SourceDecl *&first = s.isNoise ? firstNoise : firstData;
      auto *call = ast::dynCast<ast::CallExpr>(s.source.get());
      if (!s.isNoise && call && call->callee == "labels") {
        labelSource(*call, s, dir);
        continue;
      }
      if (first && !s.isNoise) {
        // The same name twice is already reported as a redefinition.
        if (s.name != first->name) {
          diags_.error(s.nameRange.begin, "a model has one data source for now; '" + s.name +
                                              "' is a second one",
                       s.nameRange.length);
          diags_.note(first->nameRange.begin, "'" + first->name + "' declared here", first->nameRange.length);
        }
        continue;
      }
      if (!first)
        first = &s;
      auto *c = ast::dynCast<ast::CallExpr>(s.source.get());
      if (!c) {
        diags_.error(s.source->loc(), "expected a source call such as " +
                                          std::string(s.isNoise ? "uniform(-1, 1, [100])" : "mnist(\"data/mnist\")"),
                     s.source->range().length);
        continue;
      }
      if (!s.isNoise) {
        if (auto d = dataSource(*c, s, dir))
          p_->data.push_back(*d);
        continue;
      }
      if (auto n = noiseSource(*c, s))
        p_->noise.push_back(*n);
    }
    // A declared source that is wrong has been reported already.
    if (!firstData)
      diags_.fileError(p_->main->fileId, "the model declares no data (`data x ~ mnist(\"data/mnist\")`)");
    if (!firstNoise && !p_->supervised())
      diags_.fileError(p_->main->fileId, "the model declares no noise (`noise z ~ uniform(-1, 1, [100])`)");
  }

  /// `labels(x, classes = 10, path = "file")`: the classes of data x's samples, one-hot.
  /// MNIST folders hold their label file; an idx() or npy() source names one (IDX or .npy).
  void labelSource(const ast::CallExpr &c, const ast::SourceDecl &s, const std::string &dir) {
    if (!checkArguments(c, {"data", "classes", "path"}))
      return;
    auto *of = ast::dynCast<ast::NameExpr>(argument(c, 0, "data"));
    DataSpec *d = nullptr;
    for (DataSpec &x : p_->data)
      if (of && x.name == of->name)
        d = &x;
    if (!d) {
      diags_.error(c.loc(), "labels(...) takes the image data it labels, declared before it, e.g. labels(x, classes = 10)",
                   c.range().length);
      return;
    }
    if (d->kind != "mnist" && d->kind != "idx" && d->kind != "npy") {
      diags_.error(of->loc(),
                   "labels(...) labels samples read from files (mnist, idx or npy); '" + d->name +
                       "' is drawn from " + d->kind + "(...), which has no labels",
                   static_cast<uint32_t>(of->name.size()));
      return;
    }
    if (!d->labelsName.empty()) {
      diags_.error(s.nameRange.begin, "data '" + d->name + "' already has labels, '" + d->labelsName + "'",
                   s.nameRange.length);
      return;
    }
    const ast::Expr *classes = argument(c, 1, "classes");
    auto n = classes ? number(classes, "classes") : std::optional<double>(10);
    if (!n)
      return;
    if (*n < 2 || *n != std::floor(*n) || *n > 100000) {
      diags_.error(classes->loc(), "classes must be an integer of at least 2", classes->range().length);
      return;
    }
    const ast::Expr *path = argument(c, 2, "path");
    auto *ps = ast::dynCast<ast::StringExpr>(path);
    if (path && !ps) {
      diags_.error(path->loc(), "path must be a string naming a label file (IDX or .npy)", path->range().length);
      return;
    }
    if (d->kind != "mnist" && !ps) {
      diags_.error(c.loc(), "labels of " + d->kind + "(...) data need their label file (IDX or .npy): labels(" +
                                d->name + ", classes = N, path = \"file\")",
                   c.range().length);
      return;
    }
    d->labelsName = s.name;
    d->labelsLoc = s.nameRange.begin;
    d->classes = static_cast<int64_t>(*n);
    if (ps)
      d->labelsPath = ps->value.empty() || ps->value[0] == '/' ? ps->value : dir + "/" + ps->value;
  }

  /// `uniform(low, high, [n])` with low < high, or `normal(mean, std, [n])` with std > 0.
  std::optional<NoiseSpec> noiseSource(const ast::CallExpr &c, const ast::SourceDecl &s) {
    if (c.callee == "categorical") {
      if (!checkArguments(c, {"classes"}))
        return std::nullopt;
      const ast::Expr *classes = argument(c, 0, "classes");
      auto n = classes ? number(classes, "classes") : std::nullopt;
      if (!classes || (n && (*n < 2 || *n != std::floor(*n) || *n > 100000))) {
        diags_.error(classes ? classes->loc() : c.loc(), "categorical(classes) needs an integer number of classes of at least 2",
                     classes ? classes->range().length : c.range().length);
        return std::nullopt;
      }
      if (!n)
        return std::nullopt;
      return NoiseSpec{s.name, s.nameRange.begin, "categorical", *n, 0, {static_cast<int64_t>(*n)}};
    }
    bool truncated = c.callee == "truncated_normal";
    if (c.callee != "uniform" && c.callee != "normal" && !truncated) {
      diags_.error(c.calleeRange.begin, "unknown noise '" + c.callee +
                                            "'; expected uniform(low, high, [n]), normal(mean, std, [n]), "
                                            "truncated_normal(mean, std, [n], bound = 2) or categorical(classes)",
                   c.calleeRange.length);
      return std::nullopt;
    }
    bool uni = c.callee == "uniform";
    const char *aName = uni ? "low" : "mean", *bName = uni ? "high" : "std";
    std::vector<std::string> names{aName, bName, "shape"};
    if (truncated)
      names.push_back("bound");
    if (!checkArguments(c, names))
      return std::nullopt;
    double bound = 0;
    if (truncated) {
      // Below a tenth of a std almost every draw would be redrawn.
      const ast::Expr *boundArg = argument(c, 3, "bound");
      auto v = boundArg ? number(boundArg, "bound") : std::optional<double>(2);
      if (!v)
        return std::nullopt;
      if (!(*v >= 0.1 && *v <= 100)) {
        diags_.error(boundArg->loc(), "truncated_normal's bound is in standard deviations, between 0.1 and 100; got " +
                                          formatNumber(*v),
                     boundArg->range().length);
        return std::nullopt;
      }
      bound = *v;
    }
    const ast::Expr *aArg = argument(c, 0, aName), *bArg = argument(c, 1, bName);
    const ast::Expr *shapeArg = argument(c, 2, "shape");
    if (!aArg || !bArg || !shapeArg) {
      diags_.error(c.loc(), c.callee + " needs three arguments: " + aName + ", " + bName +
                                " and a shape such as [100]",
                   c.range().length);
      return std::nullopt;
    }
    auto a = number(aArg, "a noise parameter");
    auto b = number(bArg, "a noise parameter");
    auto shape = shapeOf(shapeArg);
    if (!a || !b || !shape)
      return std::nullopt;
    // Outside these ranges the draws are empty, reversed or not a distribution.
    if (uni && !(*a < *b)) {
      diags_.error(bArg->loc(), "uniform's high (" + formatNumber(*b) + ") must be greater than its low (" +
                                    formatNumber(*a) + ")",
                   bArg->range().length);
      return std::nullopt;
    }
    if (!uni && !(*b > 0)) {
      diags_.error(bArg->loc(), c.callee + "'s std must be greater than 0, got " + formatNumber(*b),
                   bArg->range().length);
      return std::nullopt;
    }
    return NoiseSpec{s.name, s.nameRange.begin, c.callee, *a, *b, *shape, bound};
  }

  //===--- Game ----------------------------------------------------------===//

  void checkGame() {
    const ast::Module &m = *p_->main;
    if (!m.hasGame) {
      diags_.fileError(m.fileId, "the model has no 'game' block saying what each player optimizes");
      return;
    }
    Scope scope;
    for (auto &s : m.sources)
      scope.insert(s.name);
    for (const ast::GameStmt &g : m.game) {
      checkExpr(*g.expr, scope, true);
      if (g.isValue) {
        scope.insert(g.name);
        continue;
      }
      auto it = p_->funcs.find(g.name);
      if (it == p_->funcs.end() || !it->second->isPlayer()) {
        diags_.error(g.nameRange.begin, "'" + g.name + "' is not a player; objectives belong to the generator and the discriminator, or the classifier",
                     g.nameRange.length);
        continue;
      }
      Objective &o = it->second == p_->generator ? p_->gObjective : p_->dObjective;
      if (o.stmt) {
        diags_.error(g.nameRange.begin, "'" + g.name + "' already has an objective", g.nameRange.length);
        diags_.note(o.stmt->nameRange.begin, "previous objective is here", o.stmt->nameRange.length);
        continue;
      }
      o = {it->second, &g};
    }
    for (size_t i = 0; i < m.game.size(); ++i) {
      if (!m.game[i].isValue)
        continue;
      bool read = false;
      for (size_t j = i + 1; j < m.game.size() && !read; ++j) {
        std::set<std::string> names;
        namesIn(*m.game[j].expr, names);
        read = names.count(m.game[i].name) > 0;
      }
      if (!read)
        diags_.warning(m.game[i].nameRange.begin, "value '" + m.game[i].name + "' is computed but never used",
                       m.game[i].nameRange.length);
    }
    // (A generator beside a classifier is already an error.)
    const ast::FuncDecl *generator = p_->supervised() ? nullptr : p_->generator;
    for (auto [player, obj] : {std::pair{generator, &p_->gObjective},
                               std::pair{p_->firstPlayer(), &p_->dObjective}})
      if (player && !obj->stmt) {
        diags_.error(m.gameRange.begin, "the game gives '" + player->name + "' nothing to optimize (add `" +
                                            player->name + " maximizes ...` or `minimizes ...`)", 4);
        diags_.note(player->nameRange.begin, "'" + player->name + "' declared here", player->nameRange.length);
      }
  }

  //===--- Training plan ------------------------------------------------===//

  /// Updates of one player an iteration (WGAN's critic takes 5, some schedules 100).
  static constexpr int64_t kMostScheduled = 10000;

  std::optional<int64_t> positiveInt(const ast::Expr &e, const std::string &what) {
    auto v = evalConstant(e, *p_);
    if (!v || *v < 1 || *v != std::floor(*v) || *v > 9007199254740992.0) {
      diags_.error(e.loc(), what + " must be a positive integer (at most 2^53)", e.range().length);
      return std::nullopt;
    }
    return static_cast<int64_t>(*v);
  }

  void checkPlan() {
    TrainPlan &plan = p_->plan;
    // The first statement of each setting, cadence and scheduled player: a second one
    // would silently win (optimize statements check their own).
    std::map<std::string, SourceRange> first;
    auto once = [&](const std::string &what, SourceRange where) {
      return firstOf(first, what, where, what + " is given twice in the train block",
                     "the first is here");
    };
    for (const ast::TrainStmt &t : p_->main->train) {
      const ast::Expr &v = *t.values.front();
      if ((t.kind == ast::TrainStmt::Kind::Setting || t.kind == ast::TrainStmt::Kind::Cadence) &&
          !once("'" + t.key + "'", t.keyRange))
        continue;
      switch (t.kind) {
      case ast::TrainStmt::Kind::Setting:
        if (t.key == "batch") {
          if (auto n = positiveInt(v, "batch")) {
            if (*n > kMostBatch)
              diags_.error(v.loc(), "batch must be at most " + std::to_string(kMostBatch),
                           v.range().length);
            else
              plan.batch = *n;
          }
        } else if (t.key == "steps") {
          if (auto n = positiveInt(v, "steps")) plan.steps = *n;
        } else if (t.key == "seed") {
          auto s = evalConstant(v, *p_);
          if (!s || *s < 0 || *s != std::floor(*s) || *s > 9.007199254740992e15)
            diags_.error(v.loc(), "seed must be a non-negative integer", v.range().length);
          else plan.seed = static_cast<uint64_t>(*s);
        } else if (t.key == "ema") {
          auto d = evalConstant(v, *p_);
          if (!d || !(*d > 0 && *d < 1))
            diags_.error(v.loc(), "ema is the decay of the generator's moving average, between 0 and 1 (such as 0.999)",
                         v.range().length);
          else if (!p_->generator)
            diags_.error(t.keyRange.begin, "ema averages a generator's weights; this model has no generator",
                         t.keyRange.length);
          else plan.ema = *d;
        } else {
          diags_.error(t.keyRange.begin,
                       "unknown training setting '" + t.key +
                           "' (expected batch, steps, seed, ema, optimize, schedule, sample, "
                           "checkpoint or log)",
                       t.keyRange.length);
        }
        break;
      case ast::TrainStmt::Kind::Cadence:
        cadence(t, v);
        break;
      case ast::TrainStmt::Kind::Schedule:
        for (size_t i = 0; i < t.players.size(); ++i) {
          const auto &[who, where] = t.players[i];
          if (!once("the schedule of '" + who + "'", where))
            continue;
          auto n = positiveInt(*t.values[i], "a schedule count");
          if (!n)
            continue;
          // An iteration ends (and Ctrl-C takes effect) after its scheduled updates.
          if (*n > kMostScheduled) {
            diags_.error(t.values[i]->loc(),
                         "a schedule count must be at most " + std::to_string(kMostScheduled) +
                             " updates an iteration",
                         t.values[i]->range().length);
            continue;
          }
          if (p_->generator && who == p_->generator->name) plan.gSteps = *n;
          else if (p_->firstPlayer() && who == p_->firstPlayer()->name) plan.dSteps = *n;
          else diags_.error(where.begin, "'" + who + "' is not a player", where.length);
        }
        break;
      case ast::TrainStmt::Kind::Optimize:
        optimizer(t, v);
        break;
      }
    }
  }

  void cadence(const ast::TrainStmt &t, const ast::Expr &v) {
    TrainPlan &plan = p_->plan;
    int64_t *every = t.key == "sample"       ? &plan.sampleEvery
                     : t.key == "checkpoint" ? &plan.checkpointEvery
                     : t.key == "log"        ? &plan.logEvery
                                             : nullptr;
    if (!every) {
      diags_.error(t.keyRange.begin, "unknown cadence '" + t.key + "' (expected sample, checkpoint or log)",
                   t.keyRange.length);
      return;
    }
    if (!t.grid.empty())
      sampleGrid(t);
    if (auto n = positiveInt(v, "the interval"))
      *every = *n;
  }

  /// `sample 4x8 every ...`: between 1 and 1024 images.
  void sampleGrid(const ast::TrainStmt &t) {
    SourceRange where = gridRange(t);
    if (t.key != "sample") {
      diags_.error(where.begin, "only 'sample' takes a grid", where.length);
      return;
    }
    // A side above 1024 (or past int64) counts as 0, so the product cannot overflow.
    auto side = [](const char *first, const char *last) -> int64_t {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(first, last, n);
      return ec == std::errc() && end == last && n <= 1024 ? n : 0;
    };
    size_t x = t.grid.find('x');
    const char *text = t.grid.data();
    int64_t rows = side(text, text + x), cols = side(text + x + 1, text + t.grid.size());
    if (rows < 1 || cols < 1 || rows * cols > 1024) {
      diags_.error(where.begin, "a sample grid holds between 1 and 1024 images", where.length);
      return;
    }
    p_->plan.sampleRows = rows;
    p_->plan.sampleCols = cols;
  }

  /// Where the grid of a cadence statement is. The AST keeps only its text; it is the
  /// first token after the key, with only whitespace and comments between them.
  SourceRange gridRange(const ast::TrainStmt &t) const {
    const std::string &text = sm_.text(t.keyRange.begin.file);
    size_t i = t.keyRange.begin.offset + t.keyRange.length;
    while (i < text.size()) {
      if (std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
      else if (text[i] == '#' || text.compare(i, 2, "//") == 0)
        i = std::min(text.find('\n', i), text.size());
      else
        break;
    }
    return {{t.keyRange.begin.file, static_cast<uint32_t>(i)}, len(t.grid)};
  }

  void optimizer(const ast::TrainStmt &t, const ast::Expr &v) {
    auto it = p_->funcs.find(t.key);
    if (it == p_->funcs.end() || !it->second->isPlayer()) {
      diags_.error(t.keyRange.begin, "'" + t.key + "' is not a player", t.keyRange.length);
      return;
    }
    // Keyed by the statement rather than by a valid spec, so a second statement is
    // reported even when the first one was wrong.
    auto [prev, first] = optimized_.emplace(t.key, v.range());
    if (!first) {
      diags_.error(t.keyRange.begin, "'" + t.key + "' already has an optimizer", t.keyRange.length);
      diags_.note(prev->second.begin, "previous optimizer is here", prev->second.length);
      return;
    }
    OptimizerSpec &o = it->second == p_->generator ? p_->plan.optG : p_->plan.optD;
    auto *c = ast::dynCast<ast::CallExpr>(&v);
    static const std::set<std::string> kinds = {"sgd", "momentum", "rmsprop", "adam"};
    if (!c || !kinds.count(c->callee)) {
      diags_.error(v.loc(), "expected an optimizer: sgd(lr), momentum(lr, momentum), rmsprop(lr, alpha, eps) or adam(lr, beta1, beta2, eps)",
                   v.range().length);
      return;
    }
    o = OptimizerSpec{};
    o.kind = c->callee;
    o.loc = c->loc();
    if (o.kind == "sgd" || o.kind == "momentum")
      o.lr = 1e-2;
    if (o.kind == "rmsprop")
      o.lr = 1e-2, o.eps = 1e-8;
    // clip (by name only) applies to every optimizer: WGAN's weight clipping.
    std::map<std::string, double *> fields = {{"lr", &o.lr}, {"eps", &o.eps}, {"clip", &o.clip}};
    std::vector<std::string> order = {"lr"};
    if (o.kind == "adam") {
      fields["beta1"] = &o.beta1, fields["beta2"] = &o.beta2;
      order = {"lr", "beta1", "beta2", "eps"};
    } else if (o.kind == "momentum") {
      fields["momentum"] = &o.momentum;
      order = {"lr", "momentum"};
    } else if (o.kind == "rmsprop") {
      fields["alpha"] = &o.alpha;
      order = {"lr", "alpha", "eps"};
    }
    size_t pos = 0;
    std::set<std::string> given;
    for (const ast::Arg &a : c->args) {
      std::string key = a.name.empty() ? (pos < order.size() ? order[pos++] : "") : a.name;
      if (!key.empty() && !given.insert(key).second) {
        diags_.error(a.name.empty() ? a.value->loc() : a.nameLoc, "'" + key + "' is given twice",
                     a.name.empty() ? a.value->range().length : len(a.name));
        continue;
      }
      auto f = fields.find(key);
      if (f == fields.end()) {
        diags_.error(a.name.empty() ? a.value->loc() : a.nameLoc,
                     key.empty() ? "too many arguments to " + o.kind
                                 : o.kind + " has no hyperparameter '" + key + "'",
                     a.name.empty() ? a.value->range().length : len(a.name));
        continue;
      }
      auto n = number(a.value.get(), "a hyperparameter");
      if (!n)
        continue;
      // The ranges torch.optim accepts: outside them the update is NaN or diverges.
      // Rates are used as 32-bit floats: past their largest (3.4e38) they are infinite.
      bool isRate = key == "lr" || key == "eps" || key == "clip";
      bool inRange = isRate ? *n > 0 && *n <= std::numeric_limits<float>::max() : *n >= 0 && *n < 1;
      if (!inRange) {
        diags_.error(a.value->loc(),
                     o.kind + "'s " + key + " must be " +
                         (isRate ? "greater than 0 (and at most 3.4e38)" : "in [0, 1)"),
                     a.value->range().length);
        continue;
      }
      *f->second = *n;
    }
  }

  SourceManager &sm_;
  DiagnosticEngine &diags_;
  const SemaOptions &opts_;
  std::unique_ptr<Program> p_;
  std::set<std::string> loaded_;
  std::set<std::string> badConsts_;
  std::map<std::string, SourceRange> declared_;
  /// The optimizer expression of each player that has an `optimize` statement.
  std::map<std::string, SourceRange> optimized_;
};

} // namespace

std::optional<double> evalConstant(const ast::Expr &e, const Program &p) {
  if (auto *n = ast::dynCast<ast::NumberExpr>(&e))
    return n->value;
  if (auto *n = ast::dynCast<ast::NameExpr>(&e)) {
    auto it = p.consts.find(n->name);
    if (it == p.consts.end())
      return std::nullopt;
    if (auto known = p.constValues.find(n->name); known != p.constValues.end())
      return known->second;
    // The constants this one uses first, deepest first, each once and without
    // recursion: a chain of constants may be many thousands long.
    struct Visit {
      const ast::ConstDecl *decl;
      std::vector<const ast::NameExpr *> refs;
      size_t next = 0;
    };
    std::set<std::string> onPath;
    std::vector<Visit> stack;
    auto enter = [&](const ast::ConstDecl *d) {
      Visit v{d, {}};
      constRefs(*d->value, v.refs);
      onPath.insert(d->name);
      stack.push_back(std::move(v));
    };
    enter(it->second);
    while (!stack.empty()) {
      Visit &v = stack.back();
      if (v.next < v.refs.size()) {
        const std::string &r = v.refs[v.next++]->name;
        auto used = p.consts.find(r);
        if (used == p.consts.end() || p.constValues.count(r))
          continue;
        if (onPath.count(r))
          return std::nullopt; // a cycle (Sema reports it and drops its constants)
        enter(used->second);   // v is not used after this: the stack may have moved
        continue;
      }
      // Every constant it names is known now (or failed): one level of names.
      const ast::ConstDecl *d = v.decl;
      onPath.erase(d->name);
      stack.pop_back();
      std::optional<double> value = evalConstant(*d->value, p);
      if (!value)
        return std::nullopt;
      p.constValues[d->name] = *value;
    }
    return p.constValues.at(n->name);
  }
  if (auto *u = ast::dynCast<ast::UnaryExpr>(&e)) {
    auto v = evalConstant(*u->operand, p);
    return v ? std::optional<double>(-*v) : std::nullopt;
  }
  if (auto *b = ast::dynCast<ast::BinaryExpr>(&e)) {
    auto l = evalConstant(*b->lhs, p), r = evalConstant(*b->rhs, p);
    if (!l || !r)
      return std::nullopt;
    if (b->op == "+") return *l + *r;
    if (b->op == "-") return *l - *r;
    if (b->op == "*") return *l * *r;
    if (b->op == "/") return *l / *r;
    if (b->op == "**") return std::pow(*l, *r);
  }
  return std::nullopt;
}

std::unique_ptr<Program> analyze(const std::string &path, SourceManager &sm,
                                 DiagnosticEngine &diags, const SemaOptions &opts) {
  return Sema(sm, diags, opts).run(path);
}

} // namespace ganc::sema
