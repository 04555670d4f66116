//===- Printer.h - what sema concluded about a model ------------*- C++ -*-===//
//
// `ganc emit --stage=sema`: the checked Program in plain text: the modules read, the
// constants with their values, data and noise sources with per-sample shapes, the
// players and which noise feeds each generator input when sampling, the functions by
// module, both objectives and the training plan with every default filled in.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "sema/Program.h"
#include "support/SourceManager.h"

#include <ostream>

namespace ganc::sema {

void printProgram(std::ostream &os, const Program &p, const SourceManager &sm);

} // namespace ganc::sema
