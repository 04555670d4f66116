//===- Sema.h - names, imports, players, game and plan checks ---*- C++ -*-===//
//
// Sema loads the model and the modules it imports, resolves every name, checks that the
// players, the game and the training plan make sense, and reports every problem it finds
// (it keeps going after an error). Shapes are checked by lowering, which knows the actual
// sizes flowing into each call; sema checks what does not depend on them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sema/Program.h"
#include "support/Diagnostics.h"

#include <memory>
#include <optional>
#include <string>

namespace ganc::sema {

struct SemaOptions {
  std::string stdlibDir; ///< where `import std.X` finds X.gan
};

/// Parses and checks the model at `path`. Returns null when there were errors.
std::unique_ptr<Program> analyze(const std::string &path, SourceManager &sm,
                                 DiagnosticEngine &diags, const SemaOptions &opts);

/// Evaluates a compile-time number (literals, constants, + - * / **).
std::optional<double> evalConstant(const ast::Expr &e, const Program &p);

} // namespace ganc::sema
