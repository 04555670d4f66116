//===- main.cpp - the ganc command ----------------------------------------===//
#include "driver/Commands.h"
#include "support/Error.h"

#include <exception>
#include <iostream>
#include <new>

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Every expected failure (a bad model, data file or checkpoint) is reported and returns
  // 1; an exception that reaches here is a bug of ganc, reported as such, not an abort.
  try {
    return ganc::driver::runCommand(args, std::cout, std::cerr);
  } catch (const std::bad_alloc &) {
    // Sizes past the machine's memory that no check caught (a huge batch, arena or
    // sample count): not a bug of ganc, and nothing to point at but the request.
    std::cerr << "ganc: error: out of memory: the model's tensors at these sizes need more memory "
                 "than this "
                 "machine could give\n";
    return ganc::kExitUserError;
  } catch (const std::exception &e) {
    ganc::internalError("the driver", std::string("uncaught exception: ") + e.what());
  }
}
