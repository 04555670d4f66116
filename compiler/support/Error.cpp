//===- Error.cpp - internal compiler errors -------------------------------===//
#include "support/Error.h"

#include <cstdio>
#include <cstdlib>

namespace ganc {

void internalError(const std::string &stage, const std::string &message) {
  std::fprintf(stderr, "ganc: internal compiler error in %s: %s\n", stage.c_str(),
               message.c_str());
  std::fflush(stderr);
  std::exit(kExitInternal);
}

} // namespace ganc
