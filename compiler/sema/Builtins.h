//===- Builtins.h - functions every .gan file can call ----------*- C++ -*-===//
//
// Calls resolve, in order, to a user or stdlib function, then to a builtin: an op of the
// registry a user may call by its mnemonic (relu, log, matmul, ...), or one of the few
// composites lowering builds from ops (mean, sum, reshape, flatten).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace ganc::sema {

/// True when `name` names a builtin callable from .gan code.
bool isBuiltin(const std::string &name);
/// True for ops called by mnemonic (the rest of the builtins are composites).
bool isCallableOp(const std::string &name);

} // namespace ganc::sema
