//===- Parser.h - .gan text to AST ------------------------------*- C++ -*-===//
//
// The only door between ANTLR and the rest of ganc: runs the generated lexer and parser,
// forwards syntax errors to the DiagnosticEngine (with a location and caret), and builds
// the ast::Module. No ANTLR type appears in this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ast/Ast.h"
#include "support/Diagnostics.h"

#include <memory>

namespace ganc::frontend {

/// Parses the buffer `fileId` of `sm`. Returns null when there were syntax errors (all of
/// them reported to `diags`).
std::unique_ptr<ast::Module> parseModule(const SourceManager &sm, uint32_t fileId,
                                         DiagnosticEngine &diags);

} // namespace ganc::frontend
