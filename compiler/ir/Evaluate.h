//===- Evaluate.h - reference evaluation in double precision ----*- C++ -*-===//
//
// Runs a graph by interpreting each op's own lowering (OpInfo::scalar / OpInfo::lower)
// in double precision. It is the reference the tests hold the JIT to, and the engine of
// finite-difference gradient checks. Training never uses it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <map>
#include <string>
#include <vector>

namespace ganc::ir {

/// Leaf values by name (inputs and params), flat row-major.
using LeafValues = std::map<std::string, std::vector<double>>;

/// Values of the graph's outputs, in output order. Missing leaves are an internal error.
std::vector<std::vector<double>> evaluate(const Graph &g, const LeafValues &leaves);

/// The first node, in evaluation order, whose value holds a NaN or an infinity when every
/// result is rounded to float as compiled code stores it (so an overflow of float shows
/// where it happens); null when there is none, or when evaluating took longer than
/// `seconds` (then `timedOut` is set). For diagnosing a diverged step.
const Node *firstNonFinite(const Graph &g, const LeafValues &leaves, double seconds, bool &timedOut);

/// An elementwise op applied to numbers, by its own scalar semantics (constant folding).
double evaluateScalar(OpKind op, const std::vector<double> &args);

} // namespace ganc::ir
