//===- Verifier.h - graph IR invariants --------------------------*- C++ -*-===//
//
// Checks what every pass must preserve: operands come before their users (ids are a
// topological order), operand counts match the op's arity, every node's shape is what
// its op's shape rule computes from its operands, and outputs are nodes of the graph.
// Run after each pass with --verify-each (and always in the tests).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <string>

namespace ganc::ir {

/// Empty when `g` is well formed; otherwise what is wrong, naming the node.
std::string verifyGraph(const Graph &g);

} // namespace ganc::ir
