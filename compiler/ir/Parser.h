//===- Parser.h - graph IR text back into graphs ----------------*- C++ -*-===//
//
// Reads what ir::printGraph writes (`ganc emit --stage=graph|grad|opt`): one or more
// `graph NAME { ... }` blocks of numbered nodes and named outputs; `# ...` to the end of
// a line is a comment (the printer's source locations). Every node goes through
// Graph::make, so shape rules check the text as they check lowering; node numbers are
// only names in the text (the parsed graph numbers its nodes afresh). With it a pass can
// be tested from a hand-written `.gir` file (`ganc opt`).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <memory>
#include <string>
#include <vector>

namespace ganc::ir {

/// Why a text is not graph IR: what is wrong, and the byte of the text it is about
/// (npos when it is about the whole text, as for a text without a graph).
struct ParseError {
  size_t offset = std::string::npos;
  std::string message;
};

/// The graphs of `text`, or none with `error` set.
std::vector<std::unique_ptr<Graph>> parseGraphs(const std::string &text, ParseError &error);

} // namespace ganc::ir
