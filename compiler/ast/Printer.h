//===- Printer.h - the AST as an indented tree ------------------*- C++ -*-===//
//
// `ganc emit --stage=ast`: every declaration, statement and expression of a parsed
// module, one node per line with its kind, its fields and its `file:line:col`, children
// indented under it (in the manner of clang's -ast-dump). Numbers print as written in
// the grammar's terms (an integer or a float), names and strings as given.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ast/Ast.h"
#include "support/SourceManager.h"

#include <ostream>

namespace ganc::ast {

void printModule(std::ostream &os, const Module &m, const SourceManager &sm);

} // namespace ganc::ast
