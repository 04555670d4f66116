//===- Autodiff.h - reverse-mode differentiation, graph to graph -*- C++ -*-===//
//
// gradients() appends to a graph the nodes computing d(loss)/d(wrt) for each requested
// leaf, using each op's VJP rule from its OpInfo record. Only nodes on a path from a
// `wrt` leaf to the loss are visited (never through an op without a VJP, such as
// stop_gradient); gradients meeting at a fan-out are summed; a rank-0 operand that an
// elementwise op broadcast gets its gradient summed back here, in the driver, so no rule
// deals with broadcasting. The result is an ordinary graph, so it can be differentiated
// again (gradient penalties).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <vector>

namespace ganc::autodiff {

/// Returns one gradient node per `wrt` entry (a zero constant where the loss does not
/// depend on it). `loss` must be rank 0. New nodes carry the location of the forward
/// node they differentiate.
std::vector<ir::Node *> gradients(ir::Graph &g, ir::Node *loss,
                                  const std::vector<ir::Node *> &wrt);

} // namespace ganc::autodiff
