//===- Error.cpp - internal compiler errors -------------------------------===//
#include "support/Error.h"

#include <cstdio>
#include <cstdlib>

namespace ganc {

void internalError(const std::string &stage, const std::string &message) {
  std::fprintf(stderr, "ganc: internal compiler error in %s: %s\n", stage.c_str(),
               message.c_str());
  // _Exit, not exit: a module may be compiling on another thread (the step programs
  // compile in parallel), and exit() would run static destructors under it.
  std::fflush(nullptr);
  std::_Exit(kExitInternal);
}

} // namespace ganc
