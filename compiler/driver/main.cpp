//===- main.cpp - the ganc command ----------------------------------------===//
#include "driver/Commands.h"

#include <iostream>

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return ganc::driver::runCommand(args, std::cout, std::cerr);
}
