//===- Parser.cpp - graph IR text back into graphs ------------------------===//
#include "ir/Parser.h"

#include "ir/OpInfo.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace ganc::ir {
namespace {

/// A problem at a column of the line being read (0-based).
class LineError : public std::runtime_error {
public:
  LineError(size_t column, const std::string &what) : std::runtime_error(what), column(column) {}
  size_t column;
};

/// A cursor over one line of IR text. Its errors point at where reading stopped (here())
/// or at the start of the last token read, for what is wrong with the token (fail()).
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
    token_ = i_;
    i_ += tok.size();
    return true;
  }
  void expect(const std::string &tok) {
    if (!accept(tok))
      throw here("expected '" + tok + "'");
  }
  std::string word() {
    skipSpace();
    size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.'))
      ++i_;
    if (b == i_)
      throw here("expected a name");
    token_ = b;
    return s_.substr(b, i_ - b);
  }
  std::string quoted() {
    expect("\"");
    size_t end = s_.find('"', i_);
    if (end == std::string::npos)
      throw LineError(token_, "unterminated string");
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
      throw here("expected a number");
    token_ = i_;
    i_ += static_cast<size_t>(e - b);
    return v;
  }
  int64_t integer() {
    double v = number();
    // Checked before the cast: a double out of int64's range does not convert.
    if (!(std::fabs(v) < 9.0e15) || v != std::floor(v)) {
      std::ostringstream os;
      os << "expected an integer, got " << v;
      throw fail(os.str());
    }
    return static_cast<int64_t>(v);
  }
  /// A node's name, `%N`; the last token is all of it.
  std::string nodeId() {
    expect("%");
    size_t at = token_;
    std::string id = "%" + word();
    token_ = at;
    return id;
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
  bool startsWith(char c) {
    skipSpace();
    return i_ < s_.size() && s_[i_] == c;
  }
  /// Where the next token starts (after spaces).
  size_t position() {
    skipSpace();
    return i_;
  }
  /// Where the last token read starts.
  size_t lastToken() const { return token_; }
  /// An error at the last token read.
  LineError fail(const std::string &what) const { return LineError(token_, what); }
  /// An error at where reading stopped.
  LineError here(const std::string &what) {
    skipSpace();
    return LineError(i_, what);
  }

private:
  std::string s_;
  size_t i_ = 0;
  size_t token_ = 0; ///< start of the last token read
};

} // namespace

std::vector<std::unique_ptr<Graph>> parseGraphs(const std::string &text, ParseError &error) {
  std::vector<std::unique_ptr<Graph>> graphs;
  std::map<std::string, Node *> nodes; // "%N" of the current graph
  size_t lineStart = 0;
  try {
    for (size_t next = 0; lineStart < text.size(); lineStart = next) {
      size_t end = text.find('\n', lineStart);
      next = end == std::string::npos ? text.size() : end + 1;
      std::string line = text.substr(lineStart, std::min(end, text.size()) - lineStart);
      LineReader r(line.substr(0, line.find('#')));
      if (r.atEnd())
        continue;
      if (r.accept("graph")) {
        graphs.push_back(std::make_unique<Graph>(r.word()));
        r.expect("{");
        nodes.clear();
        continue;
      }
      if (graphs.empty())
        throw r.here("expected 'graph NAME {'");
      Graph &g = *graphs.back();
      if (r.accept("}"))
        continue;
      if (r.accept("output")) {
        std::string name = r.quoted();
        r.expect("=");
        std::string id = r.nodeId();
        auto it = nodes.find(id);
        if (it == nodes.end())
          throw r.fail("output of undefined " + id);
        g.addOutput(name, it->second);
        continue;
      }
      std::string id = r.nodeId();
      if (nodes.count(id))
        throw r.fail(id + " is defined twice");
      r.expect("=");
      std::string mnemonic = r.word();
      size_t opAt = r.lastToken();
      std::optional<OpKind> op = opByMnemonic(mnemonic);
      if (!op)
        throw r.fail("unknown op '" + mnemonic + "'");
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
            std::string arg = r.nodeId();
            auto it = nodes.find(arg);
            if (it == nodes.end())
              throw r.fail("use of undefined " + arg);
            operands.push_back(it->second);
          } while (r.accept(","));
          r.expect(")");
        }
        if (r.startsWith('['))
          attrs.ints = r.intList();
      }
      r.expect(":");
      size_t type = r.position();
      r.expect("f32");
      Shape shape = r.intList();
      for (int64_t d : shape)
        if (d < 1)
          throw LineError(type, "a size must be at least 1, got " + std::to_string(d));
      if (!r.atEnd())
        throw r.here("unexpected text after the node's type");
      if (info.isLeaf())
        attrs.ints = shape; // a leaf's shape is its attribute
      if (static_cast<int>(operands.size()) != info.arity)
        throw LineError(opAt, "'" + mnemonic + "' takes " + std::to_string(info.arity) +
                                  " operands, got " + std::to_string(operands.size()));
      std::string why;
      Node *n = g.make(*op, operands, attrs, {}, &why);
      if (!n)
        throw LineError(opAt, why);
      if (n->shape != shape)
        throw LineError(type, id + " is written as " + formatType(shape) + " but '" + mnemonic +
                                  "' makes " + formatType(n->shape));
      nodes[id] = n;
    }
  } catch (const LineError &e) {
    error = {lineStart + e.column, e.what()};
    graphs.clear();
    return graphs;
  }
  if (graphs.empty())
    error = {std::string::npos, "no graph in the text"};
  return graphs;
}

} // namespace ganc::ir
