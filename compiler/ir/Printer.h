//===- Printer.h - the text form of graph IR --------------------*- C++ -*-===//
//
//   graph g_step {
//     %0 = input "z" : f32[128,100]                    # mnist.gan:5:7
//     %3 = matmul(%0, %1) [0,0] : f32[128,128]          # nn.gan:9:12
//     output "loss" = %12
//   }
//
// Values are named by node id and printed in id (topological) order, live nodes only, so
// the text is stable across runs; `emit --stage=kernels` refers to the same ids.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <ostream>

namespace ganc::ir {

/// Prints the live part of `g`; with `sm`, each line ends with its source location.
void printGraph(std::ostream &os, const Graph &g, const SourceManager *sm = nullptr);

} // namespace ganc::ir
