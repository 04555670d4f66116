//===- Printer.cpp - the text form of graph IR ----------------------------===//
#include "ir/Printer.h"

#include "ir/OpInfo.h"

#include <iomanip>
#include <sstream>

namespace ganc::ir {

void printGraph(std::ostream &os, const Graph &g, const SourceManager *sm) {
  std::vector<Node *> nodes = g.live();
  // Node ids: stable for a given input, and the names codegen's kernel listing uses.
  auto ref = [&](const Node *n) { return "%" + std::to_string(n->id); };

  os << "graph " << g.name() << " {\n";
  for (Node *n : nodes) {
    const OpInfo &info = opInfo(n->op);
    std::ostringstream line;
    line << "  " << ref(n) << " = " << info.mnemonic;
    if (n->op == OpKind::Const) {
      line << " " << std::setprecision(9) << n->attrs.num;
    } else if (info.isLeaf()) {
      line << " \"" << n->attrs.name << "\"";
    } else {
      line << "(";
      for (size_t i = 0; i < n->operands.size(); ++i)
        line << (i ? ", " : "") << ref(n->operands[i]);
      line << ")";
      if (!n->attrs.ints.empty()) {
        line << " [";
        for (size_t i = 0; i < n->attrs.ints.size(); ++i)
          line << (i ? "," : "") << n->attrs.ints[i];
        line << "]";
      }
    }
    line << " : " << formatType(n->shape);
    std::string text = line.str();
    os << text;
    if (sm && n->loc.valid()) {
      LineCol lc = sm->lineCol(n->loc);
      std::string path = sm->path(n->loc.file);
      path = path.substr(path.find_last_of('/') + 1);
      os << std::string(text.size() < 56 ? 56 - text.size() : 1, ' ') << "# " << path << ":"
         << lc.line << ":" << lc.col;
    }
    os << "\n";
  }
  for (auto &[name, n] : g.outputs())
    os << "  output \"" << name << "\" = " << ref(n) << "\n";
  os << "}\n";
}

} // namespace ganc::ir
