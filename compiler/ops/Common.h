//===- Common.h - helpers shared by the op records --------------*- C++ -*-===//
#pragma once

#include "ir/Builder.h"
#include "ir/OpInfo.h"

namespace ganc::ops {

using namespace ganc::ir;
using Val = KernelBuilder::Val;
using Idx = KernelBuilder::Idx;
using Vals = std::vector<Val>;
using Grads = std::vector<Node *>;

/// Shape rule of elementwise ops: operands share one shape, except rank-0 operands,
/// which broadcast.
ShapeFn elementwiseShape(const char *mnemonic);

} // namespace ganc::ops
