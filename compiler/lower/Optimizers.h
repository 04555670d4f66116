//===- Optimizers.h - parameter updates as graph nodes ----------*- C++ -*-===//
//
// Optimizer updates are ordinary graph nodes appended after the gradients, so the whole
// training step (forward, backward and update) is one compiled program. Per-step scalars
// that depend on the step count (Adam's bias corrections) are graph inputs the runtime
// fills; everything else is a constant.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "lower/Model.h"

namespace ganc::lower {

/// Adds the update of `param` (gradient `grad`) to the graph: the new parameter becomes
/// an output named like the parameter; new optimizer state, outputs named like their
/// inputs. State tensors are appended to `state`.
void addUpdate(ir::Builder &b, const sema::OptimizerSpec &opt, const std::string &player,
               ir::Node *param, ir::Node *grad,
               std::vector<std::pair<std::string, ir::Shape>> &state);

/// The optimizer's own update, before weight clipping.
void addRawUpdate(ir::Builder &b, const sema::OptimizerSpec &opt, const std::string &player,
                  ir::Node *param, ir::Node *grad,
                  std::vector<std::pair<std::string, ir::Shape>> &state);

} // namespace ganc::lower
