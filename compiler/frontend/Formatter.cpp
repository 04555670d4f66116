//===- Formatter.cpp - .gan text in canonical layout ----------------------===//
#include "frontend/Formatter.h"

#include "frontend/Parser.h"

#include "GanLexer.h"
#include "antlr4-runtime.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ganc::frontend {
namespace {

struct Token {
  std::string text;
  size_t line;
  bool comment, word, keyword;
};

/// One line of output: indentation, code and a trailing comment (either may be empty).
struct Line {
  size_t indent = 0;
  std::string code, comment;
  bool blankBefore = false;
};

bool isOperator(const std::string &t) {
  return t == "+" || t == "-" || t == "*" || t == "/" || t == "**" || t == "=" || t == "~" || t == "->";
}

/// Whether a `-` after `prev` is the unary minus (nothing before it that it could subtract from).
bool unaryAfter(const Token *prev) {
  if (!prev)
    return true;
  const std::string &t = prev->text;
  return prev->keyword || isOperator(t) || t == "(" || t == "[" || t == "," || t == ":" || t == "{";
}

/// Whether one space separates tokens a and b on a line (`unaryA`: a is a unary minus).
bool spaceBetween(const Token &a, const Token &b, bool unaryA) {
  const std::string &x = a.text, &y = b.text;
  if (b.comment)
    return true;
  if (y == "," || y == ")" || y == "]" || y == ":" || y == "." || x == "." || x == "(" || x == "[" || unaryA)
    return false;
  if (y == "(" || y == "[")
    return !(a.word && !a.keyword) || y == "[";  // calls and declarations: `dense(`
  return true;
}

} // namespace

std::optional<std::string> formatModule(const SourceManager &sm, uint32_t fileId, DiagnosticEngine &diags) {
  if (!parseModule(sm, fileId, diags))
    return std::nullopt;
  antlr4::ANTLRInputStream input(sm.text(fileId));
  grammar::GanLexer lexer(&input);
  lexer.removeErrorListeners();
  std::vector<Token> tokens;
  for (const auto &t : lexer.getAllTokens()) {
    std::string text = t->getText();
    bool word = !text.empty() && (std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_');
    bool comment = t->getType() == grammar::GanLexer::COMMENT;
    if (comment)
      text.erase(text.find_last_not_of(" \t\r") + 1);
    tokens.push_back({text, t->getLine(), comment, word, word && t->getType() != grammar::GanLexer::ID});
  }

  std::vector<Line> lines;
  int braces = 0, parens = 0;
  const Token *lastCode = nullptr, *beforeLast = nullptr; // the last two code tokens
  size_t prevLine = 0;
  for (size_t i = 0; i < tokens.size();) {
    // The tokens of one source line.
    size_t end = i;
    while (end < tokens.size() && tokens[end].line == tokens[i].line)
      ++end;
    Line out;
    out.blankBefore = !lines.empty() && tokens[i].line > prevLine + 1;
    const std::string &first = tokens[i].text;
    int depth = braces - (first == "}" ? 1 : 0) + parens - (first == ")" || first == "]" ? 1 : 0);
    out.indent = static_cast<size_t>(std::max(depth, 0)) * 4;
    for (size_t k = i; k < end; ++k) {
      const Token &t = tokens[k];
      if (t.comment && k > i) {
        out.comment = t.text;
        continue;
      }
      if (k > i) {
        bool unary = tokens[k - 1].text == "-" && unaryAfter(beforeLast);
        if (spaceBetween(tokens[k - 1], t, unary))
          out.code += ' ';
      }
      out.code += t.text;
      if (!t.comment)
        beforeLast = lastCode, lastCode = &t;
      braces += t.text == "{" ? 1 : t.text == "}" ? -1 : 0;
      parens += t.text == "(" || t.text == "[" ? 1 : t.text == ")" || t.text == "]" ? -1 : 0;
    }
    prevLine = tokens[end - 1].line;
    lines.push_back(std::move(out));
    i = end;
  }

  // Trailing comments of consecutive lines line up two spaces after the longest code.
  for (size_t i = 0; i < lines.size();) {
    size_t end = i, width = 0;
    while (end < lines.size() && !lines[end].comment.empty() && !lines[end].code.empty() &&
           (end == i || !lines[end].blankBefore)) {
      width = std::max(width, lines[end].indent + lines[end].code.size());
      ++end;
    }
    for (size_t k = i; k < end; ++k)
      lines[k].code += std::string(width - lines[k].indent - lines[k].code.size() + 2, ' ') + lines[k].comment;
    i = end > i ? end : i + 1;
  }

  std::string text;
  for (const Line &l : lines) {
    if (l.blankBefore)
      text += '\n';
    std::string body = l.code.empty() ? l.comment : l.code;
    text += std::string(l.indent, ' ') + body + '\n';
  }
  return text;
}

} // namespace ganc::frontend
