//===- Error.h - internal compiler errors -----------------------*- C++ -*-===//
//
// A broken invariant is a compiler bug, not a user mistake: it is reported as
// "internal compiler error" naming the stage, and the process exits with code 3.
// User mistakes go through DiagnosticEngine instead (exit code 1).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace ganc {

/// Exit codes of the ganc command.
enum ExitCode : int { kExitOk = 0, kExitUserError = 1, kExitUsage = 2, kExitInternal = 3 };

[[noreturn]] void internalError(const std::string &stage, const std::string &message);

} // namespace ganc
