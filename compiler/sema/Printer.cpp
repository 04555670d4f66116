//===- Printer.cpp - what sema concluded about a model --------------------===//
#include "sema/Printer.h"

#include "sema/Sema.h"

#include <filesystem>
#include <sstream>

namespace ganc::sema {
namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string shape(const std::vector<int64_t> &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string where(const SourceManager &sm, SourceLoc loc) {
  if (!loc.valid())
    return "";
  LineCol lc = sm.lineCol(loc);
  return "  # " + std::filesystem::path(sm.path(loc.file)).filename().string() + ":" + std::to_string(lc.line) +
         ":" + std::to_string(lc.col);
}

std::string optimizer(const OptimizerSpec &o) {
  std::string s = o.kind + "(lr = " + number(o.lr);
  if (o.kind == "adam")
    s += ", beta1 = " + number(o.beta1) + ", beta2 = " + number(o.beta2) + ", eps = " + number(o.eps);
  else if (o.kind == "momentum")
    s += ", momentum = " + number(o.momentum);
  else if (o.kind == "rmsprop")
    s += ", alpha = " + number(o.alpha) + ", eps = " + number(o.eps);
  if (o.clip > 0)
    s += ", clip = " + number(o.clip);
  return s + ")";
}

} // namespace

void printProgram(std::ostream &os, const Program &p, const SourceManager &sm) {
  os << "program " << p.modelName << " {\n";
  for (const auto &m : p.modules)
    os << "  module \"" << m->path << "\"\n";
  for (const auto &[name, c] : p.consts) {
    auto v = evalConstant(*c->value, p);
    os << "  const " << name << " = " << (v ? number(*v) : "?") << where(sm, c->nameRange.begin) << "\n";
  }
  for (const DataSpec &d : p.data) {
    os << "  data " << d.name << ": " << d.kind;
    if (d.kind == "ring" || d.kind == "grid") {
      os << "(";
      for (size_t i = 0; i < d.params.size(); ++i)
        os << (i ? ", " : "") << number(d.params[i]);
      if (d.shape.size() == 2)
        os << ", pack = " << d.shape[0];
      os << ")";
    } else {
      os << " \"" << d.path << "\", scale [" << number(d.lo) << ", " << number(d.hi) << "]";
    }
    os << ", per sample " << shape(d.shape) << where(sm, d.loc) << "\n";
    if (d.classes > 0)
      os << "  data " << d.labelsName << ": labels of " << d.name << ", " << d.classes << " classes one-hot"
         << (d.labelsPath.empty() ? "" : " from \"" + d.labelsPath + "\"") << ", per sample [" << d.classes << "]"
         << where(sm, d.labelsLoc) << "\n";
  }
  for (const NoiseSpec &n : p.noise) {
    os << "  noise " << n.name << ": " << n.dist;
    if (n.dist == "categorical")
      os << "(" << number(n.a) << ")";
    else
      os << "(" << number(n.a) << ", " << number(n.b) << (n.dist == "truncated_normal" ? ", bound = " + number(n.bound) : "")
         << ")";
    os << ", per sample " << shape(n.shape) << where(sm, n.loc) << "\n";
  }
  for (const ast::FuncDecl *player : {p.generator, p.discriminator, p.classifier}) {
    if (!player)
      continue;
    os << "  " << (player == p.generator ? "generator " : player->keyword + " ") << player->name << "(";
    for (size_t i = 0; i < player->params.size(); ++i)
      os << (i ? ", " : "") << player->params[i].name;
    os << ")";
    if (player == p.generator) {
      os << ", sampled from (";
      for (size_t i = 0; i < p.generatorNoise.size(); ++i)
        os << (i ? ", " : "") << p.generatorNoise[i];
      os << ")";
    }
    os << where(sm, player->nameRange.begin) << "\n";
  }
  for (const auto &[name, f] : p.funcs)
    if (!f->isPlayer())
      os << "  fn " << name << where(sm, f->nameRange.begin) << "\n";
  for (const Objective *o : {&p.dObjective, &p.gObjective})
    if (o->player && o->stmt)
      os << "  objective " << o->player->name << (o->stmt->maximizes ? " maximizes" : " minimizes")
         << where(sm, o->stmt->expr->loc()) << "\n";
  const TrainPlan &t = p.plan;
  const std::string first = p.firstPlayer() ? p.firstPlayer()->name : "D";
  os << "  plan: batch " << t.batch << ", steps " << t.steps << ", seed " << t.seed << ", schedule " << first << " "
     << t.dSteps;
  if (!p.supervised())
    os << ", " << (p.generator ? p.generator->name : "G") << " " << t.gSteps;
  os << "\n  optimize " << first << " with " << optimizer(t.optD) << "\n";
  if (!p.supervised())
    os << "  optimize " << (p.generator ? p.generator->name : "G") << " with " << optimizer(t.optG) << "\n";
  os << "  sample " << t.sampleRows << "x" << t.sampleCols << " every " << t.sampleEvery << ", checkpoint "
     << (t.checkpointEvery > 0 ? "every " + std::to_string(t.checkpointEvery) : std::string("at the end"))
     << ", log every " << t.logEvery << (t.ema > 0 ? ", ema " + number(t.ema) : "") << "\n";
  os << "}\n";
}

} // namespace ganc::sema
