//===- Parser.cpp - graph IR text back into graphs ------------------------===//
#include "ir/Parser.h"

#include "ir/OpInfo.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <cstdlib>
#include <map>
#include <sstream>

namespace ganc::ir {
namespace {

/// A cursor over one line of IR text.
class LineReader {
public:
  explicit LineReader(std::string s) : s_(std::move(s)) {}

  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  bool atEnd() {
    skipSpace();
    return i_ >= s_.size();
  }
  bool accept(const std::string &tok) {
    skipSpace();
    if (s_.compare(i_, tok.size(), tok) != 0)
      return false;
    i_ += tok.size();
    return true;
  }
  void expect(const std::string &tok) {
    if (!accept(tok))
      throw std::runtime_error("expected '" + tok + "' at '" + rest() + "'");
  }
  std::string word() {
    skipSpace();
    size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.'))
      ++i_;
    if (b == i_)
      throw std::runtime_error("expected a name at '" + rest() + "'");
    return s_.substr(b, i_ - b);
  }
  std::string quoted() {
    expect("\"");
    size_t end = s_.find('"', i_);
    if (end == std::string::npos)
      throw std::runtime_error("unterminated string");
    std::string v = s_.substr(i_, end - i_);
    i_ = end + 1;
    return v;
  }
  double number() {
    skipSpace();
    const char *b = s_.c_str() + i_;
    char *e = nullptr;
    double v = std::strtod(b, &e);
    if (e == b)
      throw std::runtime_error("expected a number at '" + rest() + "'");
    i_ += static_cast<size_t>(e - b);
    return v;
  }
  int64_t integer() {
    double v = number();
    // Checked before the cast: a double out of int64's range does not convert.
    if (!(std::fabs(v) < 9.0e15) || v != std::floor(v)) {
      std::ostringstream os;
      os << "expected an integer, got " << v;
      throw std::runtime_error(os.str());
    }
    return static_cast<int64_t>(v);
  }
  /// `[a,b,...]` (possibly empty).
  std::vector<int64_t> intList() {
    expect("[");
    std::vector<int64_t> v;
    if (accept("]"))
      return v;
    do
      v.push_back(integer());
    while (accept(","));
    expect("]");
    return v;
  }
  std::string rest() const { return s_.substr(std::min(i_, s_.size())); }

private:
  std::string s_;
  size_t i_ = 0;
};

} // namespace

std::vector<std::unique_ptr<Graph>> parseGraphs(const std::string &text, std::string &error) {
  std::vector<std::unique_ptr<Graph>> graphs;
  std::map<std::string, Node *> nodes; // "%N" of the current graph
  std::istringstream in(text);
  std::string raw;
  size_t lineNo = 0;
  try {
    while (std::getline(in, raw)) {
      ++lineNo;
      LineReader r(raw.substr(0, raw.find('#')));
      if (r.atEnd())
        continue;
      if (r.accept("graph")) {
        graphs.push_back(std::make_unique<Graph>(r.word()));
        r.expect("{");
        nodes.clear();
        continue;
      }
      if (graphs.empty())
        throw std::runtime_error("expected 'graph NAME {'");
      Graph &g = *graphs.back();
      if (r.accept("}"))
        continue;
      if (r.accept("output")) {
        std::string name = r.quoted();
        r.expect("=");
        r.expect("%");
        std::string id = "%" + r.word();
        auto it = nodes.find(id);
        if (it == nodes.end())
          throw std::runtime_error("output of undefined " + id);
        g.addOutput(name, it->second);
        continue;
      }
      r.expect("%");
      std::string id = "%" + r.word();
      if (nodes.count(id))
        throw std::runtime_error(id + " is defined twice");
      r.expect("=");
      std::string mnemonic = r.word();
      std::optional<OpKind> op = opByMnemonic(mnemonic);
      if (!op)
        throw std::runtime_error("unknown op '" + mnemonic + "'");
      const OpInfo &info = opInfo(*op);
      std::vector<Node *> operands;
      Attrs attrs;
      if (*op == OpKind::Const) {
        attrs.num = r.number();
      } else if (info.isLeaf()) {
        attrs.name = r.quoted();
      } else {
        r.expect("(");
        if (!r.accept(")")) {
          do {
            r.expect("%");
            std::string arg = "%" + r.word();
            auto it = nodes.find(arg);
            if (it == nodes.end())
              throw std::runtime_error("use of undefined " + arg);
            operands.push_back(it->second);
          } while (r.accept(","));
          r.expect(")");
        }
        r.skipSpace();
        if (r.rest().rfind("[", 0) == 0)
          attrs.ints = r.intList();
      }
      r.expect(":");
      r.expect("f32");
      Shape shape = r.intList();
      for (int64_t d : shape)
        if (d < 1)
          throw std::runtime_error("a size must be at least 1, got " + std::to_string(d));
      if (!r.atEnd())
        throw std::runtime_error("unexpected '" + r.rest() + "'");
      if (info.isLeaf())
        attrs.ints = shape; // a leaf's shape is its attribute
      if (static_cast<int>(operands.size()) != info.arity)
        throw std::runtime_error("'" + mnemonic + "' takes " + std::to_string(info.arity) + " operands, got " +
                                 std::to_string(operands.size()));
      std::string why;
      Node *n = g.make(*op, operands, attrs, {}, &why);
      if (!n)
        throw std::runtime_error(why);
      if (n->shape != shape)
        throw std::runtime_error(id + " is written as " + formatType(shape) + " but '" + mnemonic + "' makes " +
                                 formatType(n->shape));
      nodes[id] = n;
    }
  } catch (const std::runtime_error &e) {
    error = "line " + std::to_string(lineNo) + ": " + e.what();
    graphs.clear();
  }
  if (error.empty() && graphs.empty())
    error = "no graph in the text";
  return graphs;
}

} // namespace ganc::ir
