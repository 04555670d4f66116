//===- Emitter.h - graph IR to an LLVM module (codegen internal) -*- C++ -*-===//
#pragma once

#include "codegen/Jit.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace ganc::codegen {

/// Emits one entry function per graph (named after it) and its kernels into `m`, and
/// returns each graph's slot layout (entry pointers left null).
/// `sm`, when given, names each kernel's .gan source line in its "ganc.loc" attribute;
/// `lanes` is the vector width, in floats, lowerings may use.
std::vector<StepFunction> emitGraphs(llvm::Module &m,
                                     const std::vector<const ir::Graph *> &graphs,
                                     const SourceManager *sm, int lanes);

} // namespace ganc::codegen
